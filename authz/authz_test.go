package authz

import (
	"context"
	"testing"

	"github.com/galleon-project/galleon"
)

func TestMatchAction(t *testing.T) {
	for _, tt := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Compute/galleries/write", true},
		{"*/read", "Microsoft.Compute/galleries/read", true},
		{"*/read", "Microsoft.Compute/galleries/write", false},
		{"*/READ", "microsoft.compute/galleries/read", true},
		{"Microsoft.Compute/*", "Microsoft.Compute/galleries/images/delete", true},
		{"Microsoft.Compute/*", "Microsoft.Resources/subscriptions/read", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/read/extra", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "x", false},
	} {
		if got := MatchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	sub := "/subscriptions/s1"
	for _, tt := range []struct {
		scope, target string
		want          bool
	}{
		{sub, sub, true},
		{sub, sub + "/resourceGroups/rg", true},
		{"/SUBSCRIPTIONS/S1", sub + "/resourcegroups/rg/providers/Microsoft.Compute/galleries/g", true},
		{sub + "/resourceGroups/rg", sub + "/resourceGroups/rg2", false},
		{sub + "/resourceGroups/rg", sub + "/resourceGroups/rg/", true},
		{sub + "/resourceGroups/rg", sub, false},
		{"/", sub, true},
		{"/subscriptions/s", "/subscriptions/s1", false},
	} {
		if got := Covers(tt.scope, tt.target); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.scope, tt.target, got, tt.want)
		}
	}
}

func TestBuiltInRoles(t *testing.T) {
	owner, _ := BuiltInByGUID(galleon.RoleOwner)
	contrib, _ := BuiltInByGUID(galleon.RoleContributor)
	reader, _ := BuiltInByGUID(galleon.RoleReader)
	for _, tt := range []struct {
		role   *RoleDefinition
		action string
		want   bool
	}{
		{owner, "Microsoft.Authorization/roleAssignments/write", true},
		{contrib, "Microsoft.Compute/galleries/write", true},
		{contrib, "Microsoft.Authorization/roleAssignments/write", false},
		{contrib, "Microsoft.Compute/galleries/share/action", false},
		{reader, "Microsoft.Compute/galleries/read", true},
		{reader, "Microsoft.Compute/galleries/write", false},
	} {
		if got := tt.role.Allows(tt.action); got != tt.want {
			t.Errorf("%s.Allows(%q) = %v, want %v", tt.role.RoleName, tt.action, got, tt.want)
		}
	}
}

type assignmentsFn func(ctx context.Context, ids []string) ([]galleon.RoleAssignment, error)

func (f assignmentsFn) ListRoleAssignmentsForPrincipals(ctx context.Context, ids []string) ([]galleon.RoleAssignment, error) {
	return f(ctx, ids)
}

func TestAuthorizer_Authorize(t *testing.T) {
	const sub = "/subscriptions/s1"
	a := &Authorizer{Assignments: assignmentsFn(func(_ context.Context, ids []string) ([]galleon.RoleAssignment, error) {
		if len(ids) != 1 || ids[0] != "reader-oid" {
			return nil, nil
		}
		return []galleon.RoleAssignment{{Scope: sub + "/resourceGroups/rg/providers/Microsoft.Compute/galleries/g",
			RoleDefinitionID: galleon.RoleDefinitionID("s1", galleon.RoleReader), PrincipalID: "reader-oid"}}, nil
	})}
	reader := galleon.Principal{ObjectID: "reader-oid", Type: galleon.PrincipalUser, UserPrincipalName: "r@x"}
	gallery := sub + "/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
	t.Run("OK", func(t *testing.T) {
		if err := a.Authorize(context.Background(), reader, "Microsoft.Compute/galleries/images/read", gallery+"/images/i"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrWrite", func(t *testing.T) {
		err := a.Authorize(context.Background(), reader, "Microsoft.Compute/galleries/write", gallery)
		if galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
			t.Fatalf("got %v, want AuthorizationFailed", err)
		}
	})
	t.Run("ErrOutsideScope", func(t *testing.T) {
		err := a.Authorize(context.Background(), reader, "Microsoft.Compute/galleries/read", sub+"/resourceGroups/rg")
		if galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
			t.Fatalf("got %v, want AuthorizationFailed", err)
		}
	})
	t.Run("ErrNoAssignments", func(t *testing.T) {
		err := a.Authorize(context.Background(), galleon.Principal{ObjectID: "nobody"}, "Microsoft.Compute/galleries/read", gallery)
		if galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
			t.Fatalf("got %v, want AuthorizationFailed", err)
		}
	})
}
