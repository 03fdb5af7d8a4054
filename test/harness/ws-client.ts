/**
 * A test viewer over the real `ws` client: records every frame, waits for conditions, buzzes.
 *
 * It speaks protocol v1 (JSON) by default, or v2 (binary, `{ protocol: 2 }`: offers the
 * `buzzcast.v2` subprotocol and decodes with shared/v2). Either way tests read the same view:
 * `frames` holds every server frame in v1's shape (a v2 frame is translated: act indices become
 * act ids, totals frames carry the full totals kept by shared/v2's TotalsTracker), and `welcome`,
 * `totals`, `lastAck`, `stage`, `closeCode` mean the same. `send` takes v1-shaped client frames
 * and encodes them in the viewer's protocol (a buzz for an act id the v2 table lacks is sent with
 * an index past the table). The raw v2 frames are in `v2frames`; `sendRaw` sends bytes as they are.
 */
import WebSocket from "ws";
import { closeName } from "../../shared/codes.ts";
import { ServerMessage, type Ack, type Hello, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";
import {
  TotalsTracker,
  V2_SUBPROTOCOL,
  decodeServerFrame,
  encodeClientFrame,
  type V2Act,
  type V2ServerFrame,
  type V2Stage,
} from "../../shared/v2/index.ts";

export type Protocol = 1 | 2;

export interface ViewerOptions {
  /** Wire protocol (default 1). */
  protocol?: Protocol;
  /** v2: send a keyframe_request when the tracker reports a gap, as a real client does (default true). */
  requestKeyframes?: boolean;
}

export class TestViewer {
  readonly ws: WebSocket;
  readonly protocol: Protocol;
  /** Every server frame, in v1's shape. */
  readonly frames: ServerMessage[] = [];
  /** v2 only: every server frame as decoded. */
  readonly v2frames: V2ServerFrame[] = [];
  /** v2 only: the totals state built from welcome, show, keyframe and delta frames. */
  readonly tracker = new TotalsTracker();
  /** v2 only: gaps the tracker reported (each answered by a keyframe_request unless disabled). */
  gaps = 0;
  welcome: Welcome | null = null;
  totals: Record<string, number> = {};
  lastAck: Ack | null = null;
  /** The stage as this viewer last heard it (welcome, then stage frames). */
  stage: { act: string | null; open: boolean } | null = null;
  closeCode: number | null = null;
  private acts: V2Act[] | null = null;
  private showId = "";
  private seq = 0;
  private waiters: Array<() => void> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(
    url: string,
    private readonly opts: ViewerOptions = {},
  ) {
    this.protocol = opts.protocol ?? 1;
    this.ws = this.protocol === 2 ? new WebSocket(url, [V2_SUBPROTOCOL]) : new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => {
        const answered = this.ws.protocol;
        if (answered !== (this.protocol === 2 ? V2_SUBPROTOCOL : "")) reject(new Error(`server answered subprotocol "${answered}"`));
        else resolve();
      });
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once("close", (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
    this.ws.on("error", () => {});
    this.ws.on("message", (data, isBinary) => {
      if (isBinary !== (this.protocol === 2))
        throw new Error(`server sent a ${isBinary ? "binary" : "text"} frame on protocol v${this.protocol}`);
      if (this.protocol === 1) this.take(ServerMessage.parse(JSON.parse((data as Buffer).toString())));
      else this.takeV2(decodeServerFrame(data as Buffer, this.acts?.length));
      this.wake();
    });
  }

  static async join(wsUrl: string, show = "demo", viewer?: string, opts: ViewerOptions = {}): Promise<TestViewer> {
    const v = new TestViewer(wsUrl, opts);
    await v.opened;
    v.send({ type: "hello", protocol: 1, show, ...(viewer === undefined ? {} : { viewer }) });
    await v.until(() => v.welcome !== null, "welcome");
    return v;
  }

  /** A v1-shaped client frame, sent in this viewer's protocol. */
  send(obj: unknown): void {
    if (this.protocol === 1) return this.ws.send(JSON.stringify(obj));
    const f = obj as { type?: unknown };
    if (f.type === "hello") {
      const h = obj as Hello & { token?: string };
      return this.sendRaw(
        encodeClientFrame({
          type: "hello",
          show: h.show,
          ...(h.viewer === undefined ? {} : { viewer: h.viewer }),
          ...(h.token === undefined ? {} : { token: h.token }),
        }),
      );
    }
    if (f.type === "buzz") {
      const b = obj as { act: string; seq: number };
      return this.sendRaw(encodeClientFrame({ type: "buzz", act: this.actIndex(b.act), seq: b.seq }));
    }
    throw new Error(`not a frame v2 can carry: ${JSON.stringify(obj)}`);
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** v2: ask for a keyframe. */
  requestKeyframe(): void {
    this.sendRaw(encodeClientFrame({ type: "keyframe_request" }));
  }

  /** Seq of the last buzz sent on this connection (0 before the first). */
  get sentSeq(): number {
    return this.seq;
  }

  buzz(act: string): number {
    const seq = ++this.seq;
    this.send({ type: "buzz", act, seq });
    return seq;
  }

  totalsFrames(): TotalsFrame[] {
    return this.frames.filter((f): f is TotalsFrame => f.type === "totals");
  }

  /** Resolve when `cond()` holds (checked on every frame and close), or reject after `timeoutMs`. */
  until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** Resolve once this viewer knows voting is open for `act`. */
  votingOpen(act: string): Promise<void> {
    return this.until(() => this.stage?.act === act && this.stage.open, `voting open for ${act}`);
  }

  close(): void {
    this.ws.close();
  }

  private take(msg: ServerMessage): void {
    this.frames.push(msg);
    if (msg.type === "welcome") {
      this.welcome = msg;
      this.stage = msg.stage;
      this.totals = { ...msg.totals };
    } else if (msg.type === "totals") this.totals = { ...msg.totals };
    else if (msg.type === "ack") this.lastAck = msg;
    else if (msg.type === "stage") this.stage = { act: msg.act, open: msg.open };
  }

  /** A v2 frame: tracked, then recorded in v1's shape. */
  private takeV2(f: V2ServerFrame): void {
    this.v2frames.push(f);
    switch (f.type) {
      case "welcome":
        this.tracker.welcome(f);
        this.acts = f.show.acts;
        this.showId = f.show.id;
        return this.take({
          type: "welcome",
          protocol: 1,
          show: f.show,
          stage: this.stageOf(f.stage),
          tickMs: f.tickMs,
          epoch: f.epoch,
          seq: f.seq,
          totals: this.tracker.snapshot(),
          ...(f.policy === undefined ? {} : { policy: f.policy }),
          ...(f.watching === undefined ? {} : { watching: f.watching }),
        });
      case "show":
        this.tracker.show(f);
        this.acts = f.show.acts;
        return this.take({ type: "show", show: f.show, epoch: f.epoch });
      case "stage":
        return this.take({ type: "stage", ...this.stageOf(f) });
      case "keyframe":
      case "delta": {
        const r = this.tracker.totals(f);
        if (r === "gap") {
          this.gaps++;
          if (this.opts.requestKeyframes ?? true) this.requestKeyframe();
        }
        if (r !== "applied") return;
        const epoch = this.tracker.epoch ?? "";
        return this.take({ type: "totals", show: this.showId, epoch, seq: f.seq, ts: f.ts, totals: this.tracker.snapshot() });
      }
      case "ack":
        return this.take({ ...f });
      case "error":
        return this.take({ type: "error", code: closeName(f.close) ?? String(f.close), message: f.message });
    }
  }

  private stageOf(s: V2Stage): { act: string | null; open: boolean } {
    return { act: s.act === null ? null : (this.acts?.[s.act]?.id ?? null), open: s.open };
  }

  /** The v2 index of an act id; one past the table for an act it lacks (the server rejects it). */
  private actIndex(act: string): number {
    const acts = this.acts ?? [];
    const i = acts.findIndex((a) => a.id === act);
    return i >= 0 ? i : acts.length + 1000;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
