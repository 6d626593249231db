package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// TestSDK_VersionSources publishes versions from each whole-version and
// blob source: a managed image captured from snapshots (which are deleted
// afterwards: the image keeps its own copy), another gallery's image
// version, a managed disk, and a VHD blob in a real Azurite storage account given by uri
// and storageAccountId. Disks made from the results read back the
// original bytes, and the rules on such sources answer 400.
func TestSDK_VersionSources(t *testing.T) {
	t.Parallel()
	_, osBytes := makeFixedVHD(t, 24<<20)
	_, dataBytes := makeFixedVHD(t, 21<<20)
	_, blobBytes := makeFixedVHD(t, 22<<20)
	blobURL := azuriteVHD(t, blobBytes)
	s := StartServer(t, azuriteAllow(t, blobURL)...)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	const rg = "sources"
	sdk.createGroup(t, rg)
	opts := &arm.ClientOptions{ClientOptions: sdk.opts}
	images, err := armcompute.NewImagesClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	osSnap := uploadSnapshot(t, s, sdk, rg, "os", osBytes)
	dataSnap := uploadSnapshot(t, s, sdk, rg, "data", dataBytes)

	// A managed image from the two snapshots.
	createImage := func(name, location string, osDisk *armcompute.ImageOSDisk, data ...*armcompute.ImageDataDisk) (armcompute.Image, error) {
		p, err := images.BeginCreateOrUpdate(ctx, rg, name, armcompute.Image{Location: to.Ptr(location),
			Properties: &armcompute.ImageProperties{StorageProfile: &armcompute.ImageStorageProfile{OSDisk: osDisk, DataDisks: data}}}, nil)
		if err != nil {
			return armcompute.Image{}, err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		return resp.Image, err
	}
	osDisk := func(src *string) *armcompute.ImageOSDisk {
		return &armcompute.ImageOSDisk{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
			OSState: to.Ptr(armcompute.OperatingSystemStateTypesGeneralized), Snapshot: &armcompute.SubResource{ID: src}}
	}
	dataDisk := func(lun int32) *armcompute.ImageDataDisk {
		return &armcompute.ImageDataDisk{Lun: to.Ptr(lun), Snapshot: &armcompute.SubResource{ID: dataSnap.ID}}
	}
	_, err = createImage("elsewhere", "westus2", osDisk(osSnap.ID))
	wantResponseError(t, "an image from a snapshot in another region", err, 400, "InvalidParameter")
	_, err = createImage("twolun", "eastus", osDisk(osSnap.ID), dataDisk(0), dataDisk(0))
	wantResponseError(t, "an image with two data disks at one LUN", err, 400, "InvalidParameter")
	_, err = createImage("nosource", "eastus", &armcompute.ImageOSDisk{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
		OSState: to.Ptr(armcompute.OperatingSystemStateTypesGeneralized)})
	wantResponseError(t, "an image disk without a source", err, 400, "InvalidParameter")
	img, err := createImage("captured", "eastus", osDisk(osSnap.ID), dataDisk(0))
	if err != nil {
		t.Fatal(err)
	}
	if sp := img.Properties.StorageProfile; *img.Properties.ProvisioningState != "Succeeded" || *sp.OSDisk.DiskSizeGB != 1 ||
		len(sp.DataDisks) != 1 || *sp.DataDisks[0].Caching != armcompute.CachingTypesNone {
		t.Fatalf("the captured image: %+v", img.Properties)
	}
	if list := images.NewListByResourceGroupPager(rg, nil); list.More() {
		page, err := list.NextPage(ctx)
		if err != nil || len(page.Value) != 1 || *page.Value[0].Name != "captured" {
			t.Fatalf("images of the group: %+v, %v", page.Value, err)
		}
	}
	// A managed disk copied from the OS snapshot, for a version below.
	cp, err := disks.BeginCreateOrUpdate(ctx, rg, "osdisk", armcompute.Disk{Location: to.Ptr("eastus"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy),
			SourceResourceID: osSnap.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	osDiskResp, err := cp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"os", "data"} {
		p, err := snaps.BeginDelete(ctx, rg, name, nil)
		if err == nil {
			_, err = p.PollUntilDone(ctx, pollOpts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// Version 1.0.0 from the managed image, replicated to two regions.
	if _, err := sdk.createGallery(ctx, rg, "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, rg, "gal", "linux", linuxImage("p", "o", "linux")); err != nil {
		t.Fatal(err)
	}
	specialized := linuxImage("p", "o", "special")
	specialized.Properties.OSState = to.Ptr(armcompute.OperatingSystemStateTypesSpecialized)
	if _, err := sdk.createImage(ctx, rg, "gal", "special", specialized); err != nil {
		t.Fatal(err)
	}
	createVersion := func(gallery, image, name, location string, sp *armcompute.GalleryImageVersionStorageProfile, regions ...string) (armcompute.GalleryImageVersion, error) {
		var targets []*armcompute.TargetRegion
		for _, r := range regions {
			targets = append(targets, &armcompute.TargetRegion{Name: to.Ptr(r)})
		}
		p, err := versions.BeginCreateOrUpdate(ctx, rg, gallery, image, name, armcompute.GalleryImageVersion{Location: to.Ptr(location),
			Properties: &armcompute.GalleryImageVersionProperties{StorageProfile: sp,
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: targets}}}, nil)
		if err != nil {
			return armcompute.GalleryImageVersion{}, err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		return resp.GalleryImageVersion, err
	}
	whole := func(id *string) *armcompute.GalleryImageVersionStorageProfile {
		return &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: id}}
	}
	_, err = createVersion("gal", "special", "1.0.0", "eastus", whole(img.ID), "eastus")
	wantResponseError(t, "a generalized image for a specialized definition", err, 400, "InvalidParameter")
	_, err = createVersion("gal", "linux", "0.1.0", "westus2", whole(img.ID), "westus2")
	wantResponseError(t, "a managed image in another region than the version", err, 400, "InvalidParameter")
	v1, err := createVersion("gal", "linux", "1.0.0", "eastus", whole(img.ID), "eastus", "westus2")
	if err != nil {
		t.Fatal(err)
	}
	if sp := v1.Properties.StorageProfile; sp.OSDiskImage == nil || *sp.OSDiskImage.SizeInGB != 1 || len(sp.DataDiskImages) != 1 || *sp.DataDiskImages[0].Lun != 0 {
		t.Fatalf("the disks of a version from a managed image: %+v", sp)
	}

	// Version 2.0.0 in another gallery, from 1.0.0's replica in westus2.
	if _, err := sdk.createGallery(ctx, rg, "other", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, rg, "other", "copy", linuxImage("p", "o", "copy")); err != nil {
		t.Fatal(err)
	}
	_, err = createVersion("other", "copy", "2.0.0", "westeurope", whole(v1.ID), "westeurope")
	wantResponseError(t, "a source version not replicated to the version's region", err, 400, "InvalidParameter")
	v2, err := createVersion("other", "copy", "2.0.0", "westus2", whole(v1.ID), "westus2", "westeurope")
	if err != nil {
		t.Fatal(err)
	}
	if sp := v2.Properties.StorageProfile; len(sp.DataDiskImages) != 1 || *sp.DataDiskImages[0].HostCaching != armcompute.HostCachingNone {
		t.Fatalf("the disks of a version from a version: %+v", sp)
	}

	// Version 3.0.0 from a VHD blob by uri.
	blobSource := func(account string) *armcompute.GalleryImageVersionStorageProfile {
		return &armcompute.GalleryImageVersionStorageProfile{OSDiskImage: &armcompute.GalleryOSDiskImage{Source: &armcompute.GalleryDiskImageSource{
			URI:              to.Ptr(blobURL),
			StorageAccountID: to.Ptr("/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + account)}}}
	}
	_, err = createVersion("gal", "linux", "3.0.0", "eastus", blobSource("someotheraccount"), "eastus")
	wantResponseError(t, "a blob outside the named storage account", err, 400, "InvalidParameter")
	if _, err := createVersion("gal", "linux", "3.0.0", "eastus", blobSource("devstoreaccount1"), "eastus"); err != nil {
		t.Fatal(err)
	}
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/galleries/gal/images/linux/versions/3.0.0?api-version=2025-03-03"
	_, _, body := s.Do(t, "GET", path, s.Token(t), nil)
	props, _ := body["properties"].(map[string]any)
	sp, _ := props["storageProfile"].(map[string]any)
	osImage, _ := sp["osDiskImage"].(map[string]any)
	if osImage["galleonSha256"] != "sha256:"+sha256Hex(blobBytes) || osImage["sizeInGB"] != float64(1) {
		t.Errorf("a version from a blob records %v and %v GB, want the blob's sha256:%s", osImage["galleonSha256"], osImage["sizeInGB"], sha256Hex(blobBytes))
	}

	// Version 4.0.0 from the managed disk, per disk.
	v4, err := createVersion("gal", "linux", "4.0.0", "eastus", &armcompute.GalleryImageVersionStorageProfile{
		OSDiskImage: &armcompute.GalleryOSDiskImage{Source: &armcompute.GalleryDiskImageSource{ID: osDiskResp.ID}}}, "eastus", "westus2")
	if err != nil {
		t.Fatal(err)
	}

	// Disks made from each version read back the original bytes.
	fromImage := func(name, location string, version *string, lun *int32) string {
		p, err := disks.BeginCreateOrUpdate(ctx, rg, name, armcompute.Disk{Location: to.Ptr(location),
			Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
				GalleryImageReference: &armcompute.ImageDiskReference{ID: version, Lun: lun}}}}, nil)
		if err == nil {
			_, err = p.PollUntilDone(ctx, pollOpts)
		}
		if err != nil {
			t.Fatalf("disk %s: %v", name, err)
		}
		return diskDigest(t, s, disks, rg, name)
	}
	for _, c := range []struct {
		disk, location string
		version        *string
		lun            *int32
		want           []byte
	}{
		{"v1-os", "westus2", v1.ID, nil, osBytes},
		{"v1-lun0", "westus2", v1.ID, to.Ptr[int32](0), dataBytes},
		{"v2-os", "westeurope", v2.ID, nil, osBytes},
		{"v2-lun0", "westeurope", v2.ID, to.Ptr[int32](0), dataBytes},
		{"v4-os", "westus2", v4.ID, nil, osBytes},
		{"v3-os", "eastus", to.Ptr("/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/" + rg +
			"/providers/Microsoft.Compute/galleries/gal/images/linux/versions/3.0.0"), nil, blobBytes},
	} {
		if got := fromImage(c.disk, c.location, c.version, c.lun); got != sha256Hex(c.want) {
			t.Errorf("disk %s holds other bytes than its source: %s", c.disk, got)
		}
	}

	// Deleting the image leaves the versions made from it whole.
	dp, err := images.BeginDelete(ctx, rg, "captured", nil)
	if err == nil {
		_, err = dp.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Get(ctx, rg, "captured", nil); err == nil {
		t.Error("the deleted image is still there")
	}
	if got := fromImage("v1-os-again", "eastus", v1.ID, nil); got != sha256Hex(osBytes) {
		t.Errorf("a disk from 1.0.0 after its image was deleted: %s", got)
	}

	// Deleting the resource group deletes the bytes of all it held: no
	// manifest is left in any region.
	gp, err := sdk.Groups.BeginDelete(ctx, rg, nil)
	if err == nil {
		_, err = gp.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"eastus", "westus2", "westeurope"} {
		if left, _ := os.ReadDir(filepath.Join(s.DataDir, "regions", region, "manifests")); len(left) != 0 {
			t.Errorf("%d manifests left in %s after the group was deleted, e.g. %s", len(left), region, left[0].Name())
		}
	}
}
