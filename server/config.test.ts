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

test("viewer token secrets: comma-separated, each >= 32 bytes, never echoed; the pseudonym key >= 32 bytes; the old HMAC key refused", () => {
  const a = "a".repeat(32);
  const b = "b".repeat(40);
  assert.deepEqual(parseConfig({ VIEWER_TOKEN_SECRET: `${a}, ${b}` }).VIEWER_TOKEN_SECRET, [a, b]);
  assert.equal(parseConfig({}).VIEWER_TOKEN_SECRET, undefined);
  assert.equal(parseConfig({ EXPORT_PSEUDONYM_KEY: ` ${b} ` }).EXPORT_PSEUDONYM_KEY, b);
  assert.throws(
    () => parseConfig({ EXPORT_SIGNING_KEY: b }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /EXPORT_SIGNING_KEY=\(redacted\): .*EXPORT_SIGNING_KEY_FILE/.test(err.message) &&
      !err.message.includes(b),
  );
  assert.equal(
    parseConfig({ EXPORT_SIGNING_KEY_FILE: "/etc/buzzcast/export-key.pem" }).EXPORT_SIGNING_KEY_FILE,
    "/etc/buzzcast/export-key.pem",
  );
  const short = "short-secret-that-leaks";
  for (const v of ["VIEWER_TOKEN_SECRET", "EXPORT_SIGNING_KEY", "EXPORT_PSEUDONYM_KEY"]) {
    assert.throws(
      () => parseConfig({ [v]: v === "VIEWER_TOKEN_SECRET" ? `${a},${short}` : short }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(v) && !err.message.includes(short),
    );
  }
});
