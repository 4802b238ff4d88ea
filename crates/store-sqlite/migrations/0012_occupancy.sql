-- One occupancy row for every appointment that holds the therapist's time (issue 11).
--
-- The rule "one therapist in one place at a time" used to be kept by six triggers across
-- `bookings` and `sessions`. PostgreSQL's exclusion constraint works within one table, so
-- the rule now lives on one table that both kinds of appointment write to:
--
--   * a held or confirmed consultation (`bookings.status IN ('requested', 'confirmed')`);
--   * a session that occupies time (`sessions.status IN ('scheduled', 'attended',
--     'late_cancellation', 'did_not_attend')`, the statuses of `occupying!` in src/lib.rs).
--
-- Each row has exactly one owner and goes with it (ON DELETE CASCADE). The store keeps the
-- rows in step in the same transaction as the change to the owner, with explicit statements
-- (src/occupancy.rs), so a second backend copies plain SQL rather than triggers.
--
-- The scope is the practice, as before: a practice has one therapist today. When a practice
-- has several, the rule becomes per therapist (a therapist_id column here and in the rule).
--
-- PostgreSQL keeps the same rule with one constraint instead of the triggers below:
--   EXCLUDE USING gist (practice_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
-- (btree_gist for the `=`; `[)` ranges, so back-to-back appointments do not overlap).
CREATE TABLE occupancy (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    booking_id INTEGER UNIQUE REFERENCES bookings(id) ON DELETE CASCADE,
    session_id INTEGER UNIQUE REFERENCES sessions(id) ON DELETE CASCADE,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    CHECK ((booking_id IS NULL) <> (session_id IS NULL)),
    CHECK (starts_at < ends_at)
) STRICT;
CREATE INDEX occupancy_by_time ON occupancy (practice_id, starts_at);

DROP TRIGGER bookings_no_overlap_insert;
DROP TRIGGER bookings_no_overlap_update;
DROP TRIGGER sessions_no_overlap_insert;
DROP TRIGGER sessions_no_overlap_update;
DROP TRIGGER bookings_no_session_overlap_insert;
DROP TRIGGER bookings_no_session_overlap_update;

-- The old triggers kept these rows apart, so they go in without a check.
INSERT INTO occupancy (practice_id, booking_id, starts_at, ends_at)
SELECT practice_id, id, starts_at, ends_at FROM bookings
WHERE status IN ('requested', 'confirmed');

INSERT INTO occupancy (practice_id, session_id, starts_at, ends_at)
SELECT practice_id, id, starts_at, ends_at FROM sessions
WHERE status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend');

-- The rule. The message says whose write was refused, as the old triggers' did: a
-- consultation gets `bookings_no_overlap` (the slot is no longer free), a session
-- `appointments_overlap` (it clashes with another appointment). Appointments last at most
-- 240 minutes, which bounds each indexed scan from below.
CREATE TRIGGER occupancy_no_overlap_booking_insert
BEFORE INSERT ON occupancy
WHEN NEW.booking_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM occupancy o
        WHERE o.practice_id = NEW.practice_id
          AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at
          AND o.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER occupancy_no_overlap_session_insert
BEFORE INSERT ON occupancy
WHEN NEW.session_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'appointments_overlap')
    WHERE EXISTS (
        SELECT 1 FROM occupancy o
        WHERE o.practice_id = NEW.practice_id
          AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at
          AND o.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER occupancy_no_overlap_booking_update
BEFORE UPDATE OF practice_id, starts_at, ends_at ON occupancy
WHEN NEW.booking_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM occupancy o
        WHERE o.practice_id = NEW.practice_id
          AND o.id <> NEW.id
          AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at
          AND o.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER occupancy_no_overlap_session_update
BEFORE UPDATE OF practice_id, starts_at, ends_at ON occupancy
WHEN NEW.session_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'appointments_overlap')
    WHERE EXISTS (
        SELECT 1 FROM occupancy o
        WHERE o.practice_id = NEW.practice_id
          AND o.id <> NEW.id
          AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at
          AND o.starts_at > NEW.starts_at - 14400
    );
END;

-- A row never changes owner.
CREATE TRIGGER occupancy_keeps_its_owner
BEFORE UPDATE OF booking_id, session_id ON occupancy
BEGIN
    SELECT RAISE(ABORT, 'occupancy rows keep their owner');
END;
