package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/galleon-project/galleon/pgtest"
)

// SDK holds unmodified Azure SDK for Go clients pointed at a server.
type SDK struct {
	opts      azcore.ClientOptions
	Cred      *azidentity.ClientSecretCredential
	Groups    *armresources.ResourceGroupsClient
	Galleries *armcompute.GalleriesClient
	Images    *armcompute.GalleryImagesClient
}

func NewSDK(t testing.TB, s *Server) *SDK {
	t.Helper()
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: s.Creds.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: strings.TrimSuffix(s.Creds.ResourceManagerEndpoint, "/"), Audience: s.Creds.Audience},
			},
		},
		Transport: s.Client,
		Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond},
	}
	cred, err := azidentity.NewClientSecretCredential(s.Creds.TenantID, s.Creds.ClientID, s.Creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	armOpts := &arm.ClientOptions{ClientOptions: opts}
	sdk := &SDK{Cred: cred, opts: opts}
	if sdk.Groups, err = armresources.NewResourceGroupsClient(s.Creds.SubscriptionID, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	if sdk.Galleries, err = armcompute.NewGalleriesClient(s.Creds.SubscriptionID, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	if sdk.Images, err = armcompute.NewGalleryImagesClient(s.Creds.SubscriptionID, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	return sdk
}

var pollOpts = &runtime.PollUntilDoneOptions{Frequency: 200 * time.Millisecond}

func (sdk *SDK) createGroup(t testing.TB, name string) {
	t.Helper()
	if _, err := sdk.Groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatalf("creating resource group %s: %v", name, err)
	}
}

func (sdk *SDK) createGallery(ctx context.Context, rg, name string, g armcompute.Gallery) (armcompute.Gallery, error) {
	if g.Location == nil {
		g.Location = to.Ptr("eastus")
	}
	poller, err := sdk.Galleries.BeginCreateOrUpdate(ctx, rg, name, g, nil)
	if err != nil {
		return armcompute.Gallery{}, err
	}
	resp, err := poller.PollUntilDone(ctx, pollOpts)
	return resp.Gallery, err
}

func (sdk *SDK) createImage(ctx context.Context, rg, gallery, name string, img armcompute.GalleryImage) (armcompute.GalleryImage, error) {
	poller, err := sdk.Images.BeginCreateOrUpdate(ctx, rg, gallery, name, img, nil)
	if err != nil {
		return armcompute.GalleryImage{}, err
	}
	resp, err := poller.PollUntilDone(ctx, pollOpts)
	return resp.GalleryImage, err
}

func linuxImage(publisher, offer, sku string) armcompute.GalleryImage {
	return armcompute.GalleryImage{
		Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageProperties{
			OSType:     to.Ptr(armcompute.OperatingSystemTypesLinux),
			OSState:    to.Ptr(armcompute.OperatingSystemStateTypesGeneralized),
			Identifier: &armcompute.GalleryImageIdentifier{Publisher: to.Ptr(publisher), Offer: to.Ptr(offer), SKU: to.Ptr(sku)},
		},
	}
}

// wantResponseError asserts that err is an azcore.ResponseError with the
// given status and ARM error code.
func wantResponseError(t testing.TB, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got error %v, want ResponseError %d %s", what, err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("%s: got %d %s, want %d %s\n%v", what, re.StatusCode, re.ErrorCode, status, code, err)
	}
}

// TestSDK runs the whole resource flow through the unmodified Azure SDK for
// Go against a node on each database.
func TestSDK(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		sdkFlow(t, StartServer(t, "--list-page-size", "3"))
	})
	t.Run("Postgres", func(t *testing.T) {
		sdkFlow(t, StartServer(t, "--list-page-size", "3", "--database", pgtest.NewDatabase(t)))
	})
}

