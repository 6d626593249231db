package sqlstore

import (
	"context"
	"strings"

	"github.com/galleon-project/galleon"
)

const imageColumns = `i.name, i.location, i.tags, i.properties, i.system_data`

func scanImage(row interface{ Scan(...any) error }, gid galleon.GalleryID) (*galleon.ImageDefinition, error) {
	d := galleon.ImageDefinition{ID: galleon.ImageDefinitionID{GalleryID: gid}}
	var tags, props, sd string
	if err := row.Scan(&d.ID.Image, &d.Location, &tags, &props, &sd); err != nil {
		return nil, err
	}
	if err := fromJSON(tags, &d.Tags); err != nil {
		return nil, err
	}
	if err := fromJSON(props, &d.Properties); err != nil {
		return nil, err
	}
	return &d, fromJSON(sd, &d.SystemData)
}

func imageNotFound(id galleon.ImageDefinitionID) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource 'Microsoft.Compute/galleries/%s/images/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Name, id.Image, id.ResourceGroup)
}

func parentNotFound(name string) error {
	return galleon.Errorf(galleon.CodeParentResourceNotFound,
		"Can not perform requested operation on nested resource. Parent resource '%s' not found.", name)
}

// parentGallery returns the gallery holding id, or ParentResourceNotFound.
func parentGallery(ctx context.Context, q querier, id galleon.GalleryID) (*galleon.Gallery, error) {
	g, err := getGallery(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, parentNotFound(id.Name)
	}
	return g, nil
}

func getImage(ctx context.Context, q querier, g *galleon.Gallery, name string) (*galleon.ImageDefinition, error) {
	d, err := scanImage(q.queryRow(ctx, `SELECT `+imageColumns+` FROM gallery_images i WHERE i.subscription_id = ? AND i.gallery_fold = ? AND i.name_fold = ?`,
		g.ID.SubscriptionID, galleon.Fold(g.ID.Name), galleon.Fold(name)), g.ID)
	if isNoRows(err) {
		return nil, nil
	}
	return d, err
}

// GetImageDefinition returns the definition, or ResourceNotFound.
func (s *DB) GetImageDefinition(ctx context.Context, id galleon.ImageDefinitionID) (d *galleon.ImageDefinition, err error) {
	defer galleon.Wrap(&err, "GetImageDefinition(%s)", id)
	g, err := getGallery(ctx, s.r(), id.GalleryID)
	if err != nil {
		return nil, err
	}
	if g != nil {
		d, err = getImage(ctx, s.r(), g, id.Image)
	}
	if err == nil && d == nil {
		return nil, imageNotFound(id)
	}
	return d, err
}

func identifierTaken(ident galleon.ImageIdentifier, gallery string) error {
	return galleon.TargetErrorf(galleon.CodeConflict, "galleryImage.properties.identifier",
		"An image definition with publisher '%s', offer '%s' and SKU '%s' already exists in gallery '%s'; the triplet must be unique within a gallery.",
		ident.Publisher, ident.Offer, ident.SKU, gallery)
}

