// The fetch binding's host half under an egress policy, against real local HTTP servers.
// Addresses that are refused are never connected to, so the private and public-looking IPs
// below (10.0.0.5, 198.51.100.7, …) need no network.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  checkEgress,
  createFetchHost,
  FetchError,
  nonPublicRange,
  parseEgressList,
  type EgressPolicy,
  type FetchHost,
  type FetchHostOptions,
  type Resolver,
} from "../../../src/bindings/fetch/index.js";
import type { HostHooks } from "../../../src/runtimes/isolate/guest/host-api.js";
import { startServer, type ReceivedRequest, type TestServer } from "./test-server.js";

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

function policyOf(entries: string[]): EgressPolicy {
  const parsed = parseEgressList(entries);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join("\n"));
  return parsed.policy;
}

function hostWith(entries: string[], options: Partial<FetchHostOptions> = {}): FetchHost {
  // Typed as the hook too: the fetch host must stay assignable to HostHooks.fetch.
  const host: FetchHost & HostHooks["fetch"] = createFetchHost({
    platformAddresses: [],
    timeoutMs: 5000,
    ...options,
    policy: policyOf(entries),
  });
  cleanups.push(() => host.close());
  return host;
}

async function server(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const started = await startServer(handler);
  cleanups.push(() => started.close());
  return started;
}

const ok = (): Promise<TestServer> => server((_req, res) => res.end("ok"));

/** A resolver answering from a table, counting its queries; unknown names fail like DNS does. */
function fakeDns(table: Record<string, string[]>): { lookup: Resolver; queries: string[] } {
  const queries: string[] = [];
  const lookup: Resolver = (name) => {
    queries.push(name);
    const list = table[name];
    if (list === undefined)
      return Promise.reject(Object.assign(new Error(`ENOTFOUND ${name}`), { code: "ENOTFOUND" }));
    return Promise.resolve(
      list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }) as const),
    );
  };
  return { lookup, queries };
}

/** The i-th request a server received; fails the test when there is none. */
function receivedBy(target: TestServer, i = 0): ReceivedRequest {
  const request = target.received[i];
  assert.ok(request, `request ${i} was not received`);
  return request;
}

const get = (host: FetchHost, url: string, headers: string[] = []) =>
  host("req-1", "GET", url, headers, null);
const text = (body: ArrayBuffer): string => Buffer.from(body).toString("utf8");

void test("an empty egress list refuses every request before connecting", async () => {
  const target = await ok();
  const host = hostWith([]);
  await assert.rejects(get(host, `${target.origin}/`), {
    name: "FetchError",
    message:
      `egress to "127.0.0.1:${target.port}" refused: this function's egress list is empty, so every outbound ` +
      `request is refused; add "127.0.0.1:${target.port}" to this function's egress list in litefaas.yaml to allow it`,
  });
  assert.equal(target.received.length, 0);
});

void test("a listed host:port is reached with the guest's headers, minus hop-by-hop ones and Host", async () => {
  const target = await server((_req, res) => {
    res.writeHead(201, "Made It", { "x-reply": "yes" });
    res.end("created");
  });
  const host = hostWith([`127.0.0.1:${target.port}`], { userAgent: "litefaas-test" });
  const guestHeaders = [
    "X-Custom",
    "1",
    "Host",
    "evil.example",
    "Connection",
    "x-hop",
    "X-Hop",
    "secret",
  ];
  guestHeaders.push(
    "Keep-Alive",
    "timeout=5",
    "TE",
    "trailers",
    "Upgrade",
    "websocket",
    "Transfer-Encoding",
    "chunked",
  );
  const [status, statusText, headers, body, finalUrl] = await get(
    host,
    `${target.origin}/path?q=1#frag`,
    guestHeaders,
  );
  assert.equal(status, 201);
  assert.equal(statusText, "Made It");
  assert.equal(text(body), "created");
  assert.equal(finalUrl, `${target.origin}/path?q=1`);
  assert.ok(headers.includes("x-reply"));
  const seen = receivedBy(target).headers;
  assert.equal(seen["x-custom"], "1");
  assert.equal(seen.host, `127.0.0.1:${target.port}`);
  assert.equal(seen["user-agent"], "litefaas-test");
  for (const dropped of ["x-hop", "keep-alive", "te", "upgrade", "transfer-encoding"]) {
    assert.equal(seen[dropped], undefined, `${dropped} must not be forwarded`);
  }
});

