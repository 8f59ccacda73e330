// The gateway's own cost: hello world through a route with nothing on it, and through a route
// with a JWT (HS256, verified per request), a rate limit (roomy: counted, never refusing) and
// CORS (an Origin on every request) — the same function, the same process, one after the other.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { startLitefaas } from "./servers.js";
import { HELLO } from "./util.js";
import { wrk, type WrkResult } from "./wrk.js";

export interface GatewayFigures {
  plain: WrkResult;
  guarded: WrkResult;
  /** 1 − guarded/plain requests per second. */
  cost: number;
}

const SECRET_ENV = "LITEFAAS_BENCH_JWT_SECRET";

export async function gatewayFigures(
  duration: string,
  connections: number,
): Promise<GatewayFigures> {
  const secret = randomBytes(32).toString("base64url");
  process.env[SECRET_ENV] = secret; // the platform is spawned with this environment
  const project = await mkdtemp(join(tmpdir(), "litefaas-bench-gateway-"));
  await writeFile(join(project, "hello.js"), HELLO);
  await writeFile(
    join(project, "litefaas.yaml"),
    [
      "project: gateway-bench",
      "functions:",
      "  hello:",
      "    main: hello.js",
      "auth:",
      "  jwt:",
      "    issuer: https://issuer.bench/",
      "    audience: bench",
      `    secretEnv: ${SECRET_ENV}`,
      "rateLimits:",
      "  roomy: { rate: 1000000/s, burst: 1000000 }",
      "routes:",
      "  - { method: GET, path: /plain, function: hello }",
      "  - method: GET",
      "    path: /guarded",
      "    function: hello",
      "    auth: jwt",
      "    rateLimit: roomy",
      "    cors: { origins: [https://app.example.com] }",
      "",
    ].join("\n"),
  );
  const token = await new SignJWT({ sub: "bench-user", scope: "read" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://issuer.bench/")
    .setAudience("bench")
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(secret));
  const platform = await startLitefaas();
  try {
    await platform.deploy(project);
    const guardedHeaders = [`Authorization: Bearer ${token}`, "Origin: https://app.example.com"];
    const results: WrkResult[] = [];
    for (const [path, headers] of [
      ["/plain", []],
      ["/guarded", guardedHeaders],
    ] as Array<[string, string[]]>) {
      await wrk(`${platform.base}${path}`, "2s", connections, headers); // warm-up
      results.push(await wrk(`${platform.base}${path}`, duration, connections, headers));
    }
    const [plain, guarded] = results as [WrkResult, WrkResult];
    if (plain.errors > 0 || guarded.errors > 0)
      throw new Error(`non-2xx answers: plain ${plain.errors}, guarded ${guarded.errors}`);
    return { plain, guarded, cost: 1 - guarded.rps / plain.rps };
  } finally {
    await platform.stop();
    await rm(project, { recursive: true, force: true });
  }
}
