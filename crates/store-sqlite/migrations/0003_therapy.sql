-- The therapy as the practice records it: clients, contracts (every change a new version),
-- the sessions they generate, the cancellation policy (versioned), charges and invoices.

ALTER TABLE practices ADD COLUMN invoice_mode TEXT NOT NULL DEFAULT 'monthly'
    CHECK (invoice_mode IN ('per_session', 'monthly'));
ALTER TABLE practices ADD COLUMN next_invoice_number INTEGER NOT NULL DEFAULT 1;
ALTER TABLE practices ADD COLUMN bank_details TEXT NOT NULL DEFAULT '';
ALTER TABLE practices ADD COLUMN payment_terms_days INTEGER NOT NULL DEFAULT 14
    CHECK (payment_terms_days BETWEEN 0 AND 90);
ALTER TABLE practices ADD COLUMN session_reminder_hours INTEGER NOT NULL DEFAULT 24
    CHECK (session_reminder_hours BETWEEN 0 AND 168);
ALTER TABLE practices ADD COLUMN break_notice_days INTEGER NOT NULL DEFAULT 28
    CHECK (break_notice_days BETWEEN 0 AND 180);

CREATE TABLE cancellation_policies (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version >= 1),
    notice_hours INTEGER NOT NULL CHECK (notice_hours BETWEEN 0 AND 336),
    grace_minutes INTEGER NOT NULL CHECK (grace_minutes BETWEEN 0 AND 1440),
    late_cancellation_percent INTEGER NOT NULL CHECK (late_cancellation_percent BETWEEN 0 AND 100),
    did_not_attend_percent INTEGER NOT NULL CHECK (did_not_attend_percent BETWEEN 0 AND 100),
    free_late_cancellations INTEGER NOT NULL CHECK (free_late_cancellations BETWEEN 0 AND 52),
    free_period_days INTEGER NOT NULL CHECK (free_period_days BETWEEN 1 AND 366),
    created_at INTEGER NOT NULL,
    UNIQUE (practice_id, version)
) STRICT;

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    contact_preference TEXT NOT NULL CHECK (contact_preference IN ('email', 'phone')),
    reminders INTEGER NOT NULL DEFAULT 1 CHECK (reminders IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    consultation_id INTEGER REFERENCES bookings(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX clients_by_practice ON clients (practice_id, name);

-- What came of a consultation.
ALTER TABLE bookings ADD COLUMN outcome TEXT CHECK (outcome IN ('working_together', 'not_going_ahead'));
ALTER TABLE bookings ADD COLUMN outcome_at INTEGER;
ALTER TABLE bookings ADD COLUMN client_id INTEGER REFERENCES clients(id) ON DELETE SET NULL;

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    ended_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX contracts_by_client ON contracts (client_id);

-- Every change to what was agreed is a new version; versions are never changed or deleted.
CREATE TABLE contract_versions (
    id INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('brief', 'open_ended')),
    focus TEXT,
    sessions INTEGER CHECK (sessions BETWEEN 1 AND 100),
    reviews_at TEXT,               -- brief: session numbers, comma-separated
    review_every_weeks INTEGER CHECK (review_every_weeks BETWEEN 1 AND 52),
    frequency TEXT NOT NULL CHECK (frequency IN ('weekly', 'twice_weekly', 'fortnightly')),
    times TEXT NOT NULL,           -- 'monday 09:00' per line
    location_id INTEGER NOT NULL REFERENCES locations(id),
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 10 AND 240),
    fee_pence INTEGER NOT NULL CHECK (fee_pence >= 0),
    start_date TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    effective_from INTEGER NOT NULL,  -- sessions from this instant on follow this version
    note TEXT NOT NULL DEFAULT '',    -- why it changed
    created_at INTEGER NOT NULL,
    UNIQUE (contract_id, version),
    CHECK ((kind = 'brief') = (focus IS NOT NULL AND sessions IS NOT NULL AND reviews_at IS NOT NULL)),
    CHECK ((kind = 'open_ended') = (review_every_weeks IS NOT NULL))
) STRICT;

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL REFERENCES contract_versions(id),
    location_id INTEGER NOT NULL REFERENCES locations(id),
    occurrence_at INTEGER NOT NULL,  -- the regular time it stands for (its first start)
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0 CHECK (moved IN (0, 1)),
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'break', 'attended', 'cancelled_in_time',
        'late_cancellation', 'did_not_attend', 'cancelled_by_therapist')),
    number INTEGER,                  -- 1, 2, 3… among the sessions that count
    fee_pence INTEGER NOT NULL,
    told_at INTEGER,                 -- when the client said they could not come
    recorded_at INTEGER,
    reminded_at INTEGER,
    uid TEXT NOT NULL UNIQUE,
    sequence INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (contract_id, occurrence_at),
    CHECK (starts_at < ends_at)
) STRICT;
CREATE INDEX sessions_by_time ON sessions (practice_id, starts_at);
CREATE INDEX sessions_by_client ON sessions (client_id, starts_at);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    issued_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    period TEXT NOT NULL,
    total_pence INTEGER NOT NULL,
    paid_on TEXT,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    UNIQUE (practice_id, number)
) STRICT;

