package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
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
// hashes. They are written to credentials.json.pending before the store
// commits and renamed after; a crash between the commit and the rename
// leaves the pending file for an operator to rename by hand.
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

	if tenant, err := m.Store.DefaultTenant(ctx); err == nil {
		return m.joinInstallation(ctx, tenant, endpoints)
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
		AdminAssignment: galleon.RoleAssignment{Name: uuid.NewString(), Scope: galleon.SubscriptionScope(subID),
			RoleDefinitionID: galleon.RoleDefinitionID(subID, galleon.RoleOwner), PrincipalID: admin.ObjectID,
			PrincipalType: galleon.PrincipalUser, CreatedOn: now, CreatedBy: "galleon bootstrap"},
	}
	c := &Credentials{
		TenantID: tenantID, SubscriptionID: subID, ClientID: sp.AppID, ClientSecret: secret,
		ServicePrincipalObjectID: sp.ObjectID, AdminUserPrincipalName: admin.UserPrincipalName, AdminPassword: password,
	}
	endpoints(c)
	// credentials.json holds the only copy of another installation's
	// secrets: never replace it with a new one's (checkInstallation
	// refuses such a start already; this holds whatever path gets here).
	if _, err := os.Stat(filepath.Join(dataDir, credentialsFile)); err == nil {
		return nil, fmt.Errorf("%s exists in %s but the database has no installation: refusing to replace it", credentialsFile, dataDir)
	}
	// The secrets are written before the store commits, under a name that a
	// restart ignores, so a crash in between loses nothing that was stored.
	pending := credentialsFile + ".pending"
	if err := writeCredentialsAs(dataDir, pending, c); err != nil {
		return nil, err
	}
	created, err := m.Store.Bootstrap(ctx, b)
	if err != nil {
		return nil, err
	}
	if !created {
		// Another node bootstrapped the shared database first: join it.
		os.Remove(filepath.Join(dataDir, pending))
		tenant, err := m.Store.DefaultTenant(ctx)
		if err != nil {
			return nil, err
		}
		return m.joinInstallation(ctx, tenant, endpoints)
	}
	if err := os.Rename(filepath.Join(dataDir, pending), filepath.Join(dataDir, credentialsFile)); err != nil {
		return nil, err
	}
	m.Logger.Info("bootstrapped a new installation", slog.String("tenant", tenantID),
		slog.String("subscription", subID), slog.String("credentials", filepath.Join(dataDir, credentialsFile)))
	return c, nil
}

// joinInstallation starts a node on a database that is bootstrapped
// already: this node's own earlier start, or another node of a cluster. A
// node that has no credentials.json of its own writes one with the ids and
// endpoints but no secrets, which exist only where the installation was
// bootstrapped.
func (m *Main) joinInstallation(ctx context.Context, tenant *galleon.Tenant, endpoints func(*Credentials)) (*Credentials, error) {
	dataDir := m.Config.DataDir
	c, err := readCredentials(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		subs, err := m.Store.ListSubscriptions(ctx, tenant.ID)
		if err != nil {
			return nil, err
		}
		c = &Credentials{TenantID: tenant.ID}
		if len(subs) > 0 {
			c.SubscriptionID = subs[0].ID
		}
		m.Logger.Warn("this node joined an installation bootstrapped elsewhere; its credentials.json has no secrets: copy them from the node that bootstrapped it",
			slog.String("tenant", tenant.ID))
	} else if err != nil {
		return nil, err
	}
	endpoints(c)
	return c, writeCredentials(dataDir, c)
}
