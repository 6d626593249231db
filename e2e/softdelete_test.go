package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// TestSDK_SoftDelete is soft delete as the Go SDK drives it: a gallery
// created with softDeletePolicy on; a version deleted through the SDK is
// listed by SoftDeletedResourceClient, its bytes outlive garbage
// collection (running every second here), PATCH restore brings it back,
// and a disk made from it reads back the uploaded bytes.
func TestSDK_SoftDelete(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 21<<20)
	s := StartServer(t, "--gc-interval", "1s")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	opts := &arm.ClientOptions{ClientOptions: sdk.opts}
	sdk.createGroup(t, "soft")
	snap := uploadSnapshot(t, s, sdk, "soft", "osSnap", vhdBytes)
	g, err := sdk.createGallery(ctx, "soft", "gal", armcompute.Gallery{Properties: &armcompute.GalleryProperties{
		SoftDeletePolicy: &armcompute.SoftDeletePolicy{IsSoftDeleteEnabled: to.Ptr(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Properties.SoftDeletePolicy; p == nil || !*p.IsSoftDeleteEnabled {
		t.Fatalf("softDeletePolicy = %+v", p)
	}
	if _, err := sdk.createImage(ctx, "soft", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := versions.BeginCreateOrUpdate(ctx, "soft", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}}},
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}

	del, err := versions.BeginDelete(ctx, "soft", "gal", "img", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	_, err = versions.Get(ctx, "soft", "gal", "img", "1.0.0", nil)
	wantResponseError(t, "a soft-deleted version", err, 404, "ResourceNotFound")

	softDeleted, err := armcompute.NewSoftDeletedResourceClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	var listed []*armcompute.GallerySoftDeletedResource
	for pager := softDeleted.NewListByArtifactNamePager("soft", "gal", "Images", "img", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.Value...)
	}
	if len(listed) != 1 || *listed[0].Name != "1.0.0" || listed[0].Properties == nil ||
		*listed[0].Properties.SoftDeletedArtifactType != armcompute.SoftDeletedArtifactTypesImages ||
		*listed[0].Properties.ResourceArmID != *g.ID+"/images/img/versions/1.0.0" || listed[0].Properties.SoftDeletedTime == nil {
		t.Fatalf("soft-deleted resources: %+v", listed)
	}

	// Three collections later, westus2 still holds the version's chunks
	// (no snapshot is there to keep them otherwise).
	time.Sleep(3 * time.Second)
	if chunkFiles(s, "westus2") == 0 {
		t.Fatal("the collector deleted a soft-deleted version's chunks")
	}

	up, err := versions.BeginUpdate(ctx, "soft", "gal", "img", "1.0.0", armcompute.GalleryImageVersionUpdate{
		Properties: &armcompute.GalleryImageVersionProperties{Restore: to.Ptr(true),
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := up.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	if *restored.Name != "1.0.0" || *restored.Properties.ProvisioningState != armcompute.GalleryProvisioningStateSucceeded {
		t.Fatalf("restored: %+v", restored.Properties)
	}
	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := disks.BeginCreateOrUpdate(ctx, "soft", "fromRestored", armcompute.Disk{Location: to.Ptr("westus2"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
			GalleryImageReference: &armcompute.ImageDiskReference{ID: restored.ID}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	if got := diskDigest(t, s, disks, "soft", "fromRestored"); got != sha256Hex(vhdBytes) {
		t.Errorf("a disk from the restored version holds other bytes: %s", got)
	}
}
