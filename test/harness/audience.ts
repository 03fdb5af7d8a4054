/**
 * Viewers for fault tests and the soak: real ws clients whose acks are timestamped (to bound what a
 * SIGKILL may lose) and whose totals are watched for decreases within an epoch, per connection.
 *
 * Guarantees: `counted()` is the sum over every connection of its last ack's `counted` (acks are
 * cumulative per connection); `countedBy(viewer)` the same for one viewer id; `decreases` lists every
 * totals value a connection saw go down within one epoch (must stay empty).
 */
import { TestViewer } from "./ws-client.ts";

export interface Conn {
  viewer: string;
  v: TestViewer;
  /** Where it connected (HAProxy or a node's own URL). */
  url: string;
  /** [arrival ms, cumulative counted] per ack frame. */
  acks: Array<[number, number]>;
}

export class Audience {
  readonly conns: Conn[] = [];
  readonly decreases: string[] = [];

  async join(url: string, show: string, viewer: string): Promise<Conn> {
    const v = new TestViewer(url);
    const conn: Conn = { viewer, v, url, acks: [] };
    const seen = new Map<string, number>();
    let epoch = "";
    v.ws.on("message", () => {
      const f = v.frames[v.frames.length - 1];
      if (f?.type === "ack") conn.acks.push([Date.now(), f.counted]);
      if (f?.type !== "totals" && f?.type !== "welcome") return;
      if (f.epoch !== epoch) seen.clear();
      epoch = f.epoch;
      for (const [act, n] of Object.entries(f.totals)) {
        const before = seen.get(act) ?? 0;
        if (n < before) this.decreases.push(`${viewer} on ${url}: ${act} ${before} -> ${n} (epoch ${epoch})`);
        seen.set(act, Math.max(before, n));
      }
    });
    await v.opened;
    v.send({ type: "hello", protocol: 1, show, viewer });
    await v.until(() => v.welcome !== null, `welcome of ${viewer}`);
    this.conns.push(conn);
    return conn;
  }

  counted(conns: readonly Conn[] = this.conns): number {
    return conns.reduce((n, c) => n + (c.v.lastAck?.counted ?? 0), 0);
  }

  /**
   * Buzzes sent whose ack never came (their connection died first): each may or may not have
   * counted (a killed node that had journaled one replays it), so the record may exceed `counted()`
   * by at most this.
   */
  unconfirmed(conns: readonly Conn[] = this.conns): number {
    return conns.reduce((n, c) => n + Math.max(0, c.v.sentSeq - (c.v.lastAck?.seq ?? 0)), 0);
  }

  countedBy(viewer: string): number {
    return this.counted(this.conns.filter((c) => c.viewer === viewer));
  }

  /** Counted acks that arrived on `conns` in [from, to]. */
  countedBetween(conns: readonly Conn[], from: number, to: number): number {
    let n = 0;
    for (const c of conns) {
      let prev = 0;
      for (const [t, counted] of c.acks) {
        if (t >= from && t <= to) n += counted - prev;
        prev = counted;
      }
    }
    return n;
  }

  /** Resolves when every open connection in `conns` has the ack of its last buzz. */
  async allAcked(conns: readonly Conn[] = this.conns, timeoutMs = 20_000): Promise<void> {
    await Promise.all(
      conns
        .filter((c) => c.v.closeCode === null)
        .map((c) => c.v.until(() => c.v.closeCode !== null || c.v.lastAck?.seq === c.v.sentSeq, `ack of ${c.viewer}`, timeoutMs)),
    );
  }

  close(): void {
    for (const c of this.conns) c.v.close();
  }
}
