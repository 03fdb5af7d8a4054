import { test } from "node:test";
import assert from "node:assert/strict";
import { OncePolicy, UnlimitedPolicy, createPolicy } from "./buzz-policy.ts";

test("once: a viewer counts once per act per show epoch", () => {
  const p = new OncePolicy();
  assert.equal(p.admit("demo/e1", "a", "v1"), true);
  assert.equal(p.admit("demo/e1", "a", "v1"), false);
  assert.equal(p.admit("demo/e1", "b", "v1"), true);
  assert.equal(p.admit("demo/e1", "a", "v2"), true);
  assert.equal(p.admit("demo/e2", "a", "v1"), true, "a new epoch starts afresh");
  p.forget("demo/e1");
  assert.equal(p.admit("demo/e1", "a", "v1"), true);
});

test("unlimited admits everything; createPolicy picks by name", () => {
  const p = new UnlimitedPolicy();
  for (let i = 0; i < 5; i++) assert.equal(p.admit("s/e", "a", "v"), true);
  assert.equal(createPolicy("once").name, "once");
  assert.equal(createPolicy("unlimited").name, "unlimited");
});
