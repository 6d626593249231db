package e2e

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// chunkBytes reads one series of galleon_chunk_store_bytes_total.
func chunkBytes(t *testing.T, s *Server, op, result string) float64 {
	t.Helper()
	resp, err := s.Client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := `galleon_chunk_store_bytes_total{op="` + op + `",result="` + result + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestCrashDuringReplicationResumes kills the server with SIGKILL while a
// 1 GiB image replicates; after a restart the version reaches Succeeded,
// disks made from its replicas read back the original bytes, and the
// restarted server found the chunks copied before the kill in place
// instead of copying them again.
func TestCrashDuringReplicationResumes(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 1<<30)
	want := sha256Hex(vhdBytes)
	s := StartServer(t, "--work-lease", "3s")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "crash")
	snap := uploadSnapshot(t, s, sdk, "crash", "big", vhdBytes)
	vhdBytes = nil
	if _, err := sdk.createGallery(ctx, "crash", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "crash", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := versions.BeginCreateOrUpdate(ctx, "crash", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}, {Name: to.Ptr("westeurope")}}},
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}}}}, nil); err != nil {
		t.Fatal(err)
	}
	// Kill once some region is part way through.
	deadline := time.Now().Add(5 * time.Minute)
	var before float64
	for {
		v, err := versions.Get(ctx, "crash", "gal", "img", "1.0.0", &armcompute.GalleryImageVersionsClientGetOptions{Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
		if err != nil {
			t.Fatal(err)
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateSucceeded {
			t.Fatal("replication finished before the test could interrupt it")
		}
		partway := false
		for _, r := range v.Properties.ReplicationStatus.Summary {
			partway = partway || *r.Progress > 5 && *r.Progress < 90
		}
		// A region part way may be the source's own (eastus), whose chunks
		// are all present and only read back and verified: wait until some
		// were written to another region too.
		if partway {
			if before = chunkBytes(t, s, "copy", "written"); before > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("replication never got part way")
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.Kill(t)
	if before <= 0 {
		t.Fatal("nothing was copied before the kill")
	}

	s.Start(t)
	sdk = NewSDK(t, s)
	versions, _ = armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	deadline = time.Now().Add(10 * time.Minute)
	for {
		v, err := versions.Get(ctx, "crash", "gal", "img", "1.0.0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateSucceeded {
			break
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateFailed || time.Now().After(deadline) {
			t.Fatalf("after the restart the version is %s", *v.Properties.ProvisioningState)
		}
		time.Sleep(500 * time.Millisecond)
	}
	written, present := chunkBytes(t, s, "copy", "written"), chunkBytes(t, s, "copy", "present")
	t.Logf("before the kill %.0f MiB copied; after the restart %.0f MiB copied, %.0f MiB found present", before/(1<<20), written/(1<<20), present/(1<<20))
	if present < before*0.9 {
		t.Errorf("the restarted server found %.0f bytes present, fewer than the %.0f copied before the kill: it copied them again", present, before)
	}
	if written+before > 2*float64(1<<30)*1.05 {
		t.Errorf("%.0f + %.0f bytes were written for two regions of 1 GiB: chunks were copied twice", written, before)
	}

	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"westus2", "westeurope"} {
		id := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/crash/providers/Microsoft.Compute/galleries/gal/images/img/versions/1.0.0"
		dp, err := disks.BeginCreateOrUpdate(ctx, "crash", "disk-"+region, armcompute.Disk{Location: to.Ptr(region),
			Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
				GalleryImageReference: &armcompute.ImageDiskReference{ID: to.Ptr(id)}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dp.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		if got := diskDigest(t, s, disks, "crash", "disk-"+region); got != want {
			t.Fatalf("the replica in %s reads back another image: %s", region, got)
		}
	}
}
