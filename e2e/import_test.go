package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 24<<20)
	source := azuriteVHD(t, vhdBytes)
	s := StartServer(t, azuriteAllow(t, source)...)
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

// azuriteAllow is the --import-allow-hosts value that lets a server import
// the blob at uri: Azurite listens on loopback, which imports may not
// reach by default.
func azuriteAllow(t *testing.T, uri string) []string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--import-allow-hosts", u.Host}
}

// TestSecurity_ImportGuard checks that a server started without
// --import-allow-hosts refuses, when the resource is PUT, to import from
// loopback, link-local (cloud metadata) or private addresses — a snapshot's
// sourceUri, a managed image's blobUri, an image version's source uri —
// with a 400 that names the flag, and never fetches them.
func TestSecurity_ImportGuard(t *testing.T) {
	t.Parallel()
	var fetched atomic.Int32
	_, vhdBytes := makeFixedVHD(t, 20<<20)
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetched.Add(1)
		w.Write(vhdBytes)
	}))
	defer internal.Close()
	host := strings.TrimPrefix(internal.URL, "http://")
	s := StartServer(t)
	tok := s.Token(t)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	rg := sub + "/resourceGroups/guarded"
	mustPut := func(path string, body any) {
		t.Helper()
		if code, _, out := s.Do(t, "PUT", path, tok, body); code != 200 && code != 201 {
			t.Fatalf("PUT %s: %d %v", path, code, out)
		}
	}
	mustPut(rg+"?api-version=2021-04-01", map[string]any{"location": "eastus"})
	mustPut(rg+"/providers/Microsoft.Compute/galleries/gal?api-version=2025-03-03", map[string]any{"location": "eastus"})
	mustPut(rg+"/providers/Microsoft.Compute/galleries/gal/images/linux?api-version=2025-03-03", map[string]any{"location": "eastus",
		"properties": map[string]any{"osType": "Linux", "osState": "Generalized", "identifier": map[string]any{"publisher": "p", "offer": "o", "sku": "s"}}})

	wantRefused := func(what, path string, body any, target, entry string) {
		t.Helper()
		code, _, out := s.Do(t, "PUT", path, tok, body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != 400 || e["code"] != "InvalidParameter" || e["target"] != target ||
			!strings.Contains(msg, "--import-allow-hosts "+entry) {
			t.Errorf("%s: %d %v, want 400 InvalidParameter at %s naming --import-allow-hosts %s", what, code, out, target, entry)
		}
	}
	snapshot := func(uri string) map[string]any {
		return map[string]any{"location": "eastus", "properties": map[string]any{"osType": "Linux",
			"creationData": map[string]any{"createOption": "Import", "sourceUri": uri}}}
	}
	for _, tt := range []struct{ uri, entry string }{
		{internal.URL + "/os.vhd", host},
		{strings.Replace(internal.URL, "127.0.0.1", "localhost", 1) + "/os.vhd", strings.Replace(host, "127.0.0.1", "localhost", 1)},
		{strings.Replace(internal.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1) + "/os.vhd", strings.Replace(host, "127.0.0.1", "[::ffff:127.0.0.1]", 1)},
		{"https://" + s.Addr + "/blobs/eastus/disk-x", s.Addr}, // Galleon itself
		{"http://169.254.169.254/metadata/instance?api-version=2021-02-01", "169.254.169.254:80"},
		{"http://10.0.0.1:10000/devstoreaccount1/vhds/os.vhd", "10.0.0.1:10000"},
	} {
		wantRefused("a snapshot imported from "+tt.uri, rg+"/providers/Microsoft.Compute/snapshots/s?api-version=2025-01-02",
			snapshot(tt.uri), "properties.creationData.sourceUri", tt.entry)
	}
	wantRefused("a managed image from a loopback blob", rg+"/providers/Microsoft.Compute/images/img?api-version=2024-11-01",
		map[string]any{"location": "eastus", "properties": map[string]any{"storageProfile": map[string]any{
			"osDisk": map[string]any{"osType": "Linux", "osState": "Generalized", "blobUri": internal.URL + "/os.vhd"}}}},
		"properties.storageProfile.osDisk.blobUri", host)
	wantRefused("a version from a loopback blob", rg+"/providers/Microsoft.Compute/galleries/gal/images/linux/versions/1.0.0?api-version=2025-03-03",
		map[string]any{"location": "eastus", "properties": map[string]any{"storageProfile": map[string]any{
			"osDiskImage": map[string]any{"source": map[string]any{"uri": internal.URL + "/devstoreaccount1/vhds/os.vhd",
				"storageAccountId": rg + "/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"}}}}},
		"galleryImageVersion.properties.storageProfile.osDiskImage.source.uri", host)
	if n := fetched.Load(); n != 0 {
		t.Errorf("the loopback server was fetched %d times, want never", n)
	}
	if code, _, _ := s.Do(t, "GET", rg+"/providers/Microsoft.Compute/snapshots/s?api-version=2025-01-02", tok, nil); code != 404 {
		t.Errorf("a refused snapshot: GET %d, want 404", code)
	}
}
