package sqlstore

import (
	"context"

	"github.com/galleon-project/galleon"
)

// Kinds of gallery_shares rows besides the sharing group types.
const shareCommunity = "Community"

// galleryBySubscriptionAndName finds a gallery by its subscription and name
// alone (gallery names are unique in a subscription); nil when absent.
func galleryBySubscriptionAndName(ctx context.Context, q querier, sub, name string) (*galleon.Gallery, error) {
	g, err := scanGallery(q.queryRow(ctx, `SELECT `+galleryColumns+galleryFrom+`WHERE g.subscription_id = ? AND g.name_fold = ?`,
		galleon.Fold(sub), galleon.Fold(name)))
	if isNoRows(err) {
		return nil, nil
	}
	return g, err
}

// ShareGallery updates a gallery's sharing profile and the index of whom it
// is shared with.
func (s *DB) ShareGallery(ctx context.Context, id galleon.GalleryID, update galleon.Update[galleon.Gallery]) (g *galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "ShareGallery(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		old, err := getGallery(ctx, tx, id)
		if err != nil {
			return err
		}
		if old == nil {
			return galleryNotFound(id)
		}
		if g, err = applyUpdate(update, old); err != nil {
			return err
		}
		g.ID = old.ID
		props, err := toJSON(g.Properties)
		if err != nil {
			return err
		}
		sd, err := toJSON(g.SystemData)
		if err != nil {
			return err
		}
		sub, fold := g.ID.SubscriptionID, galleon.Fold(g.ID.Name)
		if _, err := tx.exec(ctx, `UPDATE galleries SET properties = ?, system_data = ? WHERE subscription_id = ? AND name_fold = ?`,
			props, sd, sub, fold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM gallery_shares WHERE subscription_id = ? AND gallery_fold = ?`, sub, fold); err != nil {
			return err
		}
		if sp := g.Properties.SharingProfile; sp != nil {
			for _, grp := range sp.Groups {
				for _, member := range grp.IDs {
					if _, err := tx.exec(ctx, `INSERT INTO gallery_shares (subscription_id, gallery_fold, kind, member) VALUES (?, ?, ?, ?)`,
						sub, fold, grp.Type, galleon.Fold(member)); err != nil {
						return err
					}
				}
			}
		}
		for _, name := range g.PublicNames() {
			_, err := tx.exec(ctx, `INSERT INTO gallery_shares (subscription_id, gallery_fold, kind, member) VALUES (?, ?, ?, ?)`,
				sub, fold, shareCommunity, galleon.Fold(name))
			if s.dialect.isUniqueViolation(err) {
				return galleon.TargetErrorf(galleon.CodeConflict, "publicName",
					"The public name '%s' is taken by another community gallery.", name)
			}
			if err != nil {
				return err
			}
		}
		return dropStaleRejections(ctx, tx, g)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// dropStaleRejections forgets the rejections of consumers the gallery is no
// longer shared with: sharing with them again is a new share to answer.
func dropStaleRejections(ctx context.Context, tx *tx, g *galleon.Gallery) error {
	rows, err := tx.query(ctx, `SELECT x.consumer_subscription_id, COALESCE(s.tenant_id, '')
		FROM shared_gallery_rejections x LEFT JOIN subscriptions s ON s.id = x.consumer_subscription_id
		WHERE x.subscription_id = ? AND x.gallery_fold = ?`, g.ID.SubscriptionID, galleon.Fold(g.ID.Name))
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var c galleon.ShareConsumer
		if err := rows.Scan(&c.SubscriptionID, &c.TenantID); err != nil {
			rows.Close()
			return err
		}
		if !g.SharedWith(c) {
			stale = append(stale, c.SubscriptionID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, consumer := range stale {
		if _, err := tx.exec(ctx, `DELETE FROM shared_gallery_rejections WHERE consumer_subscription_id = ? AND subscription_id = ? AND gallery_fold = ?`,
			consumer, g.ID.SubscriptionID, galleon.Fold(g.ID.Name)); err != nil {
			return err
		}
	}
	return nil
}

const notRejected = ` AND NOT EXISTS (SELECT 1 FROM shared_gallery_rejections x
	WHERE x.consumer_subscription_id = ? AND x.subscription_id = g.subscription_id AND x.gallery_fold = g.name_fold)`

// ListGalleriesSharedWith lists the galleries shared with a consumer's
// subscription or tenant that the subscription has not rejected.
func (s *DB) ListGalleriesSharedWith(ctx context.Context, c galleon.ShareConsumer, byTenant bool) (out []galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "ListGalleriesSharedWith(%s, tenant %v)", c.SubscriptionID, byTenant)
	kind, member := galleon.SharingGroupSubscriptions, galleon.Fold(c.SubscriptionID)
	if byTenant {
		kind, member = galleon.SharingGroupAADTenants, galleon.Fold(c.TenantID)
	}
	rows, err := s.r().query(ctx, `SELECT `+galleryColumns+galleryFrom+
		`JOIN gallery_shares sh ON sh.subscription_id = g.subscription_id AND sh.gallery_fold = g.name_fold
		WHERE sh.kind = ? AND sh.member = ?`+notRejected+` ORDER BY g.subscription_id, g.name_fold`,
		kind, member, galleon.Fold(c.SubscriptionID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGallery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

func sharedGalleryNotFound(uniqueName string) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The shared gallery '%s' was not found, or is not shared with this subscription or its tenant.", uniqueName)
}

// GetSharedGallery returns a gallery shared with the consumer by its unique
// name.
func (s *DB) GetSharedGallery(ctx context.Context, c galleon.ShareConsumer, uniqueName string) (g *galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "GetSharedGallery(%s, %s)", c.SubscriptionID, uniqueName)
	sub, name, ok := galleon.ParseGalleryUniqueName(uniqueName)
	if !ok {
		return nil, sharedGalleryNotFound(uniqueName)
	}
	g, err = scanGallery(s.r().queryRow(ctx, `SELECT `+galleryColumns+galleryFrom+
		`WHERE g.subscription_id = ? AND g.name_fold = ?`+notRejected, sub, galleon.Fold(name), galleon.Fold(c.SubscriptionID)))
	if isNoRows(err) || err == nil && !g.SharedWith(c) {
		return nil, sharedGalleryNotFound(uniqueName)
	}
	return g, err
}

// GetCommunityGallery returns the gallery published under a public name.
func (s *DB) GetCommunityGallery(ctx context.Context, publicName string) (g *galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "GetCommunityGallery(%s)", publicName)
	g, err = scanGallery(s.r().queryRow(ctx, `SELECT `+galleryColumns+galleryFrom+
		`JOIN gallery_shares sh ON sh.subscription_id = g.subscription_id AND sh.gallery_fold = g.name_fold
		WHERE sh.kind = ? AND sh.member = ?`, shareCommunity, galleon.Fold(publicName)))
	if isNoRows(err) {
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "The community gallery '%s' was not found.", publicName)
	}
	return g, err
}

// RespondToShare records a consumer subscription's rejection of a share,
// or lifts it.
func (s *DB) RespondToShare(ctx context.Context, c galleon.ShareConsumer, gallerySubscriptionID, galleryName string, accept bool) (g *galleon.Gallery, err error) {
	defer galleon.Wrap(&err, "RespondToShare(%s, %s/%s, accept %v)", c.SubscriptionID, gallerySubscriptionID, galleryName, accept)
	err = s.transact(ctx, func(tx *tx) error {
		g, err = galleryBySubscriptionAndName(ctx, tx, gallerySubscriptionID, galleryName)
		if err != nil {
			return err
		}
		if g == nil || !g.SharedWith(c) {
			return galleon.Errorf(galleon.CodeResourceNotFound,
				"The gallery '%s' of subscription '%s' was not found, or is not shared with subscription '%s' or its tenant.",
				galleryName, gallerySubscriptionID, c.SubscriptionID)
		}
		consumer, sub, fold := galleon.Fold(c.SubscriptionID), g.ID.SubscriptionID, galleon.Fold(g.ID.Name)
		if accept {
			_, err = tx.exec(ctx, `DELETE FROM shared_gallery_rejections WHERE consumer_subscription_id = ? AND subscription_id = ? AND gallery_fold = ?`,
				consumer, sub, fold)
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO shared_gallery_rejections (consumer_subscription_id, subscription_id, gallery_fold, rejected_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, consumer, sub, fold, ts(tx.now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// SharedRegions reads a gallery's definitions and versions to say where
// consumers see its parts. The reads are separate statements, outside a
// transaction (one would take SQLite's write lock): a version written
// between them is seen at the next request.
func (s *DB) SharedRegions(ctx context.Context, id galleon.GalleryID) (r *galleon.SharedRegions, err error) {
	defer galleon.Wrap(&err, "SharedRegions(%s)", id)
	q := s.r()
	g, err := getGallery(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, galleryNotFound(id)
	}
	sub, fold := g.ID.SubscriptionID, galleon.Fold(g.ID.Name)
	var images []galleon.ImageDefinition
	rows, err := q.query(ctx, `SELECT `+imageColumns+` FROM gallery_images i WHERE i.subscription_id = ? AND i.gallery_fold = ?`, sub, fold)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		d, err := scanImage(rows, g.ID)
		if err != nil {
			rows.Close()
			return nil, err
		}
		images = append(images, *d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var versions []galleon.ImageVersion
	rows, err = q.query(ctx, `SELECT i.name, v.properties FROM image_versions v JOIN gallery_images i
		ON i.subscription_id = v.subscription_id AND i.gallery_fold = v.gallery_fold AND i.name_fold = v.image_fold
		WHERE v.subscription_id = ? AND v.gallery_fold = ?`, sub, fold)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v := galleon.ImageVersion{ID: galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: g.ID}}}
		var props string
		if err := rows.Scan(&v.ID.Image, &props); err != nil {
			return nil, err
		}
		if err := fromJSON(props, &v.Properties); err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return galleon.NewSharedRegions(g.Location, images, versions), nil
}
