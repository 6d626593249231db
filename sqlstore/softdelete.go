package sqlstore

import (
	"context"
	"time"

	"github.com/galleon-project/galleon"
)

// Soft-deleted image versions live in soft_deleted_image_versions, with
// the same columns as image_versions plus when they were deleted and when
// they expire; moving a row between the two tables is the whole of soft
// deletion and restoration.

const softDeletedColumns = versionColumns + `, v.deleted_at, v.expires_at`

// scanSoftDeleted reads the softDeletedColumns of a row of a version
// under def, after the lead columns (a query that also selects def's
// names scans them into def there).
func scanSoftDeleted(row interface{ Scan(...any) error }, def *galleon.ImageDefinitionID, lead ...any) (*galleon.SoftDeletedImageVersion, error) {
	var sd galleon.SoftDeletedImageVersion
	var tags, props, sysData, deleted, expires string
	if err := row.Scan(append(lead, &sd.Version.ID.Version, &sd.Version.Location, &tags, &props, &sysData, &deleted, &expires)...); err != nil {
		return nil, err
	}
	sd.Version.ID.ImageDefinitionID = *def
	if err := fromJSON(tags, &sd.Version.Tags); err != nil {
		return nil, err
	}
	if err := fromJSON(props, &sd.Version.Properties); err != nil {
		return nil, err
	}
	if err := fromJSON(sysData, &sd.Version.SystemData); err != nil {
		return nil, err
	}
	var err error
	if sd.DeletedAt, err = parseTS(deleted); err != nil {
		return nil, err
	}
	if sd.ExpiresAt, err = parseTS(expires); err != nil {
		return nil, err
	}
	return &sd, nil
}

func versionKeys(def galleon.ImageDefinitionID, name string) []any {
	return []any{def.SubscriptionID, galleon.Fold(def.Name), galleon.Fold(def.Image), galleon.Fold(name)}
}

const versionKeyWhere = ` WHERE subscription_id = ? AND gallery_fold = ? AND image_fold = ? AND name_fold = ?`

// getSoftDeleted returns the soft-deleted version of that name under def,
// expired or not; nil when there is none.
func getSoftDeleted(ctx context.Context, q querier, def galleon.ImageDefinitionID, name string) (*galleon.SoftDeletedImageVersion, error) {
	sd, err := scanSoftDeleted(q.queryRow(ctx, `SELECT `+softDeletedColumns+` FROM soft_deleted_image_versions v
		WHERE v.subscription_id = ? AND v.gallery_fold = ? AND v.image_fold = ? AND v.name_fold = ?`, versionKeys(def, name)...), &def)
	if isNoRows(err) {
		return nil, nil
	}
	return sd, err
}

// softDeletedConflict is the answer to creating a version whose name a
// soft-deleted one still holds: Azure documents restoring it by PUT, so a
// new version cannot silently take its place (and its retained bytes).
func softDeletedConflict(id galleon.ImageVersionID) error {
	return galleon.TargetErrorf(galleon.CodeConflict, "galleryImageVersionName",
		"The image version '%s' of image definition '%s' is soft-deleted. Restore it (PUT or PATCH with properties.restore set to true), "+
			"or delete it permanently (DELETE …/galleries/%s/softDeletedArtifactTypes/Images/artifacts/%s/versions/%s) before creating a new version with this name.",
		id.Version, id.Image, id.Name, id.Image, id.Version)
}

// SoftDeleteImageVersion deletes a version, keeping it as soft-deleted when
// its gallery's policy says so.
func (s *DB) SoftDeleteImageVersion(ctx context.Context, id galleon.ImageVersionID, retention time.Duration) (kept bool, err error) {
	defer galleon.Wrap(&err, "SoftDeleteImageVersion(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		kept = false
		g, err := getGallery(ctx, tx, id.GalleryID)
		if err != nil || g == nil {
			return err
		}
		def := galleon.ImageDefinitionID{GalleryID: g.ID, Image: id.Image}
		keys := versionKeys(def, id.Version)
		// Role assignments at or under the version go either way: a grant
		// must not outlive what it was made on, and a restored version
		// starts with none of its own.
		if err := deleteRoleAssignmentsUnder(ctx, tx, galleon.ImageVersionID{ImageDefinitionID: def, Version: id.Version}.String()); err != nil {
			return err
		}
		if g.SoftDeleteEnabled() && retention > 0 {
			res, err := tx.exec(ctx, `INSERT INTO soft_deleted_image_versions
				(subscription_id, gallery_fold, image_fold, name_fold, name, location, tags, properties, system_data, deleted_at, expires_at)
				SELECT subscription_id, gallery_fold, image_fold, name_fold, name, location, tags, properties, system_data, ?, ?
				FROM image_versions`+versionKeyWhere, append([]any{ts(tx.now), ts(tx.now.Add(retention))}, keys...)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil || n == 0 {
				return err
			}
			kept = true
		}
		_, err = tx.exec(ctx, `DELETE FROM image_versions`+versionKeyWhere, keys...)
		return err
	})
	return kept, err
}

