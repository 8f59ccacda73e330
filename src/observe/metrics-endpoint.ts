// GET /metrics: the process's metrics in Prometheus's text format. Every process serves its own
// (Prometheus scrapes each), behind the admin token unless the operator opened it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { LitefaasError } from "../shared/errors.js";
import type { Metrics } from "./metrics.js";

export type MetricsEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) => void;

export function metricsEndpoint(options: {
  metrics: Metrics;
  /** Whether the request may read the metrics (the admin token, or always when open). */
  authorized(header: string | undefined): boolean;
}): MetricsEndpoint {
  return (req, res, requestId) => {
    req.resume();
    const fail = (e: LitefaasError) => {
      res.writeHead(e.status, { "content-type": "application/json", "x-request-id": requestId });
      res.end(JSON.stringify(e.toBody(requestId)));
    };
    if (!options.authorized(req.headers.authorization)) {
      res.setHeader("www-authenticate", 'Bearer realm="litefaas-admin"');
      fail(
        new LitefaasError("UNAUTHORIZED", "/metrics needs the admin token as a bearer token", {
          fix: "scrape with `authorization: { credentials_file: <data>/admin-token }`, or start with --metrics-open on a private network",
        }),
      );
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      fail(
        new LitefaasError("METHOD_NOT_ALLOWED", `${req.method ?? ""} is not allowed on /metrics`),
      );
      return;
    }
    options.metrics.scrape().then(
      (text) => {
        res.writeHead(200, {
          "content-type": options.metrics.contentType,
          "cache-control": "no-store",
          "x-request-id": requestId,
        });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (error: unknown) =>
        fail(new LitefaasError("INTERNAL", "the metrics could not be gathered", { cause: error })),
    );
  };
}
