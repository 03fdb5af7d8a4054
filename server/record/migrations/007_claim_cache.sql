-- 007: which nodes decide a show epoch's `once` claims in the cache, and which epochs the record
-- decides instead (record.ts joinClaimCache, claimRecordMode, leaveClaimCache). The record decides
-- an epoch's claims only once every node registered here has left (its cache-decided claims are
-- committed; a restarted node leaves every row of its previous life once its journal is replayed).
-- Re-runnable (IF NOT EXISTS), like every migration here.

CREATE TABLE IF NOT EXISTS claim_cache_nodes (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  node        VARCHAR(128) NOT NULL,
  joined_at   DATETIME(3)  NOT NULL,          -- UTC, the database's clock
  left_at     DATETIME(3)  NULL,              -- UTC; NULL while the node may still decide or commit
  PRIMARY KEY (show_id, epoch, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS claim_record_mode (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  node        VARCHAR(128) NOT NULL,          -- the first node that put the epoch in record mode
  since       DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (show_id, epoch)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
