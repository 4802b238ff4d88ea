-- The practice's photos (issue 16): the therapist's portrait and photos of each room, as
-- the sizes and formats the site serves (re-encoded by us, so no upload's metadata is kept).
-- `key` names a photo's content in its addresses. One portrait per practice; at most six
-- photos per room, in order.
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('portrait', 'room')),
    location_id INTEGER REFERENCES locations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 5),
    alt TEXT NOT NULL CHECK (alt <> ''),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    added_at INTEGER NOT NULL,
    CHECK ((role = 'portrait') = (location_id IS NULL)),
    CONSTRAINT image_key UNIQUE (practice_id, key)
) STRICT;

CREATE UNIQUE INDEX image_portrait ON images (practice_id) WHERE role = 'portrait';
CREATE UNIQUE INDEX image_room_position ON images (location_id, position) WHERE role = 'room';

CREATE TABLE image_variants (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    format TEXT NOT NULL CHECK (format IN ('webp', 'jpg')),
    bytes BLOB NOT NULL,
    CONSTRAINT image_variant UNIQUE (image_id, width, format)
) STRICT;
