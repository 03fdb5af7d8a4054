import assert from "node:assert/strict";
import { test } from "node:test";
import { overlayOptions, visibleActs } from "./options.ts";

test("defaults: demo show, every act, dark, scale 1, no bars", () => {
  assert.deepEqual(overlayOptions(""), { show: "demo", acts: null, theme: "dark", scale: 1, bars: false });
});

test("every option is read; bad values fall back to defaults", () => {
  assert.deepEqual(overlayOptions("?show=final&acts=b,%20a,,b&theme=light&scale=1.5&bars=1"), {
    show: "final",
    acts: ["b", "a"],
    theme: "light",
    scale: 1.5,
    bars: true,
  });
  const bad = overlayOptions("?show=&theme=purple&scale=99&bars=maybe");
  assert.equal(bad.show, "demo");
  assert.equal(bad.theme, "dark");
  assert.equal(bad.scale, 1);
  assert.equal(bad.bars, false);
  assert.equal(overlayOptions("?scale=abc").scale, 1);
  assert.equal(overlayOptions("?scale=0.1").scale, 1);
});

test("visibleActs keeps the requested order and drops unknown ids", () => {
  const acts = [{ id: "a" }, { id: "b" }, { id: "c" }];
  assert.deepEqual(visibleActs(acts, null), acts);
  assert.deepEqual(visibleActs(acts, ["c", "zz", "a"]), [{ id: "c" }, { id: "a" }]);
});
