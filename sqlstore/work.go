package sqlstore

import (
	"context"
	"time"

	"github.com/galleon-project/galleon"
)

// LoadOrStoreSecret returns the installation secret called name, storing
// value when there is none.
func (s *DB) LoadOrStoreSecret(ctx context.Context, name, value string) (stored string, err error) {
	defer galleon.Wrap(&err, "LoadOrStoreSecret(%s)", name)
	err = s.transact(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO installation_secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, value, ts(tx.now)); err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT value FROM installation_secrets WHERE name = ?`, name).Scan(&stored)
	})
	return stored, err
}

func insertWork(ctx context.Context, tx *tx, kind, key string, notBefore time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO work_items (kind, item_key, not_before, attempts, created_at) VALUES (?, ?, ?, 0, ?)
		ON CONFLICT (kind, item_key) DO NOTHING`, kind, key, ts(notBefore), ts(tx.now))
	return err
}

// EnqueueWork adds a work item unless it is queued already.
func (s *DB) EnqueueWork(ctx context.Context, kind, key string, notBefore time.Time) (err error) {
	defer galleon.Wrap(&err, "EnqueueWork(%s, %s)", kind, key)
	return s.transact(ctx, func(tx *tx) error { return insertWork(ctx, tx, kind, key, notBefore) })
}

// ClaimWork leases claimable items to holder. On PostgreSQL rows another
// node is claiming are skipped, not waited for; on SQLite the write lock
// admits one claimant at a time.
func (s *DB) ClaimWork(ctx context.Context, kind, holder string, lease time.Duration, limit int) (items []galleon.WorkItem, err error) {
	defer galleon.Wrap(&err, "ClaimWork(%s)", kind)
	err = s.transact(ctx, func(tx *tx) error {
		items = nil
		now := ts(tx.now)
		rows, err := tx.query(ctx, `SELECT item_key, attempts FROM work_items
			WHERE kind = ? AND not_before <= ? AND (holder IS NULL OR lease_expires <= ?)
			ORDER BY not_before, item_key LIMIT ?`+s.dialect.claimSuffix(), kind, now, now, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			it := galleon.WorkItem{Kind: kind, Holder: holder, LeaseExpires: tx.now.Add(lease)}
			if err := rows.Scan(&it.Key, &it.Attempts); err != nil {
				rows.Close()
				return err
			}
			it.Attempts++
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, it := range items {
			if _, err := tx.exec(ctx, `UPDATE work_items SET holder = ?, lease_expires = ?, attempts = ? WHERE kind = ? AND item_key = ?`,
				holder, ts(it.LeaseExpires), it.Attempts, kind, it.Key); err != nil {
				return err
			}
		}
		return nil
	})
	return items, err
}

func leaseLost(it galleon.WorkItem) error {
	return galleon.Errorf(galleon.CodeLeaseLost, "The lease of %s %s held by %s was lost to another holder.", it.Kind, it.Key, it.Holder)
}

// heldBy runs a statement that changes an item only while holder holds it.
func (s *DB) heldBy(ctx context.Context, it galleon.WorkItem, query string, args ...any) error {
	return s.transact(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, query, append(args, it.Kind, it.Key, it.Holder)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return leaseLost(it)
		}
		return nil
	})
}

// ExtendLease pushes an item's lease.
func (s *DB) ExtendLease(ctx context.Context, it *galleon.WorkItem, lease time.Duration) (err error) {
	defer galleon.Wrap(&err, "ExtendLease(%s, %s)", it.Kind, it.Key)
	expires := s.Now().Add(lease)
	if err := s.heldBy(ctx, *it, `UPDATE work_items SET lease_expires = ? WHERE kind = ? AND item_key = ? AND holder = ?`, ts(expires)); err != nil {
		return err
	}
	it.LeaseExpires = expires
	return nil
}

// CompleteWork removes a finished item.
func (s *DB) CompleteWork(ctx context.Context, it galleon.WorkItem) (err error) {
	defer galleon.Wrap(&err, "CompleteWork(%s, %s)", it.Kind, it.Key)
	return s.heldBy(ctx, it, `DELETE FROM work_items WHERE kind = ? AND item_key = ? AND holder = ?`)
}

// ReleaseWork gives an item back for a later attempt.
func (s *DB) ReleaseWork(ctx context.Context, it galleon.WorkItem, notBefore time.Time) (err error) {
	defer galleon.Wrap(&err, "ReleaseWork(%s, %s)", it.Kind, it.Key)
	return s.heldBy(ctx, it, `UPDATE work_items SET holder = NULL, lease_expires = NULL, not_before = ? WHERE kind = ? AND item_key = ? AND holder = ?`,
		ts(notBefore))
}
