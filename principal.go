package galleon

import (
	"context"
	"time"
)

// Principal types, as ARM role assignments name them.
const (
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
)

// Principal is an authenticated caller: a service principal or a user.
// ObjectID is what role assignments refer to as principalId.
type Principal struct {
	ObjectID          string
	TenantID          string
	Type              string
	AppID             string // service principals: the client id
	UserPrincipalName string // users: admin@galleon.local
	DisplayName       string
}

// DisplayIdentity is how systemData names the principal.
func (p Principal) DisplayIdentity() string {
	if p.Type == PrincipalServicePrincipal {
		return p.AppID
	}
	if p.UserPrincipalName != "" {
		return p.UserPrincipalName
	}
	return p.ObjectID
}

// SystemDataType is ARM's createdByType for the principal.
func (p Principal) SystemDataType() string {
	if p.Type == PrincipalServicePrincipal {
		return "Application"
	}
	return "User"
}

type principalKey struct{}

// NewContextWithPrincipal returns a context carrying the authenticated caller.
func NewContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the caller set by NewContextWithPrincipal.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Tenant is a directory: the home of principals and subscriptions.
type Tenant struct {
	ID          string
	Domain      string // e.g. galleon.local; user principal names end in it
	DisplayName string
	CreatedAt   time.Time
}

// Subscription is a billing and authorization boundary holding resource groups.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
	State       string // Enabled
}

// ClientSecret is a service principal's credential; only its hash is kept.
type ClientSecret struct {
	ID          string
	PrincipalID string
	Hash        string // see identity.HashClientSecret
	Hint        string // the first characters, as Entra shows them
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// User is a directory user with a password hash.
type User struct {
	Principal
	PasswordHash string
	CreatedAt    time.Time
}

// Bootstrap is everything the first start of a Galleon installation creates.
type Bootstrap struct {
	Tenant           Tenant
	Subscription     Subscription
	ServicePrincipal Principal
	ClientSecret     ClientSecret
	Admin            User
	OwnerAssignment  RoleAssignment
	// AdminAssignment makes the admin user Owner of the subscription too,
	// so that a person signing in to the portal can do what the service
	// principal can; optional (an empty Name stores none).
	AdminAssignment RoleAssignment
}
