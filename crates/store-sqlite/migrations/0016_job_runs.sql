-- When each practice's timed jobs may next run (issue 12): several processes serve every
-- practice in hosted mode, and the first to claim a period runs its jobs; the others skip it.
CREATE TABLE job_runs (
    practice_id INTEGER PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE,
    next_at INTEGER NOT NULL
) STRICT;
