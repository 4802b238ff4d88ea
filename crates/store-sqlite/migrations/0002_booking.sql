-- Consultation-first online booking: weekly hours, away periods, booking rules, bookings.

ALTER TABLE practices ADD COLUMN booking_mode TEXT NOT NULL DEFAULT 'instant'
    CHECK (booking_mode IN ('instant', 'request'));
ALTER TABLE practices ADD COLUMN request_hold_hours INTEGER NOT NULL DEFAULT 48
    CHECK (request_hold_hours BETWEEN 1 AND 336);
ALTER TABLE practices ADD COLUMN booking_note_enabled INTEGER NOT NULL DEFAULT 1
    CHECK (booking_note_enabled IN (0, 1));
ALTER TABLE practices ADD COLUMN reminder_hours INTEGER NOT NULL DEFAULT 24
    CHECK (reminder_hours BETWEEN 0 AND 168);
ALTER TABLE practices ADD COLUMN calendar_token_hash BLOB;

ALTER TABLE appointment_types ADD COLUMN bookable_online INTEGER NOT NULL DEFAULT 0
    CHECK (bookable_online IN (0, 1));
ALTER TABLE appointment_types ADD COLUMN buffer_before INTEGER NOT NULL DEFAULT 0 CHECK (buffer_before BETWEEN 0 AND 240);
ALTER TABLE appointment_types ADD COLUMN buffer_after INTEGER NOT NULL DEFAULT 10 CHECK (buffer_after BETWEEN 0 AND 240);
ALTER TABLE appointment_types ADD COLUMN travel_minutes INTEGER NOT NULL DEFAULT 60 CHECK (travel_minutes BETWEEN 0 AND 240);
ALTER TABLE appointment_types ADD COLUMN notice_minutes INTEGER NOT NULL DEFAULT 1440 CHECK (notice_minutes BETWEEN 0 AND 20160);
ALTER TABLE appointment_types ADD COLUMN horizon_days INTEGER NOT NULL DEFAULT 56 CHECK (horizon_days BETWEEN 1 AND 366);
ALTER TABLE appointment_types ADD COLUMN granularity_minutes INTEGER NOT NULL DEFAULT 60 CHECK (granularity_minutes BETWEEN 5 AND 240);

-- Booking emails carry an iCalendar file.
ALTER TABLE outbox ADD COLUMN calendar_method TEXT;
ALTER TABLE outbox ADD COLUMN calendar TEXT;

-- Which locations each appointment type can be booked at.
CREATE TABLE appointment_type_locations (
    type_id INTEGER NOT NULL REFERENCES appointment_types(id) ON DELETE CASCADE,
    location_id INTEGER NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    PRIMARY KEY (type_id, location_id)
) STRICT;

-- Weekly opening hours per location, in the practice's local wall-clock time.
CREATE TABLE weekly_hours (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    location_id INTEGER NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- Monday = 1
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    CHECK (start_minute < end_minute)
) STRICT;
CREATE INDEX weekly_hours_by_practice ON weekly_hours (practice_id);

-- Breaks and holidays: no slots are offered inside them.
CREATE TABLE away_periods (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    label TEXT NOT NULL,
    CHECK (starts_at < ends_at)
) STRICT;

-- A consultation booked by a visitor. Held (requested) and confirmed bookings occupy time.
CREATE TABLE bookings (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    type_id INTEGER NOT NULL REFERENCES appointment_types(id),
    location_id INTEGER NOT NULL REFERENCES locations(id),
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'cancelled', 'declined', 'expired')),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    contact_preference TEXT NOT NULL CHECK (contact_preference IN ('email', 'phone')),
    note TEXT,
    manage_token_hash BLOB NOT NULL UNIQUE,
    uid TEXT NOT NULL UNIQUE,
    sequence INTEGER NOT NULL DEFAULT 0,
    hold_expires_at INTEGER,
    reminded_at INTEGER,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (starts_at < ends_at)
) STRICT;
CREATE INDEX bookings_by_time ON bookings (practice_id, starts_at);
CREATE UNIQUE INDEX bookings_idempotency ON bookings (practice_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The backstop against double booking: whatever the code above does, the database refuses
-- two held or confirmed bookings of the same therapist that overlap in time.
CREATE TRIGGER bookings_no_overlap_insert
BEFORE INSERT ON bookings
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.practice_id = NEW.practice_id
          AND b.status IN ('requested', 'confirmed')
          AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at
          -- appointments last at most 240 minutes: bound the indexed scan from below
          AND b.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER bookings_no_overlap_update
BEFORE UPDATE OF starts_at, ends_at, status ON bookings
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.practice_id = NEW.practice_id
          AND b.id <> NEW.id
          AND b.status IN ('requested', 'confirmed')
          AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at
          AND b.starts_at > NEW.starts_at - 14400
    );
END;
