-- Each practice's own master key (issue 12), wrapped by the host's key file, and the name
-- of that host key (a key id that reveals nothing of the key). Client data keys and staff
-- authenticator secrets are wrapped by their practice's key, so a host key rotation
-- re-wraps one small key per practice, and closing a practice destroys its key first.
CREATE TABLE practice_keys (
    practice_id INTEGER PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE host_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_id BLOB NOT NULL,
    changed_at INTEGER NOT NULL
) STRICT;
