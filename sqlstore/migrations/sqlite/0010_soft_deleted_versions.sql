-- Image versions deleted while their gallery's softDeletePolicy was on,
-- kept with their bytes until expires_at: restorable until then, purged
-- after. A table of their own rather than a flag on image_versions, so
-- nothing that reads live versions (lists, "latest", sharing, the generic
-- resource list, a definition's delete check) can see one by mistake.
CREATE TABLE soft_deleted_image_versions (
    subscription_id TEXT NOT NULL,
    gallery_fold    TEXT NOT NULL,
    image_fold      TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_fold       TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    system_data     TEXT NOT NULL,
    deleted_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    PRIMARY KEY (subscription_id, gallery_fold, image_fold, name_fold),
    FOREIGN KEY (subscription_id, gallery_fold, image_fold) REFERENCES gallery_images (subscription_id, gallery_fold, name_fold)
);
CREATE INDEX soft_deleted_image_versions_by_expiry ON soft_deleted_image_versions (expires_at);
