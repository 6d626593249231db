package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/galleon-project/galleon"
)

func domainTaken(domain string) error {
	return galleon.TargetErrorf(galleon.CodeConflict, "domain", "A tenant with the domain '%s' exists already.", domain)
}

// CreateTenant stores a further tenant with its subscription, service
// principal, client secret and Owner assignment.
func (s *DB) CreateTenant(ctx context.Context, t *galleon.NewTenant) (err error) {
	defer galleon.Wrap(&err, "CreateTenant(%s)", t.Tenant.Domain)
	return s.transact(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE lower(domain) = ?`, galleon.Fold(t.Tenant.Domain)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return domainTaken(t.Tenant.Domain)
		}
		// The earliest tenant is the installation's default (DefaultTenant):
		// a further one must come after it.
		var first string
		err := tx.queryRow(ctx, `SELECT created_at FROM tenants ORDER BY created_at, id LIMIT 1`).Scan(&first)
		switch {
		case isNoRows(err):
			return ErrNoTenant
		case err != nil:
			return err
		case ts(t.Tenant.CreatedAt) <= first:
			return fmt.Errorf("a further tenant must be created after the installation's first, at %s", first)
		}
		_, err = tx.exec(ctx, `INSERT INTO tenants (id, domain, display_name, created_at) VALUES (?, ?, ?, ?)`,
			t.Tenant.ID, t.Tenant.Domain, t.Tenant.DisplayName, ts(t.Tenant.CreatedAt))
		if s.dialect.isUniqueViolation(err) {
			return domainTaken(t.Tenant.Domain)
		}
		if err != nil {
			return err
		}
		sub := t.Subscription
		if _, err := tx.exec(ctx, `INSERT INTO subscriptions (id, tenant_id, display_name, state) VALUES (?, ?, ?, ?)`,
			galleon.Fold(sub.ID), sub.TenantID, sub.DisplayName, sub.State); err != nil {
			return err
		}
		if err := insertPrincipal(ctx, tx, t.ServicePrincipal, "", time.Time{}); err != nil {
			return err
		}
		cs := t.ClientSecret
		if _, err := tx.exec(ctx, `INSERT INTO client_secrets (id, principal_id, hash, hint, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			cs.ID, cs.PrincipalID, cs.Hash, cs.Hint, ts(cs.ExpiresAt), ts(cs.CreatedAt)); err != nil {
			return err
		}
		return insertRoleAssignment(ctx, tx, &t.OwnerAssignment)
	})
}

// GetTenant finds a tenant by id or domain.
func (s *DB) GetTenant(ctx context.Context, idOrDomain string) (t *galleon.Tenant, err error) {
	defer galleon.Wrap(&err, "GetTenant(%s)", idOrDomain)
	t = &galleon.Tenant{}
	var created string
	err = s.r().queryRow(ctx, `SELECT id, domain, display_name, created_at FROM tenants WHERE lower(id) = ? OR lower(domain) = ?
		ORDER BY created_at, id LIMIT 1`, galleon.Fold(idOrDomain), galleon.Fold(idOrDomain)).
		Scan(&t.ID, &t.Domain, &t.DisplayName, &created)
	if isNoRows(err) {
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "The tenant '%s' was not found.", idOrDomain)
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt, err = parseTS(created)
	return t, err
}