// ListSoftDeletedImageVersions lists one page of a definition's
// soft-deleted versions, expired ones not yet purged included.
func (s *DB) ListSoftDeletedImageVersions(ctx context.Context, id galleon.ImageDefinitionID, page galleon.Page) (out []galleon.SoftDeletedImageVersion, next string, err error) {
	defer galleon.Wrap(&err, "ListSoftDeletedImageVersions(%s)", id)
	def, err := parentDefinition(ctx, s.r(), id)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(page)
	rows, err := s.r().query(ctx, `SELECT `+softDeletedColumns+` FROM soft_deleted_image_versions v
		WHERE v.subscription_id = ? AND v.gallery_fold = ? AND v.image_fold = ? AND v.name_fold > ?
		ORDER BY v.name_fold LIMIT ?`,
		def.ID.SubscriptionID, galleon.Fold(def.ID.Name), galleon.Fold(def.ID.Image), page.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		sd, err := scanSoftDeleted(rows, &def.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *sd)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(sd *galleon.SoftDeletedImageVersion) string { return galleon.Fold(sd.Version.ID.Version) })
	return out, next, nil
}

// RestoreImageVersion moves an unexpired soft-deleted version back, and
// starts op when the version was deleted mid-replication.
func (s *DB) RestoreImageVersion(ctx context.Context, id galleon.ImageVersionID, op *galleon.Operation) (v *galleon.ImageVersion, started bool, err error) {
	defer galleon.Wrap(&err, "RestoreImageVersion(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		if err := liveGroupOfNested(ctx, tx, id.ResourceGroupID(), id.Image); err != nil {
			return err
		}
		def, err := parentDefinition(ctx, tx, id.ImageDefinitionID)
		if galleon.ErrorCode(err) == galleon.CodeParentResourceNotFound {
			return versionNotFound(id)
		}
		if err != nil {
			return err
		}
		sd, err := getSoftDeleted(ctx, tx, def.ID, id.Version)
		if err != nil {
			return err
		}
		if sd == nil || !sd.ExpiresAt.After(tx.now) {
			return versionNotFound(id)
		}
		keys := versionKeys(def.ID, id.Version)
		// The primary key of image_versions refuses a live version of the
		// same name, which PutImageVersion does not let exist.
		if _, err := tx.exec(ctx, `INSERT INTO image_versions
			(subscription_id, gallery_fold, image_fold, name_fold, name, location, tags, properties, system_data)
			SELECT subscription_id, gallery_fold, image_fold, name_fold, name, location, tags, properties, system_data
			FROM soft_deleted_image_versions`+versionKeyWhere, keys...); err != nil {
			if tx.d.isUniqueViolation(err) {
				return galleon.Errorf(galleon.CodeConflict, "The image version '%s' exists already.", id.Version)
			}
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM soft_deleted_image_versions`+versionKeyWhere, keys...); err != nil {
			return err
		}
		v = &sd.Version
		switch v.Properties.ProvisioningState {
		case galleon.ProvisioningCreating, galleon.ProvisioningUpdating:
			if op == nil {
				return nil
			}
			// The operation works on the version as stored.
			op.Target, op.Location = v.ID.String(), v.Location
			if err := insertOperation(ctx, tx, op); err != nil {
				return err
			}
			started = true
			return insertWork(ctx, tx, galleon.WorkOperation, op.SubscriptionID+"/"+op.ID, tx.now)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return v, started, nil
}

// PurgeImageVersion deletes a soft-deleted version for good.
func (s *DB) PurgeImageVersion(ctx context.Context, id galleon.ImageVersionID) (sd *galleon.SoftDeletedImageVersion, err error) {
	defer galleon.Wrap(&err, "PurgeImageVersion(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		sd = nil
		g, err := getGallery(ctx, tx, id.GalleryID)
		if err != nil || g == nil {
			return err
		}
		def := galleon.ImageDefinitionID{GalleryID: g.ID, Image: id.Image}
		if sd, err = getSoftDeleted(ctx, tx, def, id.Version); err != nil || sd == nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM soft_deleted_image_versions`+versionKeyWhere, versionKeys(def, id.Version)...)
		return err
	})
	return sd, err
}

// ListExpiredImageVersions returns soft-deleted versions past their expiry,
// oldest expiry first, with their full ids.
func (s *DB) ListExpiredImageVersions(ctx context.Context, limit int) (out []galleon.SoftDeletedImageVersion, err error) {
	defer galleon.Wrap(&err, "ListExpiredImageVersions")
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.r().query(ctx, `SELECT g.subscription_id, r.name, g.name, i.name, `+softDeletedColumns+`
		FROM soft_deleted_image_versions v
		JOIN gallery_images i ON i.subscription_id = v.subscription_id AND i.gallery_fold = v.gallery_fold AND i.name_fold = v.image_fold
		JOIN galleries g ON g.subscription_id = v.subscription_id AND g.name_fold = v.gallery_fold
		JOIN resource_groups r ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold
		WHERE v.expires_at <= ? ORDER BY v.expires_at LIMIT ?`, ts(s.Now()), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var def galleon.ImageDefinitionID
		sd, err := scanSoftDeleted(rows, &def, &def.SubscriptionID, &def.ResourceGroup, &def.Name, &def.Image)
		if err != nil {
			return nil, err
		}
		out = append(out, *sd)
	}
	return out, rows.Err()
}

// softDeletedNames returns up to five quoted names of a definition's
// soft-deleted versions, expired or not, for an error message.
func softDeletedNames(ctx context.Context, tx *tx, def galleon.ImageDefinitionID) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT name FROM soft_deleted_image_versions WHERE subscription_id = ? AND gallery_fold = ? AND image_fold = ?
		ORDER BY name_fold LIMIT 5`, def.SubscriptionID, galleon.Fold(def.Name), galleon.Fold(def.Image))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, "'"+n+"'")
	}
	return names, rows.Err()
}
