/**
 * Input rules for the record's proof rows (on-air totals, fleet secrets), shared by MysqlRecord and
 * MemoryRecord so both refuse the same things the same way (RecordError "query", nothing stored).
 */
import { RecordError, type OnAirTotal } from "./record.ts";

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET_NAME = /^[a-z0-9_]{1,64}$/;

export function checkOnAir(rows: readonly OnAirTotal[]): void {
  for (const r of rows) {
    if (!ID.test(r.show) || !ID.test(r.epoch) || !ID.test(r.act)) throw new RecordError("query", "on-air row: bad show, epoch or act id");
    if (r.node.length < 1 || r.node.length > 128) throw new RecordError("query", "on-air row: node must be 1-128 characters");
    for (const n of [r.total, r.atMs, r.closedAtMs])
      if (!Number.isSafeInteger(n) || n < 0)
        throw new RecordError("query", "on-air row: total and instants must be non-negative safe integers");
  }
}

export function checkSecret(name: string, candidate: Buffer): void {
  if (!SECRET_NAME.test(name)) throw new RecordError("query", "fleet secret: name must be 1-64 of a-z 0-9 _");
  if (candidate.byteLength < 32 || candidate.byteLength > 64) throw new RecordError("query", "fleet secret: 32-64 bytes");
}

/** Order of onAirTotals: act, then node (byte order, as the record's binary collation). */
export function compareOnAir(a: OnAirTotal, b: OnAirTotal): number {
  return a.act < b.act ? -1 : a.act > b.act ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}
