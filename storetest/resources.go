package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

func testBootstrap(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		f := MustFixture(t, open)
		b := f.Bootstrap
		created, err := f.Store.Bootstrap(ctx(), NewBootstrap())
		if err != nil || created {
			t.Fatalf("second Bootstrap() = %v, %v; want false, nil", created, err)
		}
		tenant, err := f.Store.DefaultTenant(ctx())
		if err != nil || tenant.ID != b.Tenant.ID || tenant.Domain != "example.test" {
			t.Fatalf("DefaultTenant() = %+v, %v", tenant, err)
		}
		sub, err := f.Store.GetSubscription(ctx(), b.Subscription.ID)
		if err != nil || sub.TenantID != b.Tenant.ID || sub.State != "Enabled" {
			t.Fatalf("GetSubscription() = %+v, %v", sub, err)
		}
		subs, err := f.Store.ListSubscriptions(ctx(), b.Tenant.ID)
		if err != nil || len(subs) != 1 || subs[0].ID != b.Subscription.ID {
			t.Fatalf("ListSubscriptions() = %+v, %v", subs, err)
		}
		p, secrets, err := f.Store.ServicePrincipalByAppID(ctx(), b.ServicePrincipal.AppID)
		if err != nil || p.ObjectID != b.ServicePrincipal.ObjectID || len(secrets) != 1 || secrets[0].Hash != "hash" ||
			!secrets[0].ExpiresAt.Equal(b.ClientSecret.ExpiresAt) {
			t.Fatalf("ServicePrincipalByAppID() = %+v %+v, %v", p, secrets, err)
		}
		u, err := f.Store.UserByPrincipalName(ctx(), "ADMIN@example.TEST")
		if err != nil || u.ObjectID != b.Admin.ObjectID || u.PasswordHash != "pwhash" || u.UserPrincipalName != "Admin@Example.test" {
			t.Fatalf("UserByPrincipalName() = %+v, %v", u, err)
		}
		ras, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{b.ServicePrincipal.ObjectID, "nobody"})
		if err != nil || len(ras) != 1 || ras[0].RoleDefinitionID != b.OwnerAssignment.RoleDefinitionID || ras[0].Scope != b.OwnerAssignment.Scope {
			t.Fatalf("ListRoleAssignmentsForPrincipals() = %+v, %v", ras, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		f := MustFixture(t, open)
		_, err := f.Store.GetSubscription(ctx(), "00000000-0000-0000-0000-000000000000")
		wantCode(t, "GetSubscription", err, galleon.CodeSubscriptionNotFound)
		_, _, err = f.Store.ServicePrincipalByAppID(ctx(), "nope")
		wantCode(t, "ServicePrincipalByAppID", err, galleon.CodeResourceNotFound)
		_, err = f.Store.UserByPrincipalName(ctx(), "nobody@example.test")
		wantCode(t, "UserByPrincipalName", err, galleon.CodeResourceNotFound)
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		s := open(t)
		if _, err := s.DefaultTenant(ctx()); err == nil {
			t.Fatal("DefaultTenant() on an empty store should fail")
		}
	})
}

func testResourceGroup(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	t.Run("Put", func(t *testing.T) {
		rg, created, err := f.Store.PutResourceGroup(ctx(), f.RG("MyGroup"), func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
			if old != nil {
				t.Errorf("old = %+v, want nil on creation", old)
			}
			return &galleon.ResourceGroup{ID: f.RG("MyGroup"), Location: "eastus", Tags: map[string]string{"a": "b"}, ProvisioningState: galleon.ProvisioningSucceeded}, nil
		})
		if err != nil || !created || rg.ID.Name != "MyGroup" {
			t.Fatalf("create: %+v, %v, %v", rg, created, err)
		}
		rg, created, err = f.Store.PutResourceGroup(ctx(), f.RG("MYGROUP"), func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
			if old == nil || old.Tags["a"] != "b" {
				t.Errorf("old = %+v, want the stored group", old)
			}
			n := *old
			n.Tags = map[string]string{"a": "c"}
			return &n, nil
		})
		if err != nil || created || rg.ID.Name != "MyGroup" {
			t.Fatalf("update: %+v, %v, %v", rg, created, err)
		}
		got, err := f.Store.GetResourceGroup(ctx(), f.RG("mygroup"))
		if err != nil || got.ID.Name != "MyGroup" || got.Tags["a"] != "c" || got.Location != "eastus" {
			t.Fatalf("GetResourceGroup() = %+v, %v", got, err)
		}
	})
	t.Run("ErrUpdateAborts", func(t *testing.T) {
		boom := galleon.Errorf(galleon.CodeInvalidParameter, "no")
		_, _, err := f.Store.PutResourceGroup(ctx(), f.RG("MyGroup"), func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the update's error", err)
		}
		got, _ := f.Store.GetResourceGroup(ctx(), f.RG("MyGroup"))
		if got.Tags["a"] != "c" {
			t.Errorf("a failed update changed the group: %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.Store.GetResourceGroup(ctx(), f.RG("nope"))
		wantCode(t, "GetResourceGroup", err, galleon.CodeResourceGroupNotFound)
		id := galleon.ResourceGroupID{SubscriptionID: "00000000-0000-0000-0000-000000000000", Name: "rg"}
		_, _, err = f.Store.PutResourceGroup(ctx(), id, func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
			return &galleon.ResourceGroup{ID: id, Location: "eastus", ProvisioningState: galleon.ProvisioningSucceeded}, nil
		})
		wantCode(t, "a group in an unknown subscription", err, galleon.CodeSubscriptionNotFound)
	})
}

