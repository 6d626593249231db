package sqlstore

import (
	"context"

	"github.com/galleon-project/galleon"
)

// diskColumns are read from disks k joined to resource_groups r, so the id
// carries the group's name in its stored case.
const diskColumns = `k.subscription_id, r.name, k.type, k.name, k.location, k.tags, k.properties, k.system_data, k.access_generation`

const diskFrom = ` FROM disks k JOIN resource_groups r
	ON r.subscription_id = k.subscription_id AND r.name_fold = k.resource_group_fold `

// The disks table holds every source of image bytes: disks, snapshots and
// managed images, told apart by type. They share the row's shape and
// differ in their properties, so one set of functions serves them all
// through a sourceRow, which exposes a resource's columns.
type sourceRow struct {
	id         *galleon.DiskID
	location   *string
	tags       *map[string]string
	properties any // a pointer to the properties struct
	systemData *galleon.SystemData
	uniqueID   *string // kept in a column too, for DiskAccessGeneration
	generation *int64  // nil for managed images: no SAS is handed out for them
}

// sourceResource is a resource kept in the disks table.
type sourceResource interface {
	galleon.Disk | galleon.ManagedImage
}

func rowOf[T sourceResource](v *T) sourceRow {
	switch v := any(v).(type) {
	case *galleon.Disk:
		return sourceRow{&v.ID, &v.Location, &v.Tags, &v.Properties, &v.SystemData, &v.Properties.UniqueID, &v.AccessGeneration}
	case *galleon.ManagedImage:
		return sourceRow{&v.ID, &v.Location, &v.Tags, &v.Properties, &v.SystemData, &v.Properties.UniqueID, nil}
	}
	panic("unreachable")
}

func scanSource[T sourceResource](row interface{ Scan(...any) error }) (*T, error) {
	v := new(T)
	r := rowOf(v)
	var tags, props, sd string
	var gen int64
	if err := row.Scan(&r.id.SubscriptionID, &r.id.ResourceGroup, &r.id.Type, &r.id.Name, r.location, &tags, &props, &sd, &gen); err != nil {
		return nil, err
	}
	if r.generation != nil {
		*r.generation = gen
	}
	if err := fromJSON(tags, r.tags); err != nil {
		return nil, err
	}
	if err := fromJSON(props, r.properties); err != nil {
		return nil, err
	}
	return v, fromJSON(sd, r.systemData)
}

func diskNotFound(id galleon.DiskID) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Type, id.Name, id.ResourceGroup)
}

