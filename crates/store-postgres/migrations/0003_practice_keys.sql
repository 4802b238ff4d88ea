-- Each practice's own master key and the host key's name (as the SQLite backend's
-- migration 0014).
CREATE TABLE practice_keys (
    practice_id BIGINT PRIMARY KEY REFERENCES practices(id) ON DELETE CASCADE DEFERRABLE,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE host_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_id BYTEA NOT NULL,
    changed_at BIGINT NOT NULL
);
