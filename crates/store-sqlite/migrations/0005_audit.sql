-- The audit log (SECURITY.md R9). Append-only: the triggers below refuse every update and
-- delete, and each row carries the SHA-256 of its fields and of the row before it, so
-- `anteroom audit verify` finds any change made by going around the triggers. Rows name
-- records by id only (no note text, no tokens, no names of clients), and have no foreign
-- keys: an entry outlives the client it is about (erasure keeps it, without content).

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('staff', 'client', 'anonymous', 'system')),
    actor_id INTEGER,
    action TEXT NOT NULL,
    client_id INTEGER,
    object_kind TEXT,
    object_id INTEGER,
    source TEXT,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32)
) STRICT;
CREATE INDEX audit_by_client ON audit_log (practice_id, client_id, id) WHERE client_id IS NOT NULL;
CREATE INDEX audit_by_practice ON audit_log (practice_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
