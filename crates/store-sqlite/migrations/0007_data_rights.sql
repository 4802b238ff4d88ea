-- Data rights (SECURITY.md R16, R17): subject access requests, retention decisions and the
-- ids of erased clients.
--
-- A subject access request has no foreign key to its client: the record that a request was
-- made, and answered on time, outlives the client's erasure. It holds dates and the reason
-- for an extension only. Erasure deletes everything else with the client's id (see
-- `erase_client` in src/rights.rs); audit entries, these requests and the erased id stay.

CREATE TABLE subject_access_requests (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL,
    received_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    extended_due_on TEXT,
    extension_reason TEXT,
    completed_on TEXT,
    created_at INTEGER NOT NULL,
    CHECK ((extended_due_on IS NULL) = (extension_reason IS NULL))
) STRICT;
CREATE INDEX subject_access_by_client ON subject_access_requests (practice_id, client_id, received_on);

-- What the therapist decided when a record came up for review, or when the client asked for
-- erasure: keep it (with a reason) until a date to look again, or refuse erasure (a reason).
CREATE TABLE retention_decisions (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('keep', 'erasure_refused')),
    reason TEXT NOT NULL,
    review_on TEXT,
    decided_at INTEGER NOT NULL,
    CHECK ((kind = 'keep') = (review_on IS NOT NULL))
) STRICT;
CREATE INDEX retention_decisions_by_client ON retention_decisions (client_id, id);

-- The ids of erased clients, and nothing else about them. A new client never takes an erased
-- client's id (their audit entries and requests still carry it).
CREATE TABLE erased_clients (
    client_id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL,
    erased_at INTEGER NOT NULL
) STRICT;
