-- What every node of an installation shares: the token signing key and the
-- CA, stored once by whichever node starts first.
CREATE TABLE installation_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Background work, leased to one node at a time. A lease that expires
-- (its holder crashed) makes the item claimable again.
CREATE TABLE work_items (
    kind          TEXT NOT NULL,
    item_key      TEXT NOT NULL,
    holder        TEXT,
    lease_expires TEXT,
    not_before    TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (kind, item_key)
);
CREATE INDEX work_items_claimable ON work_items (kind, not_before);
