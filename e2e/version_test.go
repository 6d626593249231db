package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// uploadUnsealed creates an Upload snapshot in eastus and uploads data
// through the write SAS and the SDK's page blob client, leaving the
// snapshot in ActiveUpload; it returns the snapshots client it used.
func uploadUnsealed(t *testing.T, s *Server, sdk *SDK, rg, name string, data []byte) *armcompute.SnapshotsClient {
	t.Helper()
	ctx := context.Background()
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	p, err := snaps.BeginCreateOrUpdate(ctx, rg, name, armcompute.Snapshot{Location: to.Ptr("eastus"),
		Properties: &armcompute.SnapshotProperties{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionUpload), UploadSizeBytes: to.Ptr(int64(len(data)))}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	gp, err := snaps.BeginGrantAccess(ctx, rg, name, armcompute.GrantAccessData{Access: to.Ptr(armcompute.AccessLevelWrite), DurationInSeconds: to.Ptr[int32](3600)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	access, err := gp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pageblob.NewClientWithNoCredential(*access.AccessSAS, &pageblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: s.Client, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 4 << 20 {
		end := min(off+4<<20, len(data))
		if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data[off:end])), blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return snaps
}

// uploadSnapshot creates an Upload snapshot in eastus and uploads, through
// the write SAS and the SDK's page blob client, then seals data.
func uploadSnapshot(t *testing.T, s *Server, sdk *SDK, rg, name string, data []byte) *armcompute.Snapshot {
	t.Helper()
	ctx := context.Background()
	snaps := uploadUnsealed(t, s, sdk, rg, name, data)
	rp, err := snaps.BeginRevokeAccess(ctx, rg, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	got, err := snaps.Get(ctx, rg, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &got.Snapshot
}

// chunkFiles counts the chunk files in a region's store of s.
func chunkFiles(s *Server, region string) int {
	n := 0
	filepath.WalkDir(filepath.Join(s.DataDir, "regions", region, "chunks"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestSDK_ImageVersionReplicatesAndDiskFromImage is the heart of the seed's
// "Create an image version": a 64 MiB VHD uploaded to a snapshot becomes
// version 1.0.0 replicated to eastus, westus2 (2 replicas) and westeurope
// (Standard_ZRS); the poller reaches Succeeded, every region reports
// Completed at 100 %, and a disk made from the image in westeurope reads
// back the very bytes that were uploaded.
func TestSDK_ImageVersionReplicatesAndDiskFromImage(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 64<<20)
	s := StartServer(t, "--gc-interval", "1s")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "images")
	snap := uploadSnapshot(t, s, sdk, "images", "osSnap", vhdBytes)
	if _, err := sdk.createGallery(ctx, "images", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "images", "gal", "ubuntu", linuxImage("pub", "offer", "sku")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	version := func(name string, mutate func(*armcompute.GalleryImageVersion)) (armcompute.GalleryImageVersion, error) {
		v := armcompute.GalleryImageVersion{Location: to.Ptr("eastus"), Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")},
				{Name: to.Ptr("westus2"), RegionalReplicaCount: to.Ptr[int32](2)},
				{Name: to.Ptr("westeurope"), StorageAccountType: to.Ptr(armcompute.StorageAccountTypeStandardZRS)},
			}},
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}},
		}}
		if mutate != nil {
			mutate(&v)
		}
		p, err := versions.BeginCreateOrUpdate(ctx, "images", "gal", "ubuntu", name, v, nil)
		if err != nil {
			return armcompute.GalleryImageVersion{}, err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		return resp.GalleryImageVersion, err
	}

	v, err := version("1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *v.Properties.ProvisioningState != armcompute.GalleryProvisioningStateSucceeded || v.Properties.PublishingProfile.PublishedDate == nil ||
		*v.Properties.StorageProfile.OSDiskImage.SizeInGB != 1 {
		t.Fatalf("version after the poller: %+v", v.Properties)
	}
	got, err := versions.Get(ctx, "images", "gal", "ubuntu", "1.0.0", &armcompute.GalleryImageVersionsClientGetOptions{
		Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
	if err != nil {
		t.Fatal(err)
	}
	rs := got.Properties.ReplicationStatus
	if rs == nil || *rs.AggregatedState != armcompute.AggregatedReplicationStateCompleted || len(rs.Summary) != 3 {
		t.Fatalf("replication status: %+v", rs)
	}
	for _, r := range rs.Summary {
		if *r.State != armcompute.ReplicationStateCompleted || *r.Progress != 100 {
			t.Errorf("region %s: %s %d%%", *r.Region, *r.State, *r.Progress)
		}
	}

	// Rules the version must keep.
	_, err = version("1.0", nil)
	wantResponseError(t, "a two-part version name", err, 400, "InvalidParameter")
	_, err = version("2.0.0", func(v *armcompute.GalleryImageVersion) {
		v.Properties.PublishingProfile.TargetRegions = v.Properties.PublishingProfile.TargetRegions[1:]
	})
	wantResponseError(t, "a source region missing from the targets", err, 400, "InvalidParameter")
	_, err = version("2.0.0", func(v *armcompute.GalleryImageVersion) { v.Location = to.Ptr("westus2") })
	wantResponseError(t, "a source in another region", err, 400, "InvalidParameter")

	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := disks.BeginCreateOrUpdate(ctx, "images", "fromImage", armcompute.Disk{Location: to.Ptr("westeurope"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
			GalleryImageReference: &armcompute.ImageDiskReference{ID: to.Ptr(*got.ID)}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := dp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	if *disk.Properties.OSType != armcompute.OperatingSystemTypesLinux {
		t.Errorf("a disk from a Linux image: %v", *disk.Properties.OSType)
	}
	if got := diskDigest(t, s, disks, "images", "fromImage"); got != sha256Hex(vhdBytes) {
		t.Fatalf("the disk made from the image in westeurope holds another image: %s", got)
	}

	// "latest": a definition id resolves to the newest version.
	definitionID := strings.TrimSuffix(*got.ID, "/versions/1.0.0")
	dp, err = disks.BeginCreateOrUpdate(ctx, "images", "fromLatest", armcompute.Disk{Location: to.Ptr("westus2"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
			GalleryImageReference: &armcompute.ImageDiskReference{ID: to.Ptr(definitionID)}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}

	versionManifests := func() int {
		n := 0
		for _, region := range []string{"eastus", "westus2", "westeurope"} {
			entries, _ := os.ReadDir(filepath.Join(s.DataDir, "regions", region, "manifests"))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "v-") {
					n++
				}
			}
		}
		return n
	}
	// The source copy, and one replica in eastus and westeurope, two in westus2.
	if n := versionManifests(); n != 5 {
		t.Errorf("%d version manifests in the region stores, want 5", n)
	}

	// Dropping westeurope and westus2's second replica: refused while the
	// safety profile protects replicated regions, done once it allows it.
	update := func(safety *armcompute.GalleryImageVersionSafetyProfile) error {
		p, err := versions.BeginUpdate(ctx, "images", "gal", "ubuntu", "1.0.0", armcompute.GalleryImageVersionUpdate{
			Properties: &armcompute.GalleryImageVersionProperties{SafetyProfile: safety,
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
					{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2"), RegionalReplicaCount: to.Ptr[int32](1)}}}}}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, pollOpts)
		return err
	}
	wantResponseError(t, "removing a replicated region", update(nil), 409, "OperationNotAllowed")
	if err := update(&armcompute.GalleryImageVersionSafetyProfile{AllowDeletionOfReplicatedLocations: to.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	got, err = versions.Get(ctx, "images", "gal", "ubuntu", "1.0.0", &armcompute.GalleryImageVersionsClientGetOptions{
		Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
	if err != nil {
		t.Fatal(err)
	}
	if rs := got.Properties.ReplicationStatus; len(rs.Summary) != 2 || *rs.AggregatedState != armcompute.AggregatedReplicationStateCompleted {
		t.Errorf("replication status after dropping a region: %+v", rs)
	}
	// The source copy, and one replica in eastus and in westus2.
	if n := versionManifests(); n != 3 {
		t.Errorf("%d version manifests after dropping a region and a replica, want 3", n)
	}
	dd, err := disks.BeginDelete(ctx, "images", "fromLatest", nil)
	if err == nil {
		_, err = dd.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	del, err := versions.BeginDelete(ctx, "images", "gal", "ubuntu", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	_, err = versions.Get(ctx, "images", "gal", "ubuntu", "1.0.0", nil)
	wantResponseError(t, "a deleted version", err, 404, "ResourceNotFound")
	if n := versionManifests(); n != 0 {
		t.Errorf("%d version manifests left after deleting the version", n)
	}
	// With the disk made from it gone too, nothing in westus2 names the
	// version's chunks any more: the collector,
	// running every second here, deletes them. eastus keeps the snapshot's.
	deadline := time.Now().Add(30 * time.Second)
	for chunkFiles(s, "westus2") > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := chunkFiles(s, "westus2"); n != 0 {
		t.Errorf("%d chunks left in westus2 after the version was deleted", n)
	}
	if chunkFiles(s, "eastus") == 0 {
		t.Error("the collector deleted the snapshot's chunks in eastus")
	}
	if got := diskDigest(t, s, disks, "images", "fromImage"); got != sha256Hex(vhdBytes) {
		t.Errorf("the disk made from the deleted version after collection: %s", got)
	}
}

// diskDigest reads a disk's content through a read SAS, sent to this
// server directly whatever origin the SAS names (a cluster's balancer),
// and returns the hex sha256 of what came back.
func diskDigest(t *testing.T, s *Server, disks *armcompute.DisksClient, rg, name string) string {
	t.Helper()
	ctx := context.Background()
	gp, err := disks.BeginGrantAccess(ctx, rg, name, armcompute.GrantAccessData{Access: to.Ptr(armcompute.AccessLevelRead), DurationInSeconds: to.Ptr[int32](600)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	access, err := gp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(*access.AccessSAS)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := blob.NewClientWithNoCredential(s.URL+u.RequestURI(), &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.Client}})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, dl.Body); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
