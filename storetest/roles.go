package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// testDeleteResourceAssignments holds every delete of a resource to
// removing, in its transaction, the role assignments at the resource's
// scope and below it, and only those: a new resource of the same name
// starts with no access granted, and a sibling whose name extends the
// deleted one's keeps its own.
func testDeleteResourceAssignments(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	reader := galleon.RoleDefinitionID(f.Sub, galleon.RoleReader)
	putManagedImage := func(id galleon.DiskID) error {
		_, _, err := f.Store.PutManagedImage(ctx(), id, func(*galleon.ManagedImage) (*galleon.ManagedImage, error) {
			return &galleon.ManagedImage{ID: id, Location: "eastus", Properties: galleon.ManagedImageProperties{ProvisioningState: galleon.ProvisioningSucceeded}}, nil
		})
		return err
	}
	for _, tt := range []struct {
		name string
		// put creates the resource named n and returns its scope and a
		// scope below it (empty when nothing lies below).
		put func(t *testing.T, n string) (scope, below string)
		del func(n string) (bool, error)
	}{
		{"Gallery", func(t *testing.T, n string) (string, string) {
			g := f.MustPutGallery(t, "rg", n)
			return g.ID.String(), g.ID.String() + "/images/not-yet"
		}, func(n string) (bool, error) { return f.Store.DeleteGallery(ctx(), f.Gallery("rg", n)) }},
		{"ImageDefinition", func(t *testing.T, n string) (string, string) {
			if _, err := f.Store.GetGallery(ctx(), f.Gallery("rg", "holder")); err != nil {
				f.MustPutGallery(t, "rg", "holder")
			}
			d := f.MustPutImage(t, "rg", "holder", n)
			return d.ID.String(), d.ID.String() + "/versions/1.0.0"
		}, func(n string) (bool, error) { return f.Store.DeleteImageDefinition(ctx(), f.Image("rg", "holder", n)) }},
		{"ImageVersion", func(t *testing.T, n string) (string, string) {
			if _, err := f.Store.GetImageDefinition(ctx(), f.Image("rg", "holder", "vimg")); err != nil {
				if _, err := f.Store.GetGallery(ctx(), f.Gallery("rg", "holder")); err != nil {
					f.MustPutGallery(t, "rg", "holder")
				}
				f.MustPutImage(t, "rg", "holder", "vimg")
			}
			id := f.Version("rg", "holder", "vimg", n)
			if _, _, err := f.PutVersion(id, "x"); err != nil {
				t.Fatal(err)
			}
			return id.String(), ""
		}, func(n string) (bool, error) {
			return f.Store.DeleteImageVersion(ctx(), f.Version("rg", "holder", "vimg", n))
		}},
		{"Disk", func(t *testing.T, n string) (string, string) {
			id := f.Disk("rg", galleon.TypeDisk, n)
			if _, _, err := f.PutDisk(id, 1); err != nil {
				t.Fatal(err)
			}
			return id.String(), ""
		}, func(n string) (bool, error) { return f.Store.DeleteDisk(ctx(), f.Disk("rg", galleon.TypeDisk, n)) }},
		{"Snapshot", func(t *testing.T, n string) (string, string) {
			id := f.Disk("rg", galleon.TypeSnapshot, n)
			if _, _, err := f.PutDisk(id, 1); err != nil {
				t.Fatal(err)
			}
			return id.String(), ""
		}, func(n string) (bool, error) { return f.Store.DeleteDisk(ctx(), f.Disk("rg", galleon.TypeSnapshot, n)) }},
		{"ManagedImage", func(t *testing.T, n string) (string, string) {
			id := f.Disk("rg", galleon.TypeManagedImage, n)
			if err := putManagedImage(id); err != nil {
				t.Fatal(err)
			}
			return id.String(), ""
		}, func(n string) (bool, error) {
			return f.Store.DeleteManagedImage(ctx(), f.Disk("rg", galleon.TypeManagedImage, n))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ToLower(tt.name)
			scope, below := tt.put(t, name)
			sibling, _ := tt.put(t, name+"2")
			principal := "user-" + uuid.NewString()
			for _, sc := range []string{scope, sibling, below} {
				if sc == "" {
					continue
				}
				a := &galleon.RoleAssignment{Name: uuid.NewString(), Scope: sc, RoleDefinitionID: reader, PrincipalID: principal,
					PrincipalType: galleon.PrincipalUser, CreatedOn: time.Now().UTC().Truncate(time.Millisecond), CreatedBy: "test"}
				if _, err := f.Store.CreateRoleAssignment(ctx(), a); err != nil {
					t.Fatalf("CreateRoleAssignment(%s): %v", sc, err)
				}
			}
			if ok, err := tt.del(name); err != nil || !ok {
				t.Fatalf("deleting %s: %v, %v", scope, ok, err)
			}
			tt.put(t, name) // the same name again
			ras, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{principal})
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, a := range ras {
				left = append(left, a.Scope)
			}
			if !slices.Equal(left, []string{sibling}) {
				t.Errorf("assignments after deleting and recreating %s: %v, want only the sibling's %s", scope, left, sibling)
			}
		})
	}
}

