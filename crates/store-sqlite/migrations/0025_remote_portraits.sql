-- The directory's copies of self-hosted practices' portraits (issue 16): each read from the
-- address the practice's listing names (on its own host), decoded and encoded again here as
-- an upload is (so nothing of the original file is kept), and served from the directory's
-- own host. Deployment state, gone with the remote. A reading that failed keeps why
-- (`error`) and no photo.
CREATE TABLE directory_remote_portraits (
    remote_id INTEGER PRIMARY KEY REFERENCES directory_remotes(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    key TEXT,
    alt TEXT CHECK (alt <> ''),
    width INTEGER CHECK (width > 0),
    height INTEGER CHECK (height > 0),
    error TEXT,
    CHECK ((key IS NULL) = (error IS NOT NULL)),
    CHECK ((key IS NULL) = (alt IS NULL) AND (key IS NULL) = (width IS NULL)
           AND (key IS NULL) = (height IS NULL))
) STRICT;

CREATE TABLE directory_remote_portrait_variants (
    remote_id INTEGER NOT NULL
        REFERENCES directory_remote_portraits(remote_id) ON DELETE CASCADE,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    format TEXT NOT NULL CHECK (format IN ('webp', 'jpg')),
    bytes BLOB NOT NULL,
    PRIMARY KEY (remote_id, width, format)
) STRICT;
