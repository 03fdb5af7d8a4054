import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "./config.ts";

test("defaults: embedded mode on port 8080, 100 ms tick, once policy", () => {
  const c = parseConfig({});
  assert.equal(c.PORT, 8080);
  assert.equal(c.TICK_MS, 100);
  assert.equal(c.BUZZ_POLICY, "once");
  assert.equal(c.MEMCACHED_SERVERS, undefined);
  assert.equal(c.MYSQL_URL, undefined);
  assert.equal(c.DEMO_SHOW, true);
  assert.ok(Object.isFrozen(c));
});

test("values are coerced and checked", () => {
  const c = parseConfig({
    PORT: "0",
    TICK_MS: "50",
    BUZZ_POLICY: "unlimited",
    RATE_LIMIT_PER_SEC: "0",
    DEMO_SHOW: "false",
    EXTRA: "ignored",
  });
  assert.equal(c.PORT, 0);
  assert.equal(c.TICK_MS, 50);
  assert.equal(c.RATE_LIMIT_PER_SEC, 0);
  assert.equal(c.DEMO_SHOW, false);
  assert.equal(parseConfig({ PORT: "" }).PORT, 8080, "empty means unset");
});

test("bad values fail fast, naming every bad variable", () => {
  assert.throws(
    () => parseConfig({ PORT: "99999", TICK_MS: "abc", ADMIN_TOKEN: "short", MYSQL_URL: "postgres://x" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const v of ["PORT", "TICK_MS", "ADMIN_TOKEN", "MYSQL_URL"]) assert.match(err.message, new RegExp(v));
      return true;
    },
  );
  assert.throws(() => parseConfig({ BUZZ_POLICY: "twice" }), /BUZZ_POLICY/);
  assert.throws(() => parseConfig({ NODE_ID: "a b" }), /NODE_ID/);
});
