// Types for function authors: `import type { ExportedHandler, Env, Context } from "litefaas"`.

/** Environment variables from the manifest (and, later, bindings) by name. */
export type Env = Record<string, string>;

/** Per-invocation context, as in Cloudflare Workers' ExecutionContext. */
export interface Context {
  readonly requestId: string;
  /** Keep the invocation alive until `promise` settles, after the response was sent. */
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

/** A Workers-style module: `export default { fetch(request, env, ctx) { … } } satisfies ExportedHandler`. */
export interface ExportedHandler<E = Env> {
  fetch(request: Request, env: E, ctx: Context): Response | Promise<Response>;
}

/** An AWS Lambda-style handler; HTTP arrives as an API Gateway v2 (payload 2.0) event. */
export type LambdaHandler<Event = ApiGatewayV2Event, Result = unknown> = (
  event: Event,
  context: LambdaContext,
) => Promise<Result> | Result;

export interface ApiGatewayV2Event {
  version: "2.0";
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface ApiGatewayV2Result {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: string;
  invokedFunctionArn: string;
  getRemainingTimeInMillis(): number;
}
