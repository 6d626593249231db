// Package authz evaluates role-based access control: which role
// definitions exist, whether one grants an action, and whether an
// assignment at one scope covers another. Evaluation is pure; the
// Authorizer at the bottom reads assignments through a narrow interface.
package authz

import (
	"context"
	"strings"

	"github.com/galleon-project/galleon"
)

// Permission is one permission block of a role definition.
type Permission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// RoleDefinition is a built-in or custom role.
type RoleDefinition struct {
	ID          string // the GUID
	RoleName    string
	Description string
	RoleType    string // BuiltInRole or CustomRole
	Permissions []Permission
}

// Allows reports whether the role grants a control-plane action.
func (d *RoleDefinition) Allows(action string) bool {
	for _, p := range d.Permissions {
		if matchesAny(p.Actions, action) && !matchesAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

func matchesAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if MatchAction(p, action) {
			return true
		}
	}
	return false
}

// MatchAction matches an action against a pattern in which '*' stands for
// any run of characters, '/' included, case-insensitively, as Azure does:
// "*/read" matches "Microsoft.Compute/galleries/read".
func MatchAction(pattern, action string) bool {
	return globMatch(strings.ToLower(pattern), strings.ToLower(action))
}

func globMatch(p, s string) bool {
	// Iterative matching with backtracking to the last star keeps this
	// linear-ish and free of recursion on hostile patterns.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Covers reports whether an assignment at scope applies at target: the same
// scope or any scope below it, compared case-insensitively on whole
// segments.
func Covers(scope, target string) bool {
	s := strings.ToLower(strings.TrimRight(scope, "/"))
	t := strings.ToLower(strings.TrimRight(target, "/"))
	if s == "" { // the root scope "/"
		return true
	}
	return t == s || strings.HasPrefix(t, s+"/")
}

// DefinitionGUID returns the last segment of a role definition id.
func DefinitionGUID(roleDefinitionID string) string {
	return roleDefinitionID[strings.LastIndex(roleDefinitionID, "/")+1:]
}

// Allowed reports whether any of the assignments grants action at scope.
func Allowed(assignments []galleon.RoleAssignment, lookup func(guid string) (*RoleDefinition, bool), action, scope string) bool {
	for _, a := range assignments {
		if !Covers(a.Scope, scope) {
			continue
		}
		if def, ok := lookup(DefinitionGUID(a.RoleDefinitionID)); ok && def.Allows(action) {
			return true
		}
	}
	return false
}

// AssignmentLister is what the Authorizer needs from the store.
type AssignmentLister interface {
	ListRoleAssignmentsForPrincipals(ctx context.Context, principalIDs []string) ([]galleon.RoleAssignment, error)
}

// Authorizer implements galleon.Authorizer over stored role assignments and
// the built-in role definitions.
type Authorizer struct {
	Assignments AssignmentLister
}

var _ galleon.Authorizer = (*Authorizer)(nil)

// Authorize returns nil when p may perform action at scope, and
// AuthorizationFailed in Azure's words when not.
func (a *Authorizer) Authorize(ctx context.Context, p galleon.Principal, action, scope string) error {
	assignments, err := a.Assignments.ListRoleAssignmentsForPrincipals(ctx, []string{p.ObjectID})
	if err != nil {
		return err
	}
	if Allowed(assignments, BuiltInByGUID, action, scope) {
		return nil
	}
	return galleon.Errorf(galleon.CodeAuthorizationFailed,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		p.DisplayIdentity(), p.ObjectID, action, scope)
}
