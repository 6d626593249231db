package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/identity"
	"github.com/galleon-project/galleon/sqlstore"
)

// galleon tenant create adds a further tenant to an installation: a
// directory with one subscription and a service principal that owns it,
// the consumer side of sharing a gallery with another tenant. It writes to
// the installation's database directly, as the first start does: whoever
// can open the data folder (or holds the PostgreSQL URL) administers the
// installation already, so no API has to be opened for it. The client
// secret is printed once and kept only as a hash.

func newTenantCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Administer the installation's tenants",
	}
	cmd.AddCommand(newTenantCreateCommand())
	return cmd
}

// NewTenantCredentials is what tenant create prints: the new tenant's ids
// and its owner's client secret (field names as in credentials.json).
type NewTenantCredentials struct {
	TenantID                 string `json:"tenantId"`
	Domain                   string `json:"domain"`
	SubscriptionID           string `json:"subscriptionId"`
	ClientID                 string `json:"clientId"`
	ClientSecret             string `json:"clientSecret"`
	ServicePrincipalObjectID string `json:"servicePrincipalObjectId"`
}

func newTenantCreateCommand() *cobra.Command {
	var dataDir, database, name, domain, output string
	cmd := &cobra.Command{
		Use:   "create --domain DOMAIN [--name NAME]",
		Short: "Create a tenant with a subscription and a service principal owning it; prints the client secret once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			if err := galleon.ValidateTenantDomain(domain); err != nil {
				return errors.New(galleonMessage(err))
			}
			if name == "" {
				name = domain
			}
			ctx := cmd.Context()
			store, err := openAdminStore(ctx, dataDir, database)
			if err != nil {
				return err
			}
			defer store.Close()
			t, secret, err := newTenant(name, domain, time.Now().UTC())
			if err != nil {
				return err
			}
			if err := store.CreateTenant(ctx, t); err != nil {
				return errors.New(galleonMessage(err))
			}
			creds := &NewTenantCredentials{TenantID: t.Tenant.ID, Domain: t.Tenant.Domain, SubscriptionID: t.Subscription.ID,
				ClientID: t.ServicePrincipal.AppID, ClientSecret: secret, ServicePrincipalObjectID: t.ServicePrincipal.ObjectID}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(creds)
			}
			printNewTenant(cmd.OutOrStdout(), creds)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "./galleon-data", "data folder of the installation")
	f.StringVar(&database, "database", "", "database URL (default: SQLite file <data>/galleon.db)")
	f.StringVar(&domain, "domain", "", "the tenant's domain, e.g. contoso.example (required, unique)")
	f.StringVar(&name, "name", "", "the tenant's display name (default: the domain)")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	_ = cmd.MarkFlagRequired("domain")
	return cmd
}

// openAdminStore opens the installation's database, which must have been
// bootstrapped by galleon serve.
func openAdminStore(ctx context.Context, dataDir, database string) (*sqlstore.DB, error) {
	if database == "" {
		database = filepath.Join(dataDir, "galleon.db")
		if _, err := os.Stat(database); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: run `galleon serve --data %s` once first, or give --database", database, dataDir)
		}
	}
	store, err := sqlstore.Open(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	if _, err := store.DefaultTenant(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("the installation is not set up: run `galleon serve` once first (%w)", err)
	}
	return store, nil
}

// newTenant makes a tenant, its subscription and an owning service
// principal with a client secret valid for two years, as the first start
// makes the installation's own; it returns the secret in plain text.
func newTenant(name, domain string, now time.Time) (*galleon.NewTenant, string, error) {
	secret, err := identity.NewClientSecret()
	if err != nil {
		return nil, "", err
	}
	tenantID, subID := uuid.NewString(), uuid.NewString()
	sp := galleon.Principal{ObjectID: uuid.NewString(), TenantID: tenantID, Type: galleon.PrincipalServicePrincipal,
		AppID: uuid.NewString(), DisplayName: "galleon-" + domain}
	return &galleon.NewTenant{
		Tenant:           galleon.Tenant{ID: tenantID, Domain: domain, DisplayName: name, CreatedAt: now},
		Subscription:     galleon.Subscription{ID: subID, TenantID: tenantID, DisplayName: name, State: "Enabled"},
		ServicePrincipal: sp,
		ClientSecret: galleon.ClientSecret{ID: uuid.NewString(), PrincipalID: sp.ObjectID, Hash: identity.HashClientSecret(secret),
			Hint: secret[:3], ExpiresAt: now.AddDate(2, 0, 0), CreatedAt: now},
		OwnerAssignment: galleon.RoleAssignment{Name: uuid.NewString(), Scope: galleon.SubscriptionScope(subID),
			RoleDefinitionID: galleon.RoleDefinitionID(subID, galleon.RoleOwner), PrincipalID: sp.ObjectID,
			PrincipalType: galleon.PrincipalServicePrincipal, CreatedOn: now, CreatedBy: "galleon tenant create"},
	}, secret, nil
}

func printNewTenant(w io.Writer, c *NewTenantCredentials) {
	fmt.Fprintf(w, `tenant %s (%s)
  subscription:  %s
  client id:     %s (Owner on the subscription)
  client secret: %s
The secret is shown only now. Sign in with the tenant's own authority, e.g.
  az login --service-principal -u %s -p <secret> --tenant %s
`, c.TenantID, c.Domain, c.SubscriptionID, c.ClientID, c.ClientSecret, c.ClientID, c.TenantID)
}

// galleonMessage is how a domain error reads on a terminal.
func galleonMessage(err error) string {
	var e *galleon.Error
	if errors.As(err, &e) {
		return e.Code + ": " + e.Message
	}
	return err.Error()
}
