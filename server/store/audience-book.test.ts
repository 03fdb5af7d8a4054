import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCache } from "../cache/memory-cache.ts";
import { silentLogger } from "../ops/logger.ts";
import { AudienceBook, AudienceRelay } from "./audience-book.ts";
import { SharedAudience } from "./shared-audience.ts";
import { pollUntil } from "../../test/harness/wait.ts";

test("AudienceBook: sums the latest report of each live worker; a dead worker drops out", () => {
  const book = new AudienceBook();
  assert.equal(book.report(1, [["s", 3]]), true);
  assert.equal(
    book.report(2, [
      ["s", 4],
      ["t", 1],
    ]),
    true,
  );
  assert.deepEqual(
    new Map(book.sums()),
    new Map([
      ["s", 7],
      ["t", 1],
    ]),
  );
  assert.equal(book.report(1, [["s", 3]]), false, "the same report changes nothing: nothing to relay");
  assert.equal(book.report(1, [["s", 5]]), true);
  assert.equal(book.drop(2), true);
  assert.deepEqual(book.sums(), [["s", 5]]);
  assert.equal(book.drop(9), false);
});

test("AudienceRelay: posts only changes, answers its own counts until the first sums arrive", () => {
  const posted: Array<Array<[string, number]>> = [];
  const relay = new AudienceRelay((c) => posted.push(c));
  assert.deepEqual(relay.local(new Map([["s", 2]])), new Map([["s", 2]]));
  relay.local(new Map([["s", 2]]));
  assert.equal(posted.length, 1, "unchanged counts are not sent again");
  relay.receive([["s", 9]]);
  assert.deepEqual(relay.local(new Map([["s", 3]])), new Map([["s", 9]]));
  assert.deepEqual(posted, [[["s", 2]], [["s", 3]]]);
});

test("SharedAudience: units add to the second's key, read the previous second's complete sum", async () => {
  const cache = new MemoryCache();
  const a = new SharedAudience(cache, "t", silentLogger);
  const b = new SharedAudience(cache, "t", silentLogger);
  // Second 10: both add their counts (the sums read are second 9's: none yet).
  a.watching(new Map([["s", 3]]), 10_000);
  b.watching(new Map([["s", 4]]), 10_050);
  await pollUntil(
    async () => cache.get("t:aud:s:10"),
    (v) => v === "7",
    "second 10 holds 3 + 4",
  );
  // Second 11: each reads second 10's sum (and adds its own count to second 11).
  await pollUntil(
    async () => [a.watching(new Map([["s", 3]]), 11_000).get("s"), b.watching(new Map([["s", 1]]), 11_000).get("s")],
    (v) => v[0] === 7 && v[1] === 7,
    "both read 7",
  );
  // A unit that stops reporting is gone from the next second's sum.
  await pollUntil(
    async () => cache.get("t:aud:s:11"),
    (v) => v === "4",
    "second 11 holds 3 + 1",
  );
  await pollUntil(
    async () => a.watching(new Map([["s", 3]]), 12_000).get("s"),
    (v) => v === 4,
    "second 12 reads second 11",
  );
  assert.ok(a.counts.ops > 0);
  assert.equal(a.counts.errors + b.counts.errors, 0);
});
