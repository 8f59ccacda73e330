// An unmodified AWS Lambda handler in an isolate: the request becomes an API Gateway v2 proxy
// event and the result maps back as API Gateway does (the shapes are shared with the process
// runtimes, in shared/lambda-events).
import { apiGatewayEvent, apiGatewayResponse } from "../../../shared/lambda-events.js";
import type { FunctionMeta } from "./dispatch.js";

export type LambdaHandler = (
  event: unknown,
  context: unknown,
  callback?: (e: unknown, r?: unknown) => void,
) => unknown;

interface InvokeInfo {
  requestId: string;
  sourceIp: string;
  deadline: number;
  meta: FunctionMeta;
}

export async function lambdaInvoke(
  handler: LambdaHandler,
  request: Request,
  info: InvokeInfo,
): Promise<Response> {
  const headers: string[] = [];
  request.headers.forEach((value, name) => headers.push(name, value));
  const event = apiGatewayEvent({
    method: request.method,
    url: request.url,
    headers,
    body: request.body === null ? null : new Uint8Array(await request.arrayBuffer()),
    requestId: info.requestId,
    sourceIp: info.sourceIp,
    project: info.meta.project,
  });
  const out = apiGatewayResponse(await callLambda(handler, event, info));
  const responseHeaders = new Headers();
  for (let i = 0; i + 1 < out.headers.length; i += 2)
    responseHeaders.append(out.headers[i] as string, out.headers[i + 1] as string);
  const body = out.body instanceof Uint8Array ? new Uint8Array(out.body) : out.body;
  return new Response(body, { status: out.status, headers: responseHeaders });
}

/** Run a handler the way Lambda's Node runtime does: async, or with a callback as 3rd parameter. */
export async function callLambda(
  handler: LambdaHandler,
  event: unknown,
  info: Omit<InvokeInfo, "sourceIp">,
): Promise<unknown> {
  const context = lambdaContext(info);
  if (handler.length < 3) return await handler(event, context);
  return new Promise<unknown>((resolve, reject) => {
    const out = handler(event, context, (error, value) =>
      error ? reject(toError(error)) : resolve(value),
    );
    if (out !== undefined && typeof (out as Promise<unknown>).then === "function") {
      (out as Promise<unknown>).then(resolve, reject);
    }
  });
}

function lambdaContext(info: Omit<InvokeInfo, "sourceIp">) {
  const { meta } = info;
  return {
    awsRequestId: info.requestId,
    functionName: `${meta.project}-${meta.name}`,
    functionVersion: String(meta.version),
    memoryLimitInMB: String(meta.memoryMiB),
    invokedFunctionArn: `arn:litefaas:lambda:local:0:function:${meta.project}-${meta.name}:${meta.version}`,
    logGroupName: `/litefaas/${meta.project}/${meta.name}`,
    logStreamName: `${meta.version}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, info.deadline - Date.now()),
  };
}

function toError(value: unknown): Error {
  return value instanceof Error
    ? value
    : new Error(typeof value === "string" ? value : JSON.stringify(value));
}
