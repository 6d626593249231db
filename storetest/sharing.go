package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Share applies a sharing update to a gallery, as the share action does.
func (f *Fixture) Share(id galleon.GalleryID, u galleon.SharingUpdate, publicName string) (*galleon.Gallery, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	return f.Store.ShareGallery(ctx(), id, func(old *galleon.Gallery) (*galleon.Gallery, error) {
		g := *old
		if err := u.Apply(&g, publicName); err != nil {
			return nil, err
		}
		return &g, nil
	})
}

// MustCreateTenant creates a further tenant with a subscription and a
// service principal owning it.
func (f *Fixture) MustCreateTenant(t *testing.T, domain string) *galleon.NewTenant {
	t.Helper()
	nt := NewTenantFor(domain)
	if err := f.Store.CreateTenant(ctx(), nt); err != nil {
		t.Fatalf("CreateTenant(%s): %v", domain, err)
	}
	return nt
}

// NewTenantFor returns a complete NewTenant with fresh ids.
func NewTenantFor(domain string) *galleon.NewTenant {
	// A millisecond after the fixture's bootstrap at the earliest: the
	// first tenant stays the default.
	now := time.Now().UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	tid, sub := uuid.NewString(), uuid.NewString()
	sp := galleon.Principal{ObjectID: uuid.NewString(), TenantID: tid, Type: galleon.PrincipalServicePrincipal, AppID: uuid.NewString(), DisplayName: "owner of " + domain}
	return &galleon.NewTenant{
		Tenant:           galleon.Tenant{ID: tid, Domain: domain, DisplayName: domain, CreatedAt: now},
		Subscription:     galleon.Subscription{ID: sub, TenantID: tid, DisplayName: domain, State: "Enabled"},
		ServicePrincipal: sp,
		ClientSecret:     galleon.ClientSecret{ID: uuid.NewString(), PrincipalID: sp.ObjectID, Hash: "hash", Hint: "abc", ExpiresAt: now.Add(time.Hour), CreatedAt: now},
		OwnerAssignment: galleon.RoleAssignment{Name: uuid.NewString(), Scope: galleon.SubscriptionScope(sub),
			RoleDefinitionID: galleon.RoleDefinitionID(sub, galleon.RoleOwner), PrincipalID: sp.ObjectID,
			PrincipalType: galleon.PrincipalServicePrincipal, CreatedOn: now, CreatedBy: "test"},
	}
}

func consumerOf(nt *galleon.NewTenant) galleon.ShareConsumer {
	return galleon.ShareConsumer{SubscriptionID: nt.Subscription.ID, TenantID: nt.Tenant.ID}
}

func sharedNames(t *testing.T, f *Fixture, c galleon.ShareConsumer, byTenant bool) []string {
	t.Helper()
	gs, err := f.Store.ListGalleriesSharedWith(ctx(), c, byTenant)
	if err != nil {
		t.Fatal(err)
	}
	return galleryNames(gs)
}

func addGroup(typ string, ids ...string) galleon.SharingUpdate {
	return galleon.SharingUpdate{OperationType: galleon.SharingAdd, Groups: []galleon.SharingProfileGroup{{Type: typ, IDs: ids}}}
}

