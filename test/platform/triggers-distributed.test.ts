// The same triggers suite on NATS JetStream (streams, durable consumers, JetStream KV for cron
// claims), plus what only NATS offers: any NATS client can feed a project's functions. Skips
// loudly without NATS, and fails instead in CI.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { FIXTURES, startPlatform, type Platform } from "../kit/platform.js";
import { removeCluster, testCluster } from "../kit/cluster.js";
import { natsService } from "../kit/services.js";
import { eventuallyValue } from "../kit/eventually.js";
import { triggersSuite } from "./triggers-suite.js";

const nats = await natsService();

if (nats.skip === false) {
  const url = nats.url;
  // a cluster name of the suite's own, so the documented subject is checked with one given
  const cluster = testCluster();
  after(() => removeCluster(url, cluster));
  triggersSuite({
    args: ["--nats", url, "--cluster", cluster],
    label: "distributed: NATS JetStream",
    externalPublish: async (project, subject, data) => {
      const nc = await connect({ servers: url });
      try {
        nc.publish(`${cluster}.events.${project}.${subject}`, data);
        await nc.flush();
      } finally {
        await nc.close();
      }
    },
  });

  void describe("cron across two processes sharing NATS", () => {
    const p = `c${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const shared = testCluster();
    let dir: string;
    let first: Platform;
    let second: Platform;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "litefaas-cron-pair-"));
      await cp(join(FIXTURES, "triggers"), dir, { recursive: true });
      await writeFile(
        join(dir, "litefaas.yaml"),
        `project: ${p}\nfunctions:\n  ticker:\n    main: ticker.ts\n    schedule: "* * * * * *"\n`,
      );
      [first, second] = await Promise.all([
        startPlatform({ args: ["--nats", url, "--cluster", shared] }),
        startPlatform({ args: ["--nats", url, "--cluster", shared] }),
      ]);
      for (const platform of [first, second]) {
        const deployed = await platform.deploy(dir);
        assert.equal(deployed.code, 0, deployed.stderr);
      }
    });
    after(async () => {
      try {
        await first.cli(["rm", `${p}/ticker`, "--purge"]);
      } finally {
        await Promise.all([first.dispose(), second.dispose()]);
        await rm(dir, { recursive: true, force: true });
        await removeCluster(url, shared);
      }
    });

    it("runs each tick once, though both processes schedule it", async () => {
      const ticks = await eventuallyValue("five ticks", async () => {
        const response = await first.fetch(`/fn/${p}/ticker/journal?prefix=tick:`);
        const found = (await response.json()) as Record<string, number>;
        return Object.keys(found).length >= 5 ? found : undefined;
      });
      for (const [tick, runs] of Object.entries(ticks))
        assert.equal(runs, 1, `${tick} ran ${runs} times`);
    });
  });
} else {
  void it(
    "triggers end to end (distributed: NATS JetStream)",
    { skip: nats.skip },
    () => undefined,
  );
}
