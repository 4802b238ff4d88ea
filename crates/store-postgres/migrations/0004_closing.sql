-- Closing a practice (as the SQLite backend's migration 0015): the audit log refuses every
-- change except deleting a closing practice's entries.
ALTER TABLE practices ADD COLUMN closing_at BIGINT;

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM practices WHERE id = OLD.practice_id AND closing_at IS NOT NULL
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
