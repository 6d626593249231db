// Package authz evaluates role-based access control: which role
// definitions exist, whether one grants an action, whether an assignment
// at one scope covers another, and whether a role is one a principal
// already holds. Evaluation is pure; the Authorizer at the bottom reads
// assignments, custom roles and group memberships through narrow
// interfaces.
package authz

import (
	"context"
	"strings"

	"github.com/galleon-project/galleon"
)

// RoleDefinition and Permission are the domain's; the aliases keep this
// package's vocabulary short.
type (
	RoleDefinition = galleon.RoleDefinition
	Permission     = galleon.RolePermission
)

// Allows reports whether the role grants a control-plane action: some
// permission block lists it in actions and not in notActions.
func Allows(d *RoleDefinition, action string) bool {
	for _, p := range d.Permissions {
		if matchesAny(p.Actions, action) && !matchesAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// AllowsData is Allows for data actions.
func AllowsData(d *RoleDefinition, dataAction string) bool {
	for _, p := range d.Permissions {
		if matchesAny(p.DataActions, dataAction) && !matchesAny(p.NotDataActions, dataAction) {
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

// overlaps reports whether two patterns can match a common action, as far
// as it matters here: one matches the other read literally. "*" overlaps
// everything; "Microsoft.Authorization/*/Write" overlaps "*" and
// "Microsoft.Authorization/roleAssignments/write".
func overlaps(a, b string) bool { return MatchAction(a, b) || MatchAction(b, a) }

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

// DefinitionGUID returns the last segment of a role definition id, lower-cased.
func DefinitionGUID(roleDefinitionID string) string {
	return strings.ToLower(roleDefinitionID[strings.LastIndex(roleDefinitionID, "/")+1:])
}

// Grant is one role held at one scope.
type Grant struct {
	Scope string
	Role  *RoleDefinition
}

// Effective is everything one principal holds, directly and through its
// groups. It implements galleon.Permissions.
type Effective struct {
	Grants []Grant
}

var _ galleon.Permissions = (*Effective)(nil)

// Allows reports whether a grant at or above scope allows action.
func (e *Effective) Allows(action, scope string) bool {
	for _, g := range e.Grants {
		if Covers(g.Scope, scope) && Allows(g.Role, action) {
			return true
		}
	}
	return false
}

// AllowsData reports whether a grant at or above scope allows dataAction.
func (e *Effective) AllowsData(dataAction, scope string) bool {
	for _, g := range e.Grants {
		if Covers(g.Scope, scope) && AllowsData(g.Role, dataAction) {
			return true
		}
	}
	return false
}

// AllowsBelow reports whether action is allowed at scope or anywhere under it.
func (e *Effective) AllowsBelow(action, scope string) bool {
	for _, g := range e.Grants {
		if (Covers(g.Scope, scope) || Covers(scope, g.Scope)) && Allows(g.Role, action) {
			return true
		}
	}
	return false
}

// GrantedBelow returns the scopes strictly under scope where a grant
// allows action.
func (e *Effective) GrantedBelow(action, scope string) []string {
	var out []string
	for _, g := range e.Grants {
		if Covers(scope, g.Scope) && !Covers(g.Scope, scope) && Allows(g.Role, action) {
			out = append(out, g.Scope)
		}
	}
	return out
}

// Holds reports whether granting def at scope gives nothing the principal
// lacks there: every action pattern of def lies within an action pattern
// of a role the principal holds at or above scope, and def excludes
// whatever that role excludes where they meet; likewise for data actions.
// This is stricter than Azure (where User Access Administrator may grant
// Owner): in Galleon nobody grants more than they hold.
func (e *Effective) Holds(def *RoleDefinition, scope string) bool {
	var held []*RoleDefinition
	for _, g := range e.Grants {
		if Covers(g.Scope, scope) {
			held = append(held, g.Role)
		}
	}
	for _, p := range def.Permissions {
		for _, a := range p.Actions {
			if !coveredBy(held, a, p.NotActions, false) {
				return false
			}
		}
		for _, a := range p.DataActions {
			if !coveredBy(held, a, p.NotDataActions, true) {
				return false
			}
		}
	}
	return true
}

// coveredBy reports whether some held permission block contains pattern
// (with the grant's own exclusions, excl) in its actions or data actions.
func coveredBy(held []*RoleDefinition, pattern string, excl []string, data bool) bool {
	for _, r := range held {
		for _, p := range r.Permissions {
			actions, not := p.Actions, p.NotActions
			if data {
				actions, not = p.DataActions, p.NotDataActions
			}
			if !matchesAny(actions, pattern) {
				continue
			}
			ok := true
			for _, n := range not {
				if overlaps(n, pattern) && !matchesAny(excl, n) {
					ok = false // the holder is denied part of what the grant gives
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// AssignmentLister is what the Authorizer needs from the store.
type AssignmentLister interface {
	ListRoleAssignmentsForPrincipals(ctx context.Context, principalIDs []string) ([]galleon.RoleAssignment, error)
}

// RoleLookup finds custom role definitions by GUID.
type RoleLookup interface {
	GetRoleDefinition(ctx context.Context, guid string) (*galleon.RoleDefinition, error)
}

// GroupResolver returns the groups a principal belongs to, directly or
// through nested groups.
type GroupResolver interface {
	TransitiveGroupsOf(ctx context.Context, objectID string) ([]string, error)
}

// Authorizer implements galleon.Authorizer over stored role assignments,
// the built-in roles and custom roles. Roles and Groups may be nil: no
// custom roles, no groups.
type Authorizer struct {
	Assignments AssignmentLister
	Roles       RoleLookup
	Groups      GroupResolver
}

var _ galleon.Authorizer = (*Authorizer)(nil)

// Authorize returns nil when p may perform action at scope, and
// AuthorizationFailed in Azure's words when not.
func (a *Authorizer) Authorize(ctx context.Context, p galleon.Principal, action, scope string) error {
	e, err := a.effective(ctx, p)
	if err != nil {
		return err
	}
	if e.Allows(action, scope) {
		return nil
	}
	return galleon.Denied(p, action, scope)
}

// Permissions loads what p holds.
func (a *Authorizer) Permissions(ctx context.Context, p galleon.Principal) (galleon.Permissions, error) {
	return a.effective(ctx, p)
}

func (a *Authorizer) effective(ctx context.Context, p galleon.Principal) (*Effective, error) {
	ids := []string{p.ObjectID}
	if a.Groups != nil {
		groups, err := a.Groups.TransitiveGroupsOf(ctx, p.ObjectID)
		if err != nil {
			return nil, err
		}
		ids = append(ids, groups...)
	}
	assignments, err := a.Assignments.ListRoleAssignmentsForPrincipals(ctx, ids)
	if err != nil {
		return nil, err
	}
	e := &Effective{}
	custom := map[string]*RoleDefinition{}
	for _, as := range assignments {
		guid := DefinitionGUID(as.RoleDefinitionID)
		role, ok := BuiltInByGUID(guid)
		if !ok && a.Roles != nil {
			if role, ok = custom[guid]; !ok {
				d, err := a.Roles.GetRoleDefinition(ctx, guid)
				if galleon.ErrorCode(err) == galleon.CodeRoleDefinitionNotFound {
					continue // deleted meanwhile: grants nothing
				}
				if err != nil {
					return nil, err
				}
				role, custom[guid] = d, d
			}
		}
		if role != nil {
			e.Grants = append(e.Grants, Grant{Scope: as.Scope, Role: role})
		}
	}
	return e, nil
}
