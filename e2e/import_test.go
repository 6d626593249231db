package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/galleon-project/galleon/azuritetest"
)

// azuriteVHD puts data as a blob in a real Azurite and returns a read SAS
// URL for it, as a user would hand one to createOption Import.
func azuriteVHD(t *testing.T, data []byte) string {
	t.Helper()
	a := azuritetest.Start(t)
	ctx := context.Background()
	svc, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(ctx, "vhds", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UploadBuffer(ctx, "vhds", "os.vhd", data, nil); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(azuritetest.Account, azuritetest.Key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: "vhds", BlobName: "os.vhd"}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return a.BlobEndpoint + "/vhds/os.vhd?" + q.Encode()
}

// TestSDK_ImportFromAzurite imports a VHD blob from a real Azurite storage
// account into a snapshot, and refuses a source that cannot be read.
func TestSDK_ImportFromAzurite(t *testing.T) {
	_, vhdBytes := makeFixedVHD(t, 24<<20)
	source := azuriteVHD(t, vhdBytes)
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "imports")
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	importSnap := func(name, uri string) (armcompute.Snapshot, error) {
		p, err := snaps.BeginCreateOrUpdate(ctx, "imports", name, armcompute.Snapshot{Location: to.Ptr("eastus"),
			Properties: &armcompute.SnapshotProperties{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
				CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionImport), SourceURI: to.Ptr(uri)}}}, nil)
		if err != nil {
			return armcompute.Snapshot{}, err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		return resp.Snapshot, err
	}
	snap, err := importSnap("imported", source)
	if err != nil {
		t.Fatal(err)
	}
	if *snap.Properties.DiskState != armcompute.DiskStateUnattached || *snap.Properties.DiskSizeBytes != 24<<20 {
		t.Errorf("an imported snapshot: %+v", snap.Properties)
	}
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/imports/providers/Microsoft.Compute/snapshots/imported?api-version=2025-01-02"
	_, _, body := s.Do(t, "GET", path, s.Token(t), nil)
	if props, _ := body["properties"].(map[string]any); props["galleonSha256"] != "sha256:"+sha256Hex(vhdBytes) {
		t.Errorf("imported content digest %v, want the blob's %s", props["galleonSha256"], sha256Hex(vhdBytes))
	}
	_, err = importSnap("unreadable", source[:len(source)-10]+"tampered00")
	wantResponseError(t, "a source whose SAS does not verify", err, 400, "InvalidParameter")
}
