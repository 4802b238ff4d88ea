-- Rate limits and known devices (hardening, issue 10).
--
-- Every limit on requests (enquiries, bookings, sign-ins, portal links, second-factor codes)
-- is a counter here rather than in one process's memory, so that the limit holds however
-- many requests arrive at once and however many processes serve them: a request reserves
-- its place with one atomic upsert before any work is done (`LimitStore::reserve`).
--
-- `subject` is SHA-256 of what is counted (an address's network, an account's email, an
-- inbox), never the address or email itself: this table needs to tell counters apart, not
-- to say who they were for. A window starts at its first attempt and ends at `window_end`;
-- the jobs delete windows that have ended.
CREATE TABLE rate_counters (
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject BLOB NOT NULL,
    window_end INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (practice_id, kind, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_counters_by_end ON rate_counters (window_end);

-- Wrong second-factor codes are now one of the counters above.
DROP TABLE second_factor_failures;

-- Browsers a staff member has signed in from with the right password (SHA-256 of a random
-- token kept in a cookie). A guesser spreading attempts at one account over many addresses
-- meets the per-account limit; the real person's own browser is not held up by it.
CREATE TABLE staff_devices (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;
CREATE INDEX staff_devices_by_user ON staff_devices (user_id);
