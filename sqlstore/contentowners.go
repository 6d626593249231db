package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/galleon-project/galleon"
)

// ListContentOwners returns every disk, snapshot, managed image and image
// version, across subscriptions: the owners of the region stores'
// manifests. It is read by background passes (collection, scrub), not per
// request; the properties are read whole because the unique ids live in
// them.
func (s *DB) ListContentOwners(ctx context.Context) (o *galleon.ContentOwners, err error) {
	defer galleon.Wrap(&err, "ListContentOwners")
	o = &galleon.ContentOwners{Disks: map[string]bool{}, Images: map[string]bool{}, Versions: map[string]galleon.ImageVersionID{}}
	rows, err := s.r().query(ctx, `SELECT k.type, k.properties FROM disks k`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ, props string
		if err := rows.Scan(&typ, &props); err != nil {
			return nil, err
		}
		var p struct {
			UniqueID        string `json:"uniqueId"`
			GalleonUniqueID string `json:"galleonUniqueId"`
		}
		if err := json.Unmarshal([]byte(props), &p); err != nil {
			return nil, err
		}
		if typ == galleon.TypeManagedImage {
			o.Images[p.GalleonUniqueID] = true
		} else {
			o.Disks[p.UniqueID] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	// Soft-deleted versions own their manifests until they are purged:
	// their bytes are what a restore brings back.
	const versionOwners = `SELECT v.subscription_id, r.name, g.name, i.name, v.name FROM %s v
		JOIN galleries g ON g.subscription_id = v.subscription_id AND g.name_fold = v.gallery_fold
		JOIN gallery_images i ON i.subscription_id = v.subscription_id AND i.gallery_fold = v.gallery_fold AND i.name_fold = v.image_fold
		JOIN resource_groups r ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold`
	vrows, err := s.r().query(ctx, fmt.Sprintf(versionOwners, "image_versions")+" UNION ALL "+fmt.Sprintf(versionOwners, "soft_deleted_image_versions"))
	if err != nil {
		return nil, err
	}
	defer vrows.Close()
	for vrows.Next() {
		var id galleon.ImageVersionID
		if err := vrows.Scan(&id.SubscriptionID, &id.ResourceGroup, &id.Name, &id.Image, &id.Version); err != nil {
			return nil, err
		}
		o.Versions[galleon.VersionManifestPrefix(id)] = id
	}
	return o, vrows.Err()
}
