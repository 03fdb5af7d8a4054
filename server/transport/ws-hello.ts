/**
 * Hello -> welcome, for both protocols: hello once and first, the protocol version, the viewer
 * token (when VIEWER_TOKEN_SECRET is set), the show lookup (a show created on another node a moment
 * ago is looked up on the spot), then the hub's join (subscribe, then the snapshot) and the fan-out's
 * member list, then reader flow control (reader-flow.ts). Every refusal is an error frame and a close code through the endpoint's `close`.
 */
import { PROTOCOL_VERSION, type Hello } from "../../shared/protocol.ts";
import { viewerIdProblem } from "../../shared/viewer-id.ts";
import type { TokenCheck, ViewerTokens } from "../auth/viewer-tokens.ts";
import type { Show } from "../shows/show.ts";
import type { Conn } from "./connection.ts";
import type { ReaderFlow } from "./reader-flow.ts";
import type { WebSocket } from "./uws.ts";
import type { FrameSink } from "./ws-v2.ts";
import type { WsDeps } from "./ws-handlers.ts";

const LOOKUP_LOG_MS = 10_000;

export class Greeter {
  private lookupFailures = 0;
  private lookupLoggedAt = -Infinity;

  constructor(
    private readonly deps: WsDeps,
    private readonly sink: Pick<FrameSink, "close">,
    private readonly flow: ReaderFlow | null,
  ) {}

  /** Hello of either protocol (v2's is mapped to this shape by ws-v2.ts): one path for both. */
  hello(ws: WebSocket<Conn>, c: Conn, msg: Hello): void {
    if (c.counts !== null || c.greeting) return this.sink.close(ws, c, "hello_required", "hello may be sent only once");
    if (msg.protocol !== PROTOCOL_VERSION)
      return this.sink.close(ws, c, "unsupported_protocol", `this server speaks protocol ${PROTOCOL_VERSION}`);
    const tokens = this.deps.tokens;
    if (tokens) return this.verifyToken(ws, c, msg, tokens);
    this.admit(ws, c, msg, msg.viewer);
  }

  /**
   * With viewer tokens: the viewer id is the token's `sub` (`hello.viewer` is ignored). The token is
   * verified synchronously, inside this hello's callback: a buzz right behind the hello (even in the
   * same packet) is handled after it, as with anonymous viewers.
   */
  private verifyToken(ws: WebSocket<Conn>, c: Conn, msg: Hello, tokens: ViewerTokens): void {
    let r: TokenCheck;
    try {
      r = tokens.verify(msg.token, msg.show);
    } catch (err) {
      this.deps.log.error("viewer token check failed", { err });
      return this.sink.close(ws, c, "server_error", "could not check the viewer token; try again");
    }
    if (r.ok) this.admit(ws, c, msg, r.viewer);
    else this.sink.close(ws, c, "unauthorized", r.message);
  }

  private admit(ws: WebSocket<Conn>, c: Conn, msg: Hello, viewer: string | undefined): void {
    if (viewer !== undefined) {
      // Every source of a viewer id passes here (v1 and v2 hello, a token's sub): none that could
      // merge with another id in the record, or forge lines in an export, is ever counted.
      const problem = viewerIdProblem(viewer);
      if (problem !== null) return this.sink.close(ws, c, "bad_viewer", problem);
      c.viewerKey = `v:${viewer}`;
    }
    const show = this.deps.shows.get(msg.show);
    if (show) return this.join(ws, c, show);
    // Not known here: it may have been created on another node a moment ago. The answer arrives
    // outside any uWS callback: the hub corks what it sends.
    c.greeting = true;
    this.deps.shows.find(msg.show).then(
      (found) => {
        c.greeting = false;
        if (!c.open) return;
        if (found) this.join(ws, c, found);
        else this.sink.close(ws, c, "unknown_show", `no show ${msg.show}`);
      },
      (err: unknown) => {
        c.greeting = false;
        this.lookupFailed(err, msg.show);
        if (c.open) this.sink.close(ws, c, "server_error", "could not look up the show; try again");
      },
    );
  }

  /**
   * A hello's show lookup failed (the viewer is closed with server_error, counted in
   * buzzcast_closes_total). The reason is logged at most once per LOOKUP_LOG_MS, with how many
   * failed since the last line: an outage of the show source makes every new viewer fail.
   */
  private lookupFailed(err: unknown, show: string): void {
    this.lookupFailures++;
    const now = Date.now();
    if (now - this.lookupLoggedAt < LOOKUP_LOG_MS) return;
    this.deps.log.warn("show lookup failed; viewers asking for it are closed with server_error", {
      err,
      show,
      failures: this.lookupFailures,
    });
    this.lookupLoggedAt = now;
    this.lookupFailures = 0;
  }

  private join(ws: WebSocket<Conn>, c: Conn, show: Show): void {
    c.counts = this.deps.counting.of(show);
    this.deps.hub.join(ws, show, c.protocol);
    this.deps.fanout?.joined(ws, c);
    this.flow?.joined(ws, c, Date.now());
  }
}
