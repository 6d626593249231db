package sqlstore

import (
	"context"

	"github.com/galleon-project/galleon"
)

const versionColumns = `v.name, v.location, v.tags, v.properties, v.system_data`

func scanVersion(row interface{ Scan(...any) error }, def galleon.ImageDefinitionID) (*galleon.ImageVersion, error) {
	v := galleon.ImageVersion{ID: galleon.ImageVersionID{ImageDefinitionID: def}}
	var tags, props, sd string
	if err := row.Scan(&v.ID.Version, &v.Location, &tags, &props, &sd); err != nil {
		return nil, err
	}
	if err := fromJSON(tags, &v.Tags); err != nil {
		return nil, err
	}
	if err := fromJSON(props, &v.Properties); err != nil {
		return nil, err
	}
	return &v, fromJSON(sd, &v.SystemData)
}

func versionNotFound(id galleon.ImageVersionID) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource 'Microsoft.Compute/galleries/%s/images/%s/versions/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Name, id.Image, id.Version, id.ResourceGroup)
}

// parentDefinition returns the definition holding a version, or
// ParentResourceNotFound.
func parentDefinition(ctx context.Context, q querier, id galleon.ImageDefinitionID) (*galleon.ImageDefinition, error) {
	g, err := parentGallery(ctx, q, id.GalleryID)
	if err != nil {
		return nil, err
	}
	d, err := getImage(ctx, q, g, id.Image)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, parentNotFound(id.Image)
	}
	return d, nil
}

func getVersion(ctx context.Context, q querier, def *galleon.ImageDefinition, name string) (*galleon.ImageVersion, error) {
	v, err := scanVersion(q.queryRow(ctx, `SELECT `+versionColumns+` FROM image_versions v
		WHERE v.subscription_id = ? AND v.gallery_fold = ? AND v.image_fold = ? AND v.name_fold = ?`,
		def.ID.SubscriptionID, galleon.Fold(def.ID.Name), galleon.Fold(def.ID.Image), galleon.Fold(name)), def.ID)
	if isNoRows(err) {
		return nil, nil
	}
	return v, err
}

