/**
 * Full validation of incoming frames with the shared zod schema (`ServerMessage`). For Node, the
 * bench and tests; browser pages use the lighter default check (see frame-check.ts for why).
 */
import { ServerMessage } from "../../shared/protocol.ts";
import type { FrameCheck } from "./frame-check.ts";

export const strictFrameCheck: FrameCheck = (data) => {
  const r = ServerMessage.safeParse(data);
  return r.success ? r.data : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
};
