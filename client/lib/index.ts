/**
 * The buzzcast client library: one entry point for browsers, React Native and Node. Published as
 * @buzzcast/client (client/package.json); this file's exports are the package's whole API.
 */
export { BuzzClient } from "./buzz-client.ts";
export type {
  BuzzClientEvents,
  BuzzClientOptions,
  BuzzOutcome,
  ConnectionState,
  ProtocolChoice,
  StateChange,
  TotalsUpdate,
} from "./client-types.ts";
export { BuzzClientError, type ClientErrorCode } from "./errors.ts";
export { DEFAULT_RECONNECT, reconnectDelay, type ReconnectOptions } from "./backoff.ts";
export { basicFrameCheck, type FrameCheck } from "./frame-check.ts";
export { toWsUrl, type WebSocketConstructor, type WebSocketLike } from "./socket.ts";
export { TotalsView } from "./totals-view.ts";
export type { ProtocolName } from "./wire.ts";
export type {
  Ack,
  Act,
  ErrorFrame,
  RejectCounts,
  ScheduledStage,
  ServerMessage,
  ShowInfo,
  Stage,
  Totals,
  Welcome,
} from "./protocol-types.ts";
/** The protocol's tables (close codes and their reconnect rules, reject reasons), as the server uses them. */
export {
  CLOSE,
  PROTOCOL_VERSION,
  REJECT,
  REJECT_REASONS,
  closeName,
  reconnectRule,
  type CloseName,
  type ReconnectRule,
  type RejectReason,
} from "../../shared/codes.ts";
