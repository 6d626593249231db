package sqlstore

import (
	"context"

	"github.com/galleon-project/galleon"
)

const resourceGroupColumns = `subscription_id, name, location, tags, managed_by, provisioning_state, system_data`

func scanResourceGroup(row interface{ Scan(...any) error }) (*galleon.ResourceGroup, error) {
	var rg galleon.ResourceGroup
	var tags, sd string
	if err := row.Scan(&rg.ID.SubscriptionID, &rg.ID.Name, &rg.Location, &tags, &rg.ManagedBy, &rg.ProvisioningState, &sd); err != nil {
		return nil, err
	}
	if err := fromJSON(tags, &rg.Tags); err != nil {
		return nil, err
	}
	return &rg, fromJSON(sd, &rg.SystemData)
}

func resourceGroupNotFound(id galleon.ResourceGroupID) error {
	return galleon.Errorf(galleon.CodeResourceGroupNotFound, "Resource group '%s' could not be found.", id.Name)
}

func getResourceGroup(ctx context.Context, q querier, id galleon.ResourceGroupID) (*galleon.ResourceGroup, error) {
	rg, err := scanResourceGroup(q.queryRow(ctx, `SELECT `+resourceGroupColumns+` FROM resource_groups WHERE subscription_id = ? AND name_fold = ?`,
		id.SubscriptionID, galleon.Fold(id.Name)))
	if isNoRows(err) {
		return nil, resourceGroupNotFound(id)
	}
	return rg, err
}

