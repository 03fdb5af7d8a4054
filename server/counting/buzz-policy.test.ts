import { test } from "node:test";
import assert from "node:assert/strict";
import { OncePolicy, UnlimitedPolicy, createPolicy, type BuzzPolicy } from "./buzz-policy.ts";

test("once: a viewer counts once per act per show epoch", () => {
  const p = new OncePolicy();
  assert.equal(p.admit("demo/e1", "a", "v1"), "counted");
  assert.equal(p.admit("demo/e1", "a", "v1"), "duplicate");
  assert.equal(p.admit("demo/e1", "b", "v1"), "counted");
  assert.equal(p.admit("demo/e1", "a", "v2"), "counted");
  assert.equal(p.admit("demo/e2", "a", "v1"), "counted", "a new epoch starts afresh");
  assert.equal(p.remembered, 4);
  p.retire("demo", "e1");
  assert.equal(p.remembered, 1, "forgetting an epoch releases its viewers");
  assert.equal(p.admit("demo/e1", "a", "v1"), "counted");
});

test("unlimited admits everything; createPolicy picks by name", () => {
  const p: BuzzPolicy = new UnlimitedPolicy();
  for (let i = 0; i < 5; i++) assert.equal(p.admit("s/e", "a", "v"), "counted");
  assert.equal(p.remembered, 0);
  assert.equal(createPolicy("once").name, "once");
  assert.equal(createPolicy("unlimited").name, "unlimited");
});

test("once with claims: the first buzz of a viewer per act is a claim, later ones duplicates at once", () => {
  const p = new OncePolicy(true);
  assert.equal(p.admit("demo/e1", "a", "v1"), "claim");
  assert.equal(p.admit("demo/e1", "a", "v1"), "duplicate");
  assert.equal(p.admit("demo/e1", "b", "v1"), "claim");
  assert.equal(createPolicy("once", true).admit("s/e", "a", "v"), "claim");
  assert.equal(createPolicy("unlimited", true).admit("s/e", "a", "v"), "counted");
});
