-- Changes of email address asked for in the client portal (SECURITY.md R4). The new address
-- is sent a link, and the address changes only when the link is followed. Only the SHA-256
-- of the link's token is stored; the link itself waits in the outbox sealed under the master
-- key. A newer request replaces an older one (`replaced_at`); the requests of the last hour
-- are counted to limit how many confirmation emails one client can have sent. `outbox_id`
-- is that email, so that a client's export and erasure find it (it goes to an address that
-- is not yet on their record); rows are kept for that, and go with the client's record.
--
-- When the link is followed but another client record already has the address, nothing
-- changes except `token_hash`, which is replaced by random bytes so that the link stops
-- working: the row then reads exactly like a link nobody followed, so what the client who
-- asked can see (their data download) never tells them whose address it was.

CREATE TABLE email_changes (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    new_email TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    outbox_id INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    replaced_at INTEGER,
    CHECK (created_at < expires_at)
) STRICT;
CREATE INDEX email_changes_by_client ON email_changes (client_id, created_at);
CREATE INDEX email_changes_by_expiry ON email_changes (expires_at);
