-- The directory: tenants, subscriptions, principals and their credentials.
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    domain       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    state        TEXT NOT NULL
);

CREATE TABLE principals (
    object_id     TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    type          TEXT NOT NULL,
    app_id        TEXT UNIQUE,
    upn           TEXT,
    upn_fold      TEXT UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE client_secrets (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    hash         TEXT NOT NULL,
    hint         TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE role_assignments (
    name               TEXT PRIMARY KEY,
    scope              TEXT NOT NULL,
    scope_fold         TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    principal_type     TEXT NOT NULL,
    created_on         TEXT NOT NULL,
    created_by         TEXT NOT NULL
);
CREATE INDEX role_assignments_by_principal ON role_assignments (principal_id);
CREATE INDEX role_assignments_by_scope ON role_assignments (scope_fold);

-- Resources. *_fold columns hold lower-cased names: ARM names compare
-- case-insensitively but keep the case they were created with.
CREATE TABLE resource_groups (
    subscription_id    TEXT NOT NULL REFERENCES subscriptions (id),
    name               TEXT NOT NULL,
    name_fold          TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               TEXT NOT NULL,
    managed_by         TEXT NOT NULL,
    provisioning_state TEXT NOT NULL,
    system_data        TEXT NOT NULL,
    PRIMARY KEY (subscription_id, name_fold)
);

-- Gallery names are unique within a subscription, across resource groups:
-- the primary key enforces it.
CREATE TABLE galleries (
    subscription_id     TEXT NOT NULL,
    resource_group_fold TEXT NOT NULL,
    name                TEXT NOT NULL,
    name_fold           TEXT NOT NULL,
    location            TEXT NOT NULL,
    tags                TEXT NOT NULL,
    properties          TEXT NOT NULL,
    system_data         TEXT NOT NULL,
    PRIMARY KEY (subscription_id, name_fold),
    FOREIGN KEY (subscription_id, resource_group_fold) REFERENCES resource_groups (subscription_id, name_fold)
);
CREATE INDEX galleries_by_group ON galleries (subscription_id, resource_group_fold, name_fold);

CREATE TABLE gallery_images (
    subscription_id TEXT NOT NULL,
    gallery_fold    TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_fold       TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    system_data     TEXT NOT NULL,
    publisher_fold  TEXT NOT NULL,
    offer_fold      TEXT NOT NULL,
    sku_fold        TEXT NOT NULL,
    PRIMARY KEY (subscription_id, gallery_fold, name_fold),
    UNIQUE (subscription_id, gallery_fold, publisher_fold, offer_fold, sku_fold),
    FOREIGN KEY (subscription_id, gallery_fold) REFERENCES galleries (subscription_id, name_fold)
);

-- Long-running operations; the in-progress ones are the runner's queue.
CREATE TABLE operations (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    location        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    target_fold     TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      TEXT NOT NULL,
    end_time        TEXT,
    error           TEXT
);
CREATE INDEX operations_by_status ON operations (status, start_time);
