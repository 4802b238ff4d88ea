-- Hosted mode: the hosts a practice answers on, and suspension (as the SQLite backend's
-- migration 0013).
CREATE TABLE practice_hosts (
    host TEXT CONSTRAINT practice_hosts_pkey PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES practices(id) ON DELETE CASCADE DEFERRABLE,
    kind TEXT NOT NULL CHECK (kind IN ('name', 'domain')),
    created_at BIGINT NOT NULL,
    CHECK ((kind = 'domain') = (strpos(host, '.') > 0)),
    CHECK (host = lower(host))
);
CREATE UNIQUE INDEX practice_one_name ON practice_hosts (practice_id) WHERE kind = 'name';

ALTER TABLE practices ADD COLUMN suspended_at BIGINT;
