-- Hosted mode (issue 12): the hosts a practice answers on, and suspension.
--
-- A host is either a name under the host's domain ('alex' for alex.anteroom.example; one
-- per practice) or a domain of the practice's own ('therapy.example.org'). A name is one
-- label and a domain has a dot, so the two never collide in one column. Both are stored
-- lowercase, checked by the domain crate before they are written.
CREATE TABLE practice_hosts (
    host TEXT PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('name', 'domain')),
    created_at INTEGER NOT NULL,
    CHECK ((kind = 'domain') = (instr(host, '.') > 0)),
    CHECK (host = lower(host))
) STRICT;
CREATE UNIQUE INDEX practice_one_name ON practice_hosts (practice_id) WHERE kind = 'name';

-- A suspended practice's site says so politely; its data stays.
ALTER TABLE practices ADD COLUMN suspended_at INTEGER;
