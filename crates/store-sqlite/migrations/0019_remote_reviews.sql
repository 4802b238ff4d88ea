-- The operator's review of a self-hosted practice's listing (issue 13): its registration
-- checked on the body's public register, or the listing hidden with a reason, as for a
-- hosted practice's listing in directory_reviews.
ALTER TABLE directory_remotes ADD COLUMN checked_body TEXT;
ALTER TABLE directory_remotes ADD COLUMN checked_number TEXT;
ALTER TABLE directory_remotes ADD COLUMN checked_on TEXT;
ALTER TABLE directory_remotes ADD COLUMN checked_by TEXT;
ALTER TABLE directory_remotes ADD COLUMN hidden_reason TEXT;
ALTER TABLE directory_remotes ADD COLUMN hidden_at INTEGER;
ALTER TABLE directory_remotes ADD COLUMN hidden_by TEXT;
