/** What the viewer is told about a buzz, for every outcome the client library can report. */
import type { BuzzOutcome } from "../../lib/index.ts";

export type ButtonState = "idle" | "pressed" | "confirmed" | "closed";

export function outcomeText(o: BuzzOutcome): { text: string; tone: "good" | "bad" | "info" } {
  switch (o) {
    case "counted":
      return { text: "Counted! Your buzz is in.", tone: "good" };
    case "duplicate":
      return { text: "Already buzzed — one buzz per act.", tone: "info" };
    case "voting_closed":
      return { text: "Voting closed — that buzz didn't count.", tone: "bad" };
    case "rate_limited":
      return { text: "Whoa, slow down — that one didn't count.", tone: "bad" };
    case "unknown_act":
      return { text: "That act isn't in this show any more.", tone: "bad" };
    case "out_of_order":
      return { text: "That buzz arrived out of order; try again.", tone: "bad" };
    case "rejected_other":
      return { text: "That buzz wasn't counted.", tone: "bad" };
    case "not_sent":
      return { text: "Not sent — you were offline too long. Try again.", tone: "bad" };
    case "unconfirmed":
      return { text: "The connection dropped before your buzz was confirmed.", tone: "bad" };
  }
}
