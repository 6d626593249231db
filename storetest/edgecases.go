package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// testEdgeCases pins behaviours a first implementation got wrong: order of
// sub-second timestamps, non-ASCII names in scopes, ids in other cases,
// and updates that return less than a whole resource.
func testEdgeCases(t *testing.T, open Opener) {
	t.Run("Operation/ListOldestFirstSubSecond", func(t *testing.T) {
		// RFC 3339 text drops trailing zeros, so "…:00.5Z" sorts before
		// "…:00Z" as a string; the order must be by time.
		f := MustFixture(t, open)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		starts := map[string]time.Time{
			"at-1s":     t0.Add(time.Second),
			"at-0.5s":   t0.Add(500 * time.Millisecond),
			"at-0s":     t0,
			"at-0.001s": t0.Add(time.Millisecond),
		}
		for _, id := range []string{"at-1s", "at-0.5s", "at-0s", "at-0.001s"} {
			f.MustPutResourceGroup(t, id)
			MustBeginDelete(t, f, id, id, starts[id])
		}
		ops, err := f.Store.ListOperations(ctx(), galleon.OperationInProgress)
		if err != nil {
			t.Fatal(err)
		}
		got := names(ops, func(op *galleon.Operation) string { return op.ID })
		if want := []string{"at-0s", "at-0.001s", "at-0.5s", "at-1s"}; !slices.Equal(got, want) {
			t.Fatalf("ListOperations() = %v, want %v", got, want)
		}
		for _, op := range ops {
			if !op.StartTime.Equal(starts[op.ID]) {
				t.Errorf("%s: StartTime = %v, want %v", op.ID, op.StartTime, starts[op.ID])
			}
		}
	})

	t.Run("Operation/IDKeepsCase", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		MustBeginDelete(t, f, "rg", "Op-ABC", time.Now().UTC())
		got, err := f.Store.GetOperation(ctx(), f.Sub, "Op-ABC")
		if err != nil || got.ID != "Op-ABC" {
			t.Fatalf("GetOperation(Op-ABC) = %+v, %v", got, err)
		}
		if err := f.Store.CompleteOperation(ctx(), "Op-ABC", galleon.OperationSucceeded, nil, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Store.GetOperation(ctx(), f.Sub, "Op-ABC"); err != nil || got.Status != galleon.OperationSucceeded {
			t.Fatalf("after CompleteOperation: %+v, %v", got, err)
		}
	})

	t.Run("DeleteResourceGroup/RoleAssignmentScopes", func(t *testing.T) {
		// Assignments at or below the group go with it; a sibling whose
		// name merely starts with the group's stays.
		for _, tc := range []struct {
			name, group, scope string
			kept               bool
		}{
			{"AtGroup", "rg", "/subscriptions/{s}/resourceGroups/RG", false},
			{"BelowGroup", "rg", "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g", false},
			{"BelowNonASCIIGroup", "grüppe", "/subscriptions/{s}/resourceGroups/GRÜPPE/providers/Microsoft.Compute/galleries/g", false},
			{"NonASCIISiblingWithPrefix", "grü", "/subscriptions/{s}/resourceGroups/grüppe", true},
			{"SiblingWithPrefix", "rg", "/subscriptions/{s}/resourceGroups/rg2", true},
			{"Subscription", "rg", "/subscriptions/{s}", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				b := NewBootstrap()
				b.OwnerAssignment.Scope = expand(tc.scope, b.Subscription.ID)
				if _, err := s.Bootstrap(ctx(), b); err != nil {
					t.Fatal(err)
				}
				f := &Fixture{Store: s, Bootstrap: b, Sub: b.Subscription.ID}
				f.MustPutResourceGroup(t, tc.group)
				if err := s.DeleteResourceGroupContents(ctx(), f.RG(tc.group)); err != nil {
					t.Fatal(err)
				}
				ras, err := s.ListRoleAssignmentsForPrincipals(ctx(), []string{b.OwnerAssignment.PrincipalID})
				if err != nil {
					t.Fatal(err)
				}
				if kept := len(ras) == 1; kept != tc.kept {
					t.Fatalf("assignment at %s after deleting group %s: kept = %v, want %v", b.OwnerAssignment.Scope, tc.group, kept, tc.kept)
				}
			})
		}
	})

	t.Run("Put/ZeroIDTakesRequestedID", func(t *testing.T) {
		// An update may return a value without its id: the store names it.
		f := MustFixture(t, open)
		rg, _, err := f.Store.PutResourceGroup(ctx(), f.RG("Named"), func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
			return &galleon.ResourceGroup{Location: "eastus"}, nil
		})
		if err != nil || rg.ID != f.RG("Named") {
			t.Fatalf("PutResourceGroup() = %+v, %v", rg, err)
		}
		if got, err := f.Store.GetResourceGroup(ctx(), f.RG("named")); err != nil || got.ID != f.RG("Named") {
			t.Fatalf("GetResourceGroup() = %+v, %v", got, err)
		}
		g, _, err := f.Store.PutGallery(ctx(), f.Gallery("named", "Gal"), func(*galleon.Gallery) (*galleon.Gallery, error) {
			return &galleon.Gallery{Location: "eastus"}, nil
		})
		if err != nil || g.ID != f.Gallery("Named", "Gal") {
			t.Fatalf("PutGallery() = %+v, %v", g, err)
		}
		d, _, err := f.Store.PutImageDefinition(ctx(), f.Image("named", "gal", "Img"), func(*galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
			return &galleon.ImageDefinition{Location: "eastus", Properties: galleon.ImageDefinitionProperties{
				Identifier: galleon.ImageIdentifier{Publisher: "p", Offer: "o", SKU: "s"}}}, nil
		})
		if err != nil || d.ID != f.Image("Named", "Gal", "Img") {
			t.Fatalf("PutImageDefinition() = %+v, %v", d, err)
		}
	})

	t.Run("Put/ErrUpdateReturnsNil", func(t *testing.T) {
		// A nil result with a nil error is a bug in the caller: an error,
		// not a panic, and nothing written.
		f := MustFixture(t, open)
		_, _, err := f.Store.PutResourceGroup(ctx(), f.RG("rg"), func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) { return nil, nil })
		if err == nil {
			t.Fatal("PutResourceGroup with a nil update result succeeded")
		}
		_, err = f.Store.GetResourceGroup(ctx(), f.RG("rg"))
		wantCode(t, "GetResourceGroup", err, galleon.CodeResourceGroupNotFound)
		f.MustPutResourceGroup(t, "rg")
		if _, _, err := f.Store.PutGallery(ctx(), f.Gallery("rg", "g"), func(*galleon.Gallery) (*galleon.Gallery, error) { return nil, nil }); err == nil {
			t.Fatal("PutGallery with a nil update result succeeded")
		}
		f.MustPutGallery(t, "rg", "g")
		if _, _, err := f.Store.PutImageDefinition(ctx(), f.Image("rg", "g", "i"), func(*galleon.ImageDefinition) (*galleon.ImageDefinition, error) { return nil, nil }); err == nil {
			t.Fatal("PutImageDefinition with a nil update result succeeded")
		}
	})

	t.Run("Bootstrap/KeepsTimes", func(t *testing.T) {
		s := open(t)
		b := NewBootstrap()
		b.Tenant.CreatedAt = time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
		b.Admin.CreatedAt = time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
		if _, err := s.Bootstrap(ctx(), b); err != nil {
			t.Fatal(err)
		}
		tenant, err := s.DefaultTenant(ctx())
		if err != nil || !tenant.CreatedAt.Equal(b.Tenant.CreatedAt) {
			t.Fatalf("DefaultTenant() = %+v, %v; want CreatedAt %v", tenant, err, b.Tenant.CreatedAt)
		}
		u, err := s.UserByPrincipalName(ctx(), b.Admin.UserPrincipalName)
		if err != nil || !u.CreatedAt.Equal(b.Admin.CreatedAt) {
			t.Fatalf("UserByPrincipalName() = %+v, %v; want CreatedAt %v", u, err, b.Admin.CreatedAt)
		}
	})

	t.Run("Bootstrap/SubscriptionIDAnyCase", func(t *testing.T) {
		// Subscription ids are GUIDs, compared case-insensitively as ARM does.
		s := open(t)
		b := NewBootstrap()
		b.Subscription.ID = "ABCDEF01-2345-6789-ABCD-EF0123456789"
		b.OwnerAssignment.Scope = galleon.SubscriptionScope(b.Subscription.ID)
		if _, err := s.Bootstrap(ctx(), b); err != nil {
			t.Fatal(err)
		}
		upper, err := s.GetSubscription(ctx(), b.Subscription.ID)
		if err != nil {
			t.Fatalf("GetSubscription(as bootstrapped) = %v", err)
		}
		lower, err := s.GetSubscription(ctx(), galleon.Fold(b.Subscription.ID))
		if err != nil || lower.ID != upper.ID {
			t.Fatalf("GetSubscription(lower case) = %+v, %v; want %+v", lower, err, upper)
		}
	})

	t.Run("DefaultTenant/ErrEmptyIsInternal", func(t *testing.T) {
		// store.go: an unbootstrapped store is an internal error, not a
		// not-found a client could be shown.
		_, err := open(t).DefaultTenant(ctx())
		if err == nil || galleon.ErrorCode(err) != galleon.CodeInternal {
			t.Fatalf("DefaultTenant() on an empty store = %v (code %q), want an internal error", err, galleon.ErrorCode(err))
		}
		var e *galleon.Error
		if errors.As(err, &e) {
			t.Fatalf("DefaultTenant() on an empty store = %#v, want a non-domain error", e)
		}
	})
}

// MustBeginDelete starts deleting group rg with an operation id starting at start.
func MustBeginDelete(t *testing.T, f *Fixture, rg, id string, start time.Time) *galleon.Operation {
	t.Helper()
	op := &galleon.Operation{ID: id, SubscriptionID: f.Sub, Location: "eastus", Kind: galleon.OperationDeleteResourceGroup,
		Target: f.RG(rg).String(), Status: galleon.OperationInProgress, StartTime: start}
	got, err := f.Store.BeginDeleteResourceGroup(ctx(), f.RG(rg), op)
	if err != nil {
		t.Fatalf("BeginDeleteResourceGroup(%s): %v", rg, err)
	}
	return got
}

// expand replaces {s} in a scope template with the subscription id.
func expand(scope, sub string) string { return strings.ReplaceAll(scope, "{s}", sub) }
