-- The "find a therapist" directory (issue 13): what each practice chose to list (moved
-- with the practice), and the operator's review of it (deployment state).
CREATE TABLE directory_listings (
    practice_id INTEGER PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE,
    public_id TEXT NOT NULL UNIQUE,
    listed INTEGER NOT NULL CHECK (listed IN (0, 1)),
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE directory_reviews (
    practice_id INTEGER PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE,
    checked_body TEXT,
    checked_number TEXT,
    checked_on TEXT,
    checked_by TEXT,
    hidden_reason TEXT,
    hidden_at INTEGER,
    hidden_by TEXT
) STRICT;

-- Self-hosted practices the directory reads over HTTP (deployment state).
CREATE TABLE directory_remotes (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL,
    added_by TEXT NOT NULL,
    next_fetch_at INTEGER NOT NULL,
    etag TEXT,
    document TEXT,
    heard_at INTEGER,
    tried_at INTEGER,
    error TEXT
) STRICT;
