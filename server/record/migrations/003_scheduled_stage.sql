-- 003: a stage change scheduled on the show clock (POST /api/shows/:show/stage with `at`).
-- `stage_act`/`stage_open` stay the stage until `next_at`; from `next_at` (ms since 1970, a multiple
-- of TICK_MS) the stage is (`next_act`, `next_open`). All three NULL: nothing scheduled.
-- Re-runnable (ADD COLUMN IF NOT EXISTS), like every migration here.

ALTER TABLE shows
  ADD COLUMN IF NOT EXISTS next_act  VARCHAR(64) NULL,
  ADD COLUMN IF NOT EXISTS next_open TINYINT(1)  NULL,
  ADD COLUMN IF NOT EXISTS next_at   BIGINT      NULL;
