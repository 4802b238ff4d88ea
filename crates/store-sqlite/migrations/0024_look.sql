-- The practice's look (issue 16): one of the designed themes, and an accent colour of the
-- therapist's choosing (`#rrggbb`, checked for contrast before it is stored), or none for the
-- theme's own.
ALTER TABLE practices ADD COLUMN theme TEXT NOT NULL DEFAULT 'plain'
    CHECK (theme IN ('plain', 'literary', 'warm', 'modern'));
ALTER TABLE practices ADD COLUMN accent TEXT CHECK (accent IS NULL OR length(accent) = 7);
