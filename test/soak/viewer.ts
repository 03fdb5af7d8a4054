/**
 * A soak viewer: one identity (a token `sub`) that stays in the audience for the whole phase. It
 * connects (through HAProxy, or to one node for watchers), fetches a fresh token before every
 * connect, buzzes the act on stage with one buzz in flight at a time (so each ack settles exactly
 * one buzz of a known act), and reconnects with jittered backoff after any close: drains, kills,
 * partitions. A buzz whose ack does not come within ACK_TIMEOUT_MS is given up on: the connection
 * is dropped and the buzz recorded as unconfirmed (it may have counted).
 * Guarantees: every counted ack goes to the tally with its act, viewer, connection and arrival
 * time; every total a connection sees decrease within an epoch goes to `tally.decreases`.
 */
import { epochSec, mintHs256 } from "../harness/jwt.ts";
import { TestViewer } from "../harness/ws-client.ts";
import type { Rng } from "./rng.ts";
import { sleep } from "./rng.ts";
import type { ConnLife, Tally } from "./tally.ts";

const ACK_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 3000;
/** Frames kept per connection (the harness client keeps every frame; a long soak would grow without bound). */
const KEEP_FRAMES = 200;

export interface ViewerCtx {
  url: string;
  show: string;
  sub: string;
  secret: Uint8Array;
  tally: Tally;
  rng: Rng;
  stopped: () => boolean;
  /** Pause between buzzes, ms; null: only listen. */
  pace: [number, number] | null;
}

/** A token as the broadcaster's backend mints it (docs/viewer-tokens.md): HS256, `sub`, short `exp`. */
export function mintToken(secret: Uint8Array, sub: string, show: string): Promise<string> {
  return Promise.resolve(mintHs256(secret, { show, sub, iat: epochSec(), exp: epochSec(15 * 60) }));
}

/** Opens a connection and says hello with a fresh token; null when it did not reach `welcome`. */
export async function connect(ctx: Omit<ViewerCtx, "pace" | "rng" | "stopped">): Promise<{ v: TestViewer; life: ConnLife } | null> {
  const token = await mintToken(ctx.secret, ctx.sub, ctx.show);
  const v = new TestViewer(ctx.url);
  v.opened.catch(() => {});
  const opened = await Promise.race([v.opened.then(() => true), sleep(CONNECT_TIMEOUT_MS).then(() => false)]).catch(() => false);
  if (!opened) {
    v.ws.terminate();
    return null;
  }
  const life = ctx.tally.open(ctx.sub);
  v.ws.once("close", (code) => {
    life.closedAt = Date.now();
    life.closeCode = code;
  });
  watchDecreases(v, ctx.tally, `${ctx.sub}#${life.id}`);
  v.send({ type: "hello", protocol: 1, show: ctx.show, token });
  await v.until(() => v.welcome !== null || v.closeCode !== null, "welcome", CONNECT_TIMEOUT_MS).catch(() => {});
  if (v.welcome === null) {
    v.ws.terminate();
    return null;
  }
  return { v, life };
}

function watchDecreases(v: TestViewer, tally: Tally, label: string): void {
  const seen = new Map<string, number>();
  let epoch = "";
  v.ws.on("message", () => {
    const f = v.frames[v.frames.length - 1];
    if (v.frames.length > KEEP_FRAMES * 2) v.frames.splice(0, KEEP_FRAMES);
    if (f?.type !== "totals" && f?.type !== "welcome") return;
    if (f.epoch !== epoch) seen.clear();
    epoch = f.epoch;
    for (const [act, n] of Object.entries(f.totals)) {
      const before = seen.get(act) ?? 0;
      if (n < before) tally.decreases.push(`${label}: ${act} ${before} -> ${n} (epoch ${epoch})`);
      seen.set(act, Math.max(before, n));
    }
  });
}

export class SoakViewer {
  /** The open connection, if any. */
  current: TestViewer | null = null;
  connects = 0;
  readonly done: Promise<void>;

  constructor(private readonly ctx: ViewerCtx) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const { ctx } = this;
    while (!ctx.stopped()) {
      const c = await connect(ctx);
      if (c !== null) {
        this.connects++;
        this.current = c.v;
        await this.session(c.v, c.life);
        this.current = null;
        if (c.v.closeCode === null) c.v.ws.terminate();
      }
      if (!ctx.stopped()) await sleep(ctx.rng.between(100, 1000));
    }
  }

  /** Buzzes until the connection closes or the phase stops. */
  private async session(v: TestViewer, life: ConnLife): Promise<void> {
    const { ctx } = this;
    let counted = 0;
    const alive = (): boolean => !ctx.stopped() && v.closeCode === null;
    while (alive()) {
      const act = v.stage?.open ? v.stage.act : null;
      if (ctx.pace === null || act === null) {
        // polled, not `v.until` with a timeout: a timed-out waiter stays registered on the connection
        await Promise.race([v.closed, sleep(100)]);
        continue;
      }
      const seq = v.buzz(act);
      ctx.tally.sent++;
      await v.until(() => (v.lastAck?.seq ?? 0) >= seq || v.closeCode !== null, "ack", ACK_TIMEOUT_MS).catch(() => {});
      const ack = v.lastAck;
      if (ack === null || ack.seq < seq) {
        ctx.tally.lostInFlight(ctx.show, act);
        return;
      }
      ctx.tally.answered++;
      if (ack.counted > counted) ctx.tally.counted(ctx.show, act, ctx.sub, life.id, Date.now());
      counted = ack.counted;
      await sleep(ctx.rng.between(ctx.pace[0], ctx.pace[1]));
    }
    if (v.closeCode === null) v.close();
  }
}
