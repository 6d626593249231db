package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/galleon-project/galleon/vhd"
)

// TestSDK_DisksAndSnapshots drives disks and snapshots through the SDK's
// DisksClient and SnapshotsClient: creation states, reads, lists, updates,
// rules and deletes.
func TestSDK_DisksAndSnapshots(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "sources")
	armOpts := &arm.ClientOptions{ClientOptions: sdk.opts}
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}

	upload := func(name string, size int64) (armcompute.Snapshot, error) {
		p, err := snaps.BeginCreateOrUpdate(ctx, "sources", name, armcompute.Snapshot{
			Location: to.Ptr("eastus"),
			Properties: &armcompute.SnapshotProperties{
				OSType:       to.Ptr(armcompute.OperatingSystemTypesLinux),
				CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionUpload), UploadSizeBytes: to.Ptr(size)},
			}}, nil)
		if err != nil {
			return armcompute.Snapshot{}, err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		return resp.Snapshot, err
	}
	snap, err := upload("osSnap", 64<<20+512)
	if err != nil {
		t.Fatal(err)
	}
	if *snap.Properties.DiskState != armcompute.DiskStateReadyToUpload || *snap.Properties.DiskSizeBytes != 64<<20 ||
		*snap.Type != "Microsoft.Compute/snapshots" || snap.Properties.UniqueID == nil || *snap.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("an upload snapshot: %+v", snap.Properties)
	}
	_, err = upload("badSize", 64<<20)
	wantResponseError(t, "an upload size without the footer", err, 400, "InvalidParameter")

	dp, err := disks.BeginCreateOrUpdate(ctx, "sources", "emptyDisk", armcompute.Disk{
		Location: to.Ptr("westus2"),
		Properties: &armcompute.DiskProperties{DiskSizeGB: to.Ptr[int32](2),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := dp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	if *disk.Properties.DiskState != armcompute.DiskStateUnattached || *disk.Properties.DiskSizeBytes != 2<<30 || *disk.Location != "westus2" {
		t.Errorf("an empty disk: %+v", disk.Properties)
	}
	// Its content is a 2 GiB fixed VHD of zeros, made without writing them.
	footer, err := vhd.ParseFooter(diskRange(t, s, *disk.Name, 2<<30, 512))
	if err != nil || footer.CurrentSize != 2<<30 || footer.DiskType != vhd.DiskTypeFixed {
		t.Errorf("the empty disk's footer: %+v, %v", footer, err)
	}
	if mid := diskRange(t, s, *disk.Name, 1<<30, 1<<20); !bytes.Equal(mid, make([]byte, 1<<20)) {
		t.Error("the empty disk holds something other than zeros")
	}

	got, err := snaps.Get(ctx, "SOURCES", "OSSNAP", nil)
	if err != nil || *got.Name != "osSnap" {
		t.Fatalf("get: %v %v", got.Name, err)
	}
	_, err = disks.Get(ctx, "sources", "osSnap", nil)
	wantResponseError(t, "a snapshot read as a disk", err, 404, "ResourceNotFound")

	up, err := snaps.BeginUpdate(ctx, "sources", "osSnap", armcompute.SnapshotUpdate{Tags: map[string]*string{"build": to.Ptr("42")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := up.PollUntilDone(ctx, pollOpts)
	if err != nil || *upd.Tags["build"] != "42" || *upd.Properties.DiskState != armcompute.DiskStateReadyToUpload {
		t.Fatalf("update: %+v %v", upd, err)
	}

	n := 0
	pager := snaps.NewListByResourceGroupPager("sources", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Errorf("listed %d snapshots, want 1", n)
	}
	all := 0
	dpager := disks.NewListPager(nil)
	for dpager.More() {
		page, err := dpager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all += len(page.Value)
	}
	if all != 1 {
		t.Errorf("listed %d disks in the subscription, want 1", all)
	}

	del, err := snaps.BeginDelete(ctx, "sources", "osSnap", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	_, err = snaps.Get(ctx, "sources", "osSnap", nil)
	wantResponseError(t, "a deleted snapshot", err, 404, "ResourceNotFound")
}

// diskRange reads count bytes at offset of a disk's content through a read
// SAS, with a ranged GET as a downloader would.
func diskRange(t *testing.T, s *Server, name string, offset, count int64) []byte {
	t.Helper()
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/sources/providers/Microsoft.Compute/disks/" + name + "/beginGetAccess?api-version=2025-01-02"
	status, _, access := s.Do(t, "POST", path, s.Token(t), map[string]any{"access": "Read", "durationInSeconds": 600})
	sas, _ := access["accessSAS"].(string)
	if status != http.StatusOK || sas == "" {
		t.Fatalf("beginGetAccess on %s: %d %v", name, status, access)
	}
	u, err := url.Parse(sas)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, s.URL+u.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+count-1))
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusPartialContent || int64(len(data)) != count {
		t.Fatalf("ranged read of %s: %s, %d bytes, %v", name, resp.Status, len(data), err)
	}
	return data
}
