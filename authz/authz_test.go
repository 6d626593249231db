package authz

import (
	"context"
	"slices"
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
		if got := Allows(tt.role, tt.action); got != tt.want {
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

func TestEffective(t *testing.T) {
	const sub = "/subscriptions/s1"
	rg := sub + "/resourceGroups/rg"
	gallery := rg + "/providers/Microsoft.Compute/galleries/g"
	role := func(guid string) *RoleDefinition { r, _ := BuiltInByGUID(guid); return r }
	noDelete := &RoleDefinition{RoleName: "no delete", Permissions: []Permission{{
		Actions: []string{"Microsoft.Compute/galleries/*"}, NotActions: []string{"Microsoft.Compute/galleries/delete"}}}}
	downloader := role(galleon.RoleComputeGalleryImageDownloader)
	for _, tt := range []struct {
		name   string
		grants []Grant
		check  func(e *Effective) bool
		want   bool
	}{
		{"ReaderReadsBelow", []Grant{{rg, role(galleon.RoleReader)}}, func(e *Effective) bool { return e.Allows("Microsoft.Compute/galleries/read", gallery) }, true},
		{"ReaderNotAbove", []Grant{{gallery, role(galleon.RoleReader)}}, func(e *Effective) bool { return e.Allows("Microsoft.Compute/galleries/read", rg) }, false},
		{"ReaderListsBelow", []Grant{{gallery, role(galleon.RoleReader)}}, func(e *Effective) bool { return e.AllowsBelow("Microsoft.Compute/galleries/read", sub) }, true},
		{"ReaderNoWriteBelow", []Grant{{gallery, role(galleon.RoleReader)}}, func(e *Effective) bool { return e.AllowsBelow("Microsoft.Compute/galleries/write", sub) }, false},
		{"NotActionsExclude", []Grant{{gallery, noDelete}}, func(e *Effective) bool { return e.Allows("Microsoft.Compute/galleries/delete", gallery) }, false},
		{"NotActionsKeepRest", []Grant{{gallery, noDelete}}, func(e *Effective) bool { return e.Allows("Microsoft.Compute/galleries/write", gallery) }, true},
		{"OwnerHoldsDataActions", []Grant{{sub, role(galleon.RoleOwner)}}, func(e *Effective) bool { return e.AllowsData(ActionDownloadVersion, gallery) }, true},
		{"ContributorNoDataActions", []Grant{{sub, role(galleon.RoleContributor)}}, func(e *Effective) bool { return e.AllowsData(ActionDownloadVersion, gallery) }, false},
		{"DownloaderData", []Grant{{gallery, downloader}}, func(e *Effective) bool {
			return e.AllowsData(ActionDownloadVersion, gallery+"/images/i/versions/1.0.0")
		}, true},
		{"OwnerHoldsReader", []Grant{{sub, role(galleon.RoleOwner)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleReader), gallery) }, true},
		{"OwnerHoldsContributor", []Grant{{sub, role(galleon.RoleOwner)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleContributor), rg) }, true},
		{"OwnerHoldsDownloader", []Grant{{sub, role(galleon.RoleOwner)}}, func(e *Effective) bool { return e.Holds(downloader, gallery) }, true},
		{"ContributorLacksDownloader", []Grant{{sub, role(galleon.RoleContributor)}}, func(e *Effective) bool { return e.Holds(downloader, gallery) }, false},
		{"ContributorLacksOwner", []Grant{{sub, role(galleon.RoleContributor)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleOwner), rg) }, false},
		{"ContributorHoldsReader", []Grant{{sub, role(galleon.RoleContributor)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleReader), rg) }, true},
		{"UserAccessAdminLacksOwner", []Grant{{sub, role(galleon.RoleUserAccessAdministrator)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleOwner), rg) }, false},
		{"UserAccessAdminHoldsReader", []Grant{{sub, role(galleon.RoleUserAccessAdministrator)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleReader), rg) }, true},
		{"ReaderAtGalleryLacksReaderAtGroup", []Grant{{gallery, role(galleon.RoleReader)}}, func(e *Effective) bool { return e.Holds(role(galleon.RoleReader), rg) }, false},
		{"NotActionsNarrowGrant", []Grant{{gallery, noDelete}}, func(e *Effective) bool { return e.Holds(noDelete, gallery) }, true},
		{"NotActionsWiderGrant", []Grant{{gallery, noDelete}}, func(e *Effective) bool {
			return e.Holds(&RoleDefinition{Permissions: []Permission{{Actions: []string{"Microsoft.Compute/galleries/*"}}}}, gallery)
		}, false},
		{"DownloaderHoldsItself", []Grant{{gallery, downloader}}, func(e *Effective) bool { return e.Holds(downloader, gallery) }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(&Effective{Grants: tt.grants}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEffective_GrantedBelow(t *testing.T) {
	const sub = "/subscriptions/s1"
	rg := sub + "/resourceGroups/rg"
	gallery := rg + "/providers/Microsoft.Compute/galleries/g"
	other := rg + "/providers/Microsoft.Compute/galleries/other"
	role := func(guid string) *RoleDefinition { r, _ := BuiltInByGUID(guid); return r }
	snapshots := &RoleDefinition{RoleName: "snapshots", Permissions: []Permission{{Actions: []string{"Microsoft.Compute/snapshots/read"}}}}
	e := &Effective{Grants: []Grant{{gallery, role(galleon.RoleReader)}, {other, snapshots}, {rg, snapshots}, {sub + "2/resourceGroups/rg", role(galleon.RoleReader)}}}
	for _, tt := range []struct {
		name, action, scope string
		want                []string
	}{
		{"ReaderOfOneGallery", "Microsoft.Compute/galleries/read", sub, []string{gallery}},
		{"FromTheGroup", "Microsoft.Compute/galleries/images/read", rg, []string{gallery}},
		{"NotAtTheScopeItself", "Microsoft.Compute/galleries/read", gallery, nil},
		{"NotAbove", "Microsoft.Compute/galleries/read", gallery + "/images/i", nil},
		{"OnlyRolesThatAllow", "Microsoft.Compute/snapshots/read", sub, []string{gallery, other, rg}},
		{"NotAnotherSubscription", "Microsoft.Compute/disks/read", sub, []string{gallery}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.GrantedBelow(tt.action, tt.scope); !slices.Equal(got, tt.want) {
				t.Errorf("GrantedBelow(%s, %s) = %v, want %v", tt.action, tt.scope, got, tt.want)
			}
		})
	}
}

type groupsFn func(ctx context.Context, id string) ([]string, error)

func (f groupsFn) TransitiveGroupsOf(ctx context.Context, id string) ([]string, error) {
	return f(ctx, id)
}

type rolesFn func(ctx context.Context, guid string) (*galleon.RoleDefinition, error)

func (f rolesFn) GetRoleDefinition(ctx context.Context, guid string) (*galleon.RoleDefinition, error) {
	return f(ctx, guid)
}

// TestAuthorizer_GroupsAndCustomRoles: a member gets its group's
// assignment; a custom role is looked up; a deleted custom role grants
// nothing.
func TestAuthorizer_GroupsAndCustomRoles(t *testing.T) {
	const gallery = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
	custom := &galleon.RoleDefinition{ID: "11111111-2222-3333-4444-555555555555", RoleName: "Gallery writer", RoleType: galleon.CustomRole,
		Permissions: []galleon.RolePermission{{Actions: []string{"Microsoft.Compute/galleries/write"}}}}
	a := &Authorizer{
		Assignments: assignmentsFn(func(_ context.Context, ids []string) ([]galleon.RoleAssignment, error) {
			var out []galleon.RoleAssignment
			for _, id := range ids {
				switch id {
				case "group-oid":
					out = append(out, galleon.RoleAssignment{Scope: gallery, RoleDefinitionID: galleon.RoleDefinitionID("s1", galleon.RoleReader), PrincipalID: id})
				case "writer-oid":
					out = append(out, galleon.RoleAssignment{Scope: gallery, RoleDefinitionID: galleon.RoleDefinitionID("s1", custom.ID), PrincipalID: id},
						galleon.RoleAssignment{Scope: gallery, RoleDefinitionID: galleon.RoleDefinitionID("s1", "99999999-0000-0000-0000-000000000000"), PrincipalID: id})
				}
			}
			return out, nil
		}),
		Groups: groupsFn(func(_ context.Context, id string) ([]string, error) {
			if id == "member-oid" {
				return []string{"group-oid"}, nil
			}
			return nil, nil
		}),
		Roles: rolesFn(func(_ context.Context, guid string) (*galleon.RoleDefinition, error) {
			if guid == custom.ID {
				return custom, nil
			}
			return nil, galleon.Errorf(galleon.CodeRoleDefinitionNotFound, "gone")
		}),
	}
	ctx := context.Background()
	if err := a.Authorize(ctx, galleon.Principal{ObjectID: "member-oid"}, "Microsoft.Compute/galleries/read", gallery); err != nil {
		t.Errorf("a group member reading: %v", err)
	}
	if err := a.Authorize(ctx, galleon.Principal{ObjectID: "other-oid"}, "Microsoft.Compute/galleries/read", gallery); galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
		t.Errorf("a non-member reading: %v", err)
	}
	if err := a.Authorize(ctx, galleon.Principal{ObjectID: "writer-oid"}, "Microsoft.Compute/galleries/write", gallery); err != nil {
		t.Errorf("a custom role's action: %v", err)
	}
	if err := a.Authorize(ctx, galleon.Principal{ObjectID: "writer-oid"}, "Microsoft.Compute/galleries/delete", gallery); galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
		t.Errorf("beyond a custom role: %v", err)
	}
}
