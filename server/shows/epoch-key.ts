/**
 * The one key for per-epoch state of a show (tally, buzz policy memory, store counters, flush
 * results). Every module that keys by show epoch calls this, so forgetting an epoch in one place
 * always matches what another place stored. Show ids cannot contain "/" (shared/protocol.ts `Id`),
 * so the key is unambiguous.
 */
export function epochKey(show: string, epoch: string): string {
  return `${show}/${epoch}`;
}
