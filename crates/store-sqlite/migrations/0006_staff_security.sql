-- Staff sign-in security (SECURITY.md R2, R3): owners, authenticator apps (TOTP), recovery
-- codes, the practice's sign-in rules, sessions half-way through sign-in, and a per-account
-- count of wrong codes.
--
-- The TOTP secret is a login secret, not client data, but a copy of the database (a backup,
-- a stolen disk) must not be enough to make valid codes: together with an offline guess at
-- a weak password it would defeat the second factor. So the web layer seals it with the
-- master key (which lives outside the database, like the notes' key) before it is stored,
-- bound to its user's row; this column only ever holds sealed bytes. `anteroom key rotate`
-- re-seals these secrets along with the client keys.

ALTER TABLE users ADD COLUMN is_owner INTEGER NOT NULL DEFAULT 0 CHECK (is_owner IN (0, 1));
-- The first account of each practice is its owner.
UPDATE users SET is_owner = 1 WHERE id IN (SELECT MIN(id) FROM users GROUP BY practice_id);

ALTER TABLE users ADD COLUMN totp_secret BLOB;          -- sealed; NULL when there is no app
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;   -- NULL while set-up is unconfirmed
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;    -- the last accepted time step: no replays
-- The signed-in session (its token's hash) that is setting an app up: only it sees the
-- waiting secret and only it can switch it on, so someone else signed in as the same
-- person can neither read the secret nor have theirs confirmed by the real owner's code.
ALTER TABLE users ADD COLUMN totp_pending_session BLOB;

-- Recovery codes, only as SHA-256 of a random 80-bit code; each works once.
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- Wrong second-factor codes per account, for the sign-in throttle (kept in the database so
-- that a restart does not reset it and every instance sees the same count).
CREATE TABLE second_factor_failures (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    failed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX second_factor_failures_by_user ON second_factor_failures (user_id, failed_at);

ALTER TABLE practices ADD COLUMN second_factor_required INTEGER NOT NULL DEFAULT 0
    CHECK (second_factor_required IN (0, 1));
ALTER TABLE practices ADD COLUMN idle_timeout_minutes INTEGER NOT NULL DEFAULT 30
    CHECK (idle_timeout_minutes BETWEEN 5 AND 30);

-- A session whose password was right but whose second factor is still to come (or still to
-- be set up) opens nothing but that step.
ALTER TABLE staff_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'signed_in'
    CHECK (stage IN ('signed_in', 'code_needed', 'set_up_needed'));
CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);