void test("wildcard entries match subdomains at any depth, never the apex or look-alikes", async () => {
  const policy = policyOf(["*.example.com"]);
  assert.deepEqual(checkEgress(policy, "api.example.com", 443), { allowed: true, explicit: false });
  assert.deepEqual(checkEgress(policy, "a.b.example.com", 80), { allowed: true, explicit: false });
  for (const name of ["example.com", "badexample.com", "example.com.evil.net", "10.0.0.1"]) {
    assert.equal(checkEgress(policy, name, 443).allowed, false, name);
  }
  const host = hostWith(["*.example.com"]);
  await assert.rejects(get(host, "https://example.com/"), {
    message:
      /^egress to "example\.com" refused: not in this function's egress list; add "example\.com" to/,
  });
});

void test("a wildcard entry does not open a subdomain that resolves to loopback", async () => {
  const target = await ok();
  const dns = fakeDns({ "api.example.test": ["127.0.0.1"] });
  const host = hostWith(["*.example.test"], { lookup: dns.lookup });
  await assert.rejects(get(host, `http://api.example.test:${target.port}/`), {
    message: new RegExp(
      `^egress to "api\\.example\\.test:${target.port}" refused: "api\\.example\\.test" resolves to 127\\.0\\.0\\.1, ` +
        `a loopback address; add "api\\.example\\.test:${target.port}" to this function's egress list`,
    ),
  });
  assert.deepEqual(dns.queries, ["api.example.test"]);
  assert.equal(target.received.length, 0);
});

void test("a port other than the listed one is refused; an entry without a port allows any", async () => {
  const [listed, other] = [await ok(), await ok()];
  const host = hostWith([`127.0.0.1:${listed.port}`]);
  await assert.rejects(get(host, `${other.origin}/`), {
    message: new RegExp(
      `refused: port ${other.port} is not in this function's egress list for this host \\(it allows port ${listed.port}\\)`,
    ),
  });
  assert.equal(other.received.length, 0);
  const policy = policyOf(["api.example.com:8443", "any.example.com"]);
  assert.equal(checkEgress(policy, "api.example.com", 443).allowed, false);
  assert.equal(checkEgress(policy, "api.example.com", 8443).allowed, true);
  assert.equal(checkEgress(policy, "any.example.com", 9000).allowed, true);
});

void test("non-public address literals are refused under '*', each named in the message", async () => {
  const target = await ok();
  const host = hostWith(["*"]);
  const p = target.port;
  const cases: Array<[string, RegExp]> = [
    [`http://127.0.0.1:${p}/`, /refused: loopback address;/],
    [`http://127.1:${p}/`, /"127\.0\.0\.1:\d+" refused: loopback address;/], // URL parsing normalises it
    [`http://0x7f.0.0.1:${p}/`, /refused: loopback address;/],
    [`http://[::1]:${p}/`, /"\[::1\]:\d+" refused: loopback address;/],
    ["http://172.16.0.1/", /refused: private address;/],
    ["http://192.168.1.1/", /refused: private address;/],
    ["http://169.254.169.254/latest/meta-data/", /refused: cloud metadata address;/],
    ["http://169.254.10.10/", /refused: link-local address;/],
    ["http://[fe80::1]/", /refused: link-local address;/],
    ["http://[fd00::1]/", /refused: private address \(unique local\);/],
    [`http://0.0.0.0:${p}/`, /refused: unspecified address;/],
    ["http://[::]/", /refused: unspecified address;/],
    ["http://100.64.0.1/", /refused: carrier-grade NAT address/],
    ["http://224.0.0.1/", /refused: multicast address;/],
    [`http://[::ffff:127.0.0.1]:${p}/`, /refused: loopback address \(IPv4-mapped\);/],
    ["http://[::ffff:169.254.169.254]/", /refused: cloud metadata address \(IPv4-mapped\);/],
    ["http://[64:ff9b::a00:1]/", /refused: private address \(NAT64\);/],
  ];
  for (const [url, message] of cases) {
    await assert.rejects(
      get(host, url),
      { name: "FetchError", code: "EGRESS_REFUSED", message },
      url,
    );
  }
  await assert.rejects(get(host, "http://10.0.0.5/"), {
    message:
      'egress to "10.0.0.5" refused: private address; add "10.0.0.5" to this function\'s egress list in litefaas.yaml to allow it',
  });
  assert.equal(target.received.length, 0);
});

