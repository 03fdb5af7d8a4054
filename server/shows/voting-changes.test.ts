import { test } from "node:test";
import assert from "node:assert/strict";
import type { Stage } from "../../shared/protocol.ts";
import type { Show, ShowChange } from "./show.ts";
import { votingChanges } from "./voting-changes.ts";

/** The parts of a Show the rule reads. */
const show = (stage: Stage, epoch = "e1", version = 7) => ({ stage, epoch, version }) as unknown as Show;
const open = (act: string): Stage => ({ act, open: true });
const shut = (act: string | null): Stage => ({ act, open: false });
const ch = (...c: ShowChange[]) => new Set<ShowChange>(c);

test("closing, switching and reopening acts: which act closed and which opened, with the change's version", () => {
  assert.deepEqual(votingChanges(show(shut("a")), ch("stage"), { epoch: "e1", stage: open("a") }), {
    closed: { epoch: "e1", act: "a", version: 7 },
    opened: null,
  });
  assert.deepEqual(votingChanges(show(open("b")), ch("stage"), { epoch: "e1", stage: open("a") }), {
    closed: { epoch: "e1", act: "a", version: 7 },
    opened: { epoch: "e1", act: "b", version: 7 },
  });
  assert.deepEqual(votingChanges(show(open("a")), ch("stage"), { epoch: "e1", stage: shut("a") }), {
    closed: null,
    opened: { epoch: "e1", act: "a", version: 7 },
  });
  assert.deepEqual(
    votingChanges(show(open("a")), ch("show"), { epoch: "e1", stage: open("a") }),
    { closed: null, opened: null },
    "an edit of the definition with the act still open changes nothing",
  );
  assert.deepEqual(votingChanges(show(shut(null)), ch("stage"), { epoch: "e1", stage: shut("a") }), { closed: null, opened: null });
});

test("a reset closes the old epoch's open act and opens the new epoch's, even when it is the same act", () => {
  assert.deepEqual(votingChanges(show(open("a"), "e2", 9), ch("epoch"), { epoch: "e1", stage: open("a") }), {
    closed: { epoch: "e1", act: "a", version: 9 },
    opened: { epoch: "e2", act: "a", version: 9 },
  });
});
