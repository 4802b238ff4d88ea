-- The directory's copies of self-hosted practices' portraits (issue 16), as the SQLite
-- backend's migration 0025: re-encoded here, served from the directory's own host.
CREATE TABLE directory_remote_portraits (
    remote_id BIGINT PRIMARY KEY REFERENCES directory_remotes(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    key TEXT,
    alt TEXT CHECK (alt <> ''),
    width BIGINT CHECK (width > 0),
    height BIGINT CHECK (height > 0),
    error TEXT,
    CHECK ((key IS NULL) = (error IS NOT NULL)),
    CHECK ((key IS NULL) = (alt IS NULL) AND (key IS NULL) = (width IS NULL)
           AND (key IS NULL) = (height IS NULL))
);

CREATE TABLE directory_remote_portrait_variants (
    remote_id BIGINT NOT NULL
        REFERENCES directory_remote_portraits(remote_id) ON DELETE CASCADE,
    width BIGINT NOT NULL CHECK (width > 0),
    height BIGINT NOT NULL CHECK (height > 0),
    format TEXT NOT NULL CHECK (format IN ('webp', 'jpg')),
    bytes BYTEA NOT NULL,
    PRIMARY KEY (remote_id, width, format)
);
