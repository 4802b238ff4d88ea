-- The client portal (SECURITY.md R4): sign-in links sent by email, and the sessions they
-- start. Only SHA-256 hashes of the secrets are stored: the link's token, the nonce in the
-- cookie of the browser that asked for it, and the portal session's token.

CREATE TABLE portal_links (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The link only works in the browser that asked for it (its cookie's nonce, hashed).
    browser_hash BLOB NOT NULL CHECK (length(browser_hash) = 32),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    CHECK (created_at < expires_at)
) STRICT;
CREATE INDEX portal_links_by_expiry ON portal_links (expires_at);

CREATE TABLE portal_sessions (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX portal_sessions_by_client ON portal_sessions (client_id);
