/**
 * Test fixture for MysqlRecord test files: one real MariaDB per file (started before the file's
 * tests, stopped after them), and `open()` for records that are closed when the file ends.
 */
import { after, before } from "node:test";
import { startMariaDb, type MariaDb } from "../../test/harness/mariadb.ts";
import { MysqlRecord, type MysqlRecordOptions } from "./mysql-record.ts";

export interface MariaDbFixture {
  /** The running MariaDB (valid inside tests). */
  readonly db: MariaDb;
  open: (url: string, options?: MysqlRecordOptions) => MysqlRecord;
}

export function mariaDbFixture(): MariaDbFixture {
  let db: MariaDb | null = null;
  const records: MysqlRecord[] = [];
  before(async () => {
    db = await startMariaDb();
  });
  after(async () => {
    await Promise.all(records.map((r) => r.close()));
    await db?.stop();
  });
  return {
    get db(): MariaDb {
      if (!db) throw new Error("MariaDB is not started yet (use it inside a test)");
      return db;
    },
    open(url, options = {}) {
      const r = new MysqlRecord(url, options);
      records.push(r);
      return r;
    },
  };
}
