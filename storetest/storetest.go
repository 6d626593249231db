// Package storetest is the conformance suite every galleon.Store
// implementation passes unchanged. A backend's test is three lines:
//
//	func TestSQLite(t *testing.T) { storetest.Run(t, func(t *testing.T) galleon.Store { return open(t) }) }
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Opener returns a new, empty store that is closed when t ends.
type Opener func(t *testing.T) galleon.Store

// Run runs the whole suite; each subtest opens its own store.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Bootstrap", testBootstrap},
		{"ResourceGroup", testResourceGroup},
		{"Gallery", testGallery},
		{"ImageDefinition", testImageDefinition},
		{"Paging", testPaging},
		{"DeleteResourceGroup", testDeleteResourceGroup},
		{"Operation", testOperation},
		{"Concurrency", testConcurrency},
		{"InstallationSecret", testInstallationSecret},
		{"Lease", testLease},
		{"ImageVersion", testImageVersion},
		{"ImageVersionAndStart", testImageVersionAndStart},
		{"RestoreStartsReplication", testRestoreStartsReplication},
		{"Disk", testDisk},
		{"ManagedImage", testManagedImage},
		{"ResourceList", testResourceList},
		{"Roles", testRoles},
		{"DeleteResourceAssignments", testDeleteResourceAssignments},
		{"EdgeCases", testEdgeCases},
		{"Details", testDetails},
		{"Sharing", testSharing},
		{"Tenants", testTenants},
		{"Directory", testDirectory},
		{"EndedSessions", testEndedSessions},
		{"SoftDelete", testSoftDelete},
		{"ContentOwners", testContentOwners},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Fixture is a bootstrapped store and the ids it holds.
type Fixture struct {
	Store     galleon.Store
	Bootstrap *galleon.Bootstrap
	Sub       string
}

// NewBootstrap returns a complete bootstrap with fresh ids.
func NewBootstrap() *galleon.Bootstrap {
	now := time.Now().UTC().Truncate(time.Millisecond)
	tid, sub := uuid.NewString(), uuid.NewString()
	sp := galleon.Principal{ObjectID: uuid.NewString(), TenantID: tid, Type: galleon.PrincipalServicePrincipal, AppID: uuid.NewString(), DisplayName: "sp"}
	return &galleon.Bootstrap{
		Tenant:           galleon.Tenant{ID: tid, Domain: "example.test", DisplayName: "Example", CreatedAt: now},
		Subscription:     galleon.Subscription{ID: sub, TenantID: tid, DisplayName: "Sub", State: "Enabled"},
		ServicePrincipal: sp,
		ClientSecret:     galleon.ClientSecret{ID: uuid.NewString(), PrincipalID: sp.ObjectID, Hash: "hash", Hint: "abc", ExpiresAt: now.Add(time.Hour), CreatedAt: now},
		Admin: galleon.User{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tid, Type: galleon.PrincipalUser,
			UserPrincipalName: "Admin@Example.test", DisplayName: "Admin"}, PasswordHash: "pwhash", CreatedAt: now},
		OwnerAssignment: galleon.RoleAssignment{Name: uuid.NewString(), Scope: galleon.SubscriptionScope(sub),
			RoleDefinitionID: galleon.RoleDefinitionID(sub, galleon.RoleOwner), PrincipalID: sp.ObjectID,
			PrincipalType: galleon.PrincipalServicePrincipal, CreatedOn: now, CreatedBy: "test"},
	}
}

// MustFixture opens a store and bootstraps it.
func MustFixture(t *testing.T, open Opener) *Fixture {
	t.Helper()
	s := open(t)
	b := NewBootstrap()
	created, err := s.Bootstrap(context.Background(), b)
	if err != nil || !created {
		t.Fatalf("Bootstrap() = %v, %v", created, err)
	}
	return &Fixture{Store: s, Bootstrap: b, Sub: b.Subscription.ID}
}

func (f *Fixture) RG(name string) galleon.ResourceGroupID {
	return galleon.ResourceGroupID{SubscriptionID: f.Sub, Name: name}
}

func (f *Fixture) Gallery(rg, name string) galleon.GalleryID {
	return galleon.GalleryID{SubscriptionID: f.Sub, ResourceGroup: rg, Name: name}
}

func (f *Fixture) Image(rg, gallery, name string) galleon.ImageDefinitionID {
	return galleon.ImageDefinitionID{GalleryID: f.Gallery(rg, gallery), Image: name}
}

// MustPutResourceGroup creates or replaces a group in eastus.
func (f *Fixture) MustPutResourceGroup(t *testing.T, name string) *galleon.ResourceGroup {
	t.Helper()
	rg, _, err := f.Store.PutResourceGroup(context.Background(), f.RG(name), func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
		return &galleon.ResourceGroup{ID: f.RG(name), Location: "eastus", ProvisioningState: galleon.ProvisioningSucceeded}, nil
	})
	if err != nil {
		t.Fatalf("PutResourceGroup(%s): %v", name, err)
	}
	return rg
}

// PutGallery puts a gallery with the given description.
func (f *Fixture) PutGallery(id galleon.GalleryID, description string) (*galleon.Gallery, bool, error) {
	return f.Store.PutGallery(context.Background(), id, func(old *galleon.Gallery) (*galleon.Gallery, error) {
		g := &galleon.Gallery{ID: id, Location: "eastus", Tags: map[string]string{"k": "v"},
			Properties: galleon.GalleryProperties{Description: description}}
		g.ApplyDefaults()
		return g, nil
	})
}

// MustPutGallery puts a gallery or fails the test.
func (f *Fixture) MustPutGallery(t *testing.T, rg, name string) *galleon.Gallery {
	t.Helper()
	g, _, err := f.PutGallery(f.Gallery(rg, name), "")
	if err != nil {
		t.Fatalf("PutGallery(%s/%s): %v", rg, name, err)
	}
	return g
}

// PutImage puts an image definition with the given identifier.
func (f *Fixture) PutImage(id galleon.ImageDefinitionID, publisher, offer, sku string) (*galleon.ImageDefinition, bool, error) {
	return f.Store.PutImageDefinition(context.Background(), id, func(old *galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
		d := &galleon.ImageDefinition{ID: id, Location: "eastus", Properties: galleon.ImageDefinitionProperties{
			OSType: "Linux", OSState: "Generalized", Identifier: galleon.ImageIdentifier{Publisher: publisher, Offer: offer, SKU: sku}}}
		d.ApplyDefaults()
		return d, nil
	})
}

// MustPutImage puts an image definition or fails the test.
func (f *Fixture) MustPutImage(t *testing.T, rg, gallery, name string) *galleon.ImageDefinition {
	t.Helper()
	d, _, err := f.PutImage(f.Image(rg, gallery, name), "pub", "offer", "sku-"+name)
	if err != nil {
		t.Fatalf("PutImageDefinition(%s): %v", name, err)
	}
	return d
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := galleon.ErrorCode(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, got, code)
	}
}

func ctx() context.Context { return context.Background() }

func names[T any](items []T, name func(*T) string) []string {
	out := make([]string, len(items))
	for i := range items {
		out[i] = name(&items[i])
	}
	return out
}

func galleryNames(gs []galleon.Gallery) []string {
	return names(gs, func(g *galleon.Gallery) string { return g.ID.Name })
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
