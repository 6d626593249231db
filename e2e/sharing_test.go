package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon/pgtest"
)

// TenantCreds is what `galleon tenant create -o json` prints.
type TenantCreds struct {
	TenantID                 string `json:"tenantId"`
	Domain                   string `json:"domain"`
	SubscriptionID           string `json:"subscriptionId"`
	ClientID                 string `json:"clientId"`
	ClientSecret             string `json:"clientSecret"`
	ServicePrincipalObjectID string `json:"servicePrincipalObjectId"`
}

// CreateTenant runs `galleon tenant create` on the server's data folder
// (and database, when it is not the default SQLite file).
func (s *Server) CreateTenant(t testing.TB, domain string) TenantCreds {
	t.Helper()
	args := []string{"tenant", "create", "--data", s.DataDir, "--domain", domain, "--name", "Consumer " + domain, "-o", "json"}
	for i, a := range s.Args {
		if a == "--database" && i+1 < len(s.Args) {
			args = append(args, "--database", s.Args[i+1])
		}
	}
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("galleon tenant create: %v\n%s", err, stderr)
	}
	var c TenantCreds
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	return c
}

// Consumer holds unmodified Azure SDK clients of another tenant's service
// principal, for its own subscription.
type Consumer struct {
	Creds             TenantCreds
	Cred              *azidentity.ClientSecretCredential
	Shared            *armcompute.SharedGalleriesClient
	SharedImages      *armcompute.SharedGalleryImagesClient
	SharedVersions    *armcompute.SharedGalleryImageVersionsClient
	Community         *armcompute.CommunityGalleriesClient
	CommunityImages   *armcompute.CommunityGalleryImagesClient
	CommunityVersions *armcompute.CommunityGalleryImageVersionsClient
	Galleries         *armcompute.GalleriesClient // of the publisher's subscription
	Sharing           *armcompute.GallerySharingProfileClient
}

func NewConsumer(t testing.TB, s *Server, c TenantCreds) *Consumer {
	t.Helper()
	base := NewSDK(t, s)
	opts := base.opts
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	armOpts := &arm.ClientOptions{ClientOptions: opts}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	k := &Consumer{Creds: c, Cred: cred}
	k.Shared, err = armcompute.NewSharedGalleriesClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.SharedImages, err = armcompute.NewSharedGalleryImagesClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.SharedVersions, err = armcompute.NewSharedGalleryImageVersionsClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.Community, err = armcompute.NewCommunityGalleriesClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.CommunityImages, err = armcompute.NewCommunityGalleryImagesClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.CommunityVersions, err = armcompute.NewCommunityGalleryImageVersionsClient(c.SubscriptionID, cred, armOpts)
	must(err)
	k.Galleries, err = armcompute.NewGalleriesClient(s.Creds.SubscriptionID, cred, armOpts)
	must(err)
	k.Sharing, err = armcompute.NewGallerySharingProfileClient(s.Creds.SubscriptionID, cred, armOpts)
	must(err)
	return k
}

// Token is an ARM token of the consumer's service principal.
func (k *Consumer) Token(t testing.TB) string {
	t.Helper()
	tok, err := k.Cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// SharedNames lists the unique names of the galleries shared with the
// consumer in location.
func (k *Consumer) SharedNames(t testing.TB, location string, tenant bool) []string {
	t.Helper()
	opts := &armcompute.SharedGalleriesClientListOptions{}
	if tenant {
		opts.SharedTo = to.Ptr(armcompute.SharedToValuesTenant)
	}
	var names []string
	pager := k.Shared.NewListPager(location, opts)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing shared galleries in %s: %v", location, err)
		}
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	return names
}

// Publisher is the bootstrap principal's sharing client.
type Publisher struct {
	*SDK
	Sharing *armcompute.GallerySharingProfileClient
}

func NewPublisher(t testing.TB, s *Server) *Publisher {
	t.Helper()
	sdk := NewSDK(t, s)
	c, err := armcompute.NewGallerySharingProfileClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	return &Publisher{SDK: sdk, Sharing: c}
}

