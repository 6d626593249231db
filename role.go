package galleon

import (
	"context"
	"strings"
	"time"
)

// RoleAssignment grants a role definition to a principal at a scope; it is
// inherited by every scope below.
type RoleAssignment struct {
	Name             string // a GUID, the last segment of the id
	Scope            string // canonical ARM id
	RoleDefinitionID string // /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}
	PrincipalID      string
	PrincipalType    string
	CreatedOn        time.Time
	CreatedBy        string
}

// ID is the assignment's ARM id: {scope}/providers/Microsoft.Authorization/roleAssignments/{name}.
func (a *RoleAssignment) ID() string {
	return strings.TrimRight(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name
}

// RoleDefinitionGUID is the last segment of the assignment's role definition id.
func (a *RoleAssignment) RoleDefinitionGUID() string {
	return a.RoleDefinitionID[strings.LastIndex(a.RoleDefinitionID, "/")+1:]
}

// Built-in role definition GUIDs, as Azure numbers them.
const (
	RoleOwner                      = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor                = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator    = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleComputeGallerySharingAdmin = "1ef6a3be-d0ac-425d-8c01-acb62866290b"
	// RoleComputeGalleryImageDownloader is Galleon's own built-in role (not
	// one of Azure's): read a gallery and download its versions' bytes.
	RoleComputeGalleryImageDownloader = "5d1f7c0e-6a3b-4f0e-9a52-9a4c5a7e0d11"
)

// Role types.
const (
	BuiltInRole = "BuiltInRole"
	CustomRole  = "CustomRole"
)

// RoleDefinition is a built-in or custom role: what its holders may do.
type RoleDefinition struct {
	ID               string // the GUID
	RoleName         string
	Description      string
	RoleType         string // BuiltInRole or CustomRole
	Permissions      []RolePermission
	AssignableScopes []string
	CreatedOn        time.Time
	CreatedBy        string
}

// RolePermission is one permission block of a role definition: control
// plane actions and data actions, each minus its exclusions. Patterns use
// '*' as Azure does.
type RolePermission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleDefinitionID returns the subscription-scoped id of a role definition.
func RoleDefinitionID(subscriptionID, guid string) string {
	return SubscriptionScope(subscriptionID) + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

// Authorizer decides whether a principal may perform an action at a scope.
// Every ARM route calls it exactly once; it returns an AuthorizationFailed
// *Error when the answer is no.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, action, scope string) error
	// Permissions loads everything p holds (through its groups too), for
	// the many checks of one request: filtering a list, or checking that
	// a role being granted is one the caller holds.
	Permissions(ctx context.Context, p Principal) (Permissions, error)
}

// Permissions answers questions about one principal's effective roles.
type Permissions interface {
	// Allows reports whether a control-plane action is granted at scope.
	Allows(action, scope string) bool
	// AllowsData reports whether a data action is granted at scope.
	AllowsData(dataAction, scope string) bool
	// AllowsBelow reports whether the action is granted at scope or at any
	// scope below it: whether a list at scope can show the caller anything.
	AllowsBelow(action, scope string) bool
	// GrantedBelow returns the scopes strictly under scope at which the
	// action is granted: what a list at scope that the caller may not read
	// as a whole may show it is exactly what lies at or under one of them.
	GrantedBelow(action, scope string) []string
	// Holds reports whether the principal's roles at scope cover every
	// action and data action of def, so that granting def is no escalation.
	Holds(def *RoleDefinition, scope string) bool
}

// Denied is the AuthorizationFailed error, in Azure's words.
func Denied(p Principal, action, scope string) *Error {
	return Errorf(CodeAuthorizationFailed,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		p.DisplayIdentity(), p.ObjectID, action, scope)
}

// AuditEvent records one write or denied call.
type AuditEvent struct {
	ID             string
	At             time.Time
	SubscriptionID string
	PrincipalID    string
	PrincipalName  string
	Action         string
	Scope          string
	Method         string
	Status         int
	Result         string // Succeeded, Failed or Denied
	CorrelationID  string
}
