-- Who each gallery is shared with, indexed for the consumer views. kind is
-- Subscriptions or AADTenants (member: a folded subscription or tenant id)
-- or Community (member: a folded public name). The sharingProfile in
-- galleries.properties is the record; ShareGallery rewrites these rows
-- with it, in the same transaction.
CREATE TABLE gallery_shares (
    subscription_id TEXT NOT NULL,
    gallery_fold    TEXT COLLATE "C" NOT NULL,
    kind            TEXT NOT NULL,
    member          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (subscription_id, gallery_fold, kind, member),
    FOREIGN KEY (subscription_id, gallery_fold) REFERENCES galleries (subscription_id, name_fold) ON DELETE CASCADE
);
CREATE INDEX gallery_shares_by_member ON gallery_shares (kind, member);
-- A public name names one community gallery.
CREATE UNIQUE INDEX gallery_shares_public_name ON gallery_shares (member) WHERE kind = 'Community';

-- Direct shares a consumer subscription rejected; accepting again deletes
-- the row, and so does the publisher removing the share.
CREATE TABLE shared_gallery_rejections (
    consumer_subscription_id TEXT NOT NULL,
    subscription_id          TEXT NOT NULL,
    gallery_fold             TEXT COLLATE "C" NOT NULL,
    rejected_at              TEXT NOT NULL,
    PRIMARY KEY (consumer_subscription_id, subscription_id, gallery_fold),
    FOREIGN KEY (subscription_id, gallery_fold) REFERENCES galleries (subscription_id, name_fold) ON DELETE CASCADE
);

-- Tenants beyond the first (galleon tenant create): one per domain.
CREATE UNIQUE INDEX tenants_by_domain ON tenants (lower(domain));
