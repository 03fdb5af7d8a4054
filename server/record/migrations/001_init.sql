-- 001: shows, stage history, per-node counts and per-node batch sequence.
-- Every statement is idempotent (IF NOT EXISTS): MariaDB commits DDL implicitly, so a migration
-- interrupted half-way is simply run again. Identifiers and ids compare byte-wise (utf8mb4_bin):
-- "Act-1" and "act-1" are different acts, as they are in the cache keys.

CREATE TABLE IF NOT EXISTS shows (
  id          VARCHAR(64)  NOT NULL,
  title       VARCHAR(200) NOT NULL,
  acts        JSON         NOT NULL,          -- [{ "id": ..., "name": ... }], in display order
  epoch       VARCHAR(64)  NOT NULL,
  stage_act   VARCHAR(64)  NULL,
  stage_open  TINYINT(1)   NOT NULL,
  version     BIGINT       NOT NULL,          -- newer wins; an older write never overwrites
  updated_at  DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per stored version whose stage (act, open) or epoch differs from the previous one.
CREATE TABLE IF NOT EXISTS stage_history (
  show_id     VARCHAR(64)  NOT NULL,
  version     BIGINT       NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  act         VARCHAR(64)  NULL,
  is_open     TINYINT(1)   NOT NULL,
  at          DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (show_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (show, epoch, act, node): each node writes only its own rows, the total is the sum.
-- batch_seq is the node's batch that last added to the row (defence in depth for idempotency).
CREATE TABLE IF NOT EXISTS counts (
  show_id     VARCHAR(64)  NOT NULL,
  epoch       VARCHAR(64)  NOT NULL,
  act         VARCHAR(64)  NOT NULL,
  node        VARCHAR(128) NOT NULL,
  count       BIGINT       NOT NULL,
  batch_seq   BIGINT       NOT NULL,
  updated_at  DATETIME(3)  NOT NULL,          -- UTC
  PRIMARY KEY (show_id, epoch, act, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The highest batch applied per node, updated in the same transaction as the counts.
CREATE TABLE IF NOT EXISTS node_batches (
  node            VARCHAR(128) NOT NULL,
  last_batch_seq  BIGINT       NOT NULL,
  updated_at      DATETIME(3)  NOT NULL,      -- UTC
  PRIMARY KEY (node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
