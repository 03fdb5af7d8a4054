/**
 * `once` claims spread over three real memcached servers: the loss of any one server's claim keys
 * (a restart of a server that does not hold the epoch's first sentinel) is detected, so nobody
 * counts twice; live == record == audit at the end.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HashRing } from "../cache/hash-ring.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { ClaimOutcomes } from "../../test/harness/claim-outcomes.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { onceClaimKey } from "./claim-decider.ts";
import type { SharedStore } from "./shared-store.ts";
import { sharedStoreNode } from "../../test/harness/shared-store-node.ts";
import type { Claim } from "./store.ts";

let servers: RunningMemcached[] = [];
before(async () => {
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
});
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const node = (record: MemoryRecord, nodeId: string): Promise<SharedStore> =>
  sharedStoreNode(new MemcachedCache({ servers: servers.map((s) => s.address) }), record, nodeId);

const claims = (n: number, from = 0): Claim[] => Array.from({ length: n }, (_, i) => ({ act: "a", viewer: `v:${from + i}`, atMs: 1 }));
/** Every decision the stores' flushes returned (tick() notes each). */
const outcomes = new ClaimOutcomes();

async function tick(s: SharedStore, cs: Claim[] = []): Promise<number | undefined> {
  const got = outcomes.note(await s.flush([{ show: "s", epoch: "e", deltas: [], claims: cs, acts: ["a"] }]));
  return got.totals.get(epochKey("s", "e"))?.get("a");
}

test("one sentinel per server: a restart of any one of three memcached servers is detected; nobody counts twice", async () => {
  for (const s of servers) await s.flushAll();
  const record = new MemoryRecord();
  await record.migrate();
  const [a, b] = [await node(record, "a"), await node(record, "b")];
  try {
    const addresses = servers.map((s) => s.address);
    const sentinels = (a.global as MemcachedCache).spread("bc:os:s:e");
    const ring = new HashRing(addresses);
    assert.deepEqual(
      sentinels.map((k) => ring.serverFor(k)),
      addresses,
      "one sentinel on each server",
    );
    // The server restarted below is NOT the one the single sentinel `bc:os:s:e` lived on before.
    const victim = servers.find((s) => s.address !== ring.serverFor("bc:os:s:e"));
    assert.ok(victim);

    const first = claims(90);
    await tick(a, first);
    assert.ok(
      first.every((c) => outcomes.of(c) === "counted"),
      "90 distinct viewers counted",
    );
    await tick(b, claims(1, 1000)); // b in cache mode too
    await a.writer.writeOnce();
    await b.writer.writeOnce();
    const onVictim = first.filter((c) => ring.serverFor(onceClaimKey("bc", "s", "e", c.act, c.viewer)) === victim.address).length;
    assert.ok(onVictim > 10, `about a third of the claim keys live on the restarted server (${onVictim})`);

    await victim.restart(); // its claim keys and its sentinel are gone
    const again = claims(90);
    const tries = 200;
    // Both nodes tick, as every node of a fleet does: b's record mode waits until a (a cache
    // decider of the epoch) has learnt of it and left.
    for (let i = 0; i < tries && again.some((c) => outcomes.of(c) === "pending"); i++) {
      await tick(b, i === 0 ? again : []);
      await tick(a);
      await b.writer.writeOnce();
    }
    assert.deepEqual(
      again.filter((c) => outcomes.of(c) !== "duplicate").map((c) => c.viewer),
      [],
      "every viewer already counted on a is a duplicate on b",
    );
    await tick(a);
    await tick(b);
    await a.writer.writeOnce();
    await b.writer.writeOnce();
    await a.reconcile("s", "e", ["a"], 1);
    const recorded = (await record.countTotals("s", "e")).get("a");
    assert.equal(recorded, 91);
    assert.equal((await record.auditTotals("s", "e")).get("a"), 91);
    assert.equal(await tick(b), 91, "live == record");
  } finally {
    await a.close();
    await b.close();
  }
});
