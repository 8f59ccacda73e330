// An unmodified AWS Lambda handler behind HTTP: the request becomes an API Gateway v2
// (HTTP API, payload format 2.0) proxy event, and the result maps back as API Gateway does.
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
  const event = await toEvent(request, info);
  return fromResult(await callLambda(handler, event, info));
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

async function toEvent(request: Request, info: InvokeInfo): Promise<Record<string, unknown>> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  let route: string | undefined;
  let params: string | undefined;
  let auth: string | undefined;
  request.headers.forEach((value, name) => {
    if (name === "cookie") cookies.push(...value.split(/;\s*/).filter((c) => c.length > 0));
    else if (name === "x-litefaas-route") route = value;
    else if (name === "x-litefaas-params") params = value;
    else if (name === "x-litefaas-auth") auth = value;
    else headers[name] = value;
  });
  const routeKey = route === undefined ? "$default" : awsRouteKey(route);
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, name) => {
    query[name] = name in query ? `${query[name]},${value}` : value;
  });
  const bytes =
    request.body === null ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
  const text = isTextual(headers["content-type"]) ? decodeUtf8(bytes) : undefined;
  const now = Date.now();
  const event: Record<string, unknown> = {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: "litefaas",
      apiId: info.meta.project,
      domainName: url.host,
      domainPrefix: url.hostname.split(".")[0] ?? url.hostname,
      http: {
        method: request.method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: info.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: info.requestId,
      routeKey,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event["cookies"] = cookies;
  if (auth !== undefined) {
    // as API Gateway's JWT authorizer shows it; an API key as a Lambda authorizer's context
    const identity = JSON.parse(auth) as { type: string; scopes: string[]; claims?: unknown };
    (event["requestContext"] as Record<string, unknown>)["authorizer"] =
      identity.type === "jwt"
        ? { jwt: { claims: identity.claims, scopes: identity.scopes } }
        : { lambda: identity };
  }
  const pathParameters = awsPathParameters(params);
  if (pathParameters !== undefined) event["pathParameters"] = pathParameters;
  if (Object.keys(query).length > 0) event["queryStringParameters"] = query;
  if (bytes.length > 0) {
    if (text !== undefined) event["body"] = text;
    else {
      event["body"] = toBase64(bytes);
      event["isBase64Encoded"] = true;
    }
  }
  return event;
}

/** Our "GET /users/:id" and "ANY /files/*" in API Gateway's form: "GET /users/{id}", "ANY /files/{proxy+}". */
function awsRouteKey(route: string): string {
  const space = route.indexOf(" ");
  const target = route.slice(space + 1);
  const path = target.slice(target.indexOf("/")); // without the host the route may name
  return `${route.slice(0, space)} ${path}`
    .replace(/\/:([A-Za-z0-9_]+)/g, "/{$1}")
    .replace(/\/\*$/, "/{proxy+}")
    .replace(/\/\*([A-Za-z0-9_]+)$/, "/{$1+}");
}

/** The route's parameters; API Gateway names an unnamed greedy one "proxy". */
function awsPathParameters(json: string | undefined): Record<string, string> | undefined {
  if (json === undefined) return undefined;
  const params = JSON.parse(json) as Record<string, string>;
  if (Object.keys(params).length === 0) return undefined;
  if ("*" in params) {
    params["proxy"] = params["*"] ?? "";
    delete params["*"];
  }
  return params;
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

/** API Gateway v2's rules: an object with statusCode is a response; anything else is a JSON 200. */
function fromResult(result: unknown): Response {
  if (result !== null && typeof result === "object" && "statusCode" in result) {
    const r = result as {
      statusCode: number;
      headers?: Record<string, string | number | boolean>;
      multiValueHeaders?: Record<string, Array<string | number | boolean>>;
      cookies?: string[];
      body?: unknown;
      isBase64Encoded?: boolean;
    };
    const headers = new Headers();
    for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(k, String(v));
    for (const [k, vs] of Object.entries(r.multiValueHeaders ?? {}))
      for (const v of vs) headers.append(k, String(v));
    for (const cookie of r.cookies ?? []) headers.append("set-cookie", cookie);
    const text =
      r.body === undefined || r.body === null
        ? null
        : typeof r.body === "string"
          ? r.body
          : JSON.stringify(r.body);
    const body = text === null ? null : r.isBase64Encoded === true ? fromBase64(text) : text;
    return new Response(body, { status: r.statusCode, headers });
  }
  if (result === undefined) return new Response(null, { status: 200 });
  const body = typeof result === "string" ? result : JSON.stringify(result);
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript|graphql)|[^;]*\+(json|xml))/i.test(
    contentType,
  );
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toError(value: unknown): Error {
  return value instanceof Error
    ? value
    : new Error(typeof value === "string" ? value : JSON.stringify(value));
}
