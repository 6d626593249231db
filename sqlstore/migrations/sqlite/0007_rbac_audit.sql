-- Custom role definitions; built-in roles live in code (authz.BuiltIn).
-- The definition (permissions, assignable scopes, description) is JSON.
CREATE TABLE role_definitions (
    id              TEXT PRIMARY KEY,
    role_name_fold  TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    definition      TEXT NOT NULL
);

-- One assignment per scope, role and principal, as Azure enforces.
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (scope_fold, role_definition_id, principal_id);

-- The audit log: every write and every denied call.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL,
    at              TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    principal_id    TEXT NOT NULL,
    principal_name  TEXT NOT NULL,
    action          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    method          TEXT NOT NULL,
    status          INTEGER NOT NULL,
    result          TEXT NOT NULL,
    correlation_id  TEXT NOT NULL
);
CREATE INDEX audit_events_by_subscription ON audit_events (subscription_id, seq);
