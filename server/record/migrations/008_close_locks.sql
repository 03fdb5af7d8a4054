-- 008: the reconciliation lock of each voting close (record.ts lockClose). One row per close
-- (show, epoch, show version of the close), holding the token of the process that owns the close's
-- reconciliation: the first insert wins, later ones are ignored, and a row is never deleted or
-- changed, so a lock cannot be lost the way a cache key can. Rows are small (one per close) and are
-- kept with the epoch's other rows.
-- Re-runnable (IF NOT EXISTS), like every migration here.

CREATE TABLE IF NOT EXISTS close_locks (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  version     BIGINT       NOT NULL,          -- the show version of the close
  holder      VARCHAR(160) NOT NULL,          -- the owning process's token
  taken_at    DATETIME(3)  NOT NULL,          -- UTC, the database's clock
  PRIMARY KEY (show_id, epoch, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
