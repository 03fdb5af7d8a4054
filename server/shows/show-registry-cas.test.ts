/**
 * The compare-and-swap rule of admin changes, under every interleaving a seeded scheduler picks:
 * several processes (one ShowRegistry each, on a clock that often stands still so their wall-clock
 * versions tie, and sometimes moves so they do not) make
 * changes to one show at once through one deciding source (the rule the record, the supervisor and
 * the in-process source share: record/normalize.ts `casAccepts`). Each source call resolves when the
 * scheduler says, so reads and saves of different processes interleave arbitrarily.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { SaveShowResult, ShowRecord } from "../record/record.ts";
import { ShowConflict, ShowRegistry, type ShowClock } from "./show-registry.ts";
import { MemoryShowSource, type ShowSource } from "./show-source.ts";

const T0 = 1_700_000_000_000;
/** A clock that moves by 0 or 1 ms per reading (from the seed): versions of concurrent changes sometimes tie, sometimes not. */
function clockOf(steps: readonly number[]): ShowClock {
  let t = T0;
  let i = 0;
  return { now: () => (t += steps[i++ % steps.length] ?? 0), setTimer: () => 0, clearTimer: () => {} };
}

type Op = { kind: "reset" } | { kind: "stage"; act: "a" | "b"; open: boolean } | { kind: "put"; title: string };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: "reset" }),
  fc.record({ kind: fc.constant("stage" as const), act: fc.constantFrom("a" as const, "b" as const), open: fc.boolean() }),
  fc.record({ kind: fc.constant("put" as const), title: fc.constantFrom("T1", "T2") }),
);

/** The deciding source, every call released by the scheduler; each decided save is logged in order. */
function scheduledSource(
  inner: MemoryShowSource,
  s: fc.Scheduler,
  saves: Array<{ rec: ShowRecord; base: number | null; ok: boolean }>,
): ShowSource {
  return {
    loadAll: () => s.schedule(inner.loadAll(), "loadAll"),
    load: (id) => s.schedule(inner.load(id), `load ${id}`),
    current: (id) => s.schedule(inner.current(id), `current ${id}`),
    poll: () => inner.poll(),
    save: (rec, base) =>
      s.schedule(Promise.resolve(), `save ${rec.show.id} from ${String(base)}`).then(async (): Promise<SaveShowResult> => {
        const verdict = await inner.save(rec, base);
        saves.push({ rec: structuredClone(rec), base, ok: verdict.ok });
        return verdict;
      }),
  };
}

test("admin changes from several processes at once: one per version is saved, the others conflict, all converge", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 8 }),
      async (s, plans, steps) => {
        const inner = new MemoryShowSource();
        await inner.save(
          {
            show: {
              id: "x",
              title: "T0",
              acts: [
                { id: "a", name: "A" },
                { id: "b", name: "B" },
              ],
            },
            stage: { act: null, open: false },
            epoch: "e0",
            version: 1,
          },
          null,
        );
        const saves: Array<{ rec: ShowRecord; base: number | null; ok: boolean }> = [];
        const source = scheduledSource(inner, s, saves);
        const clock = clockOf(steps);
        const registries = plans.map(() => new ShowRegistry(source, { clock }));
        const answers: Array<{ ok: boolean; version: number; epoch: string }> = [];
        const run = async (reg: ShowRegistry, plan: Op[]): Promise<void> => {
          for (const o of plan) {
            try {
              const show =
                o.kind === "reset"
                  ? await reg.reset("x")
                  : o.kind === "stage"
                    ? await reg.setStage("x", { act: o.act, open: o.open })
                    : await reg.put("x", {
                        title: o.title,
                        acts: [
                          { id: "a", name: "A" },
                          { id: "b", name: "B" },
                        ],
                      });
              answers.push({ ok: true, version: show.version, epoch: show.epoch });
            } catch (err) {
              assert.ok(err instanceof ShowConflict, `only a conflict may refuse a change: ${String(err)}`);
              assert.ok(err.current !== null, "a conflict carries the current show");
              answers.push({ ok: false, version: err.current.version, epoch: err.current.epoch });
            }
          }
        };
        await s.waitFor(Promise.all(registries.map((r, i) => run(r, plans[i] ?? []))));

        // The saved changes form one chain: each made from the version the previous one stored.
        const won = saves.filter((x) => x.ok);
        let at = 1;
        for (const w of won) {
          assert.equal(w.base, at, "each saved change was made from the version stored before it");
          assert.ok(w.rec.version > at);
          at = w.rec.version;
        }
        // Every refused save was made from a version another save had already replaced.
        for (const l of saves.filter((x) => !x.ok))
          assert.ok(
            won.some((w) => w.base === l.base),
            "a refused save lost to a saved one from its base",
          );
        // Each 200 answer is a saved change, with its own version; as many as there were saves.
        const okAnswers = answers.filter((a) => a.ok);
        assert.equal(okAnswers.length, won.length);
        assert.equal(new Set(okAnswers.map((a) => a.version)).size, okAnswers.length, "no two successes share a version");
        // Applied nowhere: what each process holds is the initial show or a saved change, byte for byte.
        const stored = await inner.current("x");
        for (const r of registries) {
          const local = r.get("x");
          assert.ok(local && stored && local.version <= stored.version);
          const same = local.version === 1 ? { epoch: "e0" } : won.find((w) => w.rec.version === local.version)?.rec;
          assert.ok(same, `a process holds version ${local.version}, which was never saved`);
          assert.equal(local.epoch, same.epoch);
        }
        // Every reset that was saved opened an epoch of its own (no two resets share one).
        const epochs = ["e0", ...won.map((w) => w.rec.epoch)];
        const opened = epochs.filter((e, i) => i > 0 && e !== epochs[i - 1]).length;
        assert.equal(new Set(epochs).size, opened + 1);
      },
    ),
    { numRuns: 300, seed: 20261207 },
  );
});
