/** Protocol v2 codec: the one entry point server and clients import. See docs/protocol-v2.md. */
export * from "./constants.ts";
export * from "./errors.ts";
export type * from "./frames.ts";
export { decodeClientFrame, decodeServerFrame } from "./decode.ts";
export { encodeClientFrame, encodeServerFrame } from "./encode.ts";
export { TotalsEncoder, epochId, type TotalsTick } from "./totals-encoder.ts";
export { TotalsTracker, type TrackResult } from "./totals-tracker.ts";
