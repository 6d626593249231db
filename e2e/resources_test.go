package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// listResources reads every page of a generic resource list and returns
// the items.
func listResources(ctx context.Context, p interface {
	More() bool
	NextPage(context.Context) (armresources.ClientListResponse, error)
}) ([]*armresources.GenericResourceExpanded, int, error) {
	var out []*armresources.GenericResourceExpanded
	pages := 0
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, pages, err
		}
		pages++
		out = append(out, page.Value...)
	}
	return out, pages, nil
}

// listResourcesByGroup is listResources for a resource group's list.
func listResourcesByGroup(ctx context.Context, c *armresources.Client, rg string, opts *armresources.ClientListByResourceGroupOptions) ([]string, error) {
	p := c.NewListByResourceGroupPager(rg, opts)
	var names []string
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Value {
			names = append(names, *r.Name)
		}
	}
	return names, nil
}

func resourceNames(rs []*armresources.GenericResourceExpanded) []string {
	var out []string
	for _, r := range rs {
		out = append(out, *r.Name)
	}
	return out
}

// TestResourceList is ARM's generic resource list ("Resources - List" and
// "List By Resource Group") through the unmodified Azure SDK for Go's
// armresources.Client pagers and the real az resource list, on a server
// that pages by two: galleries, a definition and its version (listed under
// their full names, as Azure does), a snapshot and a disk; filters by
// type, name and substring; $expand; a refused filter; and a service
// principal that is Reader of one gallery, which sees that gallery and
// what it holds.
func TestResourceList(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "--list-page-size", "2")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	opts := &arm.ClientOptions{ClientOptions: sdk.opts}
	sdk.createGroup(t, "resRG")
	sdk.createGroup(t, "otherRG")
	for _, g := range []struct{ rg, name string }{{"resRG", "galA"}, {"resRG", "galB"}, {"otherRG", "galC"}} {
		if _, err := sdk.createGallery(ctx, g.rg, g.name, armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sdk.createImage(ctx, "resRG", "galA", "imgA", linuxImage("pub", "offer", "sku")); err != nil {
		t.Fatal(err)
	}
	sharedImageVersion(t, s, sdk, "resRG", "galA", "imgA") // and its source, snapshot imgASnap
	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := disks.BeginCreateOrUpdate(ctx, "otherRG", "diskA", armcompute.Disk{Location: to.Ptr("westus2"),
		Properties: &armcompute.DiskProperties{DiskSizeGB: to.Ptr[int32](1),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}}}, nil)
	if err == nil {
		_, err = dp.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	galA := sub + "/resourceGroups/resRG/providers/Microsoft.Compute/galleries/galA"
	all := []string{"diskA", "galA", "galA/imgA", "galA/imgA/1.0.0", "galB", "galC", "imgASnap"}

	resources, err := armresources.NewClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SDK", func(t *testing.T) {
		items, pages, err := listResources(ctx, resources.NewListPager(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := resourceNames(items); !slices.Equal(got, all) || pages != 4 {
			t.Errorf("NewListPager: %v in %d pages, want %v in 4", got, pages, all)
		}
		want := map[string][3]string{
			"diskA":           {sub + "/resourceGroups/otherRG/providers/Microsoft.Compute/disks/diskA", "Microsoft.Compute/disks", "westus2"},
			"galA/imgA/1.0.0": {galA + "/images/imgA/versions/1.0.0", "Microsoft.Compute/galleries/images/versions", "eastus"},
			"imgASnap":        {sub + "/resourceGroups/resRG/providers/Microsoft.Compute/snapshots/imgASnap", "Microsoft.Compute/snapshots", "eastus"},
		}
		for _, it := range items {
			if w, ok := want[*it.Name]; ok && (*it.ID != w[0] || *it.Type != w[1] || *it.Location != w[2]) {
				t.Errorf("%s: id %s, type %s, location %s; want %v", *it.Name, *it.ID, *it.Type, *it.Location, w)
			}
			if it.ProvisioningState != nil || it.CreatedTime != nil {
				t.Errorf("%s: provisioning state or times without $expand", *it.Name)
			}
		}

		items, _, err = listResources(ctx, resources.NewListPager(&armresources.ClientListOptions{
			Filter: to.Ptr("resourceType eq 'Microsoft.Compute/galleries'"), Expand: to.Ptr("createdTime,changedTime,provisioningState")}))
		if err != nil {
			t.Fatal(err)
		}
		if got := resourceNames(items); !slices.Equal(got, []string{"galA", "galB", "galC"}) {
			t.Errorf("galleries: %v", got)
		}
		for _, it := range items {
			if it.ProvisioningState == nil || *it.ProvisioningState != "Succeeded" || it.CreatedTime == nil || it.ChangedTime == nil {
				t.Errorf("%s with $expand: provisioning state %v, created %v, changed %v", *it.Name, it.ProvisioningState, it.CreatedTime, it.ChangedTime)
			}
		}

		names, err := listResourcesByGroup(ctx, resources, "resRG", &armresources.ClientListByResourceGroupOptions{
			Filter: to.Ptr("substringof('imga', name)"), Top: to.Ptr[int32](1)})
		if err != nil || !slices.Equal(names, []string{"galA/imgA", "galA/imgA/1.0.0", "imgASnap"}) {
			t.Errorf("resRG's resources named like imga: %v, %v", names, err)
		}
		names, err = listResourcesByGroup(ctx, resources, "otherRG", nil)
		if err != nil || !slices.Equal(names, []string{"diskA", "galC"}) {
			t.Errorf("otherRG's resources: %v, %v", names, err)
		}

		_, _, err = listResources(ctx, resources.NewListPager(&armresources.ClientListOptions{Filter: to.Ptr("tagName eq 'env'")}))
		wantResponseError(t, "a tag filter", err, 400, "InvalidFilterInQueryString")
		_, err = listResourcesByGroup(ctx, resources, "nope", nil)
		wantResponseError(t, "a missing group", err, 404, "ResourceGroupNotFound")
	})

	t.Run("SDKReaderOfOneGallery", func(t *testing.T) {
		appID, objectID, secret := newServicePrincipal(t, s, graphToken(t, s), "gallery-reader")
		ra, err := armauthorization.NewRoleAssignmentsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := assignRole(t, ra, galA, "acdd72a7-3385-48ef-bd42-f606fba81ae7", objectID, armauthorization.PrincipalTypeServicePrincipal); err != nil {
			t.Fatal(err)
		}
		readers, err := armresources.NewClient(s.Creds.SubscriptionID, spCredential(t, s, sdk, appID, secret), opts)
		if err != nil {
			t.Fatal(err)
		}
		items, pages, err := listResources(ctx, readers.NewListPager(nil))
		if got := resourceNames(items); err != nil || !slices.Equal(got, []string{"galA", "galA/imgA", "galA/imgA/1.0.0"}) || pages != 2 {
			t.Errorf("the reader's list: %v in %d pages, %v; want galA and what it holds in 2", got, pages, err)
		}
		names, err := listResourcesByGroup(ctx, readers, "resRG", nil)
		if err != nil || !slices.Equal(names, []string{"galA", "galA/imgA", "galA/imgA/1.0.0"}) {
			t.Errorf("the reader's list of resRG: %v, %v", names, err)
		}
		_, err = listResourcesByGroup(ctx, readers, "otherRG", nil)
		wantResponseError(t, "the reader listing another group", err, 403, "AuthorizationFailed")
	})

	t.Run("Az", func(t *testing.T) {
		az := NewAz(t, s)
		az.Login()
		var list []map[string]any
		az.MustJSON(&list, "resource", "list")
		var names []string
		for _, r := range list {
			names = append(names, r["name"].(string))
			if r["id"] == galA && (r["type"] != "Microsoft.Compute/galleries" || r["location"] != "eastus" ||
				r["resourceGroup"] != "resRG" || r["provisioningState"] != "Succeeded" || r["createdTime"] == nil) {
				t.Errorf("az resource list: galA is %v", r)
			}
		}
		if !slices.Equal(names, all) {
			t.Errorf("az resource list: %v, want %v", names, all)
		}
		az.MustJSON(&list, "resource", "list", "-g", "resRG", "--resource-type", "Microsoft.Compute/galleries")
		names = names[:0]
		for _, r := range list {
			names = append(names, r["name"].(string))
		}
		if !slices.Equal(names, []string{"galA", "galB"}) {
			t.Errorf("az resource list -g resRG --resource-type Microsoft.Compute/galleries: %v", names)
		}
		az.MustJSON(&list, "resource", "list", "--name", "galA/imgA/1.0.0", "--location", "eastus")
		if len(list) != 1 || list[0]["id"] != galA+"/images/imgA/versions/1.0.0" {
			t.Errorf("az resource list --name galA/imgA/1.0.0 --location eastus: %v", list)
		}
		_, stderr, err := az.Run("resource", "list", "--tag", "env=prod")
		if err == nil || !strings.Contains(stderr, "filtering by tag is not supported") {
			t.Errorf("az resource list --tag: err %v, stderr %q; want Galleon's refusal", err, stderr)
		}
	})
}
