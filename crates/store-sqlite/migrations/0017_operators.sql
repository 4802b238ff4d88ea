-- The operator console (hosted mode, issue 12): operators' accounts and sessions, the
-- deployment's own rate counters, and the links that let a practice's staff set a password.
--
-- Operators run the deployment and belong to no practice. Each signs in with a password and
-- an authenticator app, always. `sealed_secret` is the app's secret as the web layer sealed
-- it (never the secret itself), NULL until it is set up; `last_step` is the last time step
-- whose code was spent (no replays). Email addresses are unique whatever their case, as
-- staff accounts' are.
CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    sealed_secret BLOB,
    last_step INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT operator_email UNIQUE (email)
) STRICT;

-- An operator's session (SHA-256 of its token), at a stage of sign-in as staff sessions
-- are; `pending_secret` is a (sealed) secret being set up in it, until a code confirms it.
CREATE TABLE operator_sessions (
    token_hash BLOB PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('signed_in', 'code_needed', 'set_up_needed')),
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    pending_secret BLOB
) STRICT;
CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator_id);

-- Counters of the whole deployment (the console's sign-in limits), as `rate_counters`
-- (0009) but for no practice: reserved with one upsert, deleted when their window has ended.
CREATE TABLE host_counters (
    kind TEXT NOT NULL,
    subject BLOB NOT NULL,
    window_end INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (kind, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX host_counters_by_end ON host_counters (window_end);

-- A staff account's link to set its password (SHA-256 of its token), emailed through the
-- outbox: one per account (a new one replaces the old), used once, until it ends. The
-- deployment's, not the practice's: it stays behind when the practice moves.
CREATE TABLE password_links (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