-- What the policy said about a session once its outcome was recorded; the rule is kept.
CREATE TABLE charges (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL UNIQUE REFERENCES sessions(id) ON DELETE CASCADE,
    amount_pence INTEGER NOT NULL CHECK (amount_pence >= 0),
    rule TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    used_free_allowance INTEGER NOT NULL DEFAULT 0 CHECK (used_free_allowance IN (0, 1)),
    waived_reason TEXT,
    waived_at INTEGER,
    invoice_id INTEGER REFERENCES invoices(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX charges_by_client ON charges (client_id, invoice_id);

CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    detail TEXT NOT NULL,
    amount_pence INTEGER NOT NULL,
    UNIQUE (invoice_id, position)
) STRICT;

-- A break announced to a client: the email goes at `send_at`.
CREATE TABLE break_notices (
    away_id INTEGER NOT NULL REFERENCES away_periods(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    send_at INTEGER NOT NULL,
    sent_at INTEGER,
    PRIMARY KEY (away_id, client_id)
) STRICT;

-- One therapist cannot be in two places at once: held or confirmed consultations and the
-- sessions that occupy their time (scheduled, or held/charged) never overlap each other.
-- Appointments last at most 240 minutes, which bounds each indexed scan from below.
CREATE TRIGGER sessions_no_overlap_insert
BEFORE INSERT ON sessions
WHEN NEW.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
BEGIN
    SELECT RAISE(ABORT, 'appointments_overlap')
    WHERE EXISTS (
        SELECT 1 FROM sessions s
        WHERE s.practice_id = NEW.practice_id
          AND s.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
          AND s.starts_at < NEW.ends_at AND NEW.starts_at < s.ends_at
          AND s.starts_at > NEW.starts_at - 14400
    ) OR EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.practice_id = NEW.practice_id
          AND b.status IN ('requested', 'confirmed')
          AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at
          AND b.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER sessions_no_overlap_update
BEFORE UPDATE OF starts_at, ends_at, status ON sessions
WHEN NEW.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
BEGIN
    SELECT RAISE(ABORT, 'appointments_overlap')
    WHERE EXISTS (
        SELECT 1 FROM sessions s
        WHERE s.practice_id = NEW.practice_id
          AND s.id <> NEW.id
          AND s.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
          AND s.starts_at < NEW.ends_at AND NEW.starts_at < s.ends_at
          AND s.starts_at > NEW.starts_at - 14400
    ) OR EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.practice_id = NEW.practice_id
          AND b.status IN ('requested', 'confirmed')
          AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at
          AND b.starts_at > NEW.starts_at - 14400
    );
END;

-- Consultations now also check the sessions.
CREATE TRIGGER bookings_no_session_overlap_insert
BEFORE INSERT ON bookings
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM sessions s
        WHERE s.practice_id = NEW.practice_id
          AND s.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
          AND s.starts_at < NEW.ends_at AND NEW.starts_at < s.ends_at
          AND s.starts_at > NEW.starts_at - 14400
    );
END;

CREATE TRIGGER bookings_no_session_overlap_update
BEFORE UPDATE OF starts_at, ends_at, status ON bookings
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM sessions s
        WHERE s.practice_id = NEW.practice_id
          AND s.status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')
          AND s.starts_at < NEW.ends_at AND NEW.starts_at < s.ends_at
          AND s.starts_at > NEW.starts_at - 14400
    );
END;

-- Every practice starts with the default policy as version 1.
INSERT INTO cancellation_policies (practice_id, version, notice_hours, grace_minutes,
    late_cancellation_percent, did_not_attend_percent, free_late_cancellations, free_period_days, created_at)
SELECT id, 1, 48, 0, 100, 100, 0, 365, created_at FROM practices;

CREATE TRIGGER practices_default_policy
AFTER INSERT ON practices
BEGIN
    INSERT INTO cancellation_policies (practice_id, version, notice_hours, grace_minutes,
        late_cancellation_percent, did_not_attend_percent, free_late_cancellations, free_period_days, created_at)
    VALUES (NEW.id, 1, 48, 0, 100, 100, 0, 365, NEW.created_at);
END;