func (p *Publisher) share(ctx context.Context, rg, gallery string, op armcompute.SharingUpdateOperationTypes, groups ...*armcompute.SharingProfileGroup) (armcompute.SharingUpdate, error) {
	c := p.Sharing
	poller, err := c.BeginUpdate(ctx, rg, gallery, armcompute.SharingUpdate{OperationType: to.Ptr(op), Groups: groups}, nil)
	if err != nil {
		return armcompute.SharingUpdate{}, err
	}
	resp, err := poller.PollUntilDone(ctx, pollOpts)
	return resp.SharingUpdate, err
}

func subscriptionsGroup(ids ...string) *armcompute.SharingProfileGroup {
	return &armcompute.SharingProfileGroup{Type: to.Ptr(armcompute.SharingProfileGroupTypesSubscriptions), IDs: to.SliceOfPtrs(ids...)}
}

func tenantsGroup(ids ...string) *armcompute.SharingProfileGroup {
	return &armcompute.SharingProfileGroup{Type: to.Ptr(armcompute.SharingProfileGroupTypesAADTenants), IDs: to.SliceOfPtrs(ids...)}
}

// sharedImageVersion publishes version 1.0.0 of image img in gallery, from
// an empty 1 GiB snapshot, replicated to eastus and westus2.
func sharedImageVersion(t *testing.T, s *Server, sdk *SDK, rg, gallery, img string) {
	t.Helper()
	ctx := context.Background()
	opts := &arm.ClientOptions{ClientOptions: sdk.opts}
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := snaps.BeginCreateOrUpdate(ctx, rg, img+"Snap", armcompute.Snapshot{Location: to.Ptr("eastus"),
		Properties: &armcompute.SnapshotProperties{DiskSizeGB: to.Ptr[int32](1), OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := versions.BeginCreateOrUpdate(ctx, rg, gallery, img, "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}}},
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := vp.PollUntilDone(ctx, pollOpts); err != nil || *v.Properties.ProvisioningState != armcompute.GalleryProvisioningStateSucceeded {
		t.Fatalf("version 1.0.0 of %s: %v", img, err)
	}
}

// TestSharing is direct and community sharing through the unmodified Azure
// SDK for Go: a second tenant's subscription sees a gallery only once it is
// shared with it (or its tenant), can reject and accept the share, loses it
// when the share is removed or reset; a community gallery is readable by
// the other tenant with its publisher's EULA and contact.
func TestSharing(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) { sharingFlow(t, StartServer(t, "--list-page-size", "2")) })
	t.Run("Postgres", func(t *testing.T) {
		sharingFlow(t, StartServer(t, "--list-page-size", "2", "--database", pgtest.NewDatabase(t)))
	})
}

func sharingFlow(t *testing.T, s *Server) {
	ctx := context.Background()
	owner := NewPublisher(t, s)
	consumer := NewConsumer(t, s, s.CreateTenant(t, "fabrikam.example"))
	sub2, tenant2 := consumer.Creds.SubscriptionID, consumer.Creds.TenantID
	const rg = "publisher"
	owner.createGroup(t, rg)
	for _, name := range []string{"shared", "private"} {
		if _, err := owner.createGallery(ctx, rg, name, armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.createImage(ctx, rg, "shared", "ubuntu", linuxImage("pub", "offer", "sku")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.createImage(ctx, rg, "shared", "bare", linuxImage("pub", "offer", "bare")); err != nil {
		t.Fatal(err)
	}
	sharedImageVersion(t, s, owner.SDK, rg, "shared", "ubuntu")
	unique := s.Creds.SubscriptionID + "-SHARED"
	locationPath := "/subscriptions/" + sub2 + "/providers/Microsoft.Compute/locations/eastus"

	t.Run("OtherTenant", func(t *testing.T) {
		status, _, body := s.Do(t, http.MethodGet, "/tenants?api-version=2022-12-01", consumer.Token(t), nil)
		value, _ := body["value"].([]any)
		if status != 200 || len(value) != 1 || value[0].(map[string]any)["tenantId"] != tenant2 ||
			value[0].(map[string]any)["defaultDomain"] != "fabrikam.example" {
			t.Errorf("GET /tenants as the other tenant: %d %v", status, body)
		}
		status, _, body = s.Do(t, http.MethodGet, "/subscriptions?api-version=2022-12-01", consumer.Token(t), nil)
		value, _ = body["value"].([]any)
		if status != 200 || len(value) != 1 || value[0].(map[string]any)["subscriptionId"] != sub2 {
			t.Errorf("GET /subscriptions as the other tenant: %d %v", status, body)
		}
	})

	t.Run("NothingBeforeSharing", func(t *testing.T) {
		if got := consumer.SharedNames(t, "eastus", false); len(got) != 0 {
			t.Fatalf("shared galleries before any share: %v", got)
		}
		_, err := consumer.Shared.Get(ctx, "eastus", unique, nil)
		wantResponseError(t, "a gallery not shared yet", err, 404, "ResourceNotFound")
		// The consumer holds no role on the publisher's gallery.
		_, err = consumer.Galleries.Get(ctx, rg, "shared", nil)
		wantResponseError(t, "the publisher's gallery read directly", err, 403, "AuthorizationFailed")
	})

	t.Run("ShareRules", func(t *testing.T) {
		_, err := owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesAdd)
		wantResponseError(t, "Add without groups", err, 400, "InvalidParameter")
		_, err = owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesAdd, subscriptionsGroup("not-a-guid"))
		wantResponseError(t, "Add of a malformed id", err, 400, "InvalidParameter")
		_, err = owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesEnableCommunity)
		wantResponseError(t, "EnableCommunity without communityGalleryInfo", err, 400, "InvalidParameter")
		_, err = owner.share(ctx, rg, "nosuch", armcompute.SharingUpdateOperationTypesReset)
		wantResponseError(t, "sharing a missing gallery", err, 404, "ResourceNotFound")
		// Only the publisher's owners and sharing admins share.
		p, err := consumer.Sharing.BeginUpdate(ctx, rg, "shared", armcompute.SharingUpdate{
			OperationType: to.Ptr(armcompute.SharingUpdateOperationTypesAdd), Groups: []*armcompute.SharingProfileGroup{subscriptionsGroup(sub2)}}, nil)
		if err == nil {
			_, err = p.PollUntilDone(ctx, pollOpts)
		}
		wantResponseError(t, "another tenant sharing the publisher's gallery", err, 403, "AuthorizationFailed")
		// The permission is set at creation and changed by the share action only.
		_, err = owner.createGallery(ctx, rg, "shared", armcompute.Gallery{Properties: &armcompute.GalleryProperties{
			SharingProfile: &armcompute.SharingProfile{Permissions: to.Ptr(armcompute.GallerySharingPermissionTypesGroups)}}})
		wantResponseError(t, "changing the permission with PUT", err, 409, "PropertyChangeNotAllowed")
		_, err = owner.createGallery(ctx, rg, "community", armcompute.Gallery{Properties: &armcompute.GalleryProperties{
			SharingProfile: &armcompute.SharingProfile{Permissions: to.Ptr(armcompute.GallerySharingPermissionTypesCommunity)}}})
		wantResponseError(t, "a community gallery without communityGalleryInfo", err, 400, "InvalidParameter")
	})

	t.Run("ShareNeedsOwnerOrSharingAdmin", func(t *testing.T) {
		gallery := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/galleries/shared"
		putAssignment := func(principalID, role string) (string, int, map[string]any) {
			name := uuid.NewString()
			status, _, body := s.Do(t, http.MethodPut, gallery+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01",
				s.Token(t), map[string]any{"properties": map[string]any{"principalId": principalID,
					"principalType": "ServicePrincipal", "roleDefinitionId": "/subscriptions/" + s.Creds.SubscriptionID +
						"/providers/Microsoft.Authorization/roleDefinitions/" + role}})
			return name, status, body
		}
		// A role goes only to a principal of the tenant that owns the
		// scope: another tenant's service principal is not in its directory.
		if _, status, body := putAssignment(consumer.Creds.ServicePrincipalObjectID, "b24988ac-6180-42a0-ab88-20f7382dd24c"); status != 400 || errorCode(body) != "PrincipalNotFound" {
			t.Errorf("assigning a role to another tenant's service principal: %d %v, want 400 PrincipalNotFound", status, body)
		}
		// A service principal of the publisher's own tenant.
		appID, objectID, secret := newServicePrincipal(t, s, graphToken(t, s), "gallery-admin")
		member := NewConsumer(t, s, TenantCreds{TenantID: s.Creds.TenantID, SubscriptionID: s.Creds.SubscriptionID,
			ClientID: appID, ClientSecret: secret, ServicePrincipalObjectID: objectID})
		// assign grants role on the gallery to that principal until the subtest ends.
		assign := func(role string) {
			name, status, body := putAssignment(objectID, role)
			if status != 201 {
				t.Fatalf("assigning role %s: %d %v", role, status, body)
			}
			t.Cleanup(func() {
				s.Do(t, http.MethodDelete, gallery+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01", s.Token(t), nil)
			})
		}
		reset := func() error {
			p, err := member.Sharing.BeginUpdate(ctx, rg, "shared", armcompute.SharingUpdate{OperationType: to.Ptr(armcompute.SharingUpdateOperationTypesReset)}, nil)
			if err != nil {
				return err
			}
			_, err = p.PollUntilDone(ctx, pollOpts)
			return err
		}
		// Contributor may write the gallery but not share it.
		assign("b24988ac-6180-42a0-ab88-20f7382dd24c")
		if _, err := member.Galleries.Get(ctx, rg, "shared", nil); err != nil {
			t.Fatalf("a Contributor reading the gallery: %v", err)
		}
		wantResponseError(t, "a Contributor sharing", reset(), 403, "AuthorizationFailed")
		// Compute Gallery Sharing Admin may.
		assign("1ef6a3be-d0ac-425d-8c01-acb62866290b")
		if err := reset(); err != nil {
			t.Fatalf("a Compute Gallery Sharing Admin sharing: %v", err)
		}
	})

	t.Run("AddSubscription", func(t *testing.T) {
		got, err := owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesAdd, subscriptionsGroup(strings.ToUpper(sub2)))
		if err != nil {
			t.Fatal(err)
		}
		if *got.OperationType != armcompute.SharingUpdateOperationTypesAdd || len(got.Groups) != 1 || *got.Groups[0].IDs[0] != sub2 {
			t.Errorf("the share answer: %+v", got)
		}
		g, err := owner.Galleries.Get(ctx, rg, "shared", &armcompute.GalleriesClientGetOptions{Expand: to.Ptr(armcompute.GalleryExpandParamsSharingProfileGroups)})
		if err != nil {
			t.Fatal(err)
		}
		if sp := g.Properties.SharingProfile; *sp.Permissions != armcompute.GallerySharingPermissionTypesGroups || len(sp.Groups) != 1 ||
			*sp.Groups[0].Type != armcompute.SharingProfileGroupTypesSubscriptions || *sp.Groups[0].IDs[0] != sub2 {
			t.Errorf("the gallery's sharing profile with $expand: %+v", sp)
		}
		g, err = owner.Galleries.Get(ctx, rg, "shared", nil)
		if err != nil || *g.Properties.SharingProfile.Permissions != armcompute.GallerySharingPermissionTypesGroups || g.Properties.SharingProfile.Groups != nil {
			t.Errorf("the gallery without $expand shows the permission and no groups: %+v, %v", g.Properties.SharingProfile, err)
		}
		// A PUT that sends the profile back keeps the groups.
		if _, err := owner.createGallery(ctx, rg, "shared", armcompute.Gallery{Properties: &armcompute.GalleryProperties{
			Description: to.Ptr("shared with fabrikam"), SharingProfile: g.Properties.SharingProfile}}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ConsumerSeesIt", func(t *testing.T) {
		if got := consumer.SharedNames(t, "eastus", false); !slices.Equal(got, []string{unique}) {
			t.Fatalf("shared galleries in eastus: %v, want %s", got, unique)
		}
		if got := consumer.SharedNames(t, "eastus", true); len(got) != 0 {
			t.Errorf("shared with the tenant: %v, want none (the share is to the subscription)", got)
		}
		sg, err := consumer.Shared.Get(ctx, "eastus", strings.ToLower(unique), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *sg.Name != unique || *sg.Location != "eastus" || *sg.Identifier.UniqueID != "/SharedGalleries/"+unique {
			t.Errorf("the shared gallery: %+v", sg)
		}
		var images []string
		pager := consumer.SharedImages.NewListPager("eastus", unique, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, img := range page.Value {
				images = append(images, *img.Name)
			}
		}
		if !slices.Equal(images, []string{"bare", "ubuntu"}) {
			t.Errorf("shared images in eastus: %v", images)
		}
		img, err := consumer.SharedImages.Get(ctx, "eastus", unique, "ubuntu", nil)
		if err != nil {
			t.Fatal(err)
		}
		if p := img.Properties; *p.OSType != armcompute.OperatingSystemTypesLinux || *p.Identifier.SKU != "sku" ||
			*img.Identifier.UniqueID != "/SharedGalleries/"+unique+"/Images/ubuntu" {
			t.Errorf("the shared image: %+v %+v", img.Properties, img.Identifier)
		}
		vpager := consumer.SharedVersions.NewListPager("westus2", unique, "ubuntu", nil)
		var versions []string
		for vpager.More() {
			page, err := vpager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				versions = append(versions, *v.Name)
			}
		}
		if !slices.Equal(versions, []string{"1.0.0"}) {
			t.Errorf("shared versions in westus2: %v", versions)
		}
		v, err := consumer.SharedVersions.Get(ctx, "eastus", unique, "ubuntu", "1.0.0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if p := v.Properties; *p.StorageProfile.OSDiskImage.DiskSizeGB != 1 || *p.ExcludeFromLatest || p.PublishedDate == nil ||
			*v.Identifier.UniqueID != "/SharedGalleries/"+unique+"/Images/ubuntu/Versions/1.0.0" {
			t.Errorf("the shared version: %+v", v.Properties)
		}
		// Where the gallery has nothing, it is not offered.
		if got := consumer.SharedNames(t, "westeurope", false); len(got) != 0 {
			t.Errorf("shared galleries in westeurope: %v", got)
		}
		_, err = consumer.SharedImages.Get(ctx, "westus2", unique, "bare", nil)
		wantResponseError(t, "an image without versions outside its region", err, 404, "ResourceNotFound")
		_, err = consumer.Shared.Get(ctx, "eastus", s.Creds.SubscriptionID+"-PRIVATE", nil)
		wantResponseError(t, "the publisher's other gallery", err, 404, "ResourceNotFound")
	})

	t.Run("Paging", func(t *testing.T) {
		// Three shared galleries over pages of two (--list-page-size 2).
		for _, name := range []string{"paged1", "paged2"} {
			if _, err := owner.createGallery(ctx, rg, name, armcompute.Gallery{}); err != nil {
				t.Fatal(err)
			}
			if _, err := owner.share(ctx, rg, name, armcompute.SharingUpdateOperationTypesAdd, subscriptionsGroup(sub2)); err != nil {
				t.Fatal(err)
			}
		}
		pager := consumer.Shared.NewListPager("eastus", nil)
		var pages [][]string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range page.Value {
				names = append(names, *g.Name)
			}
			pages = append(pages, names)
		}
		pre := s.Creds.SubscriptionID + "-"
		if len(pages) != 2 || !slices.Equal(pages[0], []string{pre + "PAGED1", pre + "PAGED2"}) || !slices.Equal(pages[1], []string{unique}) {
			t.Errorf("pages of shared galleries: %v", pages)
		}
		for _, name := range []string{"paged1", "paged2"} {
			if _, err := owner.share(ctx, rg, name, armcompute.SharingUpdateOperationTypesReset); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("RejectAndAccept", func(t *testing.T) {
		respond := func(verb, name string) (int, map[string]any) {
			status, _, body := s.Do(t, http.MethodPost, locationPath+"/sharedGallerySubscriptions/"+s.Creds.SubscriptionID+
				"/sharedGalleries/"+name+"/"+verb+"?api-version=2025-12-03", consumer.Token(t), nil)
			return status, body
		}
		if status, body := respond("reject", "shared"); status != 200 || body["name"] != unique ||
			body["properties"].(map[string]any)["id"] != s.Creds.SubscriptionID {
			t.Fatalf("reject: %d %v", status, body)
		}
		if got := consumer.SharedNames(t, "eastus", false); len(got) != 0 {
			t.Fatalf("shared galleries after rejecting: %v", got)
		}
		_, err := consumer.SharedImages.Get(ctx, "eastus", unique, "ubuntu", nil)
		wantResponseError(t, "an image of a rejected gallery", err, 404, "ResourceNotFound")
		if status, body := respond("accept", unique); status != 200 {
			t.Fatalf("accept by unique name: %d %v", status, body)
		}
		if got := consumer.SharedNames(t, "eastus", false); !slices.Equal(got, []string{unique}) {
			t.Fatalf("shared galleries after accepting again: %v", got)
		}
		if status, body := respond("reject", "private"); status != 404 || errorCode(body) != "ResourceNotFound" {
			t.Errorf("rejecting a gallery not shared: %d %v", status, body)
		}
		// The owner's own subscription answers only for itself.
		status, _, body := s.Do(t, http.MethodPost, locationPath+"/sharedGallerySubscriptions/"+s.Creds.SubscriptionID+
			"/sharedGalleries/shared/reject?api-version=2025-12-03", s.Token(t), nil)
		if status != 403 || errorCode(body) != "AuthorizationFailed" {
			t.Errorf("the publisher rejecting for the consumer's subscription: %d %v", status, body)
		}
	})

	t.Run("RemoveAndTenant", func(t *testing.T) {
		if _, err := owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesRemove, subscriptionsGroup(sub2)); err != nil {
			t.Fatal(err)
		}
		if got := consumer.SharedNames(t, "eastus", false); len(got) != 0 {
			t.Fatalf("shared galleries after Remove: %v", got)
		}
		_, err := consumer.Shared.Get(ctx, "eastus", unique, nil)
		wantResponseError(t, "a removed share", err, 404, "ResourceNotFound")
		if _, err := owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesAdd, tenantsGroup(tenant2)); err != nil {
			t.Fatal(err)
		}
		if got := consumer.SharedNames(t, "eastus", true); !slices.Equal(got, []string{unique}) {
			t.Fatalf("shared with the tenant: %v", got)
		}
		if got := consumer.SharedNames(t, "eastus", false); len(got) != 0 {
			t.Errorf("shared with the subscription: %v, want none (the share is to the tenant)", got)
		}
		if _, err := consumer.SharedVersions.Get(ctx, "eastus", unique, "ubuntu", "1.0.0", nil); err != nil {
			t.Errorf("a version of a gallery shared with the tenant: %v", err)
		}
	})

	t.Run("Reset", func(t *testing.T) {
		got, err := owner.share(ctx, rg, "shared", armcompute.SharingUpdateOperationTypesReset)
		if err != nil || *got.OperationType != armcompute.SharingUpdateOperationTypesReset {
			t.Fatalf("Reset: %+v, %v", got, err)
		}
		if got := consumer.SharedNames(t, "eastus", true); len(got) != 0 {
			t.Fatalf("shared after Reset: %v", got)
		}
		g, err := owner.Galleries.Get(ctx, rg, "shared", &armcompute.GalleriesClientGetOptions{Expand: to.Ptr(armcompute.GalleryExpandParamsSharingProfileGroups)})
		if err != nil || *g.Properties.SharingProfile.Permissions != armcompute.GallerySharingPermissionTypesPrivate || len(g.Properties.SharingProfile.Groups) != 0 {
			t.Errorf("after Reset: %+v, %v", g.Properties.SharingProfile, err)
		}
	})

	t.Run("Community", func(t *testing.T) {
		info := &armcompute.CommunityGalleryInfo{PublisherURI: to.Ptr("https://images.contoso.example"),
			PublisherContact: to.Ptr("images@contoso.example"), Eula: to.Ptr("https://images.contoso.example/eula"),
			PublicNamePrefix: to.Ptr("ContosoImages")}
		g, err := owner.createGallery(ctx, rg, "community", armcompute.Gallery{Properties: &armcompute.GalleryProperties{
			SharingProfile: &armcompute.SharingProfile{Permissions: to.Ptr(armcompute.GallerySharingPermissionTypesCommunity), CommunityGalleryInfo: info}}})
		if err != nil {
			t.Fatal(err)
		}
		if ci := g.Properties.SharingProfile.CommunityGalleryInfo; *ci.CommunityGalleryEnabled || len(ci.PublicNames) != 0 {
			t.Errorf("a new community gallery is published already: %+v", ci)
		}
		if _, err := owner.createImage(ctx, rg, "community", "debian", linuxImage("contoso", "debian", "12")); err != nil {
			t.Fatal(err)
		}
		sharedImageVersion(t, s, owner.SDK, rg, "community", "debian")
		if _, err := owner.share(ctx, rg, "community", armcompute.SharingUpdateOperationTypesEnableCommunity); err != nil {
			t.Fatal(err)
		}
		got, err := owner.Galleries.Get(ctx, rg, "community", nil)
		if err != nil {
			t.Fatal(err)
		}
		ci := got.Properties.SharingProfile.CommunityGalleryInfo
		if !*ci.CommunityGalleryEnabled || len(ci.PublicNames) != 1 || !strings.HasPrefix(*ci.PublicNames[0], "ContosoImages-") {
			t.Fatalf("the published community gallery: %+v", ci)
		}
		public := *ci.PublicNames[0]
		_, err = owner.share(ctx, rg, "community", armcompute.SharingUpdateOperationTypesAdd, subscriptionsGroup(sub2))
		wantResponseError(t, "direct sharing of a community gallery", err, 409, "OperationNotAllowed")

		// Any authenticated principal reads it, here the other tenant's.
		cg, err := consumer.Community.Get(ctx, "eastus", public, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := cg.Properties.CommunityMetadata
		if *cg.Name != public || *cg.Type != "Microsoft.Compute/locations/communityGallery" || *cg.Identifier.UniqueID != "/CommunityGalleries/"+public ||
			*m.Eula != *info.Eula || *m.PublisherContact != *info.PublisherContact || *m.PublisherURI != *info.PublisherURI || *m.PublicNames[0] != public {
			t.Errorf("the community gallery: %+v %+v", cg, m)
		}
		pager := consumer.CommunityImages.NewListPager("eastus", public, nil)
		var images []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, img := range page.Value {
				images = append(images, *img.Name)
			}
		}
		if !slices.Equal(images, []string{"debian"}) {
			t.Errorf("community images: %v", images)
		}
		v, err := consumer.CommunityVersions.Get(ctx, "westus2", public, "debian", "1.0.0", nil)
		if err != nil || *v.Identifier.UniqueID != "/CommunityGalleries/"+public+"/Images/debian/Versions/1.0.0" {
			t.Errorf("a community version: %+v, %v", v, err)
		}
		_, err = consumer.Community.Get(ctx, "eastus", "ContosoImages-"+uuid.NewString(), nil)
		wantResponseError(t, "an unknown public name", err, 404, "ResourceNotFound")

		if _, err := owner.share(ctx, rg, "community", armcompute.SharingUpdateOperationTypesReset); err != nil {
			t.Fatal(err)
		}
		_, err = consumer.Community.Get(ctx, "eastus", public, nil)
		wantResponseError(t, "a community gallery after Reset", err, 404, "ResourceNotFound")
	})
}
