// The same bindings suite on the distributed backends: NATS (JetStream KV, core subjects) and
// PostgreSQL (a schema and a role per function). Skips loudly when either server is missing,
// and fails instead in CI.
import { it } from "node:test";
import { natsService, postgresService } from "../kit/services.js";
import { bindingsSuite } from "./bindings-suite.js";

const [nats, postgres] = await Promise.all([natsService(), postgresService()]);

if (nats.skip === false && postgres.skip === false) {
  bindingsSuite({
    args: ["--nats", nats.url, "--postgres", postgres.url],
    label: "distributed: NATS and PostgreSQL",
  });
} else {
  void it(
    "bindings end to end (distributed: NATS and PostgreSQL)",
    { skip: nats.skip || postgres.skip },
    () => undefined,
  );
}
