-- Measures (issue 14): the questionnaires a contract asks for, each one asked for or
-- entered with its answers, and the flag a risk answer raises until it is acknowledged.

-- Instruments a practice added itself (CORE-10): the wording entered from its own copy of
-- the form, as JSON. Scoring comes from the rules shipped with Anteroom, never from here.
CREATE TABLE practice_instruments (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    instrument TEXT NOT NULL,
    wording TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    UNIQUE (practice_id, instrument)
) STRICT;

-- Which instruments a contract asks for, and when.
CREATE TABLE measure_plans (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    instrument TEXT NOT NULL,
    at_first INTEGER NOT NULL CHECK (at_first IN (0, 1)),
    every_sessions INTEGER CHECK (every_sessions BETWEEN 1 AND 52),
    at_reviews INTEGER NOT NULL CHECK (at_reviews IN (0, 1)),
    at_ending INTEGER NOT NULL CHECK (at_ending IN (0, 1)),
    changed_at INTEGER NOT NULL,
    UNIQUE (contract_id, instrument)
) STRICT;

-- A client who asked not to be sent questionnaires any more.
CREATE TABLE measure_stops (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL UNIQUE REFERENCES clients(id) ON DELETE CASCADE,
    stopped_at INTEGER NOT NULL
) STRICT;

-- One questionnaire per contract, session (by number; 0 is the consultation) and
-- instrument. Answers are the options chosen, separated by commas; the total is worked out
-- from the instrument's definition when read.
CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    instrument TEXT NOT NULL,
    occasion TEXT NOT NULL
        CHECK (occasion IN ('consultation', 'first', 'regular', 'review', 'ending', 'other')),
    session_number INTEGER NOT NULL CHECK (session_number >= 0),
    requested_at INTEGER NOT NULL,
    withdrawn_at INTEGER,
    completed_at INTEGER,
    entered_by TEXT CHECK (entered_by IN ('client', 'therapist')),
    answers TEXT,
    follow_up INTEGER,
    risk INTEGER NOT NULL DEFAULT 0 CHECK (risk IN (0, 1)),
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    acknowledgement TEXT,
    CHECK ((completed_at IS NULL) = (answers IS NULL)),
    CHECK ((completed_at IS NULL) = (entered_by IS NULL)),
    CHECK (acknowledged_at IS NULL OR risk = 1),
    UNIQUE (contract_id, session_number, instrument)
) STRICT;
CREATE INDEX questionnaires_by_client ON questionnaires (client_id, requested_at);
CREATE INDEX questionnaires_flagged ON questionnaires (practice_id)
    WHERE risk = 1 AND acknowledged_at IS NULL;
