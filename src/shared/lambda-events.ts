// The AWS Lambda event shapes litefaas presents to Lambda-style handlers, in every runtime (the
// isolate's `export const handler`, and processes speaking the Runtime API): an HTTP request as
// an API Gateway v2 (HTTP API, payload 2.0) proxy event and its result mapped back as API
// Gateway does, a message as an SQS batch of one record, a cron tick as an EventBridge scheduled
// event. Plain data in and out, and only what both Node and the isolate have (URL, TextDecoder,
// btoa), so one implementation serves both.
import type { TriggerEvent } from "../runtimes/types.js";

type MessageEvent = Extract<TriggerEvent, { kind: "message" }>;

/** An HTTP request as the gateway hands it on. */
export interface HttpRequestData {
  method: string;
  url: string;
  /** Flat [name, value, …]; names in any case, repeats allowed. */
  headers: string[];
  body: Uint8Array | null;
  requestId: string;
  sourceIp: string;
  project: string;
}

export interface HttpResponseData {
  status: number;
  headers: string[];
  body: Uint8Array | string | null;
}

export function apiGatewayEvent(request: HttpRequestData): Record<string, unknown> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  let route: string | undefined;
  let params: string | undefined;
  let auth: string | undefined;
  const flat = request.headers;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    const value = flat[i + 1] as string;
    if (name === "cookie") cookies.push(...value.split(/;\s*/).filter((c) => c.length > 0));
    else if (name === "x-litefaas-route") route = value;
    else if (name === "x-litefaas-params") params = value;
    else if (name === "x-litefaas-auth") auth = value;
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const routeKey = route === undefined ? "$default" : awsRouteKey(route);
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, name) => {
    query[name] = name in query ? `${query[name]},${value}` : value;
  });
  const bytes = request.body ?? new Uint8Array(0);
  const text = isTextual(headers["content-type"]) ? utf8(bytes) : undefined;
  const now = Date.now();
  const event: Record<string, unknown> = {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: "litefaas",
      apiId: request.project,
      domainName: url.host,
      domainPrefix: url.hostname.split(".")[0] ?? url.hostname,
      http: {
        method: request.method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: request.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: request.requestId,
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

/** API Gateway v2's rules: an object with statusCode is a response; anything else is a JSON 200. */
export function apiGatewayResponse(result: unknown): HttpResponseData {
  if (result !== null && typeof result === "object" && "statusCode" in result) {
    const r = result as {
      statusCode: unknown;
      headers?: Record<string, string | number | boolean>;
      multiValueHeaders?: Record<string, Array<string | number | boolean>>;
      cookies?: string[];
      body?: unknown;
      isBase64Encoded?: boolean;
    };
    const status = Number(r.statusCode);
    if (!Number.isInteger(status) || status < 200 || status > 599)
      throw new TypeError(
        `statusCode ${String(r.statusCode)} is not an HTTP status from 200 to 599`,
      );
    const headers: string[] = [];
    for (const [k, v] of Object.entries(r.headers ?? {})) headers.push(k, String(v));
    for (const [k, vs] of Object.entries(r.multiValueHeaders ?? {}))
      for (const v of vs) headers.push(k, String(v));
    for (const cookie of r.cookies ?? []) headers.push("set-cookie", cookie);
    const text =
      r.body === undefined || r.body === null
        ? null
        : typeof r.body === "string"
          ? r.body
          : JSON.stringify(r.body);
    const body = text === null ? null : r.isBase64Encoded === true ? fromBase64(text) : text;
    return { status, headers, body };
  }
  if (result === undefined) return { status: 200, headers: [], body: null };
  const body = typeof result === "string" ? result : JSON.stringify(result);
  return { status: 200, headers: ["content-type", "application/json"], body };
}

/** A message for an SQS-style handler: one record; `batchItemFailures` naming it fails it. */
export function sqsEvent(message: Omit<MessageEvent, "kind"> & { project: string }): {
  Records: Array<Record<string, unknown>>;
} {
  const text = utf8(message.data);
  const attributes: Record<string, { stringValue: string; dataType: string }> = {};
  for (const [name, value] of Object.entries(message.headers))
    attributes[name] = { stringValue: value, dataType: "String" };
  return {
    Records: [
      {
        messageId: message.id,
        receiptHandle: message.id,
        body: text ?? toBase64(message.data),
        attributes: {
          ApproximateReceiveCount: String(message.attempt),
          SentTimestamp: String(message.publishedAt),
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          ...(text === undefined ? { LitefaasBodyEncoding: "base64" } : {}),
        },
        messageAttributes: attributes,
        eventSource: "litefaas:events",
        eventSourceARN: `arn:litefaas:events:local:0:${message.project}:${message.subject}`,
        awsRegion: "local",
      },
    ],
  };
}

/** True when an SQS-style handler's result reports its record as failed. */
export function reportsBatchFailure(result: unknown): boolean {
  const failures = (result as { batchItemFailures?: unknown } | null | undefined)
    ?.batchItemFailures;
  return Array.isArray(failures) && failures.length > 0;
}

/** A cron tick for a Lambda handler: EventBridge's scheduled event. */
export function scheduledEvent(tick: {
  id: string;
  cron: string;
  scheduledTime: number;
  attempt: number;
  project: string;
  name: string;
}): Record<string, unknown> {
  return {
    version: "0",
    id: tick.id,
    "detail-type": "Scheduled Event",
    source: "litefaas.scheduler",
    account: "litefaas",
    time: new Date(tick.scheduledTime).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: "local",
    resources: [`arn:litefaas:scheduler:local:0:${tick.project}/${tick.name}`],
    detail: { cron: tick.cron, attempt: tick.attempt },
  };
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

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript|graphql)|[^;]*\+(json|xml))/i.test(
    contentType,
  );
}

export function utf8(bytes: Uint8Array): string | undefined {
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

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
