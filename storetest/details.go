package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// testDetails pins the parts of the contract a client sees verbatim or
// that a second implementation could easily get subtly different: whole
// resources surviving a round trip, Azure's messages, every Put's abort
// path, and paging of every list.
func testDetails(t *testing.T, open Opener) {
	t.Run("RoundTrip/ResourceGroup", func(t *testing.T) {
		f := MustFixture(t, open)
		want := &galleon.ResourceGroup{ID: f.RG("Round-Trip_(1)"), Location: "westeurope", Tags: map[string]string{"env": "prod", "Owner": "Ops"},
			ManagedBy: "/subscriptions/x/providers/y", ProvisioningState: galleon.ProvisioningSucceeded, SystemData: systemData()}
		got, created, err := f.Store.PutResourceGroup(ctx(), want.ID, func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
			c := *want
			return &c, nil
		})
		if err != nil || !created {
			t.Fatalf("PutResourceGroup() = %v, %v", created, err)
		}
		wantEqual(t, "PutResourceGroup()", got, want)
		got, err = f.Store.GetResourceGroup(ctx(), f.RG("ROUND-TRIP_(1)"))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "GetResourceGroup()", got, want)
	})

	t.Run("RoundTrip/Gallery", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "Group")
		yes := true
		want := &galleon.Gallery{ID: f.Gallery("Group", "Full.Gallery_1"), Location: "eastus", Tags: map[string]string{"a": "1"},
			Properties: galleon.GalleryProperties{
				Description:       "every property",
				Identifier:        &galleon.GalleryIdentifier{UniqueName: f.Sub + "-FULL.GALLERY_1"},
				ProvisioningState: galleon.ProvisioningSucceeded,
				SharingProfile: &galleon.SharingProfile{Permissions: galleon.SharingCommunity,
					Groups: []galleon.SharingProfileGroup{{Type: "Subscriptions", IDs: []string{"s1", "s2"}}},
					CommunityGalleryInfo: &galleon.CommunityGalleryInfo{PublisherURI: "https://example.test", PublisherContact: "a@example.test",
						Eula: "eula", PublicNamePrefix: "pre", CommunityGalleryEnabled: &yes, PublicNames: []string{"pre-1"}}},
				SoftDeletePolicy: &galleon.SoftDeletePolicy{IsSoftDeleteEnabled: &yes},
			},
			SystemData: systemData()}
		got, _, err := f.Store.PutGallery(ctx(), want.ID, func(*galleon.Gallery) (*galleon.Gallery, error) {
			c := *want
			return &c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "PutGallery()", got, want)
		if got, err = f.Store.GetGallery(ctx(), f.Gallery("group", "full.gallery_1")); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "GetGallery()", got, want)
		list, _, err := f.Store.ListGalleriesByResourceGroup(ctx(), f.RG("GROUP"), galleon.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListGalleriesByResourceGroup() = %d, %v", len(list), err)
		}
		wantEqual(t, "ListGalleriesByResourceGroup()[0]", &list[0], want)
	})

	t.Run("RoundTrip/ImageDefinition", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "Group")
		f.MustPutGallery(t, "Group", "Gal")
		eol := time.Date(2031, 2, 3, 4, 5, 6, 7000, time.UTC)
		one, four, no := int32(1), int32(4), false
		want := &galleon.ImageDefinition{ID: f.Image("Group", "Gal", "Ubuntu-24.04_LTS"), Location: "eastus", Tags: map[string]string{"os": "linux"},
			Properties: galleon.ImageDefinitionProperties{
				Description: "d", Eula: "e", PrivacyStatementURI: "https://p", ReleaseNoteURI: "https://r",
				OSType: "Linux", OSState: "Specialized", HyperVGeneration: "V2", EndOfLifeDate: &eol,
				Identifier:        galleon.ImageIdentifier{Publisher: "Canonical", Offer: "Ubuntu", SKU: "24_04-LTS"},
				Recommended:       &galleon.Recommended{VCPUs: &galleon.ResourceRange{Min: &one, Max: &four}, Memory: &galleon.ResourceRange{Max: &four}},
				Disallowed:        &galleon.Disallowed{DiskTypes: []string{"Standard_LRS"}},
				PurchasePlan:      &galleon.PurchasePlan{Name: "n", Publisher: "p", Product: "q"},
				ProvisioningState: galleon.ProvisioningSucceeded,
				Features:          []galleon.ImageFeature{{Name: "SecurityType", Value: "TrustedLaunch"}},
				Architecture:      "Arm64", AllowUpdateImage: &no,
			},
			SystemData: systemData()}
		got, _, err := f.Store.PutImageDefinition(ctx(), want.ID, func(*galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
			c := *want
			return &c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "PutImageDefinition()", got, want)
		if got, err = f.Store.GetImageDefinition(ctx(), f.Image("GROUP", "GAL", "ubuntu-24.04_lts")); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "GetImageDefinition()", got, want)
		list, _, err := f.Store.ListImageDefinitions(ctx(), f.Gallery("group", "gal"), galleon.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListImageDefinitions() = %d, %v", len(list), err)
		}
		wantEqual(t, "ListImageDefinitions()[0]", &list[0], want)
	})

	t.Run("Messages", func(t *testing.T) {
		// What Azure says, word for word: clients and people read these.
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rgA")
		f.MustPutResourceGroup(t, "rgB")
		f.MustPutGallery(t, "rgA", "myGallery")
		f.MustPutImage(t, "rgA", "myGallery", "img1")
		f.MustPutImage(t, "rgA", "myGallery", "Img2")

		_, _, err := f.PutGallery(f.Gallery("Missing", "g"), "")
		wantError(t, "PutGallery in a missing group", err, galleon.CodeResourceGroupNotFound, "",
			"Resource group 'Missing' could not be found.")
		_, err = f.Store.GetResourceGroup(ctx(), f.RG("Missing"))
		wantError(t, "GetResourceGroup", err, galleon.CodeResourceGroupNotFound, "",
			"Resource group 'Missing' could not be found.")
		_, _, err = f.PutGallery(f.Gallery("rgB", "MYGALLERY"), "")
		wantError(t, "PutGallery with a name taken in another group", err, galleon.CodeConflict, "galleryName",
			"The gallery name 'MYGALLERY' is not unique within the subscription '"+f.Sub+"'. Please pick another gallery name.")
		_, _, err = f.PutImage(f.Image("rgA", "noGallery", "i"), "p", "o", "s")
		wantError(t, "PutImageDefinition in a missing gallery", err, galleon.CodeParentResourceNotFound, "",
			"Can not perform requested operation on nested resource. Parent resource 'noGallery' not found.")
		_, _, err = f.PutImage(f.Image("noGroup", "myGallery", "i"), "p", "o", "s")
		wantError(t, "PutImageDefinition in a missing group", err, galleon.CodeParentResourceNotFound, "",
			"Can not perform requested operation on nested resource. Parent resource 'myGallery' not found.")
		_, _, err = f.PutImage(f.Image("rgA", "myGallery", "img3"), "PUB", "OFFER", "SKU-IMG1")
		wantError(t, "PutImageDefinition with a taken identifier", err, galleon.CodeConflict, "galleryImage.properties.identifier", "")
		_, err = f.Store.DeleteGallery(ctx(), f.Gallery("rgA", "MYGALLERY"))
		wantError(t, "DeleteGallery with definitions", err, galleon.CodeCannotDeleteResource, "", "")
		var e *galleon.Error
		if errors.As(err, &e) && !(contains(e.Message, "'myGallery'") && contains(e.Message, "'img1'") && contains(e.Message, "'Img2'")) {
			t.Errorf("DeleteGallery message %q should name the gallery and its definitions as created", e.Message)
		}
	})

	t.Run("ErrUpdateAborts", func(t *testing.T) {
		// An update's error comes back as it is, and nothing is written:
		// neither a new resource nor a change to an existing one.
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		f.MustPutGallery(t, "rg", "g")
		f.MustPutImage(t, "rg", "g", "i")
		boom := errors.New("boom")
		if _, _, err := f.Store.PutGallery(ctx(), f.Gallery("rg", "new"), func(*galleon.Gallery) (*galleon.Gallery, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("PutGallery(new) = %v, want boom", err)
		}
		_, err := f.Store.GetGallery(ctx(), f.Gallery("rg", "new"))
		wantCode(t, "GetGallery after an aborted create", err, galleon.CodeResourceNotFound)
		if _, _, err := f.Store.PutGallery(ctx(), f.Gallery("rg", "g"), func(old *galleon.Gallery) (*galleon.Gallery, error) {
			old.Properties.Description = "changed"
			return old, boom
		}); !errors.Is(err, boom) {
			t.Errorf("PutGallery(existing) = %v, want boom", err)
		}
		if g, err := f.Store.GetGallery(ctx(), f.Gallery("rg", "g")); err != nil || g.Properties.Description != "" {
			t.Errorf("gallery after an aborted update = %+v, %v", g, err)
		}
		if _, _, err := f.Store.PutImageDefinition(ctx(), f.Image("rg", "g", "new"), func(*galleon.ImageDefinition) (*galleon.ImageDefinition, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("PutImageDefinition(new) = %v, want boom", err)
		}
		_, err = f.Store.GetImageDefinition(ctx(), f.Image("rg", "g", "new"))
		wantCode(t, "GetImageDefinition after an aborted create", err, galleon.CodeResourceNotFound)
		if _, _, err := f.Store.PutImageDefinition(ctx(), f.Image("rg", "g", "i"), func(old *galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
			old.Properties.Description = "changed"
			return old, boom
		}); !errors.Is(err, boom) {
			t.Errorf("PutImageDefinition(existing) = %v, want boom", err)
		}
		if d, err := f.Store.GetImageDefinition(ctx(), f.Image("rg", "g", "i")); err != nil || d.Properties.Description != "" {
			t.Errorf("definition after an aborted update = %+v, %v", d, err)
		}
	})

	t.Run("ImageDefinition/ErrIdentifierTakenOnUpdate", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		f.MustPutGallery(t, "rg", "g")
		f.MustPutImage(t, "rg", "g", "a") // pub/offer/sku-a
		f.MustPutImage(t, "rg", "g", "b")
		_, _, err := f.PutImage(f.Image("rg", "g", "b"), "Pub", "Offer", "SKU-A")
		wantError(t, "changing b's identifier to a's", err, galleon.CodeConflict, "galleryImage.properties.identifier", "")
		if d, err := f.Store.GetImageDefinition(ctx(), f.Image("rg", "g", "b")); err != nil || d.Properties.Identifier.SKU != "sku-b" {
			t.Fatalf("b after the refused update = %+v, %v", d, err)
		}
		// Its own identifier, in another case, is no conflict.
		if _, created, err := f.PutImage(f.Image("rg", "g", "B"), "PUB", "offer", "Sku-B"); err != nil || created {
			t.Fatalf("re-putting b with its own identifier = %v, %v", created, err)
		}
	})

	t.Run("ImageDefinition/ErrResourceGroupBeingDeleted", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		f.MustPutGallery(t, "rg", "g")
		f.MustPutImage(t, "rg", "g", "i")
		MustBeginDelete(t, f, "rg", "op", time.Now().UTC())
		_, _, err := f.PutImage(f.Image("rg", "g", "new"), "p", "o", "new")
		wantCode(t, "a new definition", err, galleon.CodeResourceGroupBeingDeleted)
		_, _, err = f.PutImage(f.Image("rg", "g", "i"), "pub", "offer", "sku-i")
		wantCode(t, "updating a definition", err, galleon.CodeResourceGroupBeingDeleted)
		_, _, err = f.PutGallery(f.Gallery("rg", "g"), "changed")
		wantCode(t, "updating a gallery", err, galleon.CodeResourceGroupBeingDeleted)
	})

	t.Run("Paging/EveryList", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		f.MustPutGallery(t, "rg", "g")
		var groups, galleries, images []string
		for i := range 7 {
			// Mixed case, created out of order: the order is by folded name.
			name := []string{"Echo", "alpha", "Golf", "charlie", "Bravo", "foxtrot", "delta"}[i]
			f.MustPutResourceGroup(t, "rg-"+name)
			f.MustPutGallery(t, "rg-"+name, "gal"+name)
			f.MustPutImage(t, "rg", "g", "img"+name)
			groups, galleries, images = append(groups, "rg-"+name), append(galleries, "gal"+name), append(images, "img"+name)
		}
		groups = append(groups, "rg")
		galleries = append(galleries, "g")
		// Punctuation that names may hold orders by its bytes, as SQLite
		// compares; a PostgreSQL column in a language's collation would put
		// "g_1" first and "g1" between, or ignore the punctuation.
		for _, name := range []string{"g.1", "g_1", "g1", "G-1"} {
			f.MustPutResourceGroup(t, "r"+name)
			f.MustPutGallery(t, "r"+name, name)
			groups, galleries = append(groups, "r"+name), append(galleries, name)
		}
		for _, s := range [][]string{groups, galleries, images} {
			slices.SortFunc(s, compareFold)
		}
		for _, limit := range []int{1, 3, 7, 8, 0} {
			got := pages(t, "ListResourceGroups", limit, func(p galleon.Page) ([]galleon.ResourceGroup, string, error) {
				return f.Store.ListResourceGroups(ctx(), f.Sub, p)
			}, func(rg *galleon.ResourceGroup) string { return rg.ID.Name })
			wantNames(t, "ListResourceGroups", limit, got, groups)
			got = pages(t, "ListGalleriesBySubscription", limit, func(p galleon.Page) ([]galleon.Gallery, string, error) {
				return f.Store.ListGalleriesBySubscription(ctx(), f.Sub, p)
			}, func(g *galleon.Gallery) string { return g.ID.Name })
			wantNames(t, "ListGalleriesBySubscription", limit, got, galleries)
			got = pages(t, "ListImageDefinitions", limit, func(p galleon.Page) ([]galleon.ImageDefinition, string, error) {
				return f.Store.ListImageDefinitions(ctx(), f.Gallery("RG", "G"), p)
			}, func(d *galleon.ImageDefinition) string { return d.ID.Image })
			wantNames(t, "ListImageDefinitions", limit, got, images)
		}
		// Lists of a group see only that group.
		got, next, err := f.Store.ListGalleriesByResourceGroup(ctx(), f.RG("RG-ECHO"), galleon.Page{})
		if err != nil || next != "" || !slices.Equal(galleryNames(got), []string{"galEcho"}) || got[0].ID.ResourceGroup != "rg-Echo" {
			t.Fatalf("ListGalleriesByResourceGroup(rg-Echo) = %+v, %q, %v", got, next, err)
		}
		if got, next, err := f.Store.ListGalleriesByResourceGroup(ctx(), f.RG("rg-none"), galleon.Page{}); err != nil || len(got) != 0 || next != "" {
			t.Fatalf("ListGalleriesByResourceGroup(empty group) = %+v, %q, %v", got, next, err)
		}
	})

	t.Run("Paging/DefaultLimit", func(t *testing.T) {
		// Limit 0 means a page of 100.
		f := MustFixture(t, open)
		for i := range 101 {
			f.MustPutResourceGroup(t, sprintf("rg%03d", i))
		}
		got, next, err := f.Store.ListResourceGroups(ctx(), f.Sub, galleon.Page{})
		if err != nil || len(got) != 100 || next == "" {
			t.Fatalf("ListResourceGroups(Limit 0) = %d items, next %q, %v; want 100 and a next page", len(got), next, err)
		}
		rest, next, err := f.Store.ListResourceGroups(ctx(), f.Sub, galleon.Page{After: next})
		if err != nil || len(rest) != 1 || rest[0].ID.Name != "rg100" || next != "" {
			t.Fatalf("second page = %+v, %q, %v; want rg100 alone", rest, next, err)
		}
	})

	t.Run("Operation/BeginDeleteAfterFailure", func(t *testing.T) {
		// A deletion that failed leaves the group Deleting with no pending
		// operation: beginning again records the new one.
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		first := MustBeginDelete(t, f, "rg", "first", time.Now().UTC())
		if err := f.Store.CompleteOperation(ctx(), first.ID, galleon.OperationFailed, galleon.Errorf(galleon.CodeInternal, "x"), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if second := MustBeginDelete(t, f, "RG", "second", time.Now().UTC()); second.ID != "second" {
			t.Fatalf("BeginDeleteResourceGroup after a failure = %+v, want the new operation", second)
		}
		failed, err := f.Store.ListOperations(ctx(), galleon.OperationFailed)
		if err != nil || len(failed) != 1 || failed[0].ID != "first" || failed[0].Error == nil || failed[0].Error.Message != "x" {
			t.Fatalf("ListOperations(Failed) = %+v, %v", failed, err)
		}
		_, err = f.Store.GetOperation(ctx(), f.Sub, "never-started")
		wantCode(t, "GetOperation(unknown)", err, galleon.CodeOperationNotFound)
	})

	t.Run("Bootstrap/SecondChangesNothing", func(t *testing.T) {
		f := MustFixture(t, open)
		other := NewBootstrap()
		if created, err := f.Store.Bootstrap(ctx(), other); err != nil || created {
			t.Fatalf("second Bootstrap() = %v, %v", created, err)
		}
		_, _, err := f.Store.ServicePrincipalByAppID(ctx(), other.ServicePrincipal.AppID)
		wantCode(t, "the second bootstrap's service principal", err, galleon.CodeResourceNotFound)
		_, err = f.Store.GetSubscription(ctx(), other.Subscription.ID)
		wantCode(t, "the second bootstrap's subscription", err, galleon.CodeSubscriptionNotFound)
		if subs, err := f.Store.ListSubscriptions(ctx(), other.Tenant.ID); err != nil || len(subs) != 0 {
			t.Fatalf("ListSubscriptions(second tenant) = %+v, %v", subs, err)
		}
		b := f.Bootstrap
		p, secrets, err := f.Store.ServicePrincipalByAppID(ctx(), b.ServicePrincipal.AppID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "ServicePrincipalByAppID()", p, &b.ServicePrincipal)
		wantEqual(t, "secrets", secrets, []galleon.ClientSecret{b.ClientSecret})
		u, err := f.Store.UserByPrincipalName(ctx(), b.Admin.UserPrincipalName)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "UserByPrincipalName()", u, &b.Admin)
		ras, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{b.OwnerAssignment.PrincipalID})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "ListRoleAssignmentsForPrincipals()", ras, []galleon.RoleAssignment{b.OwnerAssignment})
		if ras, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), nil); err != nil || len(ras) != 0 {
			t.Fatalf("ListRoleAssignmentsForPrincipals(none) = %+v, %v", ras, err)
		}
		// A service principal is not a user, nor a user a service principal.
		_, _, err = f.Store.ServicePrincipalByAppID(ctx(), b.Admin.ObjectID)
		wantCode(t, "ServicePrincipalByAppID(a user's object id)", err, galleon.CodeResourceNotFound)
	})
}

