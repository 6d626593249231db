package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// TestSDK_RegionFailsAfterBoundedRetries injects a storage fault: the
// folder behind westus2's bucket is replaced by a plain file, so every
// write there fails at once. Replication retries with backoff, then marks
// westus2 Failed with the error while the other regions complete; once the
// folder is back, a PUT of the same version replicates it to Succeeded.
func TestSDK_RegionFailsAfterBoundedRetries(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 21<<20)
	westus2 := filepath.Join(t.TempDir(), "westus2")
	s := StartServer(t, "--work-max-attempts", "3",
		"--region-bucket", "westus2=file://"+westus2+"?create_dir=1&no_tmp_dir=1&metadata=skip")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "faults")
	snap := uploadSnapshot(t, s, sdk, "faults", "os", vhdBytes)
	if _, err := sdk.createGallery(ctx, "faults", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "faults", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	put := func() error {
		p, err := versions.BeginCreateOrUpdate(ctx, "faults", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
			Properties: &armcompute.GalleryImageVersionProperties{
				StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}},
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
					{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}, {Name: to.Ptr("westeurope")}}}}}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, pollOpts)
		return err
	}
	states := func() (string, map[string]*armcompute.RegionalReplicationStatus) {
		v, err := versions.Get(ctx, "faults", "gal", "img", "1.0.0", &armcompute.GalleryImageVersionsClientGetOptions{
			Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*armcompute.RegionalReplicationStatus{}
		for _, r := range v.Properties.ReplicationStatus.Summary {
			out[*r.Region] = r
		}
		return string(*v.Properties.ProvisioningState), out
	}

	// The fault: westus2's folder becomes a file.
	if err := os.RemoveAll(westus2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(westus2, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := put(); err == nil {
		t.Fatal("the version succeeded with westus2's storage broken")
	}
	state, regions := states()
	if state != "Failed" {
		t.Errorf("provisioning state %s, want Failed", state)
	}
	if r := regions["westus2"]; r == nil || *r.State != armcompute.ReplicationStateFailed || !strings.Contains(*r.Details, "failed repeatedly") {
		t.Errorf("westus2 after its retries: %+v", r)
	}
	for _, name := range []string{"eastus", "westeurope"} {
		if r := regions[name]; r == nil || *r.State != armcompute.ReplicationStateCompleted || *r.Progress != 100 {
			t.Errorf("%s, whose storage works: %+v", name, r)
		}
	}
	if n := strings.Count(s.Logs(), "will retry"); n != 2 {
		t.Errorf("%d retries logged, want 2 (three attempts)", n)
	}

	// Repaired, the same PUT finishes the job.
	if err := os.Remove(westus2); err != nil {
		t.Fatal(err)
	}
	if err := put(); err != nil {
		t.Fatalf("after the repair: %v", err)
	}
	state, regions = states()
	if state != "Succeeded" {
		t.Errorf("provisioning state after the repair %s", state)
	}
	for name, r := range regions {
		if *r.State != armcompute.ReplicationStateCompleted {
			t.Errorf("%s after the repair: %+v", name, r)
		}
	}
}
