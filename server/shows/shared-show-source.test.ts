/**
 * SharedShowSource's failure paths: every failed read is counted and its outage logged with the
 * reason once when it starts and once when it ends; a lookup that neither cache nor record can
 * answer rejects with the record's error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cache } from "../cache/cache.ts";
import { CacheError } from "../cache/cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import type { Logger } from "../ops/logger.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { RecordError, type ShowRecord } from "../record/record.ts";
import { SharedShowSource } from "./shared-show-source.ts";

/** A MemoryCache that rejects every call while `down` (as memcached does when unreachable). */
class SwitchableCache implements Cache {
  down = false;
  private readonly inner = new MemoryCache();
  private check(): void {
    if (this.down) throw new CacheError("unreachable", "memcached is down (test)");
  }
  async get(k: string) {
    this.check();
    return this.inner.get(k);
  }
  async getMany(k: readonly string[]) {
    this.check();
    return this.inner.getMany(k);
  }
  async set(k: string, v: string, t?: number) {
    this.check();
    return this.inner.set(k, v, t);
  }
  async add(k: string, v: string, t?: number) {
    this.check();
    return this.inner.add(k, v, t);
  }
  async incr(k: string, n: number) {
    this.check();
    return this.inner.incr(k, n);
  }
  async delete(k: string) {
    this.check();
    return this.inner.delete(k);
  }
  close() {
    return this.inner.close();
  }
}

function capture(): { log: Logger; lines: Array<{ level: string; msg: string; fields?: object }> } {
  const lines: Array<{ level: string; msg: string; fields?: object }> = [];
  const at = (level: string) => (msg: string, fields?: object) => {
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  };
  return { log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

const rec = (id: string, version: number): ShowRecord => ({
  show: { id, title: id, acts: [{ id: "a", name: "A" }] },
  stage: { act: null, open: false },
  epoch: "e1",
  version,
});

test("a failing cache poll is counted every time, logged once with its reason, and its end logged", async () => {
  const cache = new SwitchableCache();
  const record = new MemoryRecord();
  const { log, lines } = capture();
  const src = new SharedShowSource(cache, record, log);
  await src.save(rec("s1", 1), null);
  await src.save(rec("s1", 2), 1);
  // Keep every poll on the cache path: a full scan is due only 5 s after the last one.
  cache.down = true;
  assert.deepEqual(await src.poll(new Map([["s1", 1]])), [], "the first failing poll finds nothing");
  // The failure scheduled a full scan from the record: the change arrives on the next poll anyway.
  assert.deepEqual(
    (await src.poll(new Map([["s1", 1]]))).map((r) => r.version),
    [2],
  );
  assert.deepEqual(await src.poll(new Map([["s1", 2]])), []);
  assert.deepEqual(await src.poll(new Map([["s1", 2]])), []);
  assert.equal(src.errors.poll, 2, "each failed cache poll counted");
  const warns = lines.filter((l) => l.level === "warn");
  assert.equal(warns.length, 1, "one log line for the outage, not one per poll");
  assert.match(warns[0]!.msg, /show poll/);
  assert.match(
    JSON.stringify(warns[0]!.fields, (_k, v: unknown) => (v instanceof Error ? v.message : v)),
    /memcached is down/,
    "the reason is in the log line",
  );
  cache.down = false;
  assert.deepEqual(await src.poll(new Map([["s1", 2]])), []);
  assert.ok(
    lines.some((l) => l.level === "info" && /show poll.*recovered/.test(l.msg)),
    "the end of the outage is logged",
  );
  const fam = src.metrics().find((f) => f.name === "buzzcast_show_source_errors_total");
  assert.equal(fam?.samples.find((s) => s.labels?.op === "poll")?.value, 2);
});

test("a lookup falls back to the record; when both fail it rejects with the record's error, counted and logged", async () => {
  const cache = new SwitchableCache();
  const record = new MemoryRecord();
  const { log, lines } = capture();
  const src = new SharedShowSource(cache, record, log);
  await src.save(rec("s2", 1), null);
  cache.down = true;
  assert.equal((await src.load("s2"))?.version, 1, "answered by the record");
  assert.equal(src.errors.lookup_cache, 1);
  await record.close();
  await assert.rejects(src.load("s2"), (e: unknown) => e instanceof RecordError && e.code === "unreachable");
  await assert.rejects(src.load("s3"), RecordError);
  assert.equal(src.errors.lookup_record, 2);
  assert.equal(src.errors.lookup_cache, 3);
  const recordWarns = lines.filter((l) => l.level === "warn" && /lookup in the record/.test(l.msg));
  assert.equal(recordWarns.length, 1, "logged once for the outage");
  assert.deepEqual((recordWarns[0]!.fields as { show?: string }).show, "s2", "with the show that failed");
});

test("a malformed cache entry is counted and ignored", async () => {
  const cache = new SwitchableCache();
  const record = new MemoryRecord();
  const { log } = capture();
  const src = new SharedShowSource(cache, record, log);
  await src.save(rec("s4", 1), null);
  await cache.set("bc:show:s4", "{not json");
  assert.equal((await src.load("s4"))?.version, 1, "the record answers instead");
  assert.equal(src.errors.malformed, 1);
});

test("without a shared record, the successor of a version is claimed in the cache: one of two nodes saves it", async () => {
  const cache = new MemoryCache();
  const { log } = capture();
  // Two nodes sharing memcached only: each has its own (in-process) record.
  const a = new SharedShowSource(cache, new MemoryRecord(), log, "bc", false);
  const b = new SharedShowSource(cache, new MemoryRecord(), log, "bc", false);
  assert.deepEqual(await a.save(rec("m", 1), null), { ok: true });
  assert.equal((await b.current("m"))?.version, 1, "b makes its change from what a published");
  const [ra, rb] = await Promise.all([a.save({ ...rec("m", 2), epoch: "ea" }, 1), b.save({ ...rec("m", 2), epoch: "eb" }, 1)]);
  assert.deepEqual(ra, { ok: true });
  assert.deepEqual(rb, { ok: false, current: { ...rec("m", 2), epoch: "ea" } }, "the loser is told the winner's show");
  assert.equal((await b.current("m"))?.epoch, "ea", "only the winner was published");
  assert.deepEqual(await b.save({ ...rec("m", 3), epoch: "eb" }, 2), { ok: true }, "from the winner's version, b's next change passes");
});
