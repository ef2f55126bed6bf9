-- The leader epoch each zone commit was made under (issue 11; the same column
-- as PostgreSQL's). NULL: no election (SQLite's single writer).
ALTER TABLE journal ADD COLUMN epoch INTEGER;
