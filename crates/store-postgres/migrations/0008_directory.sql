-- The "find a therapist" directory (as the SQLite backend's migration 0018): what each
-- practice chose to list (moved with the practice), and the operator's review of it
-- (deployment state).
CREATE TABLE directory_listings (
    practice_id BIGINT PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE DEFERRABLE,
    public_id TEXT NOT NULL UNIQUE,
    listed BIGINT NOT NULL CHECK (listed IN (0, 1)),
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE directory_reviews (
    practice_id BIGINT PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE DEFERRABLE,
    checked_body TEXT,
    checked_number TEXT,
    checked_on TEXT,
    checked_by TEXT,
    hidden_reason TEXT,
    hidden_at BIGINT,
    hidden_by TEXT
);