func testTenants(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	nt := f.MustCreateTenant(t, "Contoso.example")
	t.Run("Get", func(t *testing.T) {
		for _, key := range []string{nt.Tenant.ID, strings.ToUpper(nt.Tenant.ID), "contoso.EXAMPLE"} {
			got, err := f.Store.GetTenant(ctx(), key)
			if err != nil || got.ID != nt.Tenant.ID || got.Domain != "Contoso.example" || !got.CreatedAt.Equal(nt.Tenant.CreatedAt) {
				t.Fatalf("GetTenant(%s) = %+v, %v", key, got, err)
			}
		}
		_, err := f.Store.GetTenant(ctx(), "nowhere.example")
		wantCode(t, "an unknown tenant", err, galleon.CodeResourceNotFound)
		def, err := f.Store.DefaultTenant(ctx())
		if err != nil || def.ID != f.Bootstrap.Tenant.ID {
			t.Fatalf("DefaultTenant() = %+v, %v; a further tenant must not replace the bootstrapped one", def, err)
		}
	})
	t.Run("Contents", func(t *testing.T) {
		sub, err := f.Store.GetSubscription(ctx(), strings.ToUpper(nt.Subscription.ID))
		if err != nil || sub.TenantID != nt.Tenant.ID {
			t.Fatalf("GetSubscription() = %+v, %v", sub, err)
		}
		subs, err := f.Store.ListSubscriptions(ctx(), nt.Tenant.ID)
		if err != nil || len(subs) != 1 || subs[0].ID != nt.Subscription.ID {
			t.Fatalf("ListSubscriptions() = %+v, %v", subs, err)
		}
		p, secrets, err := f.Store.ServicePrincipalByAppID(ctx(), nt.ServicePrincipal.AppID)
		if err != nil || p.TenantID != nt.Tenant.ID || len(secrets) != 1 || secrets[0].Hash != "hash" {
			t.Fatalf("ServicePrincipalByAppID() = %+v, %+v, %v", p, secrets, err)
		}
		as, err := f.Store.ListRoleAssignmentsForPrincipals(ctx(), []string{nt.ServicePrincipal.ObjectID})
		if err != nil || len(as) != 1 || as[0].Scope != galleon.SubscriptionScope(nt.Subscription.ID) ||
			as[0].RoleDefinitionGUID() != galleon.RoleOwner {
			t.Fatalf("the new principal's assignments: %+v, %v", as, err)
		}
	})
	t.Run("ErrDomainTaken", func(t *testing.T) {
		err := f.Store.CreateTenant(ctx(), NewTenantFor("CONTOSO.example"))
		wantCode(t, "the same domain again", err, galleon.CodeConflict)
		if _, err := f.Store.GetTenant(ctx(), "contoso.example"); err != nil {
			t.Fatal(err)
		}
	})
}

