-- Sort keys and timestamps compare byte by byte, as SQLite and Go compare
-- them. A database created in a language's collation (en_US.UTF-8, ICU
-- en-US: what a distribution's PostgreSQL takes from the system locale)
-- would order "g_1" before "g-1" and "g.1", or skip punctuation, and lists
-- would come back in an order the SQLite store does not give.
ALTER TABLE resource_groups
    ALTER COLUMN name_fold TYPE TEXT COLLATE "C";
ALTER TABLE galleries
    ALTER COLUMN name_fold TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_group_fold TYPE TEXT COLLATE "C";
ALTER TABLE gallery_images
    ALTER COLUMN name_fold TYPE TEXT COLLATE "C",
    ALTER COLUMN gallery_fold TYPE TEXT COLLATE "C";
ALTER TABLE role_assignments
    ALTER COLUMN scope_fold TYPE TEXT COLLATE "C";
ALTER TABLE tenants
    ALTER COLUMN created_at TYPE TEXT COLLATE "C";
ALTER TABLE client_secrets
    ALTER COLUMN created_at TYPE TEXT COLLATE "C";
ALTER TABLE operations
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN start_time TYPE TEXT COLLATE "C";
ALTER TABLE work_items
    ALTER COLUMN item_key TYPE TEXT COLLATE "C",
    ALTER COLUMN not_before TYPE TEXT COLLATE "C",
    ALTER COLUMN lease_expires TYPE TEXT COLLATE "C";
