package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/galleon-project/galleon"
)

// Bootstrap stores b unless a tenant exists; see galleon.DirectoryStore.
func (s *DB) Bootstrap(ctx context.Context, b *galleon.Bootstrap) (created bool, err error) {
	defer galleon.Wrap(&err, "Bootstrap")
	err = s.transact(ctx, func(tx *tx) error {
		created = false
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		t := b.Tenant
		if _, err := tx.exec(ctx, `INSERT INTO tenants (id, domain, display_name, created_at) VALUES (?, ?, ?, ?)`,
			t.ID, t.Domain, t.DisplayName, ts(t.CreatedAt)); err != nil {
			return err
		}
		sub := b.Subscription
		// Subscription ids are GUIDs that ARM compares case-insensitively;
		// GetSubscription looks them up folded, so they are stored folded.
		if _, err := tx.exec(ctx, `INSERT INTO subscriptions (id, tenant_id, display_name, state) VALUES (?, ?, ?, ?)`,
			galleon.Fold(sub.ID), sub.TenantID, sub.DisplayName, sub.State); err != nil {
			return err
		}
		if err := insertPrincipal(ctx, tx, b.ServicePrincipal, "", time.Time{}); err != nil {
			return err
		}
		cs := b.ClientSecret
		if _, err := tx.exec(ctx, `INSERT INTO client_secrets (id, principal_id, hash, hint, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			cs.ID, cs.PrincipalID, cs.Hash, cs.Hint, ts(cs.ExpiresAt), ts(cs.CreatedAt)); err != nil {
			return err
		}
		if err := insertPrincipal(ctx, tx, b.Admin.Principal, b.Admin.PasswordHash, b.Admin.CreatedAt); err != nil {
			return err
		}
		if err := insertRoleAssignment(ctx, tx, &b.OwnerAssignment); err != nil {
			return err
		}
		if b.AdminAssignment.Name != "" {
			if err := insertRoleAssignment(ctx, tx, &b.AdminAssignment); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	return created, err
}

// insertPrincipal stores p, created at createdAt or, when that is zero, now.
func insertPrincipal(ctx context.Context, tx *tx, p galleon.Principal, passwordHash string, createdAt time.Time) error {
	if createdAt.IsZero() {
		createdAt = tx.now
	}
	var appID, upn, upnFold, pw sql.NullString
	if p.AppID != "" {
		appID = sql.NullString{String: p.AppID, Valid: true}
	}
	if p.UserPrincipalName != "" {
		upn = sql.NullString{String: p.UserPrincipalName, Valid: true}
		upnFold = sql.NullString{String: galleon.Fold(p.UserPrincipalName), Valid: true}
	}
	if passwordHash != "" {
		pw = sql.NullString{String: passwordHash, Valid: true}
	}
	var userType string
	if p.Type == galleon.PrincipalUser {
		userType = galleon.UserTypeMember
	}
	_, err := tx.exec(ctx, `INSERT INTO principals (object_id, tenant_id, type, app_id, upn, upn_fold, display_name, password_hash, created_at, display_name_fold, user_type)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ObjectID, p.TenantID, p.Type, appID, upn, upnFold, p.DisplayName, pw, ts(createdAt), galleon.Fold(p.DisplayName), userType)
	return err
}

// ErrNoTenant is DefaultTenant's answer for a database no installation
// was bootstrapped in (an empty one).
var ErrNoTenant = errors.New("the store has no tenant: the installation has not been bootstrapped")

// DefaultTenant returns the first tenant created.
func (s *DB) DefaultTenant(ctx context.Context) (t *galleon.Tenant, err error) {
	defer galleon.Wrap(&err, "DefaultTenant")
	t = &galleon.Tenant{}
	var created string
	err = s.r().queryRow(ctx, `SELECT id, domain, display_name, created_at FROM tenants ORDER BY created_at, id LIMIT 1`).
		Scan(&t.ID, &t.Domain, &t.DisplayName, &created)
	if isNoRows(err) {
		// Not a domain error: no client request can be answered "not
		// found" for this; the installation is not set up (store.go).
		return nil, ErrNoTenant
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt, err = parseTS(created)
	return t, err
}

// GetSubscription returns the subscription, or SubscriptionNotFound.
func (s *DB) GetSubscription(ctx context.Context, id string) (sub *galleon.Subscription, err error) {
	defer galleon.Wrap(&err, "GetSubscription(%s)", id)
	sub = &galleon.Subscription{}
	err = s.r().queryRow(ctx, `SELECT id, tenant_id, display_name, state FROM subscriptions WHERE id = ?`, galleon.Fold(id)).
		Scan(&sub.ID, &sub.TenantID, &sub.DisplayName, &sub.State)
	if isNoRows(err) {
		return nil, galleon.Errorf(galleon.CodeSubscriptionNotFound, "The subscription '%s' could not be found.", id)
	}
	return sub, err
}

// ListSubscriptions lists the subscriptions of a tenant.
func (s *DB) ListSubscriptions(ctx context.Context, tenantID string) (subs []galleon.Subscription, err error) {
	defer galleon.Wrap(&err, "ListSubscriptions(%s)", tenantID)
	rows, err := s.r().query(ctx, `SELECT id, tenant_id, display_name, state FROM subscriptions WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sub galleon.Subscription
		if err := rows.Scan(&sub.ID, &sub.TenantID, &sub.DisplayName, &sub.State); err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, rows.Err()
}

const principalColumns = `object_id, tenant_id, type, COALESCE(app_id, ''), COALESCE(upn, ''), display_name, COALESCE(password_hash, ''), created_at`

func scanUser(row interface{ Scan(...any) error }) (*galleon.User, error) {
	var u galleon.User
	var created string
	if err := row.Scan(&u.ObjectID, &u.TenantID, &u.Type, &u.AppID, &u.UserPrincipalName, &u.DisplayName, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	var err error
	u.CreatedAt, err = parseTS(created)
	return &u, err
}

// ServicePrincipalByAppID returns a service principal and its secrets.
func (s *DB) ServicePrincipalByAppID(ctx context.Context, appID string) (p *galleon.Principal, secrets []galleon.ClientSecret, err error) {
	defer galleon.Wrap(&err, "ServicePrincipalByAppID(%s)", appID)
	// A disabled service principal cannot sign in: it is not found.
	u, err := scanUser(s.r().queryRow(ctx, `SELECT `+principalColumns+` FROM principals WHERE app_id = ? AND type = ? AND account_enabled = 1`,
		appID, galleon.PrincipalServicePrincipal))
	if isNoRows(err) {
		return nil, nil, galleon.Errorf(galleon.CodeResourceNotFound, "No service principal has the application id '%s'.", appID)
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.r().query(ctx, `SELECT id, principal_id, hash, hint, expires_at, created_at FROM client_secrets WHERE principal_id = ? ORDER BY created_at`, u.ObjectID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var cs galleon.ClientSecret
		var exp, created string
		if err := rows.Scan(&cs.ID, &cs.PrincipalID, &cs.Hash, &cs.Hint, &exp, &created); err != nil {
			return nil, nil, err
		}
		if cs.ExpiresAt, err = parseTS(exp); err != nil {
			return nil, nil, err
		}
		if cs.CreatedAt, err = parseTS(created); err != nil {
			return nil, nil, err
		}
		secrets = append(secrets, cs)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows.Close()
	// Secrets added through Graph, to the service principal or to its
	// application (principals.go).
	added, err := passwordCredentialsOfApp(ctx, s.r(), appID)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range added {
		secrets = append(secrets, galleon.ClientSecret{ID: c.KeyID, PrincipalID: c.OwnerID, Hash: c.Hash, Hint: c.Hint,
			ExpiresAt: c.EndDateTime, CreatedAt: c.StartDateTime})
	}
	return &u.Principal, secrets, nil
}

// UserByPrincipalName looks a user up case-insensitively.
func (s *DB) UserByPrincipalName(ctx context.Context, upn string) (u *galleon.User, err error) {
	defer galleon.Wrap(&err, "UserByPrincipalName(%s)", upn)
	u, err = scanUser(s.r().queryRow(ctx, `SELECT `+principalColumns+` FROM principals WHERE upn_fold = ? AND type = ?`,
		galleon.Fold(upn), galleon.PrincipalUser))
	if isNoRows(err) {
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "No user has the principal name '%s'.", upn)
	}
	return u, err
}
