import { test } from "node:test";
import assert from "node:assert/strict";
import { ActTable } from "./act-table.ts";
import { Tally } from "./tally.ts";

test("a v2 act index finds the slot of the act at that place in the definition, and nothing past its end", () => {
  const acts = ["act-1", "act-2", "act-3"];
  const table = new ActTable(acts, new Tally("s", "e"));
  acts.forEach((act, i) => {
    const slot = table.at(i);
    assert.ok(slot);
    assert.equal(slot, table.get(act));
    assert.equal(slot.act, act);
  });
  assert.equal(table.at(3), null);
  assert.equal(table.at(-1), null);
});