void test("range boundaries: neighbours of the non-public ranges are public", () => {
  for (const address of [
    "172.15.255.255",
    "172.32.0.1",
    "100.128.0.1",
    "11.0.0.1",
    "192.169.0.1",
    "8.8.8.8",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
  ]) {
    assert.equal(nonPublicRange(address), null, address);
  }
  const inside: Array<[string, string]> = [
    ["172.31.255.255", "private address"],
    ["100.127.255.255", "carrier-grade NAT address (100.64.0.0/10)"],
    ["127.255.255.254", "loopback address"],
    ["169.254.0.1", "link-local address"],
    ["fe80::1%eth0", "link-local address"],
    ["febf::1", "link-local address"],
    ["fdff:ffff::1", "private address (unique local)"],
    ["0:0:0:0:0:ffff:a00:5", "private address (IPv4-mapped)"],
  ];
  for (const [address, range] of inside) assert.equal(nonPublicRange(address), range, address);
});

void test("names resolving to non-public addresses are refused under '*'; every address is checked", async () => {
  const dns = fakeDns({
    "internal.example.com": ["10.0.0.5"],
    "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
  });
  const host = hostWith(["*"], { lookup: dns.lookup });
  await assert.rejects(get(host, "http://internal.example.com/"), {
    message:
      'egress to "internal.example.com" refused: "internal.example.com" resolves to 10.0.0.5, a private address; ' +
      'add "internal.example.com" to this function\'s egress list in litefaas.yaml to allow it',
  });
  await assert.rejects(get(host, "https://mixed.example.com/"), {
    message: /resolves to 10\.1\.2\.3, a private address/,
  });
  await assert.rejects(get(host, "https://mapped.example.com/"), {
    message: /resolves to ::ffff:127\.0\.0\.1, a loopback address \(IPv4-mapped\)/,
  });
  await assert.rejects(get(host, "https://nowhere.example.com/"), {
    code: "DNS_FAILED",
    message:
      'fetch of "https://nowhere.example.com/" failed: could not resolve "nowhere.example.com" (ENOTFOUND)',
  });
});

void test("localhost is refused under '*' and reached when named", async () => {
  const target = await ok();
  await assert.rejects(get(hostWith(["*"]), `http://localhost:${target.port}/`), {
    message: /"localhost" resolves to (127\.0\.0\.1|::1), a loopback address; add "localhost:\d+"/,
  });
  assert.equal(target.received.length, 0);
  const [status] = await get(
    hostWith([`localhost:${target.port}`]),
    `http://localhost:${target.port}/`,
  );
  assert.equal(status, 200);
  assert.equal(receivedBy(target).headers.host, `localhost:${target.port}`);
});

void test("the connection goes to the checked address, with one DNS query and the original Host", async () => {
  const target = await ok();
  // The system resolver does not know this name: success proves the pinned address was used.
  const dns = fakeDns({ "pinned.test": ["127.0.0.1"] });
  const host = hostWith([`pinned.test:${target.port}`], { lookup: dns.lookup });
  const [status, , , body] = await get(host, `http://pinned.test:${target.port}/`);
  assert.equal(status, 200);
  assert.equal(text(body), "ok");
  assert.deepEqual(dns.queries, ["pinned.test"]);
  assert.equal(receivedBy(target).headers.host, `pinned.test:${target.port}`);
});

void test("a redirect from a listed host to a refused one is refused, and the target never contacted", async () => {
  const refused = await ok();
  const start = await server((req, res) => {
    const to: Record<string, string> = {
      "/unlisted": `${refused.origin}/secret`,
      "/metadata": "http://169.254.169.254/latest/meta-data/",
      "/file": "file:///etc/passwd",
    };
    res.writeHead(302, { location: to[req.url] ?? "/" });
    res.end();
  });
  const host = hostWith([`127.0.0.1:${start.port}`]);
  await assert.rejects(get(host, `${start.origin}/unlisted`), {
    message: new RegExp(
      `^egress to "127\\.0\\.0\\.1:${refused.port}" \\(redirected from "${start.origin}/unlisted"\\) refused: port ${refused.port} is not in this function's egress list`,
    ),
  });
  await assert.rejects(
    get(hostWith([`127.0.0.1:${start.port}`, "*"]), `${start.origin}/metadata`),
    {
      message:
        /^egress to "169\.254\.169\.254" \(redirected from "http:\/\/127\.0\.0\.1:\d+\/metadata"\) refused: cloud metadata address;/,
    },
  );
  await assert.rejects(get(host, `${start.origin}/file`), {
    message: /refused: only http: and https: URLs can be fetched, not file:/,
  });
  assert.equal(refused.received.length, 0);
  assert.equal(start.received.length, 3);
});

