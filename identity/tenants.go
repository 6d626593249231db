package identity

import (
	"context"

	"github.com/galleon-project/galleon"
)

// An installation may hold tenants beside the one its first start
// bootstraps (galleon tenant create), for sharing galleries across
// tenants. Each is served at its own /{tenant} authority, and a token
// minted for a principal of any of them verifies. A directory that can
// find them implements tenantFinder (galleon.TenantStore does); one that
// cannot knows the default tenant only.
type tenantFinder interface {
	GetTenant(ctx context.Context, idOrDomain string) (*galleon.Tenant, error)
}

// otherTenant finds a tenant that is not the default one by id or domain;
// nil when there is none.
func (i *Issuer) otherTenant(ctx context.Context, idOrDomain string) (*galleon.Tenant, error) {
	f, ok := i.Directory.(tenantFinder)
	if !ok || idOrDomain == "" {
		return nil, nil
	}
	t, err := f.GetTenant(ctx, idOrDomain)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil, nil
	}
	return t, err
}
