/** What the pages say about the connection, from the client library's state events. */
import { closeName } from "../../../shared/codes.ts";
import type { StateChange } from "../../lib/index.ts";

export function connectionLabel(s: StateChange): string {
  switch (s.state) {
    case "idle":
    case "connecting":
      return "Connecting…";
    case "live":
      return "Live";
    case "reconnecting":
      return "Reconnecting…";
    case "closed": {
      const name = s.code !== undefined ? closeName(s.code) : undefined;
      if (name === "unknown_show") return "No such show";
      return "Offline";
    }
  }
}
