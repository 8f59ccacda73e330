// Two registries on one bucket, as two platform processes sharing a store: what one deploys,
// rolls back, routes or removes, the other serves and is told of, with one event per change in
// each. Against SQLite (one file, in-process watch) and NATS JetStream KV (two connections).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { natsKv } from "../../src/backends/nats-kv/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import { openSqliteKv } from "../../src/backends/sqlite-kv/index.js";
import { Registry, type RegistryEvent } from "../../src/control/registry.js";
import type { KvPort } from "../../src/ports/kv.js";
import { parseManifest } from "../../src/shared/manifest/load.js";
import { eventually } from "../kit/eventually.js";
import { describeWith, natsService } from "../kit/services.js";

const parsed = parseManifest(
  "project: shop\nfunctions:\n  cart:\n    main: cart.ts\n",
  "/shop/litefaas.yaml",
).functions["cart"];
assert.ok(parsed !== undefined);
const config = parsed;
const route = { methods: undefined, host: undefined, path: "/cart", function: "cart" };

/** A registry and every event it told. */
async function opened(kv: KvPort, bucket: string) {
  const registry = await Registry.open(kv, { bucket });
  const events: RegistryEvent[] = [];
  registry.onChange((event) => events.push(event));
  return { registry, events };
}

const live = (registry: Registry) => registry.resolve("shop", "cart")?.version;
const until = (what: string, holds: () => boolean) =>
  eventually(what, () => Promise.resolve(holds()));

/** Version n of shop/cart, made live through `registry`. */
async function deploy(registry: Registry, n: number): Promise<void> {
  const version = await registry.createVersion(
    "shop",
    "cart",
    { key: `k${n}`, size: 1 },
    config,
    `h${n}`,
  );
  await registry.setLive(version);
}

function followSuite(name: string, ports: () => Promise<{ a: KvPort; b: KvPort; bucket: string }>) {
  void describe(`registry: a change made through one process holds in another (${name})`, () => {
    void it("deploys, rolls back, routes and removes, each told once on both sides", async () => {
      const { a: kvA, b: kvB, bucket } = await ports();
      const a = await opened(kvA, bucket);
      const b = await opened(kvB, bucket);
      try {
        await deploy(a.registry, 1);
        await until("v1 live on b", () => live(b.registry) === 1);
        assert.equal(b.registry.get("shop", "cart")?.live, 1);

        await deploy(a.registry, 2);
        await until("v2 live on b", () => live(b.registry) === 2);
        await a.registry.rollback("shop", "cart");
        await until("the rollback on b", () => live(b.registry) === 1);
        // b serves what a made live, and can roll it forward itself
        await b.registry.rollback("shop", "cart", 2);
        await until("b's rollback on a", () => live(a.registry) === 2);

        await a.registry.deployRoutes("shop", ["cart"], [route], {
          auth: undefined,
          rateLimits: undefined,
        });
        await until("the route on b", () => b.registry.routes().length === 1);
        // as stored: JSON, where an absent method list or host is left out
        assert.deepEqual(b.registry.routes(), [
          { path: "/cart", function: "cart", project: "shop" },
        ]);

        await a.registry.remove("shop", "cart");
        await until("removed on b", () => live(b.registry) === undefined);
        await until("its route gone on b", () => b.registry.routes().length === 0);
        await a.registry.settled();
        await b.registry.settled();

        const expected: RegistryEvent[] = [
          { kind: "live", project: "shop", name: "cart" }, // v1
          { kind: "live", project: "shop", name: "cart" }, // v2
          { kind: "live", project: "shop", name: "cart" }, // rolled back to v1
          { kind: "live", project: "shop", name: "cart" }, // rolled forward to v2
          { kind: "routes", project: "shop", name: "" },
          { kind: "removed", project: "shop", name: "cart" },
          { kind: "routes", project: "shop", name: "" }, // its route went with it
        ];
        assert.deepEqual(a.events, expected, "the process that made the changes");
        assert.deepEqual(b.events, expected, "the process that followed them");
      } finally {
        a.registry.close();
        b.registry.close();
      }
    });

    void it("starts from what is stored, then follows", async () => {
      const { a: kvA, b: kvB, bucket } = await ports();
      const a = await opened(kvA, bucket);
      await deploy(a.registry, 1);
      const b = await opened(kvB, bucket);
      try {
        assert.equal(live(b.registry), 1, "loaded at open");
        await deploy(a.registry, 2);
        await until("v2 live on b", () => live(b.registry) === 2);
      } finally {
        a.registry.close();
        b.registry.close();
      }
    });

    void it("gives deploys racing from two processes a version each", async () => {
      const { a: kvA, b: kvB, bucket } = await ports();
      const a = await opened(kvA, bucket);
      const b = await opened(kvB, bucket);
      try {
        // both start from the same latest (none), so both first try version 1
        const made = await Promise.all(
          [a, b, a, b].map(({ registry }, n) =>
            registry.createVersion("shop", "cart", { key: `k${n}`, size: 1 }, config, `h${n}`),
          ),
        );
        const numbers = made.map((v) => v.version).sort();
        assert.deepEqual(numbers, [1, 2, 3, 4]);
        const stored = await b.registry.versions("shop", "cart");
        assert.deepEqual(
          stored.map((v) => [v.version, v.hash]).sort(),
          made.map((v) => [v.version, v.hash]).sort(),
          "each version is the deploy that created it",
        );
      } finally {
        a.registry.close();
        b.registry.close();
      }
    });
  });
}

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

followSuite("SQLite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-registry-"));
  dirs.push(dir);
  // one file, one port: the embedded mode's processes are one process
  const kv = openSqliteKv(join(dir, "registry.sqlite"));
  closers.push(() => kv.close());
  return { a: kv, b: kv, bucket: "registry" };
});

const nats = await natsService();
describeWith(nats, "registry on NATS", () => {
  followSuite("NATS JetStream KV", async () => {
    const bucket = `test_registry_${randomBytes(4).toString("hex")}`;
    const [ncA, ncB] = await Promise.all([
      connectNats({ servers: nats.url, name: "litefaas-test-registry-a" }),
      connectNats({ servers: nats.url, name: "litefaas-test-registry-b" }),
    ]);
    const a = natsKv(ncA);
    const b = natsKv(ncB);
    closers.push(async () => {
      await a.deleteBucket(bucket).catch(() => undefined);
      await a.close();
      await b.close();
      await ncA.close();
      await ncB.close();
    });
    return { a, b, bucket };
  });
});