// GetImageVersion returns the version, or ResourceNotFound.
func (s *DB) GetImageVersion(ctx context.Context, id galleon.ImageVersionID) (v *galleon.ImageVersion, err error) {
	defer galleon.Wrap(&err, "GetImageVersion(%s)", id)
	def, err := parentDefinition(ctx, s.r(), id.ImageDefinitionID)
	if galleon.ErrorCode(err) == galleon.CodeParentResourceNotFound {
		return nil, versionNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	v, err = getVersion(ctx, s.r(), def, id.Version)
	if err == nil && v == nil {
		return nil, versionNotFound(id)
	}
	return v, err
}

// PutImageVersion creates or updates a version.
func (s *DB) PutImageVersion(ctx context.Context, id galleon.ImageVersionID, update galleon.Update[galleon.ImageVersion]) (v *galleon.ImageVersion, created bool, err error) {
	defer galleon.Wrap(&err, "PutImageVersion(%s)", id)
	return s.putImageVersion(ctx, id, update, nil)
}

// PutImageVersionAndStart creates or updates a version and starts op (its
// replication) in one transaction.
func (s *DB) PutImageVersionAndStart(ctx context.Context, id galleon.ImageVersionID, update galleon.Update[galleon.ImageVersion], op *galleon.Operation) (v *galleon.ImageVersion, created bool, err error) {
	defer galleon.Wrap(&err, "PutImageVersionAndStart(%s)", id)
	return s.putImageVersion(ctx, id, update, op)
}

func (s *DB) putImageVersion(ctx context.Context, id galleon.ImageVersionID, update galleon.Update[galleon.ImageVersion], op *galleon.Operation) (v *galleon.ImageVersion, created bool, err error) {
	err = s.transact(ctx, func(tx *tx) error {
		if err := liveGroupOfNested(ctx, tx, id.ResourceGroupID(), id.Image); err != nil {
			return err
		}
		def, err := parentDefinition(ctx, tx, id.ImageDefinitionID)
		if err != nil {
			return err
		}
		old, err := getVersion(ctx, tx, def, id.Version)
		if err != nil {
			return err
		}
		if v, err = applyUpdate(update, old); err != nil {
			return err
		}
		// A soft-deleted version holds its name (after the update, so an
		// update that only works on a live version, as replication's do,
		// still answers that it is gone).
		if old == nil {
			sd, err := getSoftDeleted(ctx, tx, def.ID, id.Version)
			if err != nil {
				return err
			}
			if sd != nil {
				return softDeletedConflict(galleon.ImageVersionID{ImageDefinitionID: def.ID, Version: id.Version})
			}
		}
		v.ID = galleon.ImageVersionID{ImageDefinitionID: def.ID, Version: id.Version}
		if old != nil {
			v.ID.Version = old.ID.Version
		}
		tags, err := toJSON(v.Tags)
		if err != nil {
			return err
		}
		props, err := toJSON(v.Properties)
		if err != nil {
			return err
		}
		sd, err := toJSON(v.SystemData)
		if err != nil {
			return err
		}
		created = old == nil
		keys := []any{def.ID.SubscriptionID, galleon.Fold(def.ID.Name), galleon.Fold(def.ID.Image), galleon.Fold(v.ID.Version)}
		if created {
			_, err = tx.exec(ctx, `INSERT INTO image_versions (subscription_id, gallery_fold, image_fold, name_fold, name, location, tags, properties, system_data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(keys, v.ID.Version, v.Location, tags, props, sd)...)
		} else {
			_, err = tx.exec(ctx, `UPDATE image_versions SET location = ?, tags = ?, properties = ?, system_data = ?
				WHERE subscription_id = ? AND gallery_fold = ? AND image_fold = ? AND name_fold = ?`,
				append([]any{v.Location, tags, props, sd}, keys...)...)
		}
		if err != nil || op == nil {
			return err
		}
		if err := insertOperation(ctx, tx, op); err != nil {
			return err
		}
		return insertWork(ctx, tx, galleon.WorkOperation, op.SubscriptionID+"/"+op.ID, tx.now)
	})
	if err != nil {
		return nil, false, err
	}
	return v, created, nil
}

// ListImageVersions lists one page of a definition's versions.
func (s *DB) ListImageVersions(ctx context.Context, id galleon.ImageDefinitionID, page galleon.Page) (out []galleon.ImageVersion, next string, err error) {
	defer galleon.Wrap(&err, "ListImageVersions(%s)", id)
	def, err := parentDefinition(ctx, s.r(), id)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(page)
	rows, err := s.r().query(ctx, `SELECT `+versionColumns+` FROM image_versions v
		WHERE v.subscription_id = ? AND v.gallery_fold = ? AND v.image_fold = ? AND v.name_fold > ? ORDER BY v.name_fold LIMIT ?`,
		def.ID.SubscriptionID, galleon.Fold(def.ID.Name), galleon.Fold(def.ID.Image), page.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows, def.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(v *galleon.ImageVersion) string { return galleon.Fold(v.ID.Version) })
	return out, next, nil
}

// DeleteImageVersion deletes a version, reporting whether it existed.
func (s *DB) DeleteImageVersion(ctx context.Context, id galleon.ImageVersionID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteImageVersion(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		def, err := parentDefinition(ctx, tx, id.ImageDefinitionID)
		if galleon.ErrorCode(err) == galleon.CodeParentResourceNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if err := deleteRoleAssignmentsUnder(ctx, tx, galleon.ImageVersionID{ImageDefinitionID: def.ID, Version: id.Version}.String()); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM image_versions WHERE subscription_id = ? AND gallery_fold = ? AND image_fold = ? AND name_fold = ?`,
			def.ID.SubscriptionID, galleon.Fold(def.ID.Name), galleon.Fold(def.ID.Image), galleon.Fold(id.Version))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}
