/**
 * Decodes a `shows` table row into a ShowRecord, validating it against the protocol's schemas:
 * a row that does not decode is reported (RecordError "schema"), never served half-parsed.
 */
import type { RowDataPacket } from "mysql2/promise";
import { ScheduledStage, ShowInfo, Stage } from "../../shared/protocol.ts";
import type { StageState } from "./normalize.ts";
import { RecordError, type ShowRecord } from "./record.ts";

/** The columns rowToShow reads. */
export const SHOW_COLUMNS = "id, title, acts, epoch, stage_act, stage_open, version, next_act, next_open, next_at";

export function rowToShow(r: RowDataPacket): ShowRecord {
  const id = String(r.id);
  let acts: unknown;
  try {
    // MariaDB's JSON is LONGTEXT: mysql2 returns a string (MySQL 8 would return parsed JSON).
    acts = typeof r.acts === "string" ? JSON.parse(r.acts) : r.acts;
  } catch (cause) {
    throw new RecordError("schema", `show ${id}: acts column is not JSON`, { cause });
  }
  const show = ShowInfo.safeParse({ id, title: r.title as unknown, acts });
  if (!show.success) throw new RecordError("schema", `show ${id}: stored row does not match the protocol's ShowInfo/Stage`);
  const { epoch, stage, next } = rowStageState(r, id);
  return { show: show.data, stage, epoch, version: Number(r.version), ...(next !== null ? { next } : {}) };
}

/** Epoch, stage and scheduled change of a `shows` row (next_at NULL: nothing scheduled). */
export function rowStageState(r: RowDataPacket, id = String(r.id)): StageState & { next: ScheduledStage | null } {
  const stage = Stage.safeParse({ act: r.stage_act as unknown, open: Number(r.stage_open) === 1 });
  const next =
    r.next_at === null || r.next_at === undefined
      ? null
      : ScheduledStage.safeParse({ act: r.next_act as unknown, open: Number(r.next_open) === 1, at: Number(r.next_at) });
  if (!stage.success || (next !== null && !next.success)) {
    throw new RecordError("schema", `show ${id}: stored row does not match the protocol's ShowInfo/Stage`);
  }
  return { epoch: String(r.epoch), stage: stage.data, next: next === null ? null : next.data };
}
