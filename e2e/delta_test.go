package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// copiedBytes reads from /metrics how many chunk bytes replication has
// written so far (chunks found already present are not counted).
func copiedBytes(t *testing.T, s *Server) float64 {
	t.Helper()
	resp, err := s.Client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `galleon_chunk_store_bytes_total{op="copy",result="written"} `); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// TestSDK_DeltaVersionMovesOnlyChanges publishes 1.0.0 from a 64 MiB
// image, then 1.0.1 from the same image with about 1 % of its bytes
// changed in a few contiguous runs: replicating 1.0.1 to the two other
// regions moves at most 5 % of the image's bytes per region.
func TestSDK_DeltaVersionMovesOnlyChanges(t *testing.T) {
	t.Parallel()
	_, base := makeFixedVHD(t, 64<<20)
	changed := append([]byte(nil), base...)
	size := len(base) - 512
	for i := 1; i <= 4; i++ { // four runs of 0.25 % each, footer untouched
		off := i * size / 5
		if _, err := rand.Read(changed[off : off+size/400]); err != nil {
			t.Fatal(err)
		}
	}
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "delta")
	first := uploadSnapshot(t, s, sdk, "delta", "v100", base)
	second := uploadSnapshot(t, s, sdk, "delta", "v101", changed)
	if _, err := sdk.createGallery(ctx, "delta", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "delta", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(name string, source *string) {
		t.Helper()
		p, err := versions.BeginCreateOrUpdate(ctx, "delta", "gal", "img", name, armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
			Properties: &armcompute.GalleryImageVersionProperties{
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
					{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}, {Name: to.Ptr("westeurope")}}},
				StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: source}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
	}
	before := copiedBytes(t, s)
	publish("1.0.0", first.ID)
	full := copiedBytes(t, s) - before
	publish("1.0.1", second.ID)
	delta := copiedBytes(t, s) - before - full
	image := float64(len(base))
	t.Logf("1.0.0 moved %.1f MiB, 1.0.1 moved %.1f MiB (%.2f%% of the image per region)", full/(1<<20), delta/(1<<20), 100*delta/2/image)
	if full < 2*image*0.95 {
		t.Fatalf("1.0.0 moved %.0f bytes, less than two whole images: the counter does not count", full)
	}
	if delta > 2*image*0.05 {
		t.Fatalf("1.0.1 moved %.0f bytes to two regions, more than 5%% of the image each", delta)
	}
}
