package sqlstore

import (
	"context"

	"github.com/galleon-project/galleon"
)

// diskColumns are read from disks k joined to resource_groups r, so the id
// carries the group's name in its stored case.
const diskColumns = `k.subscription_id, r.name, k.type, k.name, k.location, k.tags, k.properties, k.system_data`

const diskFrom = ` FROM disks k JOIN resource_groups r
	ON r.subscription_id = k.subscription_id AND r.name_fold = k.resource_group_fold `

func scanDisk(row interface{ Scan(...any) error }) (*galleon.Disk, error) {
	var d galleon.Disk
	var tags, props, sd string
	if err := row.Scan(&d.ID.SubscriptionID, &d.ID.ResourceGroup, &d.ID.Type, &d.ID.Name, &d.Location, &tags, &props, &sd); err != nil {
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

func diskNotFound(id galleon.DiskID) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Type, id.Name, id.ResourceGroup)
}

func getDisk(ctx context.Context, q querier, id galleon.DiskID) (*galleon.Disk, error) {
	d, err := scanDisk(q.queryRow(ctx, `SELECT `+diskColumns+diskFrom+
		`WHERE k.subscription_id = ? AND k.resource_group_fold = ? AND k.type = ? AND k.name_fold = ?`,
		id.SubscriptionID, galleon.Fold(id.ResourceGroup), id.Type, galleon.Fold(id.Name)))
	if isNoRows(err) {
		return nil, nil
	}
	return d, err
}

// GetDisk returns a disk or snapshot, or ResourceNotFound.
func (s *DB) GetDisk(ctx context.Context, id galleon.DiskID) (d *galleon.Disk, err error) {
	defer galleon.Wrap(&err, "GetDisk(%s)", id)
	d, err = getDisk(ctx, s.r(), id)
	if err == nil && d == nil {
		return nil, diskNotFound(id)
	}
	return d, err
}

// PutDisk creates or updates a disk or snapshot.
func (s *DB) PutDisk(ctx context.Context, id galleon.DiskID, update galleon.Update[galleon.Disk]) (d *galleon.Disk, created bool, err error) {
	defer galleon.Wrap(&err, "PutDisk(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		rg, err := liveResourceGroup(ctx, tx, id.ResourceGroupID())
		if err != nil {
			return err
		}
		old, err := getDisk(ctx, tx, id)
		if err != nil {
			return err
		}
		if d, err = applyUpdate(update, old); err != nil {
			return err
		}
		d.ID = galleon.DiskID{SubscriptionID: id.SubscriptionID, ResourceGroup: rg.ID.Name, Type: id.Type, Name: id.Name}
		if old != nil {
			d.ID.Name = old.ID.Name
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
		keys := []any{d.ID.SubscriptionID, galleon.Fold(rg.ID.Name), d.ID.Type, galleon.Fold(d.ID.Name)}
		if created {
			_, err = tx.exec(ctx, `INSERT INTO disks (subscription_id, resource_group_fold, type, name_fold, name, location, tags, properties, system_data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(keys, d.ID.Name, d.Location, tags, props, sd)...)
			return err
		}
		_, err = tx.exec(ctx, `UPDATE disks SET location = ?, tags = ?, properties = ?, system_data = ?
			WHERE subscription_id = ? AND resource_group_fold = ? AND type = ? AND name_fold = ?`,
			append([]any{d.Location, tags, props, sd}, keys...)...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return d, created, nil
}

// ListDisks lists one page of disks or snapshots of a group or subscription.
func (s *DB) ListDisks(ctx context.Context, id galleon.DiskID, page galleon.Page) (out []galleon.Disk, next string, err error) {
	defer galleon.Wrap(&err, "ListDisks(%s)", id)
	limit := pageLimit(page)
	where, args := `k.subscription_id = ? AND k.type = ?`, []any{id.SubscriptionID, id.Type}
	if id.ResourceGroup != "" {
		where += ` AND k.resource_group_fold = ?`
		args = append(args, galleon.Fold(id.ResourceGroup))
	}
	// Names are unique per group, not per subscription: order by both.
	rows, err := s.r().query(ctx, `SELECT `+diskColumns+diskFrom+`WHERE `+where+
		` AND k.name_fold || '/' || k.resource_group_fold > ? ORDER BY k.name_fold || '/' || k.resource_group_fold LIMIT ?`,
		append(args, page.After, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDisk(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(d *galleon.Disk) string {
		return galleon.Fold(d.ID.Name) + "/" + galleon.Fold(d.ID.ResourceGroup)
	})
	return out, next, nil
}

// DeleteDisk deletes a disk or snapshot, reporting whether it existed.
func (s *DB) DeleteDisk(ctx context.Context, id galleon.DiskID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteDisk(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM disks WHERE subscription_id = ? AND resource_group_fold = ? AND type = ? AND name_fold = ?`,
			id.SubscriptionID, galleon.Fold(id.ResourceGroup), id.Type, galleon.Fold(id.Name))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}
