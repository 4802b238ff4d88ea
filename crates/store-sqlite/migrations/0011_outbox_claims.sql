-- Outbox claims (issue 11): several mail workers, in several processes, may read one outbox.
--
-- A worker takes the messages it is about to send with one write (`claim_due`), setting
-- `claimed_until` to the end of its lease; no other worker takes them until then. Recording
-- the outcome (sent, or a failed attempt) clears the claim. A worker that stops mid-send
-- leaves its claim to run out, and the message is due again: delayed, never lost.
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
