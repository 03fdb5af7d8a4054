/**
 * What the soak's clients saw, per show and act: buzzes whose ack said counted, buzzes whose
 * outcome never arrived (the connection died with the buzz in flight: it may or may not have
 * counted), per-viewer counted buzzes (for `once`), every counted ack with its arrival time and
 * connection (for SIGKILL bounds), and every total a connection saw decrease within an epoch.
 */
/** Close code of a connection that ended without a close frame. */
const DROPPED = 1006;

export interface ConnLife {
  id: number;
  viewer: string;
  openedAt: number;
  closedAt: number | null;
  closeCode: number | null;
}

export class Tally {
  /** "show/act" -> buzzes acked counted. */
  readonly acked = new Map<string, number>();
  /** "show/act" -> buzzes in flight when their connection died. */
  readonly unconfirmed = new Map<string, number>();
  /** "show/act/viewer" -> counted buzzes of that viewer. */
  readonly byViewer = new Map<string, number>();
  /** [arrival ms, connection id] of every counted ack. */
  readonly countedAcks: Array<[number, number]> = [];
  readonly conns: ConnLife[] = [];
  readonly decreases: string[] = [];
  sent = 0;
  /** Buzzes whose ack arrived (counted or not). */
  answered = 0;

  private bump(m: Map<string, number>, k: string): void {
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  counted(show: string, act: string, viewer: string, conn: number, at: number): void {
    this.bump(this.acked, `${show}/${act}`);
    this.bump(this.byViewer, `${show}/${act}/${viewer}`);
    this.countedAcks.push([at, conn]);
  }

  lostInFlight(show: string, act: string): void {
    this.bump(this.unconfirmed, `${show}/${act}`);
  }

  open(viewer: string): ConnLife {
    const c: ConnLife = { id: this.conns.length + 1, viewer, openedAt: Date.now(), closedAt: null, closeCode: null };
    this.conns.push(c);
    return c;
  }

  totalAcked(): number {
    return [...this.acked.values()].reduce((a, b) => a + b, 0);
  }

  /** Viewers with more than one counted buzz for one act (must be none under `once`). */
  countedTwice(): string[] {
    return [...this.byViewer].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /**
   * The documented SIGKILL window of a kill at `killedAt`: counted acks that arrived in
   * [killedAt - windowMs, killedAt] on connections that were open at the kill and dropped (1006, no
   * close frame) within `attributionMs` after it (through HAProxy a client cannot know its node; the
   * connections the kill cut are the ones that dropped with it). Returns the bound and how many connections it took.
   */
  killBound(killedAt: number, windowMs: number, attributionMs: number): { bound: number; conns: number } {
    const cut = new Set(
      this.conns
        .filter(
          (c) =>
            c.openedAt <= killedAt &&
            c.closeCode === DROPPED &&
            c.closedAt !== null &&
            c.closedAt >= killedAt &&
            c.closedAt <= killedAt + attributionMs,
        )
        .map((c) => c.id),
    );
    const bound = this.countedAcks.filter(([t, id]) => cut.has(id) && t >= killedAt - windowMs && t <= killedAt).length;
    return { bound, conns: cut.size };
  }
}
