// Package identity is Galleon's token issuer, a small Entra ID / AD FS
// look-alike: OpenID discovery documents for both authority styles, a JWKS,
// the token endpoint, RS256 access tokens and their verification, and the
// hashing of client secrets and passwords.
//
// Two authorities serve the same tenant, because the real clients need
// both (see CLIENT-CONTRACT.md §2):
//
//	https://HOST:PORT/adfs       az (MSAL-Python only works offline with AD FS)
//	https://HOST:PORT/{tenant}   the Azure SDKs, with instance discovery off
//
// Each mints tokens under its own issuer, and VerifyToken accepts both.
package identity

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// Directory is what the issuer needs to know about principals. Any
// galleon.DirectoryStore satisfies it; tests use a fake.
type Directory interface {
	// DefaultTenant returns the installation's tenant.
	DefaultTenant(ctx context.Context) (*galleon.Tenant, error)
	// ServicePrincipalByAppID returns a service principal and its secrets,
	// or a ResourceNotFound *galleon.Error.
	ServicePrincipalByAppID(ctx context.Context, appID string) (*galleon.Principal, []galleon.ClientSecret, error)
	// UserForSignIn returns the user a password sign-in names, or a
	// ResourceNotFound *galleon.Error.
	UserForSignIn(ctx context.Context, username string) (*galleon.DirectoryUser, error)
}

var _ Directory = galleon.Store(nil)

// Issuer issues and verifies access tokens and serves the identity
// endpoints. cmd/galleon assigns the fields once, before the first request;
// an Issuer is then safe for concurrent use.
type Issuer struct {
	// Key signs every token; its KeyID is published in the JWKS.
	Key *rsa.PrivateKey
	// PublicURL is the origin clients reach, e.g. https://127.0.0.1:8443,
	// without a trailing slash. Issuers and discovery URLs are built from
	// it, because MSAL requires the issuer's host to equal the authority's.
	PublicURL string
	// Audiences are the resources tokens may be requested for, compared
	// with trailing slashes normalised.
	Audiences []string
	Directory Directory
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TokenLifetime defaults to an hour, as Entra's.
	TokenLifetime time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Limits bounds failed sign-ins at the token endpoint: password grants
	// per user name and per client address, client secrets per client id
	// and per address (see limit.go). Nil means signinlimit.New(0), the
	// documented defaults.
	Limits *signinlimit.Limiter

	mu     sync.Mutex
	tenant *galleon.Tenant // cached: bootstrap creates it once, it never changes

	limitsOnce    sync.Once
	defaultLimits *signinlimit.Limiter

	verified verifiedCache
}

const (
	defaultLifetime = time.Hour
	// clockSkew is how far exp, nbf and iat may be off between the clocks
	// of the node that issued a token and the node that verifies it.
	clockSkew = time.Minute
)

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Issuer) lifetime() time.Duration {
	if i.TokenLifetime > 0 {
		return i.TokenLifetime
	}
	return defaultLifetime
}

func (i *Issuer) logger() *slog.Logger {
	if i.Logger != nil {
		return i.Logger
	}
	return slog.Default()
}

// ADFSIssuer is the issuer of the /adfs authority and of its tokens.
func (i *Issuer) ADFSIssuer() string { return i.PublicURL + "/adfs" }

// TenantIssuer is the issuer of the /{tenant} authority and of its tokens,
// in Entra's v2 form.
func (i *Issuer) TenantIssuer(tenantID string) string {
	return i.PublicURL + "/" + tenantID + "/v2.0"
}

// defaultTenant returns the directory's tenant. Only a successful answer is
// cached, so a lookup before bootstrap does not stick.
func (i *Issuer) defaultTenant(ctx context.Context) (*galleon.Tenant, error) {
	i.mu.Lock()
	t := i.tenant
	i.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := i.Directory.DefaultTenant(ctx)
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	i.tenant = t
	i.mu.Unlock()
	return t, nil
}

// resolveTenant maps an authority's {tenant} segment (the tenant id, its
// domain, "organizations" or "common") to the tenant, or returns nil.
func (i *Issuer) resolveTenant(ctx context.Context, segment string) (*galleon.Tenant, error) {
	t, err := i.defaultTenant(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.EqualFold(segment, t.ID),
		t.Domain != "" && strings.EqualFold(segment, t.Domain),
		strings.EqualFold(segment, "organizations"),
		strings.EqualFold(segment, "common"):
		return t, nil
	}
	return i.otherTenant(ctx, segment)
}

// acceptsAudience reports whether aud names one of Audiences. Entra treats
// https://management.core.windows.net and …/ as one resource; so do we.
func (i *Issuer) acceptsAudience(aud string) bool { return audienceIn(aud, i.Audiences) }

func audienceIn(aud string, audiences []string) bool {
	if aud == "" {
		return false
	}
	for _, a := range audiences {
		if strings.TrimRight(a, "/") == strings.TrimRight(aud, "/") {
			return true
		}
	}
	return false
}
