// litefaas <command>: the entry point of the command-line tool.
import { parseArgs } from "node:util";
import { LitefaasError } from "../shared/errors.js";
import { AdminClient, resolveClientOptions } from "./client.js";
import { kvCommand, sqlCommand } from "./commands/data.js";
import { deployCommand } from "./commands/deploy.js";
import { dlqCommand } from "./commands/dlq.js";
import { keysCommand } from "./commands/keys.js";
import { eventsCommand } from "./commands/events.js";
import { functionCommands } from "./commands/functions.js";
import { invokeCommand } from "./commands/invoke.js";
import { invocationsCommand, invokeAsyncCommand } from "./commands/invocations.js";
import { logsCommand } from "./commands/logs.js";
import { eventsPublishCommand } from "./commands/publish.js";
import { upCommand } from "./commands/up.js";
import { usageCommand } from "./commands/usage.js";
import { createOutput, printError } from "./output.js";

const HELP = `litefaas — functions as HTTP endpoints, self-hosted

usage: litefaas <command> [options]

  up [--port 8080] [--host 127.0.0.1] [--data ./.litefaas] [--deploy <dir>]... [--examples]
     [--nats nats://127.0.0.1:4222] [--postgres postgres://user@host/db]
     [--cluster litefaas]          the platform's name on NATS and PostgreSQL: processes with
                                   the same name share functions, routes, keys and events
     [--role all|gateway,worker,control] [--capacity 512] [--replicas 1]
                                   what this process hosts (others need --nats); a worker runs
                                   at most --capacity invocations for gateways at once;
                                   --replicas: JetStream replicas of what litefaas creates
     [--trusted-proxies 10.0.0.0/8,::1]   believe X-Forwarded-For from these peers only
     [--header-timeout 10s] [--body-timeout 60s] [--request-timeout 0] [--max-header-size 16384]
                                   the gateway's limits on clients (0: the function's timeout)
     [--access-log <file>|-|off]   JSON access log lines (default <data>/access.log)
     [--log-format text|json]      the platform's own lines (and --access-log -) as text for
                                   people (default) or one JSON object per line for a collector
     [--log-file-max 32]           MiB a log file (access log, each function's) grows to before
                                   it is rotated to <file>.1; the one before that is removed
     [--require-sandbox]           refuse to run process functions without every protection
     [--metrics-open]              serve /metrics without the admin token (private networks)
     [--otlp http://collector:4318/v1/traces]   send spans there (OTLP/HTTP)
                                   run the platform (gateway, admin API, runtimes) in one process
  deploy [dir]                     bundle the project in dir (default .) and deploy it
  invoke <project>/<function> [--method GET] [--path /] [--data <text|@file>] [--header "k: v"]...
         [--async [--idempotency-key k]]
                                   call a function; --async queues it and prints the invocation id
  invocations get <id>             an async invocation's status and response
  invocations ls <project>/<function> [--status error|ok] [--trigger t] [--since 1h] [--limit 50]
  invocations show <id>            one invocation's record: timing, cold start, outcome, logs
  invocations replay <id> [--version n]   run a recorded input again (records.payloads: true)
  usage [project[/function]] [--since 30d] [--until <time>] [--by total|day|hour]
                                   invocations, errors, billed GB-seconds and egress bytes
  ls                               list deployed functions
  routes [project]                 list the routes projects declare
  keys create|ls|revoke <project> [id] [--name n] [--routes /a,/b] [--scopes s] [--expires 720h]
                                   API keys for a project's routes (shown once at create)
  versions <project>/<function>    list a function's versions
  rollback <project>/<function> [--to <version>]
  rm <project>/<function> [--purge]   remove a function (--purge: and delete its KV and SQL data)
  logs <project>[/<function>] [--follow] [--limit 100] [--level warn] [--request <id>] [--grep text]
                                   a function's log lines (or a whole project's), the last
                                   --limit that match, then new ones with --follow; --level keeps
                                   that level and above (debug, info, warn, error)
  events tail <project> [--subject 'orders.>']   follow a project's events
  events publish <project> <subject> [data] [--file <path>] [--content-type t] [--header k=v]...
                                   publish an event (data from the argument, --file or stdin)
  dlq ls|show|redrive|purge <project>/<function> [id]... [--limit n] [--after cursor] [--yes]
                                   a function's dead letters: list, show one, send back, delete
  kv ls|get|put|rm <project>/<function> [key] [value|@file] [--ttl s] [--prefix p]
                                   read and write a function's KV store
  sql <project>/<function> "SELECT … WHERE id = ?" [params]...
                                   query a function's SQL database

common options:
  --url <admin url>     default $LITEFAAS_URL or http://127.0.0.1:8080
  --token <token>       default $LITEFAAS_TOKEN or ./.litefaas/admin-token
  --json                machine-readable output
`;

