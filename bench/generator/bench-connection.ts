/**
 * A generator connection with its bench state as plain fields (no closures, no maps per
 * connection): readiness, the last epoch and seq it saw, its next buzz seq, and the acks' counts.
 */
import { BuzzFrames, SEQ_BASE } from "./buzz-frames.ts";
import { LeanConnection } from "./lean-connection.ts";

export class BenchConnection extends LeanConnection {
  ready = false;
  openedAt = 0;
  epoch = "";
  lastSeq = -1;
  nextSeq = SEQ_BASE;
  ackCounted = 0;
  ackRejected = 0;
  frames: BuzzFrames | null = null;
  /** Whether the generator asked for this close (then it is not a failure). */
  leaving = false;
  /** Set while the load driver sends on this connection: it is then not an observer. */
  sending = false;
}
