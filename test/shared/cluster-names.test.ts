// The names a cluster uses on shared servers: the default keeps the names earlier releases used
// (data already on NATS and PostgreSQL stays found), another name shares none of them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClusterNames } from "../../src/shared/cluster-names.js";

describe("cluster names", () => {
  const standard = new ClusterNames();
  const prod = new ClusterNames("prod-eu");

  it("keeps the names the default cluster always had", () => {
    assert.equal(standard.queuePrefix, "litefaas");
    assert.equal(standard.queueStream, "LITEFAAS_QUEUE");
    assert.equal(
      standard.projectSubject("shop", "orders.created"),
      "litefaas.events.shop.orders.created",
    );
    assert.equal(standard.invokeSubject("shop", "cart"), "litefaas.invoke.shop.cart");
    assert.equal(standard.cronSubject("shop", "cart"), "litefaas.cron.shop.cart");
    assert.equal(standard.limitsSubject, "litefaas.gateway.limits");
    assert.equal(standard.bucket("registry"), "litefaas_registry");
    assert.equal(standard.bucket("invocations"), "litefaas_invocations");
    assert.equal(standard.kvBucketOf("shop", "cart"), "fn_shop_cart");
    assert.match(standard.sqlOwnerOf("my-shop", "cart"), /^my_shop_cart_[0-9a-f]{12}$/);
  });

  it("puts another cluster's every name apart", () => {
    assert.equal(prod.queueStream, "PROD-EU_QUEUE");
    assert.equal(prod.projectSubject("shop", "a"), "prod-eu.events.shop.a");
    assert.equal(prod.invokeSubject("shop", "cart"), "prod-eu.invoke.shop.cart");
    assert.equal(prod.bucket("keys"), "prod-eu_keys");
    assert.equal(prod.kvBucketOf("shop", "cart"), "prod-eu_fn_shop_cart");
    assert.notEqual(prod.sqlOwnerOf("shop", "cart"), standard.sqlOwnerOf("shop", "cart"));
    assert.match(prod.sqlOwnerOf("shop", "cart"), /^prod_eu_shop_cart_[0-9a-f]{12}$/);
  });

  it("cannot be made to collide by a cluster, project or function name", () => {
    // a cluster named "fn" against the default cluster's project "fn": 3 separators against 2
    assert.notEqual(new ClusterNames("fn").kvBucketOf("a", "b"), standard.kvBucketOf("fn", "a"));
    // a platform bucket against a function bucket of the default cluster
    assert.notEqual(new ClusterNames("fn").bucket("keys"), standard.kvBucketOf("fn", "keys"));
    assert.equal(prod.relativeSubject("shop", prod.projectSubject("shop", "x.y")), "x.y");
    // another cluster's subject is not taken for one of this project
    assert.equal(prod.relativeSubject("shop", "litefaas.events.shop.x"), "litefaas.events.shop.x");
  });

  it("refuses names that cannot be part of subjects, buckets and roles", () => {
    for (const bad of ["", "Prod", "a_b", "a.b", "-a", "a-", "a".repeat(33)])
      assert.throws(() => new ClusterNames(bad), /invalid cluster name/, bad);
  });
});
