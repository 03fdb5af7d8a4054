-- 004: one lease per node id (NODE_ID, or NODE_ID-w<i> for a worker thread), so two live processes
-- never share a batch sequence space (node_batches). `holder` is the process instance that holds
-- it; `expires_at` is on the database's clock (renewed every second by the holder). A batch of the
-- node commits only while this row names its writer's holder (mysql-record.ts, in the same
-- transaction). Re-runnable (IF NOT EXISTS), like every migration here.

CREATE TABLE IF NOT EXISTS node_leases (
  node         VARCHAR(128) NOT NULL,
  holder       VARCHAR(128) NOT NULL,
  expires_at   DATETIME(3)  NOT NULL,          -- UTC, the database's clock
  acquired_at  DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