const options = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  port: { type: "string" },
  host: { type: "string" },
  /** up: the data directory; invoke: the request body. */
  data: { type: "string", short: "d" },
  deploy: { type: "string", multiple: true },
  examples: { type: "boolean", default: false },
  prewarm: { type: "string" },
  "per-instance": { type: "string" },
  "drain-ms": { type: "string" },
  method: { type: "string", short: "X" },
  path: { type: "string" },
  header: { type: "string", short: "H", multiple: true },
  follow: { type: "boolean", short: "f", default: false },
  limit: { type: "string" },
  to: { type: "string" },
  subject: { type: "string" },
  nats: { type: "string" },
  cluster: { type: "string" },
  role: { type: "string" },
  capacity: { type: "string" },
  replicas: { type: "string" },
  purge: { type: "boolean", default: false },
  ttl: { type: "string" },
  prefix: { type: "string" },
  postgres: { type: "string" },
  file: { type: "string" },
  "content-type": { type: "string" },
  yes: { type: "boolean", short: "y", default: false },
  async: { type: "boolean", default: false },
  "idempotency-key": { type: "string" },
  after: { type: "string" },
  name: { type: "string" },
  routes: { type: "string" },
  scopes: { type: "string" },
  expires: { type: "string" },
  "trusted-proxies": { type: "string" },
  "header-timeout": { type: "string" },
  "body-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  "max-header-size": { type: "string" },
  "access-log": { type: "string" },
  "log-format": { type: "string" },
  "log-file-max": { type: "string" },
  level: { type: "string" },
  request: { type: "string" },
  grep: { type: "string" },
  "require-sandbox": { type: "boolean" },
  "metrics-open": { type: "boolean" },
  otlp: { type: "string" },
  status: { type: "string" },
  trigger: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  by: { type: "string" },
  before: { type: "string" },
  version: { type: "string" },
} as const;

export type Flags = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return printError(
      new LitefaasError("INVALID_REQUEST", (error as Error).message, {
        fix: "see `litefaas --help`",
      }),
      false,
    );
  }
  const { values: flags, positionals } = parsed;
  const [command, ...args] = positionals;
  const out = createOutput(flags.json);
  if (flags.help || command === undefined || command === "help") {
    process.stdout.write(HELP);
    return command === undefined && !flags.help ? 1 : 0;
  }
  try {
    if (command === "up") {
      ranUp = true;
      return await upCommand(flags);
    }
    const clientOptions = resolveClientOptions(flags, process.env);
    const client = new AdminClient(clientOptions);
    switch (command) {
      case "deploy":
        return await deployCommand(client, args[0] ?? ".", out);
      case "invoke":
        if (flags.async) return await invokeAsyncCommand(client, args[0], flags, out);
        if (flags["idempotency-key"] !== undefined)
          throw new LitefaasError("INVALID_REQUEST", "--idempotency-key is for async invocations", {
            fix: "add --async",
          });
        return await invokeCommand(client, args[0], flags, out);
      case "invocations":
        return await invocationsCommand(client, args, flags, out);
      case "kv":
        return await kvCommand(client, args, flags, out);
      case "sql":
        return await sqlCommand(client, args, out);
      case "events":
        if (args[0] !== "publish") return await eventsCommand(client, args, flags, out);
        if (flags.data !== undefined)
          throw new LitefaasError("INVALID_REQUEST", "events publish takes no --data", {
            fix: "pass the data as the argument after the subject, with --file <path>, or on stdin",
          });
        return await eventsPublishCommand(clientOptions, args.slice(1), flags, out);
      case "dlq":
        return await dlqCommand(client, args, flags, out);
      case "keys":
        return await keysCommand(client, args, flags, out);
      case "usage":
        return await usageCommand(client, args[0], flags, out);
      case "logs":
        return await logsCommand(client, args[0], flags, out);
      case "ls":
      case "routes":
      case "versions":
      case "rollback":
      case "rm":
        return await functionCommands[command](client, args[0], flags, out);
      default:
        throw new LitefaasError("INVALID_REQUEST", `unknown command "${command}"`, {
          fix: "see `litefaas --help`",
        });
    }
  } catch (error) {
    out.done();
    return printError(error, flags.json);
  }
}

let ranUp = false;
process.exitCode = await main(process.argv.slice(2));
// a platform that failed partway through starting may hold connections and timers open: once
// its error is printed, the command is over (a moment's grace lets piped output drain)
if (process.exitCode !== 0 && ranUp) setTimeout(() => process.exit(), 500).unref();
