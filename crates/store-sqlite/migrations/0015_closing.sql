-- Closing a practice (issue 12): for good, in two steps. `closing_at` is set, and the
-- practice's key destroyed, in one transaction; then every row of the practice is deleted
-- in another. A practice is suspended before it can be closed, and cannot be resumed once
-- closing. Its audit entries go with it: the log refuses every delete except of a closing
-- practice's entries.
ALTER TABLE practices ADD COLUMN closing_at INTEGER;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (
    SELECT 1 FROM practices WHERE id = OLD.practice_id AND closing_at IS NOT NULL
)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
