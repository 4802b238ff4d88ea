-- Confidential notes (SECURITY.md R8). The database holds them only sealed: each client's
-- data key is stored wrapped by the master key, which lives outside the database, and each
-- note's body is sealed with that data key, bound to its own row.

CREATE TABLE client_keys (
    client_id INTEGER PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The session it is about; NULL for a general note on the client.
    session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX notes_one_per_session ON notes (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notes_by_client ON notes (client_id, created_at);
