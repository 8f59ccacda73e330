// One function: a header with what serves, and a tab per thing a user does with it.
import { api, fnPath } from "../api.js";
import { ErrorNote, Loading, Tabs, useLoad } from "../components/ui.js";
import { hrefOf } from "../route.js";
import type { FunctionDetail } from "../types.js";
import { Overview } from "../tabs/overview.js";
import { CodeTab } from "../tabs/code.js";
import { VersionsTab } from "../tabs/versions.js";
import { TestTab } from "../tabs/test.js";
import { LogsTab } from "../tabs/logs.js";
import { InvocationsTab } from "../tabs/invocations.js";
import { DataTab } from "../tabs/data.js";
import { EventsTab } from "../tabs/events.js";

const TABS: Array<[string, string]> = [
  ["overview", "Overview"],
  ["code", "Code"],
  ["test", "Test"],
  ["invocations", "Invocations"],
  ["logs", "Logs"],
  ["versions", "Versions"],
  ["data", "Data"],
  ["events", "Events"],
];

export function FunctionPage({
  project,
  name,
  tab,
  query,
}: {
  project: string;
  name: string;
  tab: string;
  query: URLSearchParams;
}) {
  const { data, error, loading, reload } = useLoad(
    () => api<FunctionDetail>("GET", fnPath(project, name)),
    [],
  );
  const current = TABS.some(([id]) => id === tab) ? tab : "overview";
  const props = { project, name, detail: data, reload, query };
  return (
    <section aria-labelledby="fn-title">
      <div class="heading">
        <h1 id="fn-title">
          <span class="muted">{project}/</span>
          {name}
        </h1>
        {data !== undefined && (
          <p class="meta">
            <span>live v{data.live}</span>
            <span>{data.config.runtime}</span>
            <span>
              {data.instances} instance{data.instances === 1 ? "" : "s"}, {data.inflight} running
            </span>
            <a href={data.url}>{data.url}</a>
          </p>
        )}
      </div>
      <Tabs tabs={TABS} current={current} href={(id) => hrefOf(project, name, id)} />
      <ErrorNote error={error} />
      {loading && data === undefined && <Loading what={`${project}/${name}`} />}
      {data !== undefined && (
        <div class="tab" id={`tab-${current}`}>
          {current === "overview" && <Overview {...props} detail={data} />}
          {current === "code" && <CodeTab {...props} detail={data} />}
          {current === "test" && <TestTab {...props} detail={data} />}
          {current === "invocations" && <InvocationsTab {...props} detail={data} />}
          {current === "logs" && <LogsTab {...props} detail={data} />}
          {current === "versions" && <VersionsTab {...props} detail={data} />}
          {current === "data" && <DataTab {...props} detail={data} />}
          {current === "events" && <EventsTab {...props} detail={data} />}
        </div>
      )}
    </section>
  );
}

export interface TabProps {
  project: string;
  name: string;
  detail: FunctionDetail;
  reload: () => void;
  /** What the URL says after ? (e.g. the invocation to open). */
  query: URLSearchParams;
}