// PutImageDefinition creates or updates an image definition.
func (s *DB) PutImageDefinition(ctx context.Context, id galleon.ImageDefinitionID, update galleon.Update[galleon.ImageDefinition]) (d *galleon.ImageDefinition, created bool, err error) {
	defer galleon.Wrap(&err, "PutImageDefinition(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		if err := liveGroupOfNested(ctx, tx, id.ResourceGroupID(), id.Name); err != nil {
			return err
		}
		g, err := parentGallery(ctx, tx, id.GalleryID)
		if err != nil {
			return err
		}
		old, err := getImage(ctx, tx, g, id.Image)
		if err != nil {
			return err
		}
		if d, err = applyUpdate(update, old); err != nil {
			return err
		}
		d.ID = galleon.ImageDefinitionID{GalleryID: g.ID, Image: id.Image}
		if old != nil {
			d.ID.Image = old.ID.Image
		}
		ident := d.Properties.Identifier
		var other string
		err = tx.queryRow(ctx, `SELECT name_fold FROM gallery_images WHERE subscription_id = ? AND gallery_fold = ?
			AND publisher_fold = ? AND offer_fold = ? AND sku_fold = ?`,
			g.ID.SubscriptionID, galleon.Fold(g.ID.Name), galleon.Fold(ident.Publisher), galleon.Fold(ident.Offer), galleon.Fold(ident.SKU)).Scan(&other)
		switch {
		case isNoRows(err):
		case err != nil:
			return err
		case other != galleon.Fold(d.ID.Image):
			return identifierTaken(ident, g.ID.Name)
		}
		tags, err := toJSON(d.Tags)
		if err != nil {
			return err
		}
		props, err := toJSON(d.Properties)
		if err != nil {
			return err
		}
		sd, err := toJSON(d.SystemData)
		if err != nil {
			return err
		}
		created = old == nil
		if created {
			_, err = tx.exec(ctx, `INSERT INTO gallery_images (subscription_id, gallery_fold, name, name_fold, location, tags, properties, system_data,
				publisher_fold, offer_fold, sku_fold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				g.ID.SubscriptionID, galleon.Fold(g.ID.Name), d.ID.Image, galleon.Fold(d.ID.Image), d.Location, tags, props, sd,
				galleon.Fold(ident.Publisher), galleon.Fold(ident.Offer), galleon.Fold(ident.SKU))
		} else {
			_, err = tx.exec(ctx, `UPDATE gallery_images SET location = ?, tags = ?, properties = ?, system_data = ?,
				publisher_fold = ?, offer_fold = ?, sku_fold = ? WHERE subscription_id = ? AND gallery_fold = ? AND name_fold = ?`,
				d.Location, tags, props, sd, galleon.Fold(ident.Publisher), galleon.Fold(ident.Offer), galleon.Fold(ident.SKU),
				g.ID.SubscriptionID, galleon.Fold(g.ID.Name), galleon.Fold(d.ID.Image))
		}
		if s.dialect.isUniqueViolation(err) {
			// Lost a race with a concurrent put of the same name or triplet.
			return identifierTaken(ident, g.ID.Name)
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return d, created, nil
}

// ListImageDefinitions lists one page of a gallery's definitions.
func (s *DB) ListImageDefinitions(ctx context.Context, id galleon.GalleryID, page galleon.Page) (out []galleon.ImageDefinition, next string, err error) {
	defer galleon.Wrap(&err, "ListImageDefinitions(%s)", id)
	g, err := parentGallery(ctx, s.r(), id)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(page)
	rows, err := s.r().query(ctx, `SELECT `+imageColumns+` FROM gallery_images i WHERE i.subscription_id = ? AND i.gallery_fold = ?
		AND i.name_fold > ? ORDER BY i.name_fold LIMIT ?`, g.ID.SubscriptionID, galleon.Fold(g.ID.Name), page.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanImage(rows, g.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(d *galleon.ImageDefinition) string { return galleon.Fold(d.ID.Image) })
	return out, next, nil
}

// DeleteImageDefinition deletes a definition, reporting whether it existed.
func (s *DB) DeleteImageDefinition(ctx context.Context, id galleon.ImageDefinitionID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteImageDefinition(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		g, err := getGallery(ctx, tx, id.GalleryID)
		if err != nil || g == nil {
			return err
		}
		var versions []string
		rows, err := tx.query(ctx, `SELECT name FROM image_versions WHERE subscription_id = ? AND gallery_fold = ? AND image_fold = ?
			ORDER BY name_fold LIMIT 5`, g.ID.SubscriptionID, galleon.Fold(g.ID.Name), galleon.Fold(id.Image))
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			versions = append(versions, "'"+n+"'")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(versions) > 0 {
			return galleon.Errorf(galleon.CodeCannotDeleteResource,
				"The image definition '%s' cannot be deleted because it contains image versions (%s). Delete them first.",
				id.Image, strings.Join(versions, ", "))
		}
		// As in Azure, soft-deleted versions keep their definition: they
		// are purged first, or when they expire.
		soft, err := softDeletedNames(ctx, tx, galleon.ImageDefinitionID{GalleryID: g.ID, Image: id.Image})
		if err != nil {
			return err
		}
		if len(soft) > 0 {
			return galleon.Errorf(galleon.CodeCannotDeleteResource,
				"The image definition '%s' cannot be deleted because it has soft-deleted image versions (%s). "+
					"Delete them permanently (DELETE …/softDeletedArtifactTypes/Images/artifacts/%s/versions/{version}), "+
					"or turn the gallery's soft delete policy off, which lets the definition's delete purge them.",
				id.Image, strings.Join(soft, ", "), id.Image)
		}
		if err := deleteRoleAssignmentsUnder(ctx, tx, galleon.ImageDefinitionID{GalleryID: g.ID, Image: id.Image}.String()); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM gallery_images WHERE subscription_id = ? AND gallery_fold = ? AND name_fold = ?`,
			g.ID.SubscriptionID, galleon.Fold(g.ID.Name), galleon.Fold(id.Image))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}
