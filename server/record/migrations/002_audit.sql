-- 002: the audit log (every counted buzz of `once`; per viewer, act and persist batch for
-- `unlimited`) and the marker of show epochs whose `once` claims are decided in the cache.
-- Re-runnable (IF NOT EXISTS). Viewer keys compare byte-wise without pad space (utf8mb4_nopad_bin):
-- "x" and "x " are different viewers.

-- One row per (show, epoch, act, viewer) that counted under `once`: the primary key makes a second
-- claim of the same viewer for the same act detectable, and an insert retried idempotent.
-- `count` is 1; a row at 2 or more is a viewer counted twice (the cache lost its claim), kept so
-- that per act the audit sum still equals the count rows' sum.
CREATE TABLE IF NOT EXISTS audit_once (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  act         VARCHAR(64)  NOT NULL,
  viewer      VARCHAR(160) NOT NULL COLLATE utf8mb4_nopad_bin,
  node        VARCHAR(128) NOT NULL,
  batch_seq   BIGINT       NOT NULL,          -- the node's record batch that inserted it
  at_ms       BIGINT       NOT NULL,          -- when it counted, ms since the Unix epoch (node clock)
  count       INT          NOT NULL,
  PRIMARY KEY (show_id, epoch, act, viewer),
  KEY by_time (show_id, epoch, act, at_ms, viewer, node, batch_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- `unlimited`: one row per (viewer, act) per node batch (one persist interval) with its count.
CREATE TABLE IF NOT EXISTS audit_interval (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  act         VARCHAR(64)  NOT NULL,
  viewer      VARCHAR(160) NOT NULL COLLATE utf8mb4_nopad_bin,
  node        VARCHAR(128) NOT NULL,
  batch_seq   BIGINT       NOT NULL,
  at_ms       BIGINT       NOT NULL,
  count       BIGINT       NOT NULL,
  PRIMARY KEY (show_id, epoch, act, viewer, node, batch_seq),
  KEY by_time (show_id, epoch, act, at_ms, viewer, node, batch_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A show epoch whose `once` claims went to the cache (its sentinel key was created there). A node
-- that finds the sentinel missing for an epoch listed here knows the cache lost the claims.
CREATE TABLE IF NOT EXISTS claim_epochs (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  node        VARCHAR(128) NOT NULL,
  created_at  DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (show_id, epoch)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
