// The node's configuration: defaults, flags over environment, and refusals that say the fix.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { buildConfig } from "../../src/node/config.js";
import { LitefaasError } from "../../src/shared/errors.js";

function refusal(run: () => unknown): LitefaasError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof LitefaasError);
    return error;
  }
  return assert.fail("accepted");
}

describe("node config", () => {
  it("protects the gateway by default and logs access under the data directory", () => {
    const config = buildConfig({ data: "/tmp/lf-data" }, {});
    assert.deepEqual(config.http, {
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 60_000,
      requestTimeoutMs: 0,
      keepAliveTimeoutMs: 5000,
      maxHeaderBytes: 16_384,
    });
    assert.equal(config.accessLog, "/tmp/lf-data/access.log");
  });

  it("takes the gateway's limits from flags before the environment", () => {
    const config = buildConfig(
      { headerTimeout: "2s", requestTimeout: "30s", maxHeaderSize: "8192", accessLog: "-" },
      { LITEFAAS_HEADER_TIMEOUT: "9s", LITEFAAS_BODY_TIMEOUT: "5s" },
    );
    assert.equal(config.http.headersTimeoutMs, 2000);
    assert.equal(config.http.bodyTimeoutMs, 5000);
    assert.equal(config.http.requestTimeoutMs, 30_000);
    assert.equal(config.http.maxHeaderBytes, 8192);
    assert.equal(config.accessLog, "-");
    assert.equal(buildConfig({ accessLog: "off" }, {}).accessLog, undefined);
    assert.equal(buildConfig({ accessLog: "logs/a.log" }, {}).accessLog, resolve("logs/a.log"));
  });

  it("refuses a timeout that is not a duration, naming the flag and an example", () => {
    const error = refusal(() => buildConfig({ headerTimeout: "fast" }, {}));
    assert.equal(error.code, "INVALID_REQUEST");
    assert.match(error.message, /--header-timeout must be a duration/);
    assert.match(error.fix ?? "", /--header-timeout 30s/);
  });

  it("refuses a body timeout shorter than the header timeout", () => {
    const error = refusal(() => buildConfig({ headerTimeout: "10s", bodyTimeout: "5s" }, {}));
    assert.match(error.message, /--body-timeout \(5000 ms\) is shorter than --header-timeout/);
  });

  it("caps log files at 32 MiB unless told, in MiB, and refuses a size that is not one", () => {
    assert.equal(buildConfig({}, {}).logFileMaxBytes, 32 * 1024 * 1024);
    assert.equal(
      buildConfig({ logFileMax: "4" }, { LITEFAAS_LOG_FILE_MAX: "8" }).logFileMaxBytes,
      4 * 1024 * 1024,
    );
    assert.equal(buildConfig({}, { LITEFAAS_LOG_FILE_MAX: "8" }).logFileMaxBytes, 8 * 1024 * 1024);
    const error = refusal(() => buildConfig({ logFileMax: "32MB" }, {}));
    assert.equal(error.code, "INVALID_REQUEST");
    assert.match(error.message, /--log-file-max must be an integer from 1/);
  });

  it("refuses a header size limit too small to hold a request line", () => {
    const error = refusal(() => buildConfig({ maxHeaderSize: "100" }, {}));
    assert.match(error.message, /--max-header-size must be an integer from 1024/);
  });
});