// liveResourceGroup returns the group children are put into: it must exist
// and not be on its way out.
func liveResourceGroup(ctx context.Context, tx *tx, id galleon.ResourceGroupID) (*galleon.ResourceGroup, error) {
	rg, err := getResourceGroup(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if rg.ProvisioningState == galleon.ProvisioningDeleting {
		return nil, beingDeleted(rg)
	}
	return rg, nil
}

func beingDeleted(rg *galleon.ResourceGroup) error {
	return galleon.Errorf(galleon.CodeResourceGroupBeingDeleted,
		"The resource group '%s' is in deprovisioning state and cannot perform this operation.", rg.ID.Name)
}

// liveGroupOfNested is liveResourceGroup for a nested resource, whose
// missing group ARM reports as its missing parent.
func liveGroupOfNested(ctx context.Context, tx *tx, id galleon.ResourceGroupID, parent string) error {
	_, err := liveResourceGroup(ctx, tx, id)
	if galleon.ErrorCode(err) == galleon.CodeResourceGroupNotFound {
		return parentNotFound(parent)
	}
	return err
}

// GetResourceGroup returns the group, or ResourceGroupNotFound.
func (s *DB) GetResourceGroup(ctx context.Context, id galleon.ResourceGroupID) (rg *galleon.ResourceGroup, err error) {
	defer galleon.Wrap(&err, "GetResourceGroup(%s)", id)
	return getResourceGroup(ctx, s.r(), id)
}

// PutResourceGroup creates or updates a group.
func (s *DB) PutResourceGroup(ctx context.Context, id galleon.ResourceGroupID, update galleon.Update[galleon.ResourceGroup]) (rg *galleon.ResourceGroup, created bool, err error) {
	defer galleon.Wrap(&err, "PutResourceGroup(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		old, err := getResourceGroup(ctx, tx, id)
		if galleon.ErrorCode(err) == galleon.CodeResourceGroupNotFound {
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		if old == nil {
			// A group in an unknown subscription would trip the foreign key;
			// answer what ARM answers instead.
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM subscriptions WHERE id = ?`, id.SubscriptionID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return galleon.Errorf(galleon.CodeSubscriptionNotFound, "The subscription '%s' could not be found.", id.SubscriptionID)
			}
		}
		if old != nil && old.ProvisioningState == galleon.ProvisioningDeleting {
			return beingDeleted(old)
		}
		if rg, err = applyUpdate(update, old); err != nil {
			return err
		}
		// The row is the one looked up, whatever id the update returned.
		rg.ID = id
		if old != nil {
			rg.ID.Name = old.ID.Name
		}
		tags, err := toJSON(rg.Tags)
		if err != nil {
			return err
		}
		sd, err := toJSON(rg.SystemData)
		if err != nil {
			return err
		}
		created = old == nil
		if created {
			_, err = tx.exec(ctx, `INSERT INTO resource_groups (subscription_id, name, name_fold, location, tags, managed_by, provisioning_state, system_data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				rg.ID.SubscriptionID, rg.ID.Name, galleon.Fold(rg.ID.Name), rg.Location, tags, rg.ManagedBy, rg.ProvisioningState, sd)
		} else {
			_, err = tx.exec(ctx, `UPDATE resource_groups SET location = ?, tags = ?, managed_by = ?, provisioning_state = ?, system_data = ?
				WHERE subscription_id = ? AND name_fold = ?`,
				rg.Location, tags, rg.ManagedBy, rg.ProvisioningState, sd, rg.ID.SubscriptionID, galleon.Fold(rg.ID.Name))
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return rg, created, nil
}

// ListResourceGroups lists the groups of a subscription, one page at a time.
func (s *DB) ListResourceGroups(ctx context.Context, subscriptionID string, page galleon.Page) (out []galleon.ResourceGroup, next string, err error) {
	defer galleon.Wrap(&err, "ListResourceGroups(%s)", subscriptionID)
	limit := pageLimit(page)
	rows, err := s.r().query(ctx, `SELECT `+resourceGroupColumns+` FROM resource_groups
		WHERE subscription_id = ? AND name_fold > ? ORDER BY name_fold LIMIT ?`, subscriptionID, page.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		rg, err := scanResourceGroup(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *rg)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next = trimPage(out, limit, func(rg *galleon.ResourceGroup) string { return galleon.Fold(rg.ID.Name) })
	return out, next, nil
}

// BeginDeleteResourceGroup marks the group Deleting and records op.
func (s *DB) BeginDeleteResourceGroup(ctx context.Context, id galleon.ResourceGroupID, op *galleon.Operation) (started *galleon.Operation, err error) {
	defer galleon.Wrap(&err, "BeginDeleteResourceGroup(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		rg, err := getResourceGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		if rg.ProvisioningState == galleon.ProvisioningDeleting {
			pending, err := scanOperations(tx.query(ctx, `SELECT `+operationColumns+` FROM operations
				WHERE target_fold = ? AND status = ? ORDER BY start_time LIMIT 1`, galleon.Fold(rg.ID.String()), galleon.OperationInProgress))
			if err != nil {
				return err
			}
			if len(pending) > 0 {
				started = &pending[0]
				return nil
			}
		}
		if _, err := tx.exec(ctx, `UPDATE resource_groups SET provisioning_state = ? WHERE subscription_id = ? AND name_fold = ?`,
			galleon.ProvisioningDeleting, id.SubscriptionID, galleon.Fold(id.Name)); err != nil {
			return err
		}
		started = op
		if err := insertOperation(ctx, tx, op); err != nil {
			return err
		}
		return insertWork(ctx, tx, galleon.WorkOperation, op.SubscriptionID+"/"+op.ID, tx.now)
	})
	if err != nil {
		return nil, err
	}
	return started, nil
}

// DeleteResourceGroupContents deletes the group and all it holds.
func (s *DB) DeleteResourceGroupContents(ctx context.Context, id galleon.ResourceGroupID) (err error) {
	defer galleon.Wrap(&err, "DeleteResourceGroupContents(%s)", id)
	return s.transact(ctx, func(tx *tx) error {
		sub, rgFold := id.SubscriptionID, galleon.Fold(id.Name)
		if _, err := tx.exec(ctx, `DELETE FROM soft_deleted_image_versions WHERE subscription_id = ? AND gallery_fold IN
			(SELECT name_fold FROM galleries WHERE subscription_id = ? AND resource_group_fold = ?)`, sub, sub, rgFold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM image_versions WHERE subscription_id = ? AND gallery_fold IN
			(SELECT name_fold FROM galleries WHERE subscription_id = ? AND resource_group_fold = ?)`, sub, sub, rgFold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM disks WHERE subscription_id = ? AND resource_group_fold = ?`, sub, rgFold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM gallery_images WHERE subscription_id = ? AND gallery_fold IN
			(SELECT name_fold FROM galleries WHERE subscription_id = ? AND resource_group_fold = ?)`, sub, sub, rgFold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM galleries WHERE subscription_id = ? AND resource_group_fold = ?`, sub, rgFold); err != nil {
			return err
		}
		if err := deleteRoleAssignmentsUnder(ctx, tx, id.String()); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM resource_groups WHERE subscription_id = ? AND name_fold = ?`, sub, rgFold)
		return err
	})
}
