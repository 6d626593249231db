package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/identity"
)

const tenantDomain = "galleon.local"

// bootstrap creates the tenant, subscription, service principal (Owner on
// the subscription) and admin user on the first start, and on every start
// refreshes the endpoints in credentials.json while keeping its secrets.
//
// The plaintext secrets exist only in credentials.json; the store keeps
// hashes. They are written before the store commits, so a crash in between
// leaves a file whose secrets a later start finds unused and replaces.
func (m *Main) bootstrap(ctx context.Context, publicURL, audience string) (*Credentials, error) {
	dataDir := m.Config.DataDir
	now := time.Now().UTC()
	endpoints := func(c *Credentials) {
		c.ResourceManagerEndpoint = publicURL + "/"
		c.AuthorityHost = publicURL + "/"
		c.ADFSAuthority = publicURL + "/adfs"
		c.Audience = audience
		c.GraphEndpoint = publicURL + "/"
		c.CACertificate = m.TLS.CAPath
	}

	if _, err := m.Store.DefaultTenant(ctx); err == nil {
		c, err := readCredentials(dataDir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the database is bootstrapped but %s is missing from %s; restore it from a backup", credentialsFile, dataDir)
		}
		if err != nil {
			return nil, err
		}
		endpoints(c)
		return c, writeCredentials(dataDir, c)
	}

	secret, err := identity.NewClientSecret()
	if err != nil {
		return nil, err
	}
	password, err := identity.NewPassword()
	if err != nil {
		return nil, err
	}
	passwordHash, err := identity.HashPassword(password)
	if err != nil {
		return nil, err
	}
	tenantID, subID := uuid.NewString(), uuid.NewString()
	sp := galleon.Principal{ObjectID: uuid.NewString(), TenantID: tenantID, Type: galleon.PrincipalServicePrincipal,
		AppID: uuid.NewString(), DisplayName: "galleon-bootstrap"}
	admin := galleon.User{
		Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tenantID, Type: galleon.PrincipalUser,
			UserPrincipalName: "admin@" + tenantDomain, DisplayName: "Galleon Administrator"},
		PasswordHash: passwordHash, CreatedAt: now,
	}
	b := &galleon.Bootstrap{
		Tenant:           galleon.Tenant{ID: tenantID, Domain: tenantDomain, DisplayName: "Galleon", CreatedAt: now},
		Subscription:     galleon.Subscription{ID: subID, TenantID: tenantID, DisplayName: "Galleon", State: "Enabled"},
		ServicePrincipal: sp,
		ClientSecret: galleon.ClientSecret{ID: uuid.NewString(), PrincipalID: sp.ObjectID, Hash: identity.HashClientSecret(secret),
			Hint: secret[:3], ExpiresAt: now.AddDate(2, 0, 0), CreatedAt: now},
		Admin: admin,
		OwnerAssignment: galleon.RoleAssignment{Name: uuid.NewString(), Scope: galleon.SubscriptionScope(subID),
			RoleDefinitionID: galleon.RoleDefinitionID(subID, galleon.RoleOwner), PrincipalID: sp.ObjectID,
			PrincipalType: galleon.PrincipalServicePrincipal, CreatedOn: now, CreatedBy: "galleon bootstrap"},
	}
	c := &Credentials{
		TenantID: tenantID, SubscriptionID: subID, ClientID: sp.AppID, ClientSecret: secret,
		ServicePrincipalObjectID: sp.ObjectID, AdminUserPrincipalName: admin.UserPrincipalName, AdminPassword: password,
	}
	endpoints(c)
	if err := writeCredentials(dataDir, c); err != nil {
		return nil, err
	}
	created, err := m.Store.Bootstrap(ctx, b)
	if err != nil {
		return nil, err
	}
	if !created {
		// Another node bootstrapped the shared database first.
		return nil, errors.New("another node bootstrapped this database concurrently; start again")
	}
	m.Logger.Info("bootstrapped a new installation", slog.String("tenant", tenantID),
		slog.String("subscription", subID), slog.String("credentials", filepath.Join(dataDir, credentialsFile)))
	return c, nil
}
