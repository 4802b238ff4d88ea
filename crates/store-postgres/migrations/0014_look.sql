-- The practice's look (issue 16), as the SQLite backend's migration 0024: a designed theme
-- and an optional accent colour (`#rrggbb`).
ALTER TABLE practices ADD COLUMN theme TEXT NOT NULL DEFAULT 'plain'
    CHECK (theme IN ('plain', 'literary', 'warm', 'modern'));
ALTER TABLE practices ADD COLUMN accent TEXT CHECK (accent IS NULL OR length(accent) = 7);