func testGallery(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rgA")
	f.MustPutResourceGroup(t, "rgB")
	t.Run("Put", func(t *testing.T) {
		g, created, err := f.PutGallery(f.Gallery("RGA", "myGallery"), "first")
		if err != nil || !created {
			t.Fatalf("create: %v, %v", created, err)
		}
		if g.ID.ResourceGroup != "rgA" || g.ID.Name != "myGallery" {
			t.Errorf("id = %+v, want the stored group's case and the given name", g.ID)
		}
		_, created, err = f.PutGallery(f.Gallery("rga", "MYGALLERY"), "second")
		if err != nil || created {
			t.Fatalf("update: %v, %v", created, err)
		}
		got, err := f.Store.GetGallery(ctx(), f.Gallery("RGA", "mygallery"))
		if err != nil || got.ID.Name != "myGallery" || got.Properties.Description != "second" || got.Tags["k"] != "v" ||
			got.Properties.SharingProfile.Permissions != galleon.SharingPrivate {
			t.Fatalf("GetGallery() = %+v, %v", got, err)
		}
	})
	t.Run("ErrNameTakenInOtherGroup", func(t *testing.T) {
		_, _, err := f.PutGallery(f.Gallery("rgB", "MyGallery"), "")
		wantCode(t, "PutGallery", err, galleon.CodeConflict)
		var ge *galleon.Error
		if errors.As(err, &ge) && ge.Target != "galleryName" {
			t.Errorf("target = %q, want galleryName", ge.Target)
		}
	})
	t.Run("ErrResourceGroupNotFound", func(t *testing.T) {
		_, _, err := f.PutGallery(f.Gallery("nope", "g2"), "")
		wantCode(t, "PutGallery", err, galleon.CodeResourceGroupNotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.Store.GetGallery(ctx(), f.Gallery("rgB", "myGallery"))
		wantCode(t, "GetGallery in the wrong group", err, galleon.CodeResourceNotFound)
	})
	t.Run("Lists", func(t *testing.T) {
		f.MustPutGallery(t, "rgB", "other")
		byRG, next, err := f.Store.ListGalleriesByResourceGroup(ctx(), f.RG("RGA"), galleon.Page{})
		if err != nil || next != "" || !slices.Equal(galleryNames(byRG), []string{"myGallery"}) {
			t.Fatalf("ListGalleriesByResourceGroup() = %v, %q, %v", galleryNames(byRG), next, err)
		}
		bySub, _, err := f.Store.ListGalleriesBySubscription(ctx(), f.Sub, galleon.Page{})
		if err != nil || !slices.Equal(galleryNames(bySub), []string{"myGallery", "other"}) {
			t.Fatalf("ListGalleriesBySubscription() = %v, %v", galleryNames(bySub), err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		f.MustPutImage(t, "rgA", "myGallery", "img")
		_, err := f.Store.DeleteGallery(ctx(), f.Gallery("rgA", "myGallery"))
		wantCode(t, "DeleteGallery with an image", err, galleon.CodeCannotDeleteResource)
		if ok, err := f.Store.DeleteImageDefinition(ctx(), f.Image("rgA", "myGallery", "IMG")); err != nil || !ok {
			t.Fatalf("DeleteImageDefinition() = %v, %v", ok, err)
		}
		if ok, err := f.Store.DeleteGallery(ctx(), f.Gallery("rgA", "MyGallery")); err != nil || !ok {
			t.Fatalf("DeleteGallery() = %v, %v", ok, err)
		}
		if ok, err := f.Store.DeleteGallery(ctx(), f.Gallery("rgA", "MyGallery")); err != nil || ok {
			t.Fatalf("DeleteGallery() again = %v, %v; want false, nil", ok, err)
		}
		// The name is free in every group now.
		if _, created, err := f.PutGallery(f.Gallery("rgB", "myGallery"), ""); err != nil || !created {
			t.Fatalf("re-using a deleted gallery's name: %v, %v", created, err)
		}
	})
}

func testImageDefinition(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutGallery(t, "rg", "g")
	f.MustPutGallery(t, "rg", "g2")
	t.Run("Put", func(t *testing.T) {
		d, created, err := f.PutImage(f.Image("RG", "G", "myImage"), "Pub", "Offer", "Sku")
		if err != nil || !created || d.ID.Name != "g" || d.ID.ResourceGroup != "rg" || d.ID.Image != "myImage" {
			t.Fatalf("create: %+v, %v, %v", d, created, err)
		}
		if _, created, err := f.PutImage(f.Image("rg", "g", "MYIMAGE"), "Pub", "Offer", "Sku"); err != nil || created {
			t.Fatalf("update with the same identifier: %v, %v", created, err)
		}
		got, err := f.Store.GetImageDefinition(ctx(), f.Image("rg", "G", "myimage"))
		if err != nil || got.ID.Image != "myImage" || got.Properties.Identifier.Publisher != "Pub" || got.Properties.OSType != "Linux" {
			t.Fatalf("GetImageDefinition() = %+v, %v", got, err)
		}
	})
	t.Run("ErrIdentifierTaken", func(t *testing.T) {
		_, _, err := f.PutImage(f.Image("rg", "g", "other"), "PUB", "offer", "SKU")
		wantCode(t, "same triplet, other name", err, galleon.CodeConflict)
		// The same triplet in another gallery is fine.
		if _, _, err := f.PutImage(f.Image("rg", "g2", "other"), "Pub", "Offer", "Sku"); err != nil {
			t.Fatalf("same triplet in another gallery: %v", err)
		}
	})
	t.Run("ErrParentNotFound", func(t *testing.T) {
		_, _, err := f.PutImage(f.Image("rg", "nope", "i"), "a", "b", "c")
		wantCode(t, "missing gallery", err, galleon.CodeParentResourceNotFound)
		_, _, err = f.PutImage(f.Image("nope", "g", "i"), "a", "b", "c")
		wantCode(t, "missing group", err, galleon.CodeParentResourceNotFound)
		_, _, err = f.Store.ListImageDefinitions(ctx(), f.Gallery("rg", "nope"), galleon.Page{})
		wantCode(t, "list in a missing gallery", err, galleon.CodeParentResourceNotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.Store.GetImageDefinition(ctx(), f.Image("rg", "g", "nope"))
		wantCode(t, "GetImageDefinition", err, galleon.CodeResourceNotFound)
		if ok, err := f.Store.DeleteImageDefinition(ctx(), f.Image("rg", "g", "nope")); ok || err != nil {
			t.Fatalf("DeleteImageDefinition(missing) = %v, %v", ok, err)
		}
	})
}

func testPaging(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	var want []string
	for i := range 11 {
		name := sprintf("Gal%02d", 10-i) // created out of order
		f.MustPutGallery(t, "rg", name)
		want = append(want, name)
	}
	slices.SortFunc(want, func(a, b string) int { return compareFold(a, b) })
	var got []string
	page := galleon.Page{Limit: 4}
	pages := 0
	for {
		items, next, err := f.Store.ListGalleriesByResourceGroup(ctx(), f.RG("rg"), page)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(items) > 4 {
			t.Fatalf("a page of %d items, want at most 4", len(items))
		}
		got = append(got, galleryNames(items)...)
		if next == "" {
			break
		}
		page.After = next
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("paged %v in %d pages, want %v in 3", got, pages, want)
	}
	groups, next, err := f.Store.ListResourceGroups(ctx(), f.Sub, galleon.Page{Limit: 1})
	if err != nil || len(groups) != 1 || next != "" {
		t.Fatalf("ListResourceGroups() = %d groups, next %q, %v", len(groups), next, err)
	}
}

func compareFold(a, b string) int {
	fa, fb := galleon.Fold(a), galleon.Fold(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func testDeleteResourceGroup(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "doomed")
	f.MustPutResourceGroup(t, "kept")
	f.MustPutGallery(t, "doomed", "g1")
	f.MustPutImage(t, "doomed", "g1", "i1")
	f.MustPutGallery(t, "kept", "g2")
	f.MustPutImage(t, "kept", "g2", "i2")
	op := func() *galleon.Operation {
		return &galleon.Operation{ID: sprintf("%d", time.Now().UnixNano()), SubscriptionID: f.Sub, Location: "eastus",
			Kind: galleon.OperationDeleteResourceGroup, Target: f.RG("doomed").String(), Status: galleon.OperationInProgress,
			StartTime: time.Now().UTC()}
	}
	first, err := f.Store.BeginDeleteResourceGroup(ctx(), f.RG("DOOMED"), op())
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Store.BeginDeleteResourceGroup(ctx(), f.RG("doomed"), op())
	if err != nil || again.ID != first.ID {
		t.Fatalf("a second begin = %+v, %v; want the pending operation %s", again, err, first.ID)
	}
	rg, err := f.Store.GetResourceGroup(ctx(), f.RG("doomed"))
	if err != nil || rg.ProvisioningState != galleon.ProvisioningDeleting {
		t.Fatalf("group while deleting = %+v, %v", rg, err)
	}
	_, _, err = f.PutGallery(f.Gallery("doomed", "g3"), "")
	wantCode(t, "a gallery in a group being deleted", err, galleon.CodeResourceGroupBeingDeleted)
	_, _, err = f.Store.PutResourceGroup(ctx(), f.RG("doomed"), func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) { return old, nil })
	wantCode(t, "updating a group being deleted", err, galleon.CodeResourceGroupBeingDeleted)

	for range 2 { // safe to repeat
		if err := f.Store.DeleteResourceGroupContents(ctx(), f.RG("doomed")); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.Store.GetResourceGroup(ctx(), f.RG("doomed"))
	wantCode(t, "deleted group", err, galleon.CodeResourceGroupNotFound)
	_, err = f.Store.GetGallery(ctx(), f.Gallery("doomed", "g1"))
	wantCode(t, "gallery of a deleted group", err, galleon.CodeResourceNotFound)
	if _, err := f.Store.GetImageDefinition(ctx(), f.Image("kept", "g2", "i2")); err != nil {
		t.Fatalf("another group's image: %v", err)
	}
	// The deleted gallery's name is free.
	if _, created, err := f.PutGallery(f.Gallery("kept", "g1"), ""); err != nil || !created {
		t.Fatalf("re-using g1: %v, %v", created, err)
	}
	_, err = f.Store.BeginDeleteResourceGroup(ctx(), f.RG("doomed"), op())
	wantCode(t, "deleting a missing group", err, galleon.CodeResourceGroupNotFound)
	// The bootstrap assignment at the subscription is not below the group.
	ras, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{f.Bootstrap.ServicePrincipal.ObjectID})
	if err != nil || len(ras) != 1 {
		t.Fatalf("role assignments after a group deletion: %+v, %v", ras, err)
	}
}

func testOperation(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "a")
	f.MustPutResourceGroup(t, "b")
	start := time.Now().UTC().Truncate(time.Millisecond)
	for i, rg := range []string{"b", "a"} {
		op := &galleon.Operation{ID: sprintf("op-%s", rg), SubscriptionID: f.Sub, Location: "westus2", Kind: galleon.OperationDeleteResourceGroup,
			Target: f.RG(rg).String(), Status: galleon.OperationInProgress, StartTime: start.Add(time.Duration(i) * time.Second)}
		if _, err := f.Store.BeginDeleteResourceGroup(ctx(), f.RG(rg), op); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := f.Store.ListOperations(ctx(), galleon.OperationInProgress)
	if err != nil || len(pending) != 2 || pending[0].ID != "op-b" || pending[1].ID != "op-a" {
		t.Fatalf("ListOperations() = %+v, %v; want op-b then op-a", pending, err)
	}
	end := start.Add(time.Minute)
	opErr := galleon.TargetErrorf(galleon.CodeConflict, "x", "it failed")
	if err := f.Store.CompleteOperation(ctx(), "op-a", galleon.OperationFailed, opErr, end); err != nil {
		t.Fatal(err)
	}
	// Completing a terminal operation changes nothing.
	if err := f.Store.CompleteOperation(ctx(), "op-a", galleon.OperationSucceeded, nil, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := f.Store.GetOperation(ctx(), f.Sub, "op-a")
	if err != nil || got.Status != galleon.OperationFailed || got.EndTime == nil || !got.EndTime.Equal(end) ||
		got.Error == nil || *got.Error != *opErr || got.Location != "westus2" || !got.StartTime.Equal(start.Add(time.Second)) {
		t.Fatalf("GetOperation() = %+v, %v", got, err)
	}
	_, err = f.Store.GetOperation(ctx(), "00000000-0000-0000-0000-000000000000", "op-a")
	wantCode(t, "an operation of another subscription", err, galleon.CodeOperationNotFound)
	pending, _ = f.Store.ListOperations(ctx(), galleon.OperationInProgress)
	if len(pending) != 1 || pending[0].ID != "op-b" {
		t.Fatalf("pending after completion: %+v", pending)
	}
}