void test("redirects: 303 turns POST into GET, credentials stay on their origin, finalUrl is the last hop", async () => {
  const second = await server((_req, res) => res.end("second"));
  const first = await server((req, res) => {
    if (req.url === "/see-other") res.writeHead(303, { location: "/landing" }).end();
    else if (req.url === "/temporary")
      res.writeHead(307, { location: `${second.origin}/moved` }).end();
    else if (req.url.startsWith("/loop/"))
      res.writeHead(302, { location: `/loop/${Number(req.url.slice(6)) + 1}` }).end();
    else res.end("landed");
  });
  const host = hostWith([`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]);
  const body = new TextEncoder().encode("payload").buffer;
  const credentials = [
    "content-type",
    "text/plain",
    "authorization",
    "Bearer x",
    "cookie",
    "a=1",
    "x-other",
    "kept",
  ];

  const seeOther = await host("r", "POST", `${first.origin}/see-other`, credentials, body);
  assert.equal(text(seeOther[3]), "landed");
  assert.equal(seeOther[4], `${first.origin}/landing`);
  const landing = receivedBy(first, 1);
  assert.equal(landing.method, "GET");
  assert.equal(landing.body.length, 0);
  assert.equal(landing.headers["content-type"], undefined);
  assert.equal(landing.headers.authorization, "Bearer x"); // same origin keeps it

  const temporary = await host("r", "POST", `${first.origin}/temporary`, credentials, body);
  assert.equal(temporary[4], `${second.origin}/moved`);
  const moved = receivedBy(second);
  assert.equal(moved.method, "POST");
  assert.equal(moved.body.toString(), "payload");
  assert.equal(moved.headers.authorization, undefined);
  assert.equal(moved.headers.cookie, undefined);
  assert.equal(moved.headers["x-other"], "kept");

  const before = first.received.length;
  await assert.rejects(get(host, `${first.origin}/loop/0`), {
    code: "TOO_MANY_REDIRECTS",
    message: /followed 10 redirects/,
  });
  assert.equal(first.received.length - before, 11);
});

void test("the platform's own address is refused through a wildcard or '*', unless named exactly", async () => {
  const dns = fakeDns({
    "api.example.com": ["198.51.100.7"],
    "v6.example.com": ["::ffff:198.51.100.7"],
    "other.example.com": ["198.51.100.9"],
    "gateway.example.net": ["198.51.100.9"],
  });
  const platformAddresses = [
    { host: "198.51.100.7", port: 443 },
    { host: "gateway.example.net", port: 443 },
  ];
  const host = hostWith(["*.example.com", "*"], { lookup: dns.lookup, platformAddresses });
  await assert.rejects(get(host, "https://api.example.com/"), {
    message:
      'egress to "api.example.com" refused: "api.example.com" resolves to 198.51.100.7, this platform\'s own address ' +
      '(it listens on 198.51.100.7:443); add "api.example.com" to this function\'s egress list in litefaas.yaml ' +
      "to allow it (to call another function, use env.invoke instead)",
  });
  await assert.rejects(get(host, "https://v6.example.com/"), {
    message: /this platform's own address \(it listens on 198\.51\.100\.7:443\)/,
  });
  await assert.rejects(get(host, "https://other.example.com/"), {
    message: /it listens on gateway\.example\.net:443/,
  });
  await assert.rejects(get(host, "https://198.51.100.7/"), {
    message: /^egress to "198\.51\.100\.7" refused: this platform's own address/,
  });

  const target = await ok();
  const named = hostWith([`127.0.0.1:${target.port}`], {
    platformAddresses: [{ host: "127.0.0.1", port: target.port }],
  });
  assert.equal((await get(named, `${target.origin}/`))[0], 200);
});

void test("a binary body makes the round trip unchanged; framing headers come from the body", async () => {
  const echo = await server((req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(req.body);
  });
  const host = hostWith([`127.0.0.1:${echo.port}`]);
  const bytes = new Uint8Array(1024).map((_, i) => (i * 7) % 256);
  const [status, , , body] = await host(
    "r",
    "PUT",
    `${echo.origin}/`,
    ["content-length", "5"],
    bytes.slice().buffer,
  );
  assert.equal(status, 200);
  assert.deepEqual(new Uint8Array(body), bytes);
  assert.equal(receivedBy(echo).headers["content-length"], "1024");
});

void test("several Set-Cookie headers stay separate entries in the flat header list", async () => {
  const target = await server((_req, res) => {
    res.setHeader("set-cookie", ["a=1; Path=/", "b=2; HttpOnly"]);
    res.end();
  });
  const [, , headers] = await get(hostWith([`127.0.0.1:${target.port}`]), `${target.origin}/`);
  const cookies = headers.filter(
    (_, i) => i % 2 === 1 && headers[i - 1]?.toLowerCase() === "set-cookie",
  );
  assert.deepEqual(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);
});

void test("response bodies over the cap are refused, declared or streamed; the host keeps working", async () => {
  const target = await server((req, res) => {
    if (req.url === "/exact") res.end(Buffer.alloc(1024, 1));
    else if (req.url === "/declared") {
      res.writeHead(200, { "content-length": 2048 });
      res.end(req.method === "HEAD" ? undefined : Buffer.alloc(2048, 1));
    } else {
      res.write(Buffer.alloc(1000, 1)); // no content-length: chunked
      setTimeout(() => res.end(Buffer.alloc(1000, 1)), 20);
    }
  });
  const host = hostWith([`127.0.0.1:${target.port}`], { maxResponseBytes: 1024 });
  assert.equal((await get(host, `${target.origin}/exact`))[3].byteLength, 1024);
  const tooLarge = {
    code: "RESPONSE_TOO_LARGE",
    message: /is larger than the 1 KiB limit for fetch responses/,
  };
  await assert.rejects(get(host, `${target.origin}/declared`), tooLarge);
  await assert.rejects(get(host, `${target.origin}/streamed`), tooLarge);
  assert.equal((await get(host, `${target.origin}/exact`))[0], 200);
  // HEAD declares the length of a body it does not carry: not over the cap.
  const head = await host("r", "HEAD", `${target.origin}/declared`, [], null);
  assert.equal(head[0], 200);
  assert.equal(head[3].byteLength, 0);
});

void test("compressed responses are decoded, and the decoded size is capped too", async () => {
  const target = await server((req, res) => {
    const content = req.url === "/bomb" ? Buffer.alloc(64 * 1024) : Buffer.from("hello, gzip");
    res.writeHead(200, { "content-encoding": "gzip" });
    res.end(gzipSync(content));
  });
  const host = hostWith([`127.0.0.1:${target.port}`], { maxResponseBytes: 1024 });
  assert.equal(text((await get(host, `${target.origin}/small`))[3]), "hello, gzip");
  assert.equal(receivedBy(target).headers["accept-encoding"], "gzip, deflate, br");
  await assert.rejects(get(host, `${target.origin}/bomb`), {
    code: "RESPONSE_TOO_LARGE",
    message: /decompresses to more than the 1 KiB limit/,
  });
});

void test("a request that outlasts the timeout is aborted with a clear message", async () => {
  const silent = await server(() => undefined); // never answers
  const host = hostWith([`127.0.0.1:${silent.port}`], { timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(get(host, `${silent.origin}/slow`), {
    code: "TIMEOUT",
    message: `fetch of "${silent.origin}/slow" timed out after 300 ms (the limit for an outbound request, redirects and body included)`,
  });
  assert.ok(Date.now() - started < 3000);
});

void test("malformed egress entries are reported with what is wrong and how to fix it", () => {
  const entries: unknown[] = [
    "api.example.com",
    "https://api.example.com/v1",
    "api.*.com",
    "*.",
    "api.example.com:0",
  ];
  entries.push(
    "api.example.com:",
    "::1",
    "[::1",
    "",
    "bad..name",
    "x.com/path",
    42,
    "999.1.1.1",
    "[::1]:80",
    "*:443",
    "*.Example.COM",
  );
  const parsed = parseEgressList(entries);
  assert.equal(parsed.ok, false);
  const byIndex = new Map(parsed.errors.map((e) => [e.index, e.message]));
  assert.deepEqual([...byIndex.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(
    byIndex.get(1),
    'egress[1] "https://api.example.com/v1": an entry is a host, not a URL; write only the host and port, e.g. "api.example.com"',
  );
  assert.match(
    byIndex.get(2) ?? "",
    /a wildcard may only be the whole first label; write "\*\.example\.com"/,
  );
  assert.match(
    byIndex.get(3) ?? "",
    /the wildcard has no domain after it; write "\*\.example\.com"/,
  );
  assert.match(byIndex.get(4) ?? "", /"0" is not a port; write a port from 1 to 65535/);
  assert.match(byIndex.get(5) ?? "", /the port after ":" is missing/);
  assert.match(byIndex.get(6) ?? "", /must be written in brackets .*; write "\[::1\]"/);
  assert.match(byIndex.get(7) ?? "", /no closing "\]"/);
  assert.match(
    byIndex.get(8) ?? "",
    /^egress\[8\] "": the entry is empty; remove it or write a host/,
  );
  assert.match(byIndex.get(9) ?? "", /"bad\.\.name" is not a valid host name/);
  assert.match(byIndex.get(10) ?? "", /paths, queries, user names and spaces are not allowed/);
  assert.match(byIndex.get(11) ?? "", /an entry must be a string, not number; quote it/);
  assert.match(byIndex.get(12) ?? "", /"999\.1\.1\.1" looks like an IPv4 address but is not one/);

  const valid = parseEgressList(["[::1]:80", "*:443", "*.Example.COM", "bücher.de"]);
  assert.ok(valid.ok);
  assert.deepEqual(checkEgress(valid.policy, "[::1]", 80), { allowed: true, explicit: true });
  assert.equal(checkEgress(valid.policy, "[::1]", 81).allowed, false);
  assert.deepEqual(checkEgress(valid.policy, "anything.org", 443), {
    allowed: true,
    explicit: false,
  });
  assert.equal(checkEgress(valid.policy, "api.example.com", 80).allowed, true);
  assert.deepEqual(checkEgress(valid.policy, new URL("http://bücher.de/").hostname, 80), {
    allowed: true,
    explicit: true,
  });
});

void test("only http: and https: URLs without credentials are fetched", async () => {
  const dns = fakeDns({});
  const host = hostWith(["*"], { lookup: dns.lookup });
  const cases: Array<[string, RegExp]> = [
    [
      "ftp://example.com/file",
      /^fetch of "ftp:\/\/example\.com\/file" refused: only http: and https: URLs can be fetched, not ftp:$/,
    ],
    ["file:///etc/passwd", /not file:$/],
    ["data:text/plain,hi", /not data:$/],
    ["ws://example.com/", /not ws:$/],
    ["not a url", /^fetch of "not a url" refused: not a valid absolute URL$/],
    [
      "http://user:pw@example.com/",
      /cannot carry a user name or password; send them in an Authorization header instead/,
    ],
  ];
  for (const [url, message] of cases) {
    await assert.rejects(get(host, url), { code: "INVALID_REQUEST", message }, url);
  }
  assert.equal(dns.queries.length, 0);
});

void test("a malformed guest request rejects with a reason instead of throwing", async () => {
  const target = await ok();
  const host = hostWith([`127.0.0.1:${target.port}`]);
  const badHeader = host("r", "GET", `${target.origin}/`, ["bad name", "x"], null);
  await assert.rejects(badHeader, (error: unknown) => {
    assert.ok(error instanceof FetchError);
    assert.equal(error.code, "INVALID_REQUEST");
    assert.match(error.message, /invalid request/);
    return true;
  });
  await assert.rejects(host("r", "CONNECT", `${target.origin}/`, [], null), {
    message: /"CONNECT" is not a method fetch can send/,
  });
  await assert.rejects(host("r", "GET", `${target.origin}/`, [], new ArrayBuffer(1)), {
    message: /a GET request cannot have a body/,
  });
  assert.equal(target.received.length, 0);
  const [status] = await host("r", "get", `${target.origin}/`, [], null);
  assert.equal(status, 200);
  assert.equal(receivedBy(target).method, "GET");
});

void test("a platform bound to every interface (0.0.0.0) is refused on each local address", async () => {
  const dns = fakeDns({ "self.example.com": ["127.0.0.1"] });
  const platformAddresses = [{ host: "0.0.0.0", port: 8080 }];
  const host = hostWith(["*"], { lookup: dns.lookup, platformAddresses });
  await assert.rejects(get(host, "http://self.example.com:8080/"), {
    message:
      /resolves to 127\.0\.0\.1, this platform's own address \(it listens on 0\.0\.0\.0:8080\)/,
  });
  // Another port on the same address is not the platform (still loopback, so still refused).
  await assert.rejects(get(host, "http://self.example.com:8081/"), {
    message: /resolves to 127\.0\.0\.1, a loopback address;/,
  });
});

void test("a listed server that is down gives a clear network error", async () => {
  const down = await ok();
  await down.close();
  const host = hostWith([`127.0.0.1:${down.port}`]);
  await assert.rejects(get(host, `${down.origin}/`), {
    code: "NETWORK_ERROR",
    message: new RegExp(`^fetch of "${down.origin}/" failed: .*ECONNREFUSED`),
  });
});
