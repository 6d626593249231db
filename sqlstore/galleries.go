package sqlstore

import (
	"context"
	"strings"

	"github.com/galleon-project/galleon"
)

// galleryColumns are read from galleries g joined to resource_groups r, so
// the id carries the group's name in its stored case.
const galleryColumns = `g.subscription_id, r.name, g.name, g.location, g.tags, g.properties, g.system_data`

const galleryFrom = ` FROM galleries g JOIN resource_groups r
	ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold `

func scanGallery(row interface{ Scan(...any) error }) (*galleon.Gallery, error) {
	var g galleon.Gallery
	var tags, props, sd string
	if err := row.Scan(&g.ID.SubscriptionID, &g.ID.ResourceGroup, &g.ID.Name, &g.Location, &tags, &props, &sd); err != nil {
		return nil, err
	}
	if err := fromJSON(tags, &g.Tags); err != nil {
		return nil, err
	}
	if err := fromJSON(props, &g.Properties); err != nil {
		return nil, err
	}
	return &g, fromJSON(sd, &g.SystemData)
}

func galleryNotFound(id galleon.GalleryID) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource 'Microsoft.Compute/galleries/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Name, id.ResourceGroup)
}

// getGallery finds a gallery by its full id; nil when absent.
func getGallery(ctx context.Context, q querier, id galleon.GalleryID) (*galleon.Gallery, error) {
	g, err := scanGallery(q.queryRow(ctx, `SELECT `+galleryColumns+galleryFrom+
		`WHERE g.subscription_id = ? AND g.resource_group_fold = ? AND g.name_fold = ?`,
		id.SubscriptionID, galleon.Fold(id.ResourceGroup), galleon.Fold(id.Name)))
	if isNoRows(err) {
		return nil, nil
	}
	return g, err
}

// GetGallery returns the gallery, or ResourceNotFound.
func (s *DB) GetGallery(ctx context.Context, id galleon.GalleryID) (g *galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "GetGallery(%s)", id)
	g, err = getGallery(ctx, s.r(), id)
	if err == nil && g == nil {
		return nil, galleryNotFound(id)
	}
	return g, err
}

func nameTaken(id galleon.GalleryID) error {
	return galleon.TargetErrorf(galleon.CodeConflict, "galleryName",
		"The gallery name '%s' is not unique within the subscription '%s'. Please pick another gallery name.", id.Name, id.SubscriptionID)
}

// PutGallery creates or updates a gallery.
func (s *DB) PutGallery(ctx context.Context, id galleon.GalleryID, update galleon.Update[galleon.Gallery]) (g *galleon.Gallery, created bool, err error) {
	defer galleon.Wrap(&err, "PutGallery(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		rg, err := liveResourceGroup(ctx, tx, id.ResourceGroupID())
		if err != nil {
			return err
		}
		// The name is unique in the subscription: look in every group.
		var otherGroup string
		err = tx.queryRow(ctx, `SELECT resource_group_fold FROM galleries WHERE subscription_id = ? AND name_fold = ?`,
			id.SubscriptionID, galleon.Fold(id.Name)).Scan(&otherGroup)
		switch {
		case isNoRows(err):
		case err != nil:
			return err
		case otherGroup != galleon.Fold(id.ResourceGroup):
			return nameTaken(id)
		}
		old, err := getGallery(ctx, tx, id)
		if err != nil {
			return err
		}
		if g, err = applyUpdate(update, old); err != nil {
			return err
		}
		g.ID = galleon.GalleryID{SubscriptionID: id.SubscriptionID, ResourceGroup: rg.ID.Name, Name: id.Name}
		if old != nil {
			g.ID.Name = old.ID.Name
		}
		tags, err := toJSON(g.Tags)
		if err != nil {
			return err
		}
		props, err := toJSON(g.Properties)
		if err != nil {
			return err
		}
		sd, err := toJSON(g.SystemData)
		if err != nil {
			return err
		}
		created = old == nil
		if created {
			_, err = tx.exec(ctx, `INSERT INTO galleries (subscription_id, resource_group_fold, name, name_fold, location, tags, properties, system_data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				g.ID.SubscriptionID, galleon.Fold(g.ID.ResourceGroup), g.ID.Name, galleon.Fold(g.ID.Name), g.Location, tags, props, sd)
			if s.dialect.isUniqueViolation(err) {
				return nameTaken(id)
			}
			return err
		}
		_, err = tx.exec(ctx, `UPDATE galleries SET location = ?, tags = ?, properties = ?, system_data = ?
			WHERE subscription_id = ? AND name_fold = ?`,
			g.Location, tags, props, sd, g.ID.SubscriptionID, galleon.Fold(g.ID.Name))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return g, created, nil
}

func (s *DB) listGalleries(ctx context.Context, where string, page galleon.Page, args ...any) ([]galleon.Gallery, string, error) {
	limit := pageLimit(page)
	rows, err := s.r().query(ctx, `SELECT `+galleryColumns+galleryFrom+`WHERE `+where+` AND g.name_fold > ? ORDER BY g.name_fold LIMIT ?`,
		append(args, page.After, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []galleon.Gallery
	for rows.Next() {
		g, err := scanGallery(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *g)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := trimPage(out, limit, func(g *galleon.Gallery) string { return galleon.Fold(g.ID.Name) })
	return out, next, nil
}

// ListGalleriesByResourceGroup lists one page of a group's galleries.
func (s *DB) ListGalleriesByResourceGroup(ctx context.Context, id galleon.ResourceGroupID, page galleon.Page) (out []galleon.Gallery, next string, err error) {
	defer galleon.Wrap(&err, "ListGalleriesByResourceGroup(%s)", id)
	return s.listGalleries(ctx, `g.subscription_id = ? AND g.resource_group_fold = ?`, page, id.SubscriptionID, galleon.Fold(id.Name))
}

// ListGalleriesBySubscription lists one page of a subscription's galleries.
func (s *DB) ListGalleriesBySubscription(ctx context.Context, subscriptionID string, page galleon.Page) (out []galleon.Gallery, next string, err error) {
	defer galleon.Wrap(&err, "ListGalleriesBySubscription(%s)", subscriptionID)
	return s.listGalleries(ctx, `g.subscription_id = ?`, page, subscriptionID)
}

// DeleteGallery deletes a gallery that holds no image definitions.
func (s *DB) DeleteGallery(ctx context.Context, id galleon.GalleryID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteGallery(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		g, err := getGallery(ctx, tx, id)
		if err != nil || g == nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT name FROM gallery_images WHERE subscription_id = ? AND gallery_fold = ? ORDER BY name_fold LIMIT 5`,
			id.SubscriptionID, galleon.Fold(id.Name))
		if err != nil {
			return err
		}
		var images []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			images = append(images, "'"+n+"'")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(images) > 0 {
			return galleon.Errorf(galleon.CodeCannotDeleteResource,
				"The gallery '%s' cannot be deleted because it contains image definitions (%s). Delete them first.",
				g.ID.Name, strings.Join(images, ", "))
		}
		if err := deleteRoleAssignmentsUnder(ctx, tx, g.ID.String()); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM galleries WHERE subscription_id = ? AND name_fold = ?`, id.SubscriptionID, galleon.Fold(id.Name))
		deleted = err == nil
		return err
	})
	return deleted, err
}
