-- The practice website: practice profile, locations, articles, enquiries, outbox, staff.
-- Times are INTEGER unix seconds (UTC); calendar dates are TEXT 'YYYY-MM-DD'.

CREATE TABLE practices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    tagline TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    notify_email TEXT NOT NULL,
    public_phone TEXT,
    intro TEXT NOT NULL,
    how_i_work TEXT NOT NULL,
    therapist_name TEXT NOT NULL,
    therapist_title TEXT NOT NULL,
    professional_body TEXT NOT NULL,
    registration TEXT NOT NULL,
    qualifications TEXT NOT NULL, -- one per line
    languages TEXT NOT NULL,      -- one per line
    about TEXT NOT NULL,
    fees_text TEXT NOT NULL,
    cancellation_text TEXT NOT NULL,
    confidentiality_text TEXT NOT NULL,
    privacy_controller TEXT NOT NULL,
    ico_registration TEXT NOT NULL,
    retention_years INTEGER NOT NULL CHECK (retention_years BETWEEN 1 AND 30),
    privacy_extra TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE locations (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    online INTEGER NOT NULL CHECK (online IN (0, 1)),
    address_lines TEXT NOT NULL, -- one per line
    postcode TEXT,
    latitude REAL,
    longitude REAL,
    summary TEXT NOT NULL,
    getting_there TEXT NOT NULL,
    accessibility TEXT NOT NULL,
    building TEXT NOT NULL,
    CONSTRAINT location_slug UNIQUE (practice_id, slug)
) STRICT;

CREATE TABLE appointment_types (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 10 AND 240),
    fee_pence INTEGER NOT NULL CHECK (fee_pence >= 0),
    description TEXT NOT NULL,
    CONSTRAINT appointment_type_slug UNIQUE (practice_id, slug)
) STRICT;

CREATE TABLE social_links (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    url TEXT NOT NULL
) STRICT;

CREATE TABLE faq_entries (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
) STRICT;

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('article', 'approach')),
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    reading_minutes INTEGER NOT NULL,
    published INTEGER NOT NULL CHECK (published IN (0, 1)),
    date TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT article_slug UNIQUE (practice_id, kind, slug)
) STRICT;
CREATE INDEX articles_listing ON articles (practice_id, kind, published, date DESC);

CREATE TABLE article_tags (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag)
) STRICT;
CREATE INDEX article_tags_by_tag ON article_tags (tag);

CREATE TABLE enquiries (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    contact_preference TEXT NOT NULL CHECK (contact_preference IN ('email', 'phone')),
    message TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    handled_at INTEGER
) STRICT;
CREATE INDEX enquiries_by_practice ON enquiries (practice_id, received_at DESC);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    email TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT user_email UNIQUE (email)
) STRICT;

CREATE TABLE staff_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
