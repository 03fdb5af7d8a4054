/**
 * Which act's voting a show change closed and which it opened: the one rule every process shape
 * applies to its store (node/node.ts runs it for the single process, each worker thread and each
 * node; the interleaving harness's node model calls it too).
 *  - closed: an act was open on stage before the change and, after it, is not the open act any
 *    more, or the epoch changed (a reset closes the old epoch's act, named with the old epoch);
 *  - opened: an act is open on stage after the change that was not the open act before, or the
 *    epoch changed (the new epoch's act opens, named with the new epoch).
 * Both carry the version of the change (a later reopen ends an earlier close's reconciliation).
 */
import type { PreviousState, Show, ShowChange } from "./show.ts";

export interface VotingChange {
  epoch: string;
  act: string;
  version: number;
}

export function votingChanges(
  show: Show,
  changes: ReadonlySet<ShowChange>,
  previous: PreviousState,
): { closed: VotingChange | null; opened: VotingChange | null } {
  const was = previous.stage;
  const now = show.stage;
  const epoch = changes.has("epoch");
  const closed =
    was.open && was.act !== null && (epoch || !(now.open && now.act === was.act))
      ? { epoch: previous.epoch, act: was.act, version: show.version }
      : null;
  const opened =
    now.open && now.act !== null && (epoch || !(was.open && was.act === now.act))
      ? { epoch: show.epoch, act: now.act, version: show.version }
      : null;
  return { closed, opened };
}
