-- Image versions, under their image definition; version names compare as
-- given (they are numbers), and sort by their folded text.
CREATE TABLE image_versions (
    subscription_id TEXT NOT NULL,
    gallery_fold    TEXT NOT NULL,
    image_fold      TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_fold       TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    system_data     TEXT NOT NULL,
    PRIMARY KEY (subscription_id, gallery_fold, image_fold, name_fold),
    FOREIGN KEY (subscription_id, gallery_fold, image_fold) REFERENCES gallery_images (subscription_id, gallery_fold, name_fold)
);

-- Disks and snapshots, the sources of image bytes; type is
-- Microsoft.Compute/disks or Microsoft.Compute/snapshots.
CREATE TABLE disks (
    subscription_id     TEXT NOT NULL,
    resource_group_fold TEXT NOT NULL,
    type                TEXT NOT NULL,
    name                TEXT NOT NULL,
    name_fold           TEXT NOT NULL,
    location            TEXT NOT NULL,
    tags                TEXT NOT NULL,
    properties          TEXT NOT NULL,
    system_data         TEXT NOT NULL,
    PRIMARY KEY (subscription_id, resource_group_fold, type, name_fold),
    FOREIGN KEY (subscription_id, resource_group_fold) REFERENCES resource_groups (subscription_id, name_fold)
);
CREATE INDEX disks_by_subscription ON disks (subscription_id, type, name_fold);
