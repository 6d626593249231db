package e2e

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
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
	uploadUnsealed(t, s, sdk, "crash", "os", vhdBytes)
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
	gp, err := snaps.BeginGrantAccess(ctx, "crash", "os", armcompute.GrantAccessData{Access: to.Ptr(armcompute.AccessLevelRead), DurationInSeconds: to.Ptr[int32](3600)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	access, err := gp.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := blob.NewClientWithNoCredential(*access.AccessSAS, &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
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
