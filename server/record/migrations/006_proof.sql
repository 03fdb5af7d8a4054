-- 006: what an independent adjudicator checks beside the audit log.
-- Re-runnable (IF NOT EXISTS), like every migration here.

-- The totals a node put on air for an act after its voting closed: the value of the last totals
-- frame that node published for the act (what every one of its screens received), with that frame's
-- instant. One row per (show, epoch, act, node); a later frame replaces an earlier one (at_ms only
-- grows), so after the reconciliation window the row holds the final frame.
CREATE TABLE IF NOT EXISTS on_air (
  show_id       VARCHAR(64)  NOT NULL,
  epoch         VARCHAR(64)  NOT NULL,
  act           VARCHAR(64)  NOT NULL,
  node          VARCHAR(128) NOT NULL,
  total         BIGINT       NOT NULL,
  at_ms         BIGINT       NOT NULL,      -- the frame's aligned tick instant, ms since the Unix epoch
  closed_at_ms  BIGINT       NOT NULL,      -- when this node saw the act's voting close
  PRIMARY KEY (show_id, epoch, act, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Secrets the fleet shares and nobody configures: the first node to need one inserts a random value
-- (INSERT IGNORE), every node then reads the same one. `export_pseudonym`: the key of the keyed hash
-- that pseudonymises viewer ids in exports when EXPORT_PSEUDONYM_KEY is not set. Never exported.
CREATE TABLE IF NOT EXISTS fleet_secrets (
  name        VARCHAR(64)   NOT NULL,
  secret_hex  VARCHAR(128)  NOT NULL,     -- the secret's bytes, hex
  created_at  DATETIME(3)   NOT NULL,       -- UTC
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
