/**
 * A test viewer over the real `ws` client: records every frame, waits for conditions, buzzes.
 */
import WebSocket from "ws";
import { ServerMessage, type Ack, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";

export class TestViewer {
  readonly ws: WebSocket;
  readonly frames: ServerMessage[] = [];
  welcome: Welcome | null = null;
  totals: Record<string, number> = {};
  lastAck: Ack | null = null;
  /** The stage as this viewer last heard it (welcome, then stage frames). */
  stage: { act: string | null; open: boolean } | null = null;
  closeCode: number | null = null;
  private seq = 0;
  private waiters: Array<() => void> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
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
      if (isBinary) throw new Error("server sent a binary frame");
      const msg = ServerMessage.parse(JSON.parse((data as Buffer).toString()));
      this.frames.push(msg);
      if (msg.type === "welcome") {
        this.welcome = msg;
        this.stage = msg.stage;
        this.totals = { ...msg.totals };
      } else if (msg.type === "totals") this.totals = { ...msg.totals };
      else if (msg.type === "ack") this.lastAck = msg;
      else if (msg.type === "stage") this.stage = { act: msg.act, open: msg.open };
      this.wake();
    });
  }

  static async join(wsUrl: string, show = "demo", viewer?: string): Promise<TestViewer> {
    const v = new TestViewer(wsUrl);
    await v.opened;
    v.send({ type: "hello", protocol: 1, show, ...(viewer === undefined ? {} : { viewer }) });
    await v.until(() => v.welcome !== null, "welcome");
    return v;
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
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

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
