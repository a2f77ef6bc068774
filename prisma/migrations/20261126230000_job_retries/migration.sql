-- The retry budget (JOB_MAX_ATTEMPTS) counts failed and lost attempts only: a hand-over at worker
-- shutdown starts a new attempt without spending it.
ALTER TABLE "jobs" ADD COLUMN "failed_attempts" INTEGER NOT NULL DEFAULT 0;
