/**
 * The proof tables' SQL (migrations/006_proof.sql), run inside MysqlRecord's units of work.
 *
 * Guarantees: an on-air row is replaced only by one whose frame instant is not older, in one
 * statement (a late retry of an earlier frame never overwrites a later one); a fleet secret is
 * written once (INSERT IGNORE on its primary key) and every reader gets the stored value.
 */
import type { RowDataPacket } from "mysql2/promise";
import type { Param, Query } from "./mysql-runner.ts";
import { compareOnAir } from "./proof-rules.ts";
import type { OnAirTotal } from "./record.ts";

export async function upsertOnAir(q: Query, rows: readonly OnAirTotal[]): Promise<void> {
  if (rows.length === 0) return;
  const values: Param[] = [];
  for (const r of [...rows].sort(compareOnAir)) values.push(r.show, r.epoch, r.act, r.node, r.total, r.atMs, r.closedAtMs);
  // MariaDB evaluates the assignments left to right: `at_ms` last, so the conditions read the old one.
  await q(
    "INSERT INTO on_air (show_id, epoch, act, node, total, at_ms, closed_at_ms) VALUES " +
      rows.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ") +
      " ON DUPLICATE KEY UPDATE total = IF(VALUES(at_ms) >= at_ms, VALUES(total), total)," +
      " closed_at_ms = IF(VALUES(at_ms) >= at_ms, VALUES(closed_at_ms), closed_at_ms)," +
      " at_ms = GREATEST(at_ms, VALUES(at_ms))",
    values,
  );
}

export async function selectOnAir(q: Query, show: string, epoch: string): Promise<OnAirTotal[]> {
  const rows = await q<RowDataPacket[]>(
    "SELECT act, node, total, at_ms, closed_at_ms FROM on_air WHERE show_id = ? AND epoch = ? ORDER BY act, node",
    [show, epoch],
  );
  return rows.map((r) => ({
    show,
    epoch,
    act: String(r.act),
    node: String(r.node),
    total: Number(r.total),
    atMs: Number(r.at_ms),
    closedAtMs: Number(r.closed_at_ms),
  }));
}

export async function fleetSecret(q: Query, name: string, candidate: Buffer): Promise<Buffer> {
  await q("INSERT IGNORE INTO fleet_secrets (name, secret_hex, created_at) VALUES (?, ?, UTC_TIMESTAMP(3))", [
    name,
    candidate.toString("hex"),
  ]);
  const [row] = await q<RowDataPacket[]>("SELECT secret_hex FROM fleet_secrets WHERE name = ?", [name]);
  if (row === undefined) throw new Error(`fleet secret ${name} vanished after its insert`);
  return Buffer.from(String(row.secret_hex), "hex");
}
