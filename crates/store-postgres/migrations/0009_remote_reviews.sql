-- The operator's review of a self-hosted practice's listing (as the SQLite backend's
-- migration 0019): its registration checked on the body's public register, or the listing
-- hidden with a reason, as for a hosted practice's listing in directory_reviews.
ALTER TABLE directory_remotes
    ADD COLUMN checked_body TEXT,
    ADD COLUMN checked_number TEXT,
    ADD COLUMN checked_on TEXT,
    ADD COLUMN checked_by TEXT,
    ADD COLUMN hidden_reason TEXT,
    ADD COLUMN hidden_at BIGINT,
    ADD COLUMN hidden_by TEXT;
