-- When each practice's timed jobs may next run (as the SQLite backend's migration 0016).
CREATE TABLE job_runs (
    practice_id BIGINT PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE DEFERRABLE,
    next_at BIGINT NOT NULL
);
