// The records port's conformance suite on a JetStream stream, plus what only this backend has to
// get right: a second process's port on the same stream sees the first one's records (how control
// reads every worker's). Needs NATS with JetStream (test/kit/services.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { natsRecords } from "../../src/backends/nats-records/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import { describeWith, natsService } from "../kit/services.js";
import { recordsConformance, sampleRecord } from "../ports/records-conformance.js";

const nats = await natsService();

/** A stream of the caller's own, deleted with the connection at cleanup. */
async function openOwn(stream = `TEST_RECORDS_${randomBytes(4).toString("hex").toUpperCase()}`) {
  const nc = await connectNats({ servers: nats.url, name: "litefaas-test-records" });
  const port = await natsRecords(nc, { stream, prefix: `t${stream.toLowerCase()}.records` });
  return {
    port,
    nc,
    cleanup: async () => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
  };
}

if (nats.skip === false) {
  recordsConformance("nats", () => openOwn());

  void describe("nats records backend", () => {
    void it("shows one process's records to another on the same stream", async () => {
      const stream = `TEST_RECORDS_${randomBytes(4).toString("hex").toUpperCase()}`;
      const a = await openOwn(stream);
      const b = await openOwn(stream);
      try {
        const record = sampleRecord("p", "shared");
        await a.port.append([record]);
        assert.deepEqual(await b.port.get(record.id), record);
        assert.deepEqual(
          (await b.port.list("p", "shared")).map((r) => r.id),
          [record.id],
        );
      } finally {
        await b.port.close();
        await b.nc.close();
        await a.port.close();
        await a.cleanup();
      }
    });
  });
} else {
  describeWith(nats, "records port conformance: nats", () => undefined);
}