func testRoles(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	sub := galleon.SubscriptionScope(f.Sub)
	rg := sub + "/resourceGroups/rg"
	gallery := rg + "/providers/Microsoft.Compute/galleries/g"
	reader := galleon.RoleDefinitionID(f.Sub, galleon.RoleReader)
	assign := func(scope, role, principal string) *galleon.RoleAssignment {
		return &galleon.RoleAssignment{Name: uuid.NewString(), Scope: scope, RoleDefinitionID: role, PrincipalID: principal,
			PrincipalType: galleon.PrincipalUser, CreatedOn: time.Now().UTC().Truncate(time.Millisecond), CreatedBy: "test"}
	}
	t.Run("Assignments", func(t *testing.T) {
		a := assign(gallery, reader, "user-1")
		if created, err := f.Store.CreateRoleAssignment(ctx(), a); err != nil || !created {
			t.Fatalf("create: %v, %v", created, err)
		}
		again := *a
		if created, err := f.Store.CreateRoleAssignment(ctx(), &again); err != nil || created {
			t.Fatalf("the same assignment again: %v, %v", created, err)
		}
		dup := assign(gallery, reader, "user-1")
		_, err := f.Store.CreateRoleAssignment(ctx(), dup)
		wantCode(t, "the same role for the same principal at the same scope", err, galleon.CodeRoleAssignmentExists)
		taken := assign(rg, reader, "user-2")
		taken.Name = a.Name
		_, err = f.Store.CreateRoleAssignment(ctx(), taken)
		wantCode(t, "a name already used", err, galleon.CodeRoleAssignmentExists)
		got, err := f.Store.GetRoleAssignment(ctx(), a.Name)
		if err != nil || got.Scope != gallery || got.PrincipalID != "user-1" || !got.CreatedOn.Equal(a.CreatedOn) {
			t.Fatalf("GetRoleAssignment() = %+v, %v", got, err)
		}
		_, err = f.Store.GetRoleAssignment(ctx(), uuid.NewString())
		wantCode(t, "a missing assignment", err, galleon.CodeRoleAssignmentNotFound)
	})
	t.Run("AtScope", func(t *testing.T) {
		for _, a := range []*galleon.RoleAssignment{assign(rg, reader, "user-3"), assign(rg+"2", reader, "user-3"),
			assign(gallery+"/images/i", reader, "user-3")} {
			if _, err := f.Store.CreateRoleAssignment(ctx(), a); err != nil {
				t.Fatal(err)
			}
		}
		scopes := func(below bool) []string {
			as, err := f.Store.ListRoleAssignmentsAtScope(ctx(), gallery, below)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range as {
				out = append(out, fmt.Sprintf("%s@%s", a.PrincipalID, a.Scope[len(sub):]))
			}
			return out
		}
		// Above: the bootstrap Owner at the subscription, user-3 at the
		// group (not at rg2, whose name only starts alike), user-1 here.
		want := []string{"sp@", "user-3@/resourceGroups/rg", "user-1@/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"}
		want[0] = f.Bootstrap.ServicePrincipal.ObjectID + "@"
		if got := scopes(false); !slices.Equal(got, want) {
			t.Errorf("at and above the gallery: %v, want %v", got, want)
		}
		if got := scopes(true); len(got) != 4 || got[3] != "user-3@/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i" {
			t.Errorf("at, above and below the gallery: %v", got)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		a := assign(gallery, galleon.RoleDefinitionID(f.Sub, galleon.RoleContributor), "user-4")
		if _, err := f.Store.CreateRoleAssignment(ctx(), a); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Store.DeleteRoleAssignment(ctx(), a.Name); err != nil || got == nil || got.PrincipalID != "user-4" {
			t.Fatalf("DeleteRoleAssignment() = %+v, %v", got, err)
		}
		if got, err := f.Store.DeleteRoleAssignment(ctx(), a.Name); err != nil || got != nil {
			t.Fatalf("deleting again = %+v, %v", got, err)
		}
		if as, _ := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{"user-4"}); len(as) != 0 {
			t.Fatalf("a deleted assignment is still listed: %+v", as)
		}
	})
	t.Run("Definitions", func(t *testing.T) {
		d := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "Gallery Publisher", RoleType: galleon.CustomRole,
			Permissions:      []galleon.RolePermission{{Actions: []string{"Microsoft.Compute/galleries/*"}, NotActions: []string{"Microsoft.Compute/galleries/delete"}}},
			AssignableScopes: []string{sub}}
		if created, err := f.Store.PutRoleDefinition(ctx(), d, f.Sub, nil); err != nil || !created {
			t.Fatalf("create: %v, %v", created, err)
		}
		d.Description = "updated"
		if created, err := f.Store.PutRoleDefinition(ctx(), d, f.Sub, nil); err != nil || created {
			t.Fatalf("update: %v, %v", created, err)
		}
		same := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "gallery publisher", RoleType: galleon.CustomRole}
		_, err := f.Store.PutRoleDefinition(ctx(), same, f.Sub, nil)
		wantCode(t, "another role of the same name", err, galleon.CodeRoleDefinitionExists)
		got, err := f.Store.GetRoleDefinition(ctx(), d.ID)
		if err != nil || got.Description != "updated" || got.Permissions[0].NotActions[0] != "Microsoft.Compute/galleries/delete" {
			t.Fatalf("GetRoleDefinition() = %+v, %v", got, err)
		}
		if all, err := f.Store.ListRoleDefinitions(ctx()); err != nil || len(all) != 1 {
			t.Fatalf("ListRoleDefinitions() = %+v, %v", all, err)
		}
		a := assign(gallery, galleon.RoleDefinitionID(f.Sub, d.ID), "user-5")
		if _, err := f.Store.CreateRoleAssignment(ctx(), a); err != nil {
			t.Fatal(err)
		}
		_, err = f.Store.DeleteRoleDefinition(ctx(), d.ID, nil)
		wantCode(t, "deleting an assigned role", err, galleon.CodeRoleDefinitionHasAssignments)
		if _, err := f.Store.DeleteRoleAssignment(ctx(), a.Name); err != nil {
			t.Fatal(err)
		}
		// A check sees what is stored, in the transaction, and its refusal
		// writes nothing.
		refuse := galleon.Errorf(galleon.CodeAuthorizationFailed, "no")
		var seen *galleon.RoleDefinition
		wider := *d
		wider.Permissions = []galleon.RolePermission{{Actions: []string{"*"}}}
		_, err = f.Store.PutRoleDefinition(ctx(), &wider, f.Sub, func(stored *galleon.RoleDefinition) error { seen = stored; return refuse })
		wantCode(t, "a refused put", err, galleon.CodeAuthorizationFailed)
		if seen == nil || seen.Description != "updated" {
			t.Errorf("the put's check saw %+v, want the stored role", seen)
		}
		if got, _ := f.Store.GetRoleDefinition(ctx(), d.ID); got == nil || got.Permissions[0].Actions[0] != "Microsoft.Compute/galleries/*" {
			t.Errorf("a refused put changed the role: %+v", got)
		}
		fresh := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "fresh", RoleType: galleon.CustomRole, AssignableScopes: []string{sub}}
		seen = d
		if created, err := f.Store.PutRoleDefinition(ctx(), fresh, f.Sub, func(stored *galleon.RoleDefinition) error { seen = stored; return nil }); err != nil || !created || seen != nil {
			t.Errorf("creating with a check: %v, %v; the check saw %+v, want nil", created, err, seen)
		}
		_, err = f.Store.DeleteRoleDefinition(ctx(), d.ID, func(stored *galleon.RoleDefinition) error { seen = stored; return refuse })
		wantCode(t, "a refused delete", err, galleon.CodeAuthorizationFailed)
		if _, err := f.Store.GetRoleDefinition(ctx(), d.ID); err != nil || seen == nil || seen.ID != d.ID {
			t.Errorf("after a refused delete: %v; the check saw %+v", err, seen)
		}
		if _, err := f.Store.DeleteRoleDefinition(ctx(), fresh.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Store.DeleteRoleDefinition(ctx(), d.ID, nil); err != nil || got == nil {
			t.Fatalf("DeleteRoleDefinition() = %+v, %v", got, err)
		}
		_, err = f.Store.GetRoleDefinition(ctx(), d.ID)
		wantCode(t, "a deleted role", err, galleon.CodeRoleDefinitionNotFound)
	})
	t.Run("Audit", func(t *testing.T) {
		for i := range 5 {
			e := &galleon.AuditEvent{ID: uuid.NewString(), At: time.Now().UTC().Truncate(time.Millisecond), SubscriptionID: f.Sub,
				PrincipalID: "p", PrincipalName: "p@x", Action: fmt.Sprintf("action-%d", i), Scope: sub, Method: "PUT", Status: 200, Result: "Succeeded"}
			if err := f.Store.AppendAudit(ctx(), e); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Store.AppendAudit(ctx(), &galleon.AuditEvent{ID: uuid.NewString(), At: time.Now().UTC(), SubscriptionID: "other"}); err != nil {
			t.Fatal(err)
		}
		var got []string
		page := galleon.Page{Limit: 2}
		for {
			es, next, err := f.Store.ListAudit(ctx(), f.Sub, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				got = append(got, e.Action)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if want := []string{"action-4", "action-3", "action-2", "action-1", "action-0"}; !slices.Equal(got, want) {
			t.Errorf("audit events, newest first: %v, want %v", got, want)
		}
	})
}