// systemData is a SystemData with sub-second times in UTC.
func systemData() galleon.SystemData {
	return galleon.SystemData{CreatedBy: "admin@example.test", CreatedByType: "User", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		LastModifiedBy: "app", LastModifiedByType: "Application", LastModifiedAt: time.Date(2026, 2, 3, 4, 5, 6, 500000000, time.UTC)}
}

// pages walks a list to its end with pages of limit, checking each page's
// size and that the walk ends.
func pages[T any](t *testing.T, what string, limit int, list func(galleon.Page) ([]T, string, error), name func(*T) string) []string {
	t.Helper()
	var all []string
	p := galleon.Page{Limit: limit}
	for range 100 {
		items, next, err := list(p)
		if err != nil {
			t.Fatalf("%s(%+v): %v", what, p, err)
		}
		if limit > 0 && len(items) > limit {
			t.Fatalf("%s(%+v) = %d items, more than the limit", what, p, len(items))
		}
		all = append(all, names(items, name)...)
		if next == "" {
			return all
		}
		if len(items) == 0 {
			t.Fatalf("%s(%+v): an empty page with a next page %q", what, p, next)
		}
		p.After = next
	}
	t.Fatalf("%s with limit %d: no last page after 100 pages", what, limit)
	return nil
}

func wantNames(t *testing.T, what string, limit int, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s in pages of %d = %v, want %v", what, limit, got, want)
	}
}

// wantEqual compares deeply, showing both sides as JSON.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// wantError checks an error's code, and its target and message when given.
func wantError(t *testing.T, what string, err error, code, target, message string) {
	t.Helper()
	wantCode(t, what, err, code)
	var e *galleon.Error
	if !errors.As(err, &e) {
		return
	}
	if target != "" && e.Target != target {
		t.Errorf("%s: target %q, want %q", what, e.Target, target)
	}
	if message != "" && e.Message != message {
		t.Errorf("%s: message\n %q, want\n %q", what, e.Message, message)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
