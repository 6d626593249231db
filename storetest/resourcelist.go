package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// resourceLabel names a listed resource in failures: its full name, its
// type without the namespace, and its group.
func resourceLabel(r *galleon.GenericResource) string {
	return r.Name + " " + strings.TrimPrefix(r.Type, "Microsoft.Compute/") + " " + r.ResourceGroup
}

// testResourceList holds ListResources to ARM's generic resource list:
// every kind of resource of the subscription in one list ordered by
// ListKey (name, then type and group), nested resources under their full
// names, paged, narrowed by each filter and their combinations, and
// nothing of another subscription; narrowed to scopes per type as RBAC
// narrows what a caller may read.
func testResourceList(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	for _, rg := range []string{"rg", "RG2", "other"} {
		f.MustPutResourceGroup(t, rg)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// Names whose byte order differs from a language's collation ("d-1"
	// before "d_1", "g.1" before "g_1"), a gallery, two disks and a
	// snapshot of one name, and versions whose byte order is not their
	// numeric order.
	for _, g := range []struct{ rg, name string }{{"rg", "Alpha"}, {"rg", "g_1"}, {"rg", "g.1"}, {"RG2", "beta"}} {
		f.MustPutGallery(t, g.rg, g.name)
	}
	f.MustPutImage(t, "rg", "Alpha", "img")
	f.MustPutImage(t, "rg", "Alpha", "Web")
	f.MustPutImage(t, "RG2", "beta", "img")
	for _, v := range []string{"1.0.0", "1.0.10", "1.0.2"} {
		_, _, err := f.PutVersion(f.Version("rg", "Alpha", "img", v), "a")
		must("PutVersion", err)
	}
	_, _, err := f.PutVersion(f.Version("RG2", "beta", "img", "2.0.0"), "b")
	must("PutVersion", err)
	for _, d := range []galleon.DiskID{f.Disk("rg", galleon.TypeDisk, "alpha"), f.Disk("RG2", galleon.TypeDisk, "alpha"),
		f.Disk("rg", galleon.TypeSnapshot, "alpha"), f.Disk("rg", galleon.TypeDisk, "d_1"), f.Disk("rg", galleon.TypeDisk, "d-1")} {
		_, _, err := f.PutDisk(d, 1)
		must("PutDisk", err)
	}
	zeta := f.Disk("other", galleon.TypeManagedImage, "zeta")
	_, _, err = f.Store.PutManagedImage(ctx(), zeta, func(*galleon.ManagedImage) (*galleon.ManagedImage, error) {
		return &galleon.ManagedImage{ID: zeta, Location: "westus2", SystemData: systemData(),
			Properties: galleon.ManagedImageProperties{ProvisioningState: galleon.ProvisioningSucceeded}}, nil
	})
	must("PutManagedImage", err)
	// Another subscription with a gallery of the same name.
	nt := f.MustCreateTenant(t, "another.example")
	otherRG := galleon.ResourceGroupID{SubscriptionID: nt.Subscription.ID, Name: "rg"}
	_, _, err = f.Store.PutResourceGroup(ctx(), otherRG, func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
		return &galleon.ResourceGroup{ID: otherRG, Location: "eastus", ProvisioningState: galleon.ProvisioningSucceeded}, nil
	})
	must("PutResourceGroup", err)
	_, _, err = f.PutGallery(galleon.GalleryID{SubscriptionID: nt.Subscription.ID, ResourceGroup: "rg", Name: "Alpha"}, "")
	must("PutGallery", err)

	list := func(filter galleon.ResourceFilter) []string {
		t.Helper()
		return pages(t, "ListResources", 1000, func(p galleon.Page) ([]galleon.GenericResource, string, error) {
			return f.Store.ListResources(ctx(), f.Sub, filter, p)
		}, resourceLabel)
	}
	all := []string{
		"alpha disks rg", "alpha disks RG2", "Alpha galleries rg", "alpha snapshots rg",
		"Alpha/img galleries/images rg",
		"Alpha/img/1.0.0 galleries/images/versions rg", "Alpha/img/1.0.10 galleries/images/versions rg", "Alpha/img/1.0.2 galleries/images/versions rg",
		"Alpha/Web galleries/images rg",
		"beta galleries RG2", "beta/img galleries/images RG2", "beta/img/2.0.0 galleries/images/versions RG2",
		"d-1 disks rg", "d_1 disks rg", "g.1 galleries rg", "g_1 galleries rg",
		"zeta images other",
	}

	t.Run("All", func(t *testing.T) {
		wantNames(t, "ListResources", 1000, list(galleon.ResourceFilter{}), all)
		items, _, err := f.Store.ListResources(ctx(), f.Sub, galleon.ResourceFilter{}, galleon.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, len(items))
		for i := range items {
			keys[i] = items[i].ListKey()
		}
		if !slices.IsSorted(keys) {
			t.Errorf("items not in ListKey order: %q", keys)
		}
		byLabel := map[string]galleon.GenericResource{}
		for _, it := range items {
			byLabel[resourceLabel(&it)] = it
		}
		wantEqual(t, "the gallery", byLabel["Alpha galleries rg"], galleon.GenericResource{
			ID: f.Gallery("rg", "Alpha").String(), Type: galleon.TypeGallery, Name: "Alpha", ResourceGroup: "rg", Location: "eastus",
			Tags: map[string]string{"k": "v"}, ProvisioningState: galleon.ProvisioningSucceeded})
		wantEqual(t, "a version", byLabel["beta/img/2.0.0 galleries/images/versions RG2"], galleon.GenericResource{
			ID: f.Version("RG2", "beta", "img", "2.0.0").String(), Type: galleon.TypeImageVersion, Name: "beta/img/2.0.0", ResourceGroup: "RG2",
			Location: "eastus", Tags: map[string]string{"t": "b"}, ProvisioningState: galleon.ProvisioningCreating})
		wantEqual(t, "a definition's id", byLabel["Alpha/Web galleries/images rg"].ID, f.Image("rg", "Alpha", "Web").String())
		wantEqual(t, "a disk's id", byLabel["alpha disks RG2"].ID, f.Disk("RG2", galleon.TypeDisk, "alpha").String())
		wantEqual(t, "the managed image", byLabel["zeta images other"], galleon.GenericResource{
			ID: zeta.String(), Type: galleon.TypeManagedImage, Name: "zeta", ResourceGroup: "other", Location: "westus2",
			ProvisioningState: galleon.ProvisioningSucceeded, SystemData: systemData()})
	})

	t.Run("Paging", func(t *testing.T) {
		for _, limit := range []int{1, 2, 3, 5} {
			got := pages(t, "ListResources", limit, func(p galleon.Page) ([]galleon.GenericResource, string, error) {
				return f.Store.ListResources(ctx(), f.Sub, galleon.ResourceFilter{}, p)
			}, resourceLabel)
			wantNames(t, "ListResources", limit, got, all)
		}
		// A list resumes after any item's ListKey, which is how a caller
		// that stops part way through a page (filtering what it may not
		// show) asks for the rest.
		items, _, err := f.Store.ListResources(ctx(), f.Sub, galleon.ResourceFilter{}, galleon.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for i := range items {
			rest, _, err := f.Store.ListResources(ctx(), f.Sub, galleon.ResourceFilter{}, galleon.Page{Limit: 1000, After: items[i].ListKey()})
			if err != nil {
				t.Fatal(err)
			}
			wantNames(t, "ListResources after "+resourceLabel(&items[i]), 1000, names(rest, resourceLabel), all[i+1:])
		}
	})

	galleryTypes := []string{galleon.TypeGallery, galleon.TypeImageDefinition, galleon.TypeImageVersion}
	within := func(types []string, scopes ...string) map[string][]string {
		m := map[string][]string{}
		for _, typ := range types {
			m[typ] = scopes
		}
		return m
	}
	rgScope := f.RG("rg").String()
	alpha := f.Gallery("rg", "Alpha").String()
	alphaAndBelow := []string{"Alpha galleries rg", "Alpha/img galleries/images rg", "Alpha/img/1.0.0 galleries/images/versions rg",
		"Alpha/img/1.0.10 galleries/images/versions rg", "Alpha/img/1.0.2 galleries/images/versions rg", "Alpha/Web galleries/images rg"}

	t.Run("Filters", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			filter galleon.ResourceFilter
			want   []string
		}{
			{"Galleries", galleon.ResourceFilter{Types: []string{"microsoft.compute/GALLERIES"}},
				[]string{"Alpha galleries rg", "beta galleries RG2", "g.1 galleries rg", "g_1 galleries rg"}},
			{"DisksAndSnapshots", galleon.ResourceFilter{Types: []string{galleon.TypeDisk, galleon.TypeSnapshot}},
				[]string{"alpha disks rg", "alpha disks RG2", "alpha snapshots rg", "d-1 disks rg", "d_1 disks rg"}},
			{"ManagedImages", galleon.ResourceFilter{Types: []string{galleon.TypeManagedImage}}, []string{"zeta images other"}},
			{"UnknownType", galleon.ResourceFilter{Types: []string{"Microsoft.Network/virtualNetworks"}}, nil},
			{"ResourceGroup", galleon.ResourceFilter{ResourceGroup: "rg2"},
				[]string{"alpha disks RG2", "beta galleries RG2", "beta/img galleries/images RG2", "beta/img/2.0.0 galleries/images/versions RG2"}},
			{"MissingResourceGroup", galleon.ResourceFilter{ResourceGroup: "nope"}, nil},
			{"Name", galleon.ResourceFilter{Name: "ALPHA"},
				[]string{"alpha disks rg", "alpha disks RG2", "Alpha galleries rg", "alpha snapshots rg"}},
			{"NestedName", galleon.ResourceFilter{Name: "alpha/IMG"}, []string{"Alpha/img galleries/images rg"}},
			{"VersionName", galleon.ResourceFilter{Name: "alpha/img/1.0.10"}, []string{"Alpha/img/1.0.10 galleries/images/versions rg"}},
			{"NameTooDeep", galleon.ResourceFilter{Name: "alpha/img/1.0.0/x"}, nil},
			{"Location", galleon.ResourceFilter{Location: "WestUS2"}, []string{"zeta images other"}},
			// '_' and '%' are LIKE's wildcards: they match only themselves.
			{"NameContainsUnderscore", galleon.ResourceFilter{NameContains: []string{"_1"}}, []string{"d_1 disks rg", "g_1 galleries rg"}},
			{"NameContainsPercent", galleon.ResourceFilter{NameContains: []string{"%"}}, nil},
			{"NameContainsBackslash", galleon.ResourceFilter{NameContains: []string{`\`}}, nil},
			{"NameContainsAcrossLevels", galleon.ResourceFilter{NameContains: []string{"IMG/1.0.1"}},
				[]string{"Alpha/img/1.0.10 galleries/images/versions rg"}},
			{"NameContainsEvery", galleon.ResourceFilter{NameContains: []string{"img", "2"}},
				[]string{"Alpha/img/1.0.2 galleries/images/versions rg", "beta/img/2.0.0 galleries/images/versions RG2"}},
			{"ResourceGroupContains", galleon.ResourceFilter{ResourceGroupContains: []string{"G2"}},
				[]string{"alpha disks RG2", "beta galleries RG2", "beta/img galleries/images RG2", "beta/img/2.0.0 galleries/images/versions RG2"}},
			{"TypeAndGroup", galleon.ResourceFilter{Types: []string{galleon.TypeImageVersion}, ResourceGroup: "RG"},
				[]string{"Alpha/img/1.0.0 galleries/images/versions rg", "Alpha/img/1.0.10 galleries/images/versions rg",
					"Alpha/img/1.0.2 galleries/images/versions rg"}},
			{"TypeAndContains", galleon.ResourceFilter{Types: []string{galleon.TypeImageDefinition}, NameContains: []string{"alpha"}},
				[]string{"Alpha/img galleries/images rg", "Alpha/Web galleries/images rg"}},
			{"NameAndGroup", galleon.ResourceFilter{Name: "alpha", ResourceGroup: "RG2"}, []string{"alpha disks RG2"}},
			// Within narrows each type it names to scopes, as a Reader of
			// one gallery or one group may read them.
			{"WithinGallery", galleon.ResourceFilter{Types: galleryTypes, Within: within(galleryTypes, alpha)}, alphaAndBelow},
			{"WithinGalleryOtherTypesNot", galleon.ResourceFilter{Within: within(galleryTypes, alpha)},
				slices.DeleteFunc(slices.Clone(all), func(l string) bool { return strings.Contains(l, "galleries") && !slices.Contains(alphaAndBelow, l) })},
			{"WithinGalleryTrailingSlashAndCase", galleon.ResourceFilter{Types: galleryTypes, Within: within(galleryTypes, strings.ToUpper(alpha)+"/")}, alphaAndBelow},
			{"WithinDefinition", galleon.ResourceFilter{Types: galleryTypes, Within: within(galleryTypes, alpha+"/images/img")},
				[]string{"Alpha/img galleries/images rg", "Alpha/img/1.0.0 galleries/images/versions rg", "Alpha/img/1.0.10 galleries/images/versions rg",
					"Alpha/img/1.0.2 galleries/images/versions rg"}},
			{"WithinVersion", galleon.ResourceFilter{Within: within(galleon.ListedResourceTypes, alpha+"/images/img/versions/1.0.10")},
				[]string{"Alpha/img/1.0.10 galleries/images/versions rg"}},
			{"WithinGroup", galleon.ResourceFilter{Within: within(galleon.ListedResourceTypes, "/subscriptions/"+strings.ToUpper(f.Sub)+"/RESOURCEGROUPS/rg2")},
				[]string{"alpha disks RG2", "beta galleries RG2", "beta/img galleries/images RG2", "beta/img/2.0.0 galleries/images/versions RG2"}},
			{"WithinSeveral", galleon.ResourceFilter{Types: []string{galleon.TypeGallery},
				Within: within(galleryTypes, f.Gallery("rg", "g_1").String(), f.Gallery("RG2", "beta").String())},
				[]string{"beta galleries RG2", "g_1 galleries rg"}},
			{"WithinProviderPrefix", galleon.ResourceFilter{Types: []string{galleon.TypeGallery}, Within: within(galleryTypes, rgScope+"/providers/Microsoft.Compute")},
				[]string{"Alpha galleries rg", "g.1 galleries rg", "g_1 galleries rg"}},
			{"WithinSubscriptionOrRoot", galleon.ResourceFilter{Types: []string{galleon.TypeGallery, galleon.TypeDisk},
				Within: map[string][]string{galleon.TypeGallery: {"/"}, galleon.TypeDisk: {galleon.SubscriptionScope(f.Sub)}}},
				[]string{"alpha disks rg", "alpha disks RG2", "Alpha galleries rg", "beta galleries RG2", "d-1 disks rg", "d_1 disks rg", "g.1 galleries rg", "g_1 galleries rg"}},
			{"WithinNothing", galleon.ResourceFilter{Types: []string{galleon.TypeGallery, galleon.TypeManagedImage},
				Within: map[string][]string{galleon.TypeGallery: {}}}, []string{"zeta images other"}},
			{"WithinAnotherSubscription", galleon.ResourceFilter{Within: within(galleon.ListedResourceTypes, "/subscriptions/"+nt.Subscription.ID)}, nil},
			{"WithinAnotherType", galleon.ResourceFilter{Types: []string{galleon.TypeDisk, galleon.TypeSnapshot, galleon.TypeGallery},
				Within: within(galleon.ListedResourceTypes, f.Disk("rg", galleon.TypeSnapshot, "alpha").String(), alpha+"/images")},
				[]string{"alpha snapshots rg"}},
			{"WithinAndFilters", galleon.ResourceFilter{NameContains: []string{"1.0.1"}, Within: within(galleon.ListedResourceTypes, alpha)},
				[]string{"Alpha/img/1.0.10 galleries/images/versions rg"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for _, limit := range []int{1, 1000} {
					got := pages(t, "ListResources", limit, func(p galleon.Page) ([]galleon.GenericResource, string, error) {
						return f.Store.ListResources(ctx(), f.Sub, tt.filter, p)
					}, resourceLabel)
					wantNames(t, "ListResources", limit, got, tt.want)
				}
			})
		}
	})

	t.Run("Subscriptions", func(t *testing.T) {
		other, _, err := f.Store.ListResources(ctx(), strings.ToUpper(nt.Subscription.ID), galleon.ResourceFilter{}, galleon.Page{})
		if err != nil || len(other) != 1 || other[0].ID != "/subscriptions/"+nt.Subscription.ID+"/resourceGroups/rg/providers/Microsoft.Compute/galleries/Alpha" {
			t.Errorf("the other subscription's list = %+v, %v; want its one gallery", other, err)
		}
		none, next, err := f.Store.ListResources(ctx(), uuid.NewString(), galleon.ResourceFilter{}, galleon.Page{})
		if err != nil || len(none) != 0 || next != "" {
			t.Errorf("an unknown subscription's list = %+v, %q, %v; want nothing", none, next, err)
		}
	})
}
