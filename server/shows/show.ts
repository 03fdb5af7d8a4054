/**
 * The live state of one show in this process: definition, stage, epoch, the tally of buzzes not yet
 * flushed, and the totals last published (which never decrease within an epoch).
 */
import type { ShowInfo, Stage, Totals } from "../../shared/protocol.ts";
import { Tally } from "../counting/tally.ts";

export class Show {
  info: ShowInfo;
  stage: Stage;
  epoch: string;
  /** `show/epoch`, kept in step with `epoch` (keys per-epoch state without a per-buzz allocation). */
  epochKey: string;
  version: number;
  readonly topic: string;
  /** act ids of the current definition, for the per-buzz unknown_act check. */
  actIds: Set<string>;
  tally: Tally;
  /** Totals last published to clients in this epoch; each value only grows. */
  totals: Totals;
  /** Sequence number of the last totals frame (grows forever, across epochs). */
  seq = 0;
  lastPublishAt = 0;
  /** Serialized welcome for the current (seq, stage, info), shared by every hello until it changes. */
  welcomeCache: string | null = null;

  constructor(info: ShowInfo, stage: Stage, epoch: string, version: number) {
    this.info = info;
    this.stage = stage;
    this.epoch = epoch;
    this.epochKey = `${info.id}/${epoch}`;
    this.version = version;
    this.topic = `show/${info.id}`;
    this.actIds = new Set(info.acts.map((a) => a.id));
    this.tally = new Tally(info.id, epoch);
    this.totals = zeroTotals(info);
  }

  get id(): string {
    return this.info.id;
  }

  /** True when a buzz for `act` may count now. */
  votingOpen(act: string): boolean {
    return this.stage.open && this.stage.act === act;
  }
}

export function zeroTotals(info: ShowInfo): Totals {
  const t: Totals = {};
  for (const a of info.acts) t[a.id] = 0;
  return t;
}

export function newEpoch(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
