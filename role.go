package galleon

import (
	"context"
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

// Built-in role definition GUIDs, as Azure numbers them.
const (
	RoleOwner       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
)

// RoleDefinitionID returns the subscription-scoped id of a role definition.
func RoleDefinitionID(subscriptionID, guid string) string {
	return SubscriptionScope(subscriptionID) + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

// Authorizer decides whether a principal may perform an action at a scope.
// Every ARM route calls it exactly once; it returns an AuthorizationFailed
// *Error when the answer is no.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, action, scope string) error
}
