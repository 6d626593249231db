package e2e

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// TestSDK_VersionWithDataDisks publishes a version from per-disk sources:
// an OS snapshot and two data disk snapshots at LUN 0 and 1, replicated to
// a second region, where a disk made from LUN 1 reads back that data disk.
// Two data disks at one LUN are refused.
func TestSDK_VersionWithDataDisks(t *testing.T) {
	t.Parallel()
	_, osBytes := makeFixedVHD(t, 24<<20)
	_, lun0 := makeFixedVHD(t, 21<<20)
	_, lun1 := makeFixedVHD(t, 22<<20)
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "data")
	osSnap := uploadSnapshot(t, s, sdk, "data", "os", osBytes)
	d0 := uploadSnapshot(t, s, sdk, "data", "d0", lun0)
	d1 := uploadSnapshot(t, s, sdk, "data", "d1", lun1)
	if _, err := sdk.createGallery(ctx, "data", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "data", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, luns ...int32) error {
		sp := &armcompute.GalleryImageVersionStorageProfile{OSDiskImage: &armcompute.GalleryOSDiskImage{Source: &armcompute.GalleryDiskImageSource{ID: osSnap.ID}}}
		for i, lun := range luns {
			src := d0.ID
			if i == 1 {
				src = d1.ID
			}
			sp.DataDiskImages = append(sp.DataDiskImages, &armcompute.GalleryDataDiskImage{Lun: to.Ptr(lun), Source: &armcompute.GalleryDiskImageSource{ID: src}})
		}
		p, err := versions.BeginCreateOrUpdate(ctx, "data", "gal", "img", name, armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
			Properties: &armcompute.GalleryImageVersionProperties{StorageProfile: sp,
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
					{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}}}}}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, pollOpts)
		return err
	}
	wantResponseError(t, "two data disks at one LUN", create("0.9.0", 1, 1), 400, "InvalidParameter")
	if err := create("1.0.0", 0, 1); err != nil {
		t.Fatal(err)
	}
	v, err := versions.Get(ctx, "data", "gal", "img", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if dd := v.Properties.StorageProfile.DataDiskImages; len(dd) != 2 || *dd[1].Lun != 1 || *dd[1].HostCaching != armcompute.HostCachingNone {
		t.Fatalf("data disks: %+v", dd)
	}

	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := disks.BeginCreateOrUpdate(ctx, "data", "lun1", armcompute.Disk{Location: to.Ptr("westus2"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
			GalleryImageReference: &armcompute.ImageDiskReference{ID: v.ID, Lun: to.Ptr[int32](1)}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	if got := diskDigest(t, s, disks, "data", "lun1"); got != sha256Hex(lun1) {
		t.Fatalf("the disk from LUN 1 holds another image than data disk 1: %s", got)
	}
}
