package e2e

import (
	"bytes"
	"context"
	"io"
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

// TestSDK_SealSurvivesKill: the server kills itself (SIGKILL, through
// GALLEON_FAILPOINTS) while deleting the staged pages of a seal, after
// the first page is gone. Restarted, a retried endGetAccess through
// armcompute reports the uploaded file's sha256 and a read SAS reads the
// file back. Before the seal was recorded ahead of the deletion, the
// retry sealed the remaining pages with zeros where the deleted ones were.
func TestSDK_SealSurvivesKill(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 32<<20)
	s := &Server{DataDir: t.TempDir(), Env: []string{"GALLEON_FAILPOINTS=seal/during-staging-delete=exit"}}
	s.Start(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "crash")
	// No retries: the first endGetAccess meets a dead server.
	opts := sdk.opts
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	p, err := snaps.BeginCreateOrUpdate(ctx, "crash", "os", armcompute.Snapshot{Location: to.Ptr("eastus"),
		Properties: &armcompute.SnapshotProperties{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionUpload), UploadSizeBytes: to.Ptr(int64(len(vhdBytes)))}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, pollOpts); err != nil {
		t.Fatal(err)
	}
	grant := func(access armcompute.AccessLevel) string {
		t.Helper()
		gp, err := snaps.BeginGrantAccess(ctx, "crash", "os", armcompute.GrantAccessData{Access: to.Ptr(access), DurationInSeconds: to.Ptr[int32](3600)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := gp.PollUntilDone(ctx, pollOpts)
		if err != nil {
			t.Fatal(err)
		}
		return *resp.AccessSAS
	}
	blobOpts := azcore.ClientOptions{Transport: s.Client, Retry: policy.RetryOptions{MaxRetries: -1}}
	c, err := pageblob.NewClientWithNoCredential(grant(armcompute.AccessLevelWrite), &pageblob.ClientOptions{ClientOptions: blobOpts})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(vhdBytes); off += 4 << 20 {
		end := min(off+4<<20, len(vhdBytes))
		if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(vhdBytes[off:end])), blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
			t.Fatalf("UploadPages at %d: %v", off, err)
		}
	}
	seal := func() error {
		rp, err := snaps.BeginRevokeAccess(ctx, "crash", "os", nil)
		if err != nil {
			return err
		}
		_, err = rp.PollUntilDone(ctx, pollOpts)
		return err
	}
	if err := seal(); err == nil {
		t.Fatal("the seal succeeded although the server was to kill itself during it")
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not die at the failpoint")
	}

	s.Env = nil
	s.Start(t)
	if err := seal(); err != nil {
		t.Fatalf("endGetAccess after the restart: %v", err)
	}
	got, err := snaps.Get(ctx, "crash", "os", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/crash/providers/Microsoft.Compute/snapshots/os?api-version=2025-01-02"
	_, _, body := s.Do(t, "GET", path, s.Token(t), nil)
	props, _ := body["properties"].(map[string]any)
	if *got.Properties.DiskState != armcompute.DiskStateUnattached || props["galleonSha256"] != "sha256:"+sha256Hex(vhdBytes) {
		t.Fatalf("after the retried seal: %s %v; want Unattached with the file's sha256 %s", *got.Properties.DiskState, props["galleonSha256"], sha256Hex(vhdBytes))
	}
	bc, err := blob.NewClientWithNoCredential(grant(armcompute.AccessLevelRead), &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: s.Client, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	read, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || sha256Hex(read) != sha256Hex(vhdBytes) {
		t.Fatalf("read back %d bytes (%v) with another digest than the uploaded file", len(read), err)
	}
}
