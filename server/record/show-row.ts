/**
 * Decodes a `shows` table row into a ShowRecord, validating it against the protocol's schemas:
 * a row that does not decode is reported (RecordError "schema"), never served half-parsed.
 */
import type { RowDataPacket } from "mysql2/promise";
import { ShowInfo, Stage } from "../../shared/protocol.ts";
import { RecordError, type ShowRecord } from "./record.ts";

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
  const stage = Stage.safeParse({ act: r.stage_act as unknown, open: Number(r.stage_open) === 1 });
  if (!show.success || !stage.success) {
    throw new RecordError("schema", `show ${id}: stored row does not match the protocol's ShowInfo/Stage`);
  }
  return { show: show.data, stage: stage.data, epoch: String(r.epoch), version: Number(r.version) };
}
