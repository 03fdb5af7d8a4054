/**
 * What the soak's clients saw, per show and act: buzzes whose ack said counted, buzzes whose
 * outcome never arrived (the connection died with the buzz in flight: it may or may not have
 * counted), per-viewer counted buzzes (for `once`), every connection's life (which ones a kill
 * cut), and every total a connection saw decrease within an epoch.
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
  readonly conns: ConnLife[] = [];
  readonly decreases: string[] = [];
  sent = 0;
  /** Buzzes whose ack arrived (counted or not). */
  answered = 0;

  private bump(m: Map<string, number>, k: string): void {
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  counted(show: string, act: string, viewer: string): void {
    this.bump(this.acked, `${show}/${act}`);
    this.bump(this.byViewer, `${show}/${act}/${viewer}`);
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
   * Connections a kill at `killedAt` cut: open at the kill and dropped (1006, no close frame) within
   * `attributionMs` after it (through HAProxy a client cannot know its node; the connections the
   * kill cut are the ones that dropped with it).
   */
  connsCut(killedAt: number, attributionMs: number): number {
    return this.conns.filter(
      (c) =>
        c.openedAt <= killedAt &&
        c.closeCode === DROPPED &&
        c.closedAt !== null &&
        c.closedAt >= killedAt &&
        c.closedAt <= killedAt + attributionMs,
    ).length;
  }
}
