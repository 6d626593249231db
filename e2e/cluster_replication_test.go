package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/galleon-project/galleon/azuritetest"
	"github.com/galleon-project/galleon/pgtest"
)

// TestCluster_ReplicationTakenOverAfterKill runs two nodes on one
// PostgreSQL database with every region's bucket in a real Azurite
// account (azblob://). The node that accepted a version is killed with
// SIGKILL part way through replicating it; the other node takes the work
// over once the lease expires and finishes it, and every region's replica
// reads back the uploaded image.
func TestCluster_ReplicationTakenOverAfterKill(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 256<<20)
	want := sha256Hex(vhdBytes)
	az := azuritetest.Start(t)
	ctx := context.Background()
	svc, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"AZURE_STORAGE_ACCOUNT=" + azuritetest.Account, "AZURE_STORAGE_KEY=" + azuritetest.Key}
	var args []string
	for _, region := range []string{"eastus", "westus2", "westeurope"} {
		if _, err := svc.CreateContainer(ctx, region, nil); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--region-bucket", region+"=azblob://"+region+"?protocol=http&domain="+az.Host+"&localemu=true")
	}
	db := pgtest.NewDatabase(t)
	a := &Server{DataDir: t.TempDir(), Addr: freeAddr(t), Env: env}
	b := &Server{DataDir: t.TempDir(), Addr: freeAddr(t), Env: env}
	lb := startBalancer(t, a.Addr, b.Addr)
	for _, s := range []*Server{a, b} {
		s.Args = append([]string{"--database", db, "--public-url", "https://" + lb, "--work-lease", "3s"}, args...)
	}
	a.Start(t) // a bootstraps; b joins
	b.Start(t)
	b.Creds = a.Creds
	for _, s := range []*Server{a, b} {
		s.Creds.ResourceManagerEndpoint = s.URL + "/"
	}

	sdkA := NewSDK(t, a)
	sdkA.createGroup(t, "cluster")
	snap := uploadSnapshot(t, a, sdkA, "cluster", "big", vhdBytes)
	vhdBytes = nil
	if _, err := sdkA.createGallery(ctx, "cluster", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdkA.createImage(ctx, "cluster", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	versionsA, err := armcompute.NewGalleryImageVersionsClient(a.Creds.SubscriptionID, sdkA.Cred, &arm.ClientOptions{ClientOptions: sdkA.opts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := versionsA.BeginCreateOrUpdate(ctx, "cluster", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2"), RegionalReplicaCount: to.Ptr[int32](2)}, {Name: to.Ptr("westeurope")}}},
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}}}}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		v, err := versionsA.Get(ctx, "cluster", "gal", "img", "1.0.0", &armcompute.GalleryImageVersionsClientGetOptions{Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
		if err != nil {
			t.Fatal(err)
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateSucceeded {
			t.Fatal("replication finished before the test could kill the node")
		}
		partway := false
		for _, r := range v.Properties.ReplicationStatus.Summary {
			partway = partway || *r.Progress > 0 && *r.Progress < 90
		}
		if partway {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replication never got part way")
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.Kill(t)

	sdkB := NewSDK(t, b)
	versionsB, _ := armcompute.NewGalleryImageVersionsClient(b.Creds.SubscriptionID, sdkB.Cred, &arm.ClientOptions{ClientOptions: sdkB.opts})
	deadline = time.Now().Add(10 * time.Minute)
	for {
		v, err := versionsB.Get(ctx, "cluster", "gal", "img", "1.0.0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateSucceeded {
			break
		}
		if *v.Properties.ProvisioningState == armcompute.GalleryProvisioningStateFailed || time.Now().After(deadline) {
			t.Fatalf("on node B the version is %s", *v.Properties.ProvisioningState)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(b.Logs(), "operation finished") {
		t.Error("node B's log does not show it finishing the operation")
	}

	disks, err := armcompute.NewDisksClient(b.Creds.SubscriptionID, sdkB.Cred, &arm.ClientOptions{ClientOptions: sdkB.opts})
	if err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + b.Creds.SubscriptionID + "/resourceGroups/cluster/providers/Microsoft.Compute/galleries/gal/images/img/versions/1.0.0"
	for _, region := range []string{"eastus", "westus2", "westeurope"} {
		dp, err := disks.BeginCreateOrUpdate(ctx, "cluster", "disk-"+region, armcompute.Disk{Location: to.Ptr(region),
			Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionFromImage),
				GalleryImageReference: &armcompute.ImageDiskReference{ID: to.Ptr(id)}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dp.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		// The SAS names the balancer; diskDigest reads through node B.
		if got := diskDigest(t, b, disks, "cluster", "disk-"+region); got != want {
			t.Fatalf("the replica in %s reads back another image: %s", region, got)
		}
	}
}
