// litefaas's runtime for node-process functions: Node with its full API, serving the AWS Lambda
// Runtime API loop with Lambda's Node contract (an async handler, or a callback as the third
// argument). `import { kv, sql, events } from "litefaas"` resolves to the SDK beside this file.
import { existsSync } from "node:fs";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { register } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bindInvocation } from "./litefaas.js";

type Handler = (
  event: unknown,
  context: unknown,
  callback?: (e: unknown, v?: unknown) => void,
) => unknown;

// inside the sandbox the instance's own socket, else the loopback address
const socketPath = process.env["RUNTIME_API_SOCKET"];
const [host, port] = (process.env["AWS_LAMBDA_RUNTIME_API"] ?? "").split(":");
const target = socketPath !== undefined && socketPath !== "" ? { socketPath } : { host, port };
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const PREFIX = "/2018-06-01/runtime";

/** One call to the Runtime API; no timeout: the next event may be long in coming. */
function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return send(method, PREFIX + path, body, headers);
}

function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function errorBody(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  return JSON.stringify({
    errorMessage: e.message,
    errorType: e.name,
    stackTrace: (e.stack ?? "")
      .split("\n")
      .slice(1)
      .map((line) => line.trim()),
  });
}

async function loadHandler(): Promise<Handler> {
  register(new URL("./resolve-litefaas.js", import.meta.url));
  const spec = process.env["_HANDLER"] ?? "index.handler";
  const dot = spec.lastIndexOf(".");
  const moduleName = spec.slice(0, dot);
  const functionName = spec.slice(dot + 1);
  const root = process.env["LAMBDA_TASK_ROOT"] ?? "/var/task";
  const file = ["", ".mjs", ".js", ".cjs"]
    .map((ext) => join(root, moduleName + ext))
    .find((candidate) => existsSync(candidate));
  try {
    if (file === undefined) throw new Error(`Cannot find module '${moduleName}' in ${root}`);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const handler =
      module[functionName] ??
      (module["default"] as Record<string, unknown> | undefined)?.[functionName];
    if (typeof handler !== "function") throw new TypeError(`${spec} is not a function`);
    return handler as Handler;
  } catch (error) {
    await call("POST", "/init/error", errorBody(error), {
      "Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError",
    });
    console.error(error);
    process.exit(1);
  }
}

function invoke(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  return new Promise((resolve, reject) => {
    const out = handler(event, context, (error, value) =>
      error
        ? reject(error instanceof Error ? error : new Error(JSON.stringify(error)))
        : resolve(value),
    );
    if (out instanceof Promise) out.then(resolve, reject);
  });
}

/**
 * A prepared process: started before any function needed it, it waits for the environment of
 * the function it becomes; its code is in /var/task by then.
 */
async function awaitAssignment(): Promise<void> {
  const { body } = await send("GET", "/litefaas/v1/assignment");
  const { env } = JSON.parse(body.toString("utf8")) as { env: Record<string, string> };
  Object.assign(process.env, env);
}

if (process.argv.includes("--prepared")) await awaitAssignment();
const handler = await loadHandler();
for (;;) {
  const next = await call("GET", "/invocation/next");
  const requestId = String(next.headers["lambda-runtime-aws-request-id"]);
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: String(next.headers["lambda-runtime-invoked-function-arn"] ?? ""),
    functionName: process.env["AWS_LAMBDA_FUNCTION_NAME"] ?? "",
    functionVersion: process.env["AWS_LAMBDA_FUNCTION_VERSION"] ?? "$LATEST",
    memoryLimitInMB: process.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] ?? "128",
    logGroupName: process.env["AWS_LAMBDA_LOG_GROUP_NAME"] ?? "",
    logStreamName: process.env["AWS_LAMBDA_LOG_STREAM_NAME"] ?? "",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  bindInvocation(requestId);
  try {
    const event = JSON.parse(next.body.toString("utf8") || "null") as unknown;
    const result = await invoke(handler, event, context);
    await call("POST", `/invocation/${requestId}/response`, JSON.stringify(result ?? null));
  } catch (error) {
    console.error(error);
    await call("POST", `/invocation/${requestId}/error`, errorBody(error), {
      "Lambda-Runtime-Function-Error-Type": "Unhandled",
    });
  }
}
