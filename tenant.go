package galleon

import (
	"context"
	"regexp"
)

// NewTenant is a further tenant of an installation, beside the one the
// first start bootstraps: a directory with one subscription and a service
// principal (with one client secret) holding Owner on it. Sharing a
// gallery with another tenant or subscription needs one.
type NewTenant struct {
	Tenant           Tenant
	Subscription     Subscription
	ServicePrincipal Principal
	ClientSecret     ClientSecret
	OwnerAssignment  RoleAssignment
}

var tenantDomainPattern = regexp.MustCompile(`^(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$`)

// ValidateTenantDomain checks a tenant's domain name: DNS labels separated
// by dots, at least two of them, at most 253 characters.
func ValidateTenantDomain(domain string) error {
	if len(domain) <= 253 && tenantDomainPattern.MatchString(domain) {
		return nil
	}
	return TargetErrorf(CodeInvalidParameter, "domain",
		"The domain '%s' is invalid: it must be a DNS name of at least two labels (letters, digits and dashes), such as contoso.example.", domain)
}

// TenantStore creates and finds tenants.
type TenantStore interface {
	// CreateTenant stores t in one transaction. A tenant whose domain is
	// taken (case-insensitively) is Conflict (target domain).
	CreateTenant(ctx context.Context, t *NewTenant) error
	// GetTenant finds a tenant by id or domain, case-insensitively, or
	// answers ResourceNotFound.
	GetTenant(ctx context.Context, idOrDomain string) (*Tenant, error)
}
