/** The buzzcast client library: one entry point for browsers, React Native and Node. */
export { BuzzClient } from "./buzz-client.ts";
export type { BuzzClientEvents, BuzzClientOptions, BuzzOutcome, ConnectionState, StateChange, TotalsUpdate } from "./client-types.ts";
export { BuzzClientError, type ClientErrorCode } from "./errors.ts";
export { DEFAULT_RECONNECT, reconnectDelay, type ReconnectOptions } from "./backoff.ts";
export { basicFrameCheck, type FrameCheck } from "./frame-check.ts";
export { toWsUrl, type WebSocketConstructor, type WebSocketLike } from "./socket.ts";
export { TotalsView } from "./totals-view.ts";
