-- The directory beyond bootstrap: user accounts (members and guests),
-- groups and their members, applications, password credentials added
-- through Graph, and B2B invitations. *_fold columns hold lower-cased
-- values, which filters and lookups compare.
ALTER TABLE principals ADD COLUMN display_name_fold TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN mail TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN mail_fold TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN mail_nickname TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN mail_nickname_fold TEXT NOT NULL DEFAULT '';
-- Users: Member or Guest; a guest is PendingAcceptance until it redeems.
ALTER TABLE principals ADD COLUMN user_type TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN external_user_state TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN account_enabled INTEGER NOT NULL DEFAULT 1;
-- Groups.
ALTER TABLE principals ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN security_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN mail_enabled INTEGER NOT NULL DEFAULT 0;
UPDATE principals SET display_name_fold = lower(display_name);
UPDATE principals SET user_type = 'Member' WHERE type = 'User';
CREATE INDEX principals_by_type_name ON principals (type, display_name_fold, object_id);
CREATE INDEX principals_by_mail ON principals (mail_fold);

-- Direct memberships; TransitiveGroupsOf follows them recursively.
CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_by_member ON group_members (member_id, group_id);

-- Application registrations; the service principal with the same app_id
-- (in principals) is the application's identity.
CREATE TABLE applications (
    object_id         TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    app_id            TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    display_name_fold TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX applications_by_name ON applications (display_name_fold, object_id);

-- Secrets added with addPassword, held by an application or a service
-- principal (owner_id); either signs in the service principal of app_id.
CREATE TABLE password_credentials (
    key_id       TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    hint         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    start_at     TEXT NOT NULL,
    end_at       TEXT NOT NULL
);
CREATE INDEX password_credentials_by_app ON password_credentials (app_id);
CREATE INDEX password_credentials_by_owner ON password_credentials (owner_id);

-- B2B invitations. token_id names the one link that redeems; a resend
-- replaces it, redemption marks the invitation Accepted.
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    inviter_id       TEXT NOT NULL,
    inviter_name     TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    redirect_url     TEXT NOT NULL,
    message          TEXT NOT NULL,
    status           TEXT NOT NULL,
    token_id         TEXT NOT NULL,
    token_expires_at TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    redeemed_at      TEXT NOT NULL
);
CREATE INDEX invitations_by_created ON invitations (created_at, id);
CREATE INDEX invitations_by_user ON invitations (user_id);