func sdkFlow(t *testing.T, s *Server) {
	sdk := NewSDK(t, s)
	ctx := context.Background()

	t.Run("ResourceGroups", func(t *testing.T) {
		resp, err := sdk.Groups.CreateOrUpdate(ctx, "myGalleryRG", armresources.ResourceGroup{
			Location: to.Ptr("eastus"), Tags: map[string]*string{"team": to.Ptr("images")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := *resp.ID, "/subscriptions/"+s.Creds.SubscriptionID+"/resourceGroups/myGalleryRG"; got != want {
			t.Errorf("id = %s, want %s", got, want)
		}
		if got := *resp.Properties.ProvisioningState; got != "Succeeded" {
			t.Errorf("provisioningState = %s", got)
		}
		got, err := sdk.Groups.Get(ctx, "MYGALLERYRG", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Name != "myGalleryRG" || *got.Tags["team"] != "images" {
			t.Errorf("get = %s %v, want original-case name and tags", *got.Name, got.Tags)
		}
		upd, err := sdk.Groups.Update(ctx, "myGalleryRG", armresources.ResourceGroupPatchable{
			Tags: map[string]*string{"team": to.Ptr("platform")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *upd.Tags["team"] != "platform" || *upd.Location != "eastus" {
			t.Errorf("update: tags %v location %s", upd.Tags, *upd.Location)
		}
		exists, err := sdk.Groups.CheckExistence(ctx, "myGalleryRG", nil)
		if err != nil || !exists.Success {
			t.Errorf("CheckExistence = %v, %v", exists.Success, err)
		}
		_, err = sdk.Groups.CreateOrUpdate(ctx, "badRegionRG", armresources.ResourceGroup{Location: to.Ptr("mars")}, nil)
		wantResponseError(t, "group in unknown region", err, 400, "LocationNotAvailableForResourceType")
		_, err = sdk.Groups.CreateOrUpdate(ctx, "myGalleryRG", armresources.ResourceGroup{Location: to.Ptr("westus2")}, nil)
		wantResponseError(t, "moving a group", err, 409, "InvalidResourceGroupLocation")
		_, err = sdk.Groups.Get(ctx, "nosuchrg", nil)
		wantResponseError(t, "missing group", err, 404, "ResourceGroupNotFound")
	})

	t.Run("GalleryRules", func(t *testing.T) {
		sdk.createGroup(t, "otherRG")
		for _, name := range []string{"my-gallery", "_gallery", "gallery.", strings.Repeat("g", 81), "gal lery"} {
			_, err := sdk.createGallery(ctx, "myGalleryRG", name, armcompute.Gallery{})
			wantResponseError(t, "gallery name "+name, err, 400, "InvalidParameter")
		}
		_, err := sdk.createGallery(ctx, "myGalleryRG", "dashes-are-refused", armcompute.Gallery{})
		var re *azcore.ResponseError
		if !errors.As(err, &re) || !strings.Contains(re.Error(), "cannot contain dashes") {
			t.Errorf("a dashed name's message should say dashes are refused: %v", err)
		}
		if _, err := sdk.createGallery(ctx, "myGalleryRG", "uniqueGallery", armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
		_, err = sdk.createGallery(ctx, "otherRG", "UNIQUEGALLERY", armcompute.Gallery{})
		wantResponseError(t, "same gallery name in another group", err, 409, "Conflict")
		_, err = sdk.createGallery(ctx, "nosuchrg", "orphan", armcompute.Gallery{})
		wantResponseError(t, "gallery in missing group", err, 404, "ResourceGroupNotFound")
		_, err = sdk.createGallery(ctx, "myGalleryRG", "farAway", armcompute.Gallery{Location: to.Ptr("mars")})
		wantResponseError(t, "gallery in unknown region", err, 400, "LocationNotAvailableForResourceType")
		_, err = sdk.createGallery(ctx, "myGalleryRG", "uniqueGallery", armcompute.Gallery{Location: to.Ptr("westus2")})
		wantResponseError(t, "moving a gallery", err, 409, "PropertyChangeNotAllowed")
		_, err = sdk.Galleries.Get(ctx, "myGalleryRG", "nosuchgallery", nil)
		wantResponseError(t, "missing gallery", err, 404, "ResourceNotFound")
	})

	t.Run("Galleries", func(t *testing.T) {
		g, err := sdk.createGallery(ctx, "myGalleryRG", "myGallery", armcompute.Gallery{
			Properties: &armcompute.GalleryProperties{Description: to.Ptr("My image gallery for testing.")}})
		if err != nil {
			t.Fatal(err)
		}
		p := g.Properties
		if *p.ProvisioningState != armcompute.GalleryProvisioningStateSucceeded ||
			*p.Identifier.UniqueName != s.Creds.SubscriptionID+"-MYGALLERY" ||
			*p.SharingProfile.Permissions != armcompute.GallerySharingPermissionTypesPrivate ||
			*p.SoftDeletePolicy.IsSoftDeleteEnabled {
			t.Errorf("defaults not echoed: %+v %+v %+v", *p.ProvisioningState, *p.Identifier.UniqueName, *p.SharingProfile.Permissions)
		}
		got, err := sdk.Galleries.Get(ctx, "MYGALLERYRG", "MyGallery", &armcompute.GalleriesClientGetOptions{
			Select: to.Ptr(armcompute.SelectPermissionsPermissions)})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Name != "myGallery" || *got.Type != "Microsoft.Compute/galleries" ||
			*got.ID != "/subscriptions/"+s.Creds.SubscriptionID+"/resourceGroups/myGalleryRG/providers/Microsoft.Compute/galleries/myGallery" {
			t.Errorf("get: name %s type %s id %s", *got.Name, *got.Type, *got.ID)
		}
		up, err := sdk.Galleries.BeginUpdate(ctx, "myGalleryRG", "myGallery", armcompute.GalleryUpdate{
			Properties: &armcompute.GalleryProperties{Description: to.Ptr("updated")},
			Tags:       map[string]*string{"env": to.Ptr("test")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		upd, err := up.PollUntilDone(ctx, pollOpts)
		if err != nil {
			t.Fatal(err)
		}
		if *upd.Properties.Description != "updated" || *upd.Tags["env"] != "test" || *upd.Properties.Identifier.UniqueName != s.Creds.SubscriptionID+"-MYGALLERY" {
			t.Errorf("update: %+v", upd.Properties)
		}
	})

	t.Run("ListGalleriesPaged", func(t *testing.T) {
		sdk.createGroup(t, "pagedRG")
		want := map[string]bool{}
		for i := range 8 {
			name := fmt.Sprintf("paged%02d", i)
			want[name] = true
			if _, err := sdk.createGallery(ctx, "pagedRG", name, armcompute.Gallery{}); err != nil {
				t.Fatal(err)
			}
		}
		pages, got := 0, map[string]bool{}
		pager := sdk.Galleries.NewListByResourceGroupPager("pagedRG", nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, g := range page.Value {
				if got[*g.Name] {
					t.Errorf("%s listed twice", *g.Name)
				}
				got[*g.Name] = true
			}
		}
		if pages != 3 || len(got) != len(want) {
			t.Errorf("listed %d galleries in %d pages, want %d in 3", len(got), pages, len(want))
		}
		for name := range want {
			if !got[name] {
				t.Errorf("%s missing from the list", name)
			}
		}
		all := 0
		subPager := sdk.Galleries.NewListPager(nil)
		for subPager.More() {
			page, err := subPager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			all += len(page.Value)
		}
		if all != 10 { // 8 paged, uniqueGallery, myGallery
			t.Errorf("listing by subscription found %d galleries, want 10", all)
		}
		groups := 0
		groupPager := sdk.Groups.NewListPager(nil)
		for groupPager.More() {
			page, err := groupPager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			groups += len(page.Value)
		}
		if groups != 3 {
			t.Errorf("listed %d resource groups, want 3", groups)
		}
	})

	t.Run("ImageDefinitions", func(t *testing.T) {
		img, err := sdk.createImage(ctx, "myGalleryRG", "myGallery", "myImageDefinition", linuxImage("myPublisher", "myOffer", "mySKU"))
		if err != nil {
			t.Fatal(err)
		}
		if *img.Properties.HyperVGeneration != armcompute.HyperVGenerationV1 || *img.Properties.Architecture != armcompute.ArchitectureX64 ||
			*img.Properties.ProvisioningState != armcompute.GalleryProvisioningStateSucceeded {
			t.Errorf("defaults not echoed: %+v", img.Properties)
		}
		got, err := sdk.Images.Get(ctx, "myGalleryRG", "MYGALLERY", "MYIMAGEDEFINITION", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Name != "myImageDefinition" || *got.Properties.Identifier.Publisher != "myPublisher" {
			t.Errorf("get: %s %+v", *got.Name, got.Properties.Identifier)
		}
		up, err := sdk.Images.BeginUpdate(ctx, "myGalleryRG", "myGallery", "myImageDefinition", armcompute.GalleryImageUpdate{
			Properties: &armcompute.GalleryImageProperties{Description: to.Ptr("Ubuntu golden image"),
				Recommended: &armcompute.RecommendedMachineConfiguration{VCPUs: &armcompute.ResourceRange{Min: to.Ptr[int32](2), Max: to.Ptr[int32](8)}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		upd, err := up.PollUntilDone(ctx, pollOpts)
		if err != nil {
			t.Fatal(err)
		}
		if *upd.Properties.Description != "Ubuntu golden image" || *upd.Properties.Recommended.VCPUs.Max != 8 ||
			*upd.Properties.OSType != armcompute.OperatingSystemTypesLinux {
			t.Errorf("update: %+v", upd.Properties)
		}
		for i := range 4 {
			if _, err := sdk.createImage(ctx, "myGalleryRG", "myGallery", fmt.Sprintf("extra-%d", i), linuxImage("p", "o", fmt.Sprintf("sku%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		n, pages := 0, 0
		pager := sdk.Images.NewListByGalleryPager("myGalleryRG", "myGallery", nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			n += len(page.Value)
		}
		if n != 5 || pages != 2 {
			t.Errorf("listed %d image definitions in %d pages, want 5 in 2", n, pages)
		}
	})

	t.Run("ImageDefinitionRules", func(t *testing.T) {
		create := func(name string, mutate func(*armcompute.GalleryImage)) error {
			img := linuxImage("rulesPublisher", "rulesOffer", "rulesSku-"+name)
			mutate(&img)
			_, err := sdk.createImage(ctx, "myGalleryRG", "myGallery", name, img)
			return err
		}
		past := time.Now().Add(-24 * time.Hour)
		for _, tt := range []struct {
			name   string
			mutate func(*armcompute.GalleryImage)
		}{
			{"-startsWithDash", func(*armcompute.GalleryImage) {}},
			{"has space", func(*armcompute.GalleryImage) {}},
			{"noOsType", func(i *armcompute.GalleryImage) { i.Properties.OSType = nil }},
			{"noOsState", func(i *armcompute.GalleryImage) { i.Properties.OSState = nil }},
			{"badOsType", func(i *armcompute.GalleryImage) {
				i.Properties.OSType = to.Ptr(armcompute.OperatingSystemTypes("Plan9"))
			}},
			{"longPublisher", func(i *armcompute.GalleryImage) { i.Properties.Identifier.Publisher = to.Ptr(strings.Repeat("p", 129)) }},
			{"longOffer", func(i *armcompute.GalleryImage) { i.Properties.Identifier.Offer = to.Ptr(strings.Repeat("o", 65)) }},
			{"longSku", func(i *armcompute.GalleryImage) { i.Properties.Identifier.SKU = to.Ptr(strings.Repeat("s", 65)) }},
			{"badRange", func(i *armcompute.GalleryImage) {
				i.Properties.Recommended = &armcompute.RecommendedMachineConfiguration{Memory: &armcompute.ResourceRange{Min: to.Ptr[int32](16), Max: to.Ptr[int32](4)}}
			}},
			{"pastEndOfLife", func(i *armcompute.GalleryImage) { i.Properties.EndOfLifeDate = &past }},
		} {
			wantResponseError(t, tt.name, create(tt.name, tt.mutate), 400, "InvalidParameter")
		}
		_, err := sdk.createImage(ctx, "myGalleryRG", "myGallery", "farImage", func() armcompute.GalleryImage {
			i := linuxImage("a", "b", "c")
			i.Location = to.Ptr("mars")
			return i
		}())
		wantResponseError(t, "image in unknown region", err, 400, "LocationNotAvailableForResourceType")

		_, err = sdk.createImage(ctx, "myGalleryRG", "myGallery", "duplicateTriplet", linuxImage("MYPUBLISHER", "myoffer", "MySku"))
		wantResponseError(t, "duplicate publisher/offer/sku", err, 409, "Conflict")
		_, err = sdk.createImage(ctx, "myGalleryRG", "nosuchgallery", "orphan", linuxImage("a", "b", "c"))
		wantResponseError(t, "image in missing gallery", err, 404, "ParentResourceNotFound")

		base := func() armcompute.GalleryImage { return linuxImage("myPublisher", "myOffer", "mySKU") }
		for _, tt := range []struct {
			property string
			mutate   func(*armcompute.GalleryImage)
		}{
			{"osType", func(i *armcompute.GalleryImage) { i.Properties.OSType = to.Ptr(armcompute.OperatingSystemTypesWindows) }},
			{"osState", func(i *armcompute.GalleryImage) {
				i.Properties.OSState = to.Ptr(armcompute.OperatingSystemStateTypesSpecialized)
			}},
			{"hyperVGeneration", func(i *armcompute.GalleryImage) {
				i.Properties.HyperVGeneration = to.Ptr(armcompute.HyperVGenerationV2)
			}},
			{"identifier", func(i *armcompute.GalleryImage) { i.Properties.Identifier.SKU = to.Ptr("otherSku") }},
			{"purchasePlan", func(i *armcompute.GalleryImage) {
				i.Properties.PurchasePlan = &armcompute.ImagePurchasePlan{Name: to.Ptr("n"), Product: to.Ptr("p"), Publisher: to.Ptr("x")}
			}},
			{"eula", func(i *armcompute.GalleryImage) { i.Properties.Eula = to.Ptr("new terms") }},
			{"privacyStatementUri", func(i *armcompute.GalleryImage) { i.Properties.PrivacyStatementURI = to.Ptr("https://example.com/p") }},
			{"location", func(i *armcompute.GalleryImage) { i.Location = to.Ptr("westus2") }},
		} {
			img := base()
			tt.mutate(&img)
			_, err := sdk.createImage(ctx, "myGalleryRG", "myGallery", "myImageDefinition", img)
			wantResponseError(t, "changing "+tt.property, err, 409, "PropertyChangeNotAllowed")
			var re *azcore.ResponseError
			if errors.As(err, &re) && !strings.Contains(re.Error(), tt.property) {
				t.Errorf("changing %s: the error should name the property: %v", tt.property, err)
			}
		}

		_, err = sdk.Galleries.BeginDelete(ctx, "myGalleryRG", "myGallery", nil)
		wantResponseError(t, "deleting a gallery with image definitions", err, 409, "CannotDeleteResource")
	})

	t.Run("Deletes", func(t *testing.T) {
		p, err := sdk.Images.BeginDelete(ctx, "myGalleryRG", "myGallery", "extra-0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		_, err = sdk.Images.Get(ctx, "myGalleryRG", "myGallery", "extra-0", nil)
		wantResponseError(t, "deleted image", err, 404, "ResourceNotFound")

		gp, err := sdk.Galleries.BeginDelete(ctx, "myGalleryRG", "uniqueGallery", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gp.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		// The name is free again, in any group.
		if _, err := sdk.createGallery(ctx, "otherRG", "uniqueGallery", armcompute.Gallery{}); err != nil {
			t.Fatalf("re-creating a deleted gallery's name elsewhere: %v", err)
		}

		// Deleting a resource group is a long-running operation that
		// cascades to its galleries and image definitions.
		rp, err := sdk.Groups.BeginDelete(ctx, "myGalleryRG", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		_, err = sdk.Groups.Get(ctx, "myGalleryRG", nil)
		wantResponseError(t, "deleted group", err, 404, "ResourceGroupNotFound")
		_, err = sdk.Galleries.Get(ctx, "myGalleryRG", "myGallery", nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
			t.Errorf("gallery of a deleted group: %v, want 404", err)
		}
		if _, err := sdk.createGallery(ctx, "otherRG", "myGallery", armcompute.Gallery{}); err != nil {
			t.Errorf("the cascade should free the gallery name: %v", err)
		}
	})
}