func getSource[T sourceResource](ctx context.Context, q querier, id galleon.DiskID) (*T, error) {
	d, err := scanSource[T](q.queryRow(ctx, `SELECT `+diskColumns+diskFrom+
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
	d, err = getSource[galleon.Disk](ctx, s.r(), id)
	if err == nil && d == nil {
		return nil, diskNotFound(id)
	}
	return d, err
}

// GetManagedImage returns a managed image, or ResourceNotFound.
func (s *DB) GetManagedImage(ctx context.Context, id galleon.DiskID) (img *galleon.ManagedImage, err error) {
	defer galleon.Wrap(&err, "GetManagedImage(%s)", id)
	id.Type = galleon.TypeManagedImage
	img, err = getSource[galleon.ManagedImage](ctx, s.r(), id)
	if err == nil && img == nil {
		return nil, diskNotFound(id)
	}
	return img, err
}

// PutDisk creates or updates a disk or snapshot.
func (s *DB) PutDisk(ctx context.Context, id galleon.DiskID, update galleon.Update[galleon.Disk]) (d *galleon.Disk, created bool, err error) {
	defer galleon.Wrap(&err, "PutDisk(%s)", id)
	return putSource(ctx, s, id, update)
}

// PutManagedImage creates or updates a managed image.
func (s *DB) PutManagedImage(ctx context.Context, id galleon.DiskID, update galleon.Update[galleon.ManagedImage]) (img *galleon.ManagedImage, created bool, err error) {
	defer galleon.Wrap(&err, "PutManagedImage(%s)", id)
	id.Type = galleon.TypeManagedImage
	return putSource(ctx, s, id, update)
}

func putSource[T sourceResource](ctx context.Context, s *DB, id galleon.DiskID, update galleon.Update[T]) (v *T, created bool, err error) {
	err = s.transact(ctx, func(tx *tx) error {
		rg, err := liveResourceGroup(ctx, tx, id.ResourceGroupID())
		if err != nil {
			return err
		}
		old, err := getSource[T](ctx, tx, id)
		if err != nil {
			return err
		}
		if v, err = applyUpdate(update, old); err != nil {
			return err
		}
		r := rowOf(v)
		*r.id = galleon.DiskID{SubscriptionID: id.SubscriptionID, ResourceGroup: rg.ID.Name, Type: id.Type, Name: id.Name}
		if old != nil {
			r.id.Name = rowOf(old).id.Name
		}
		tags, err := toJSON(*r.tags)
		if err != nil {
			return err
		}
		props, err := toJSON(r.properties)
		if err != nil {
			return err
		}
		sd, err := toJSON(*r.systemData)
		if err != nil {
			return err
		}
		created = old == nil
		var gen int64
		if r.generation != nil {
			gen = *r.generation
			if old != nil && *rowOf(old).generation > gen {
				// The generation never goes down, whatever the update
				// says: a lower one would bring revoked SAS URLs back.
				gen = *rowOf(old).generation
				*r.generation = gen
			}
		}
		keys := []any{r.id.SubscriptionID, galleon.Fold(rg.ID.Name), r.id.Type, galleon.Fold(r.id.Name)}
		if created {
			_, err = tx.exec(ctx, `INSERT INTO disks (subscription_id, resource_group_fold, type, name_fold, name, location, tags, properties, system_data, unique_id, access_generation)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(keys, r.id.Name, *r.location, tags, props, sd, *r.uniqueID, gen)...)
			return err
		}
		_, err = tx.exec(ctx, `UPDATE disks SET location = ?, tags = ?, properties = ?, system_data = ?, unique_id = ?, access_generation = ?
			WHERE subscription_id = ? AND resource_group_fold = ? AND type = ? AND name_fold = ?`,
			append([]any{*r.location, tags, props, sd, *r.uniqueID, gen}, keys...)...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return v, created, nil
}

// DiskAccessGeneration returns the access generation of the disk or
// snapshot with this uniqueId. It is one indexed read: the data plane
// asks it on every request made with a disk's SAS.
func (s *DB) DiskAccessGeneration(ctx context.Context, uniqueID string) (gen int64, err error) {
	defer galleon.Wrap(&err, "DiskAccessGeneration(%s)", uniqueID)
	err = s.r().queryRow(ctx, `SELECT access_generation FROM disks WHERE unique_id = ? AND type IN (?, ?)`,
		uniqueID, galleon.TypeDisk, galleon.TypeSnapshot).Scan(&gen)
	if isNoRows(err) || err == nil && uniqueID == "" {
		return 0, galleon.Errorf(galleon.CodeResourceNotFound, "No disk or snapshot has the unique id '%s'.", uniqueID)
	}
	return gen, err
}

// ListDisks lists one page of disks or snapshots of a group or subscription.
func (s *DB) ListDisks(ctx context.Context, id galleon.DiskID, page galleon.Page) (out []galleon.Disk, next string, err error) {
	defer galleon.Wrap(&err, "ListDisks(%s)", id)
	return listSources[galleon.Disk](ctx, s, id, page)
}

// ListManagedImages lists one page of managed images of a group or
// subscription.
func (s *DB) ListManagedImages(ctx context.Context, id galleon.DiskID, page galleon.Page) (out []galleon.ManagedImage, next string, err error) {
	defer galleon.Wrap(&err, "ListManagedImages(%s)", id)
	id.Type = galleon.TypeManagedImage
	return listSources[galleon.ManagedImage](ctx, s, id, page)
}

func listSources[T sourceResource](ctx context.Context, s *DB, id galleon.DiskID, page galleon.Page) (out []T, next string, err error) {
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
		v, err := scanSource[T](rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(v *T) string {
		id := rowOf(v).id
		return galleon.Fold(id.Name) + "/" + galleon.Fold(id.ResourceGroup)
	})
	return out, next, nil
}

// DeleteDisk deletes a disk or snapshot, reporting whether it existed.
func (s *DB) DeleteDisk(ctx context.Context, id galleon.DiskID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteDisk(%s)", id)
	return s.deleteSource(ctx, id)
}

// DeleteManagedImage deletes a managed image, reporting whether it existed.
func (s *DB) DeleteManagedImage(ctx context.Context, id galleon.DiskID) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteManagedImage(%s)", id)
	id.Type = galleon.TypeManagedImage
	return s.deleteSource(ctx, id)
}

func (s *DB) deleteSource(ctx context.Context, id galleon.DiskID) (deleted bool, err error) {
	err = s.transact(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM disks WHERE subscription_id = ? AND resource_group_fold = ? AND type = ? AND name_fold = ?`,
			id.SubscriptionID, galleon.Fold(id.ResourceGroup), id.Type, galleon.Fold(id.Name))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			deleted = false
			return err
		}
		deleted = true
		// Access to a resource goes with it: a new one of the same name
		// must not inherit the old one's role assignments.
		return deleteRoleAssignmentsUnder(ctx, tx, id.String())
	})
	return deleted, err
}