func testSharing(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	g := f.MustPutGallery(t, "rg", "Gal")
	f.MustPutGallery(t, "rg", "other")
	gid := g.ID
	b := f.MustCreateTenant(t, "b.example")
	c := f.MustCreateTenant(t, "c.example")
	cb, cc := consumerOf(b), consumerOf(c)
	unique := f.Sub + "-GAL"

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.Share(f.Gallery("rg", "nope"), addGroup(galleon.SharingGroupSubscriptions, cb.SubscriptionID), "")
		wantCode(t, "sharing a missing gallery", err, galleon.CodeResourceNotFound)
		_, err = f.Store.GetSharedGallery(ctx(), cb, unique)
		wantCode(t, "a gallery not shared yet", err, galleon.CodeResourceNotFound)
		if got := sharedNames(t, f, cb, false); len(got) != 0 {
			t.Fatalf("shared before any share: %v", got)
		}
	})
	t.Run("AddSubscription", func(t *testing.T) {
		got, err := f.Share(gid, addGroup(galleon.SharingGroupSubscriptions, strings.ToUpper(cb.SubscriptionID)), "")
		if err != nil || got.Properties.SharingProfile.Permissions != galleon.SharingGroups {
			t.Fatalf("Add: %+v, %v", got, err)
		}
		stored, err := f.Store.GetGallery(ctx(), gid)
		if err != nil || !stored.SharedWithSubscription(cb.SubscriptionID) || stored.Properties.Description != g.Properties.Description {
			t.Fatalf("stored after Add: %+v, %v", stored, err)
		}
		if got := sharedNames(t, f, cb, false); !slices.Equal(got, []string{"Gal"}) {
			t.Fatalf("shared with b's subscription: %v", got)
		}
		if got := sharedNames(t, f, cb, true); len(got) != 0 {
			t.Fatalf("shared with b's tenant: %v, want nothing (the share is to the subscription)", got)
		}
		if got := sharedNames(t, f, cc, false); len(got) != 0 {
			t.Fatalf("shared with c: %v", got)
		}
		for _, name := range []string{unique, strings.ToLower(unique)} {
			sg, err := f.Store.GetSharedGallery(ctx(), cb, name)
			if err != nil || sg.ID != gid {
				t.Fatalf("GetSharedGallery(%s) = %+v, %v", name, sg, err)
			}
		}
		_, err = f.Store.GetSharedGallery(ctx(), cc, unique)
		wantCode(t, "another consumer", err, galleon.CodeResourceNotFound)
		_, err = f.Store.GetSharedGallery(ctx(), cb, f.Sub+"-OTHER")
		wantCode(t, "an unshared gallery of the same publisher", err, galleon.CodeResourceNotFound)
		_, err = f.Store.GetSharedGallery(ctx(), cb, "not-a-unique-name")
		wantCode(t, "a malformed unique name", err, galleon.CodeResourceNotFound)
	})
	t.Run("AddTenant", func(t *testing.T) {
		if _, err := f.Share(gid, addGroup(galleon.SharingGroupAADTenants, cc.TenantID), ""); err != nil {
			t.Fatal(err)
		}
		if got := sharedNames(t, f, cc, true); !slices.Equal(got, []string{"Gal"}) {
			t.Fatalf("shared with c's tenant: %v", got)
		}
		if got := sharedNames(t, f, cc, false); len(got) != 0 {
			t.Fatalf("shared with c's subscription: %v, want nothing", got)
		}
		if _, err := f.Store.GetSharedGallery(ctx(), cc, unique); err != nil {
			t.Fatalf("a gallery shared with the tenant, read from its subscription: %v", err)
		}
	})
	t.Run("RejectAndAccept", func(t *testing.T) {
		for range 2 { // rejecting twice is no error
			if _, err := f.Store.RespondToShare(ctx(), cb, strings.ToUpper(f.Sub), "GAL", false); err != nil {
				t.Fatal(err)
			}
		}
		if got := sharedNames(t, f, cb, false); len(got) != 0 {
			t.Fatalf("listed after rejecting: %v", got)
		}
		_, err := f.Store.GetSharedGallery(ctx(), cb, unique)
		wantCode(t, "a rejected share", err, galleon.CodeResourceNotFound)
		if _, err := f.Store.GetSharedGallery(ctx(), cc, unique); err != nil {
			t.Fatalf("b's rejection hid the gallery from c: %v", err)
		}
		if _, err := f.Store.RespondToShare(ctx(), cb, f.Sub, "gal", true); err != nil {
			t.Fatal(err)
		}
		if got := sharedNames(t, f, cb, false); !slices.Equal(got, []string{"Gal"}) {
			t.Fatalf("listed after accepting again: %v", got)
		}
		_, err = f.Store.RespondToShare(ctx(), cb, f.Sub, "other", false)
		wantCode(t, "rejecting a gallery not shared", err, galleon.CodeResourceNotFound)
		_, err = f.Store.RespondToShare(ctx(), cb, f.Sub, "nope", true)
		wantCode(t, "accepting a missing gallery", err, galleon.CodeResourceNotFound)
	})
	t.Run("RemoveForgetsRejection", func(t *testing.T) {
		if _, err := f.Store.RespondToShare(ctx(), cb, f.Sub, "gal", false); err != nil {
			t.Fatal(err)
		}
		rm := addGroup(galleon.SharingGroupSubscriptions, cb.SubscriptionID)
		rm.OperationType = galleon.SharingRemove
		got, err := f.Share(gid, rm, "")
		if err != nil || got.SharedWithSubscription(cb.SubscriptionID) || !got.SharedWithTenant(cc.TenantID) {
			t.Fatalf("Remove: %+v, %v", got.Properties.SharingProfile, err)
		}
		_, err = f.Store.GetSharedGallery(ctx(), cb, unique)
		wantCode(t, "a removed share", err, galleon.CodeResourceNotFound)
		if _, err := f.Share(gid, addGroup(galleon.SharingGroupSubscriptions, cb.SubscriptionID), ""); err != nil {
			t.Fatal(err)
		}
		if got := sharedNames(t, f, cb, false); !slices.Equal(got, []string{"Gal"}) {
			t.Fatalf("shared again after a rejection and a Remove: %v, want the new share visible", got)
		}
	})
	t.Run("Reset", func(t *testing.T) {
		got, err := f.Share(gid, galleon.SharingUpdate{OperationType: galleon.SharingReset}, "")
		if err != nil || got.Properties.SharingProfile.Permissions != galleon.SharingPrivate || len(got.Properties.SharingProfile.Groups) != 0 {
			t.Fatalf("Reset: %+v, %v", got.Properties.SharingProfile, err)
		}
		if a, b := sharedNames(t, f, cb, false), sharedNames(t, f, cc, true); len(a)+len(b) != 0 {
			t.Fatalf("shared after Reset: %v %v", a, b)
		}
	})
	t.Run("Community", func(t *testing.T) {
		info := &galleon.CommunityGalleryInfo{PublisherURI: "https://contoso.example", PublisherContact: "images@contoso.example",
			Eula: "https://contoso.example/eula", PublicNamePrefix: "Contoso"}
		for _, name := range []string{"Gal", "other"} {
			if _, err := f.Store.ShareGallery(ctx(), f.Gallery("rg", name), func(old *galleon.Gallery) (*galleon.Gallery, error) {
				g := *old
				g.Properties.SharingProfile = &galleon.SharingProfile{Permissions: galleon.SharingCommunity, CommunityGalleryInfo: info}
				return &g, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.Store.GetCommunityGallery(ctx(), "Contoso-1")
		wantCode(t, "a community gallery not enabled yet", err, galleon.CodeResourceNotFound)
		enable := galleon.SharingUpdate{OperationType: galleon.SharingEnableCommunity}
		got, err := f.Share(gid, enable, "Contoso-1")
		if err != nil || !slices.Equal(got.PublicNames(), []string{"Contoso-1"}) {
			t.Fatalf("EnableCommunity: %+v, %v", got.Properties.SharingProfile, err)
		}
		cg, err := f.Store.GetCommunityGallery(ctx(), "contoso-1")
		if err != nil || cg.ID != gid || cg.Properties.SharingProfile.CommunityGalleryInfo.Eula != info.Eula {
			t.Fatalf("GetCommunityGallery() = %+v, %v", cg, err)
		}
		_, err = f.Share(f.Gallery("rg", "other"), enable, "CONTOSO-1")
		wantCode(t, "a public name taken by another gallery", err, galleon.CodeConflict)
		if _, err := f.Share(gid, galleon.SharingUpdate{OperationType: galleon.SharingReset}, ""); err != nil {
			t.Fatal(err)
		}
		_, err = f.Store.GetCommunityGallery(ctx(), "contoso-1")
		wantCode(t, "a community gallery after Reset", err, galleon.CodeResourceNotFound)
	})
	t.Run("DeleteGallery", func(t *testing.T) {
		f.MustPutGallery(t, "rg", "gone")
		gone := f.Gallery("rg", "gone")
		if _, err := f.Share(gone, addGroup(galleon.SharingGroupSubscriptions, cb.SubscriptionID), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Store.RespondToShare(ctx(), cb, f.Sub, "gone", false); err != nil {
			t.Fatal(err)
		}
		if deleted, err := f.Store.DeleteGallery(ctx(), gone); err != nil || !deleted {
			t.Fatalf("DeleteGallery() = %v, %v", deleted, err)
		}
		f.MustPutGallery(t, "rg", "gone")
		if _, err := f.Store.GetSharedGallery(ctx(), cb, f.Sub+"-GONE"); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Fatalf("a gallery created again under a deleted one's name is shared: %v", err)
		}
		if _, err := f.Share(gone, addGroup(galleon.SharingGroupSubscriptions, cb.SubscriptionID), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Store.GetSharedGallery(ctx(), cb, f.Sub+"-GONE"); err != nil {
			t.Fatalf("the deleted gallery's rejection outlived it: %v", err)
		}
	})
	t.Run("SharedRegions", func(t *testing.T) {
		f.MustPutImage(t, "rg", "Gal", "img")
		f.MustPutImage(t, "rg", "Gal", "bare")
		vid := f.Version("rg", "Gal", "img", "1.0.0")
		if _, _, err := f.Store.PutImageVersion(ctx(), vid, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
			return &galleon.ImageVersion{ID: vid, Location: "eastus", Properties: galleon.ImageVersionProperties{
				PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}, {Name: "westus2"}, {Name: "westeurope"}}},
				StorageProfile:    galleon.VersionStorageProfile{Source: &galleon.VersionSource{ID: "/snap"}},
				ProvisioningState: galleon.ProvisioningUpdating,
				ReplicationStatus: &galleon.ReplicationStatus{Summary: []galleon.RegionReplicationStatus{
					{Region: "eastus", State: galleon.ReplicationCompleted}, {Region: "westus2", State: galleon.ReplicationCompleted},
					{Region: "westeurope", State: galleon.ReplicationReplicating}}},
			}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		r, err := f.Store.SharedRegions(ctx(), f.Gallery("RG", "gal"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			image, loc string
			want       bool
		}{
			{"img", "eastus", true}, {"IMG", "westus2", true}, {"img", "westeurope", false},
			{"bare", "eastus", true}, {"bare", "westus2", false},
		} {
			if got := r.ImageIn(tt.image, tt.loc); got != tt.want {
				t.Errorf("ImageIn(%s, %s) = %v, want %v", tt.image, tt.loc, got, tt.want)
			}
		}
		if !r.GalleryIn("westus2") || r.GalleryIn("westeurope") {
			t.Errorf("GalleryIn: westus2 %v, westeurope %v; want true, false", r.GalleryIn("westus2"), r.GalleryIn("westeurope"))
		}
		_, err = f.Store.SharedRegions(ctx(), f.Gallery("rg", "nope"))
		wantCode(t, "a missing gallery", err, galleon.CodeResourceNotFound)
	})
}
