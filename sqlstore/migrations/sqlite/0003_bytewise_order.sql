-- Sort keys and timestamps compare byte by byte: SQLite's default BINARY
-- collation does so already. The PostgreSQL migration of this number sets
-- COLLATE "C" on the same columns.
SELECT 1;
