package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
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

// makeFixedVHD writes size bytes of random data as a fixed VHD made by
// qemu-img, and returns its path and contents.
func makeFixedVHD(t *testing.T, size int64) (string, []byte) {
	t.Helper()
	qemu, err := exec.LookPath("qemu-img")
	requireService(t, "qemu-img (Debian qemu-utils)", err)
	dir := t.TempDir()
	raw := make([]byte, size)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "disk.raw"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "disk.vhd")
	if out, err := exec.Command(qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size",
		filepath.Join(dir, "disk.raw"), path).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestSDK_UploadSealDownload uploads a qemu-made fixed VHD through the
// write SAS with the Azure SDK's page blob client, seals it, and downloads
// it through a read SAS, comparing digests; a file that is not a VHD is
// refused at sealing, and a tampered SAS is refused.
func TestSDK_UploadSealDownload(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 64<<20)
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "uploads")
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, size int64) {
		t.Helper()
		p, err := snaps.BeginCreateOrUpdate(ctx, "uploads", name, armcompute.Snapshot{Location: to.Ptr("eastus"),
			Properties: &armcompute.SnapshotProperties{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
				CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionUpload), UploadSizeBytes: to.Ptr(size)}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(name string, access armcompute.AccessLevel) (string, error) {
		p, err := snaps.BeginGrantAccess(ctx, "uploads", name, armcompute.GrantAccessData{Access: to.Ptr(access), DurationInSeconds: to.Ptr[int32](3600)}, nil)
		if err != nil {
			return "", err
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		if err != nil {
			return "", err
		}
		return *resp.AccessSAS, nil
	}
	seal := func(name string) error {
		p, err := snaps.BeginRevokeAccess(ctx, "uploads", name, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, pollOpts)
		return err
	}
	blobOpts := &pageblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.Client, Retry: policy.RetryOptions{MaxRetries: -1}}}
	uploadAll := func(sas string, data []byte) {
		t.Helper()
		c, err := pageblob.NewClientWithNoCredential(sas, blobOpts)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 4 << 20 {
			end := min(off+4<<20, len(data))
			if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data[off:end])),
				blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
				t.Fatalf("UploadPages at %d: %v", off, err)
			}
		}
	}

	create("osSnap", int64(len(vhdBytes)))
	_, err = grant("osSnap", armcompute.AccessLevelRead)
	wantResponseError(t, "reading before any upload", err, 409, "OperationNotAllowed")
	writeSAS, err := grant("osSnap", armcompute.AccessLevelWrite)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snaps.Get(ctx, "uploads", "osSnap", nil)
	if err != nil || *got.Properties.DiskState != armcompute.DiskStateActiveUpload {
		t.Fatalf("after granting write: %v %v", got.Properties.DiskState, err)
	}
	uploadAll(writeSAS, vhdBytes)
	if err := seal("osSnap"); err != nil {
		t.Fatal(err)
	}
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/uploads/providers/Microsoft.Compute/snapshots/osSnap?api-version=2025-01-02"
	code, _, body := s.Do(t, "GET", path, s.Token(t), nil)
	props, _ := body["properties"].(map[string]any)
	if code != 200 || props["diskState"] != "Unattached" || props["galleonSha256"] != "sha256:"+sha256Hex(vhdBytes) {
		t.Fatalf("after sealing: %d %v; want Unattached with the file's sha256 %s", code, props, sha256Hex(vhdBytes))
	}

	// A copy shares the content; a copy into another region is refused.
	copyOf := func(name, location string) error {
		p, err := snaps.BeginCreateOrUpdate(ctx, "uploads", name, armcompute.Snapshot{Location: to.Ptr(location),
			Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{
				CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: got.ID}}}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, pollOpts)
		return err
	}
	if err := copyOf("osSnapCopy", "eastus"); err != nil {
		t.Fatal(err)
	}
	_, _, body = s.Do(t, "GET", strings.Replace(path, "/osSnap?", "/osSnapCopy?", 1), s.Token(t), nil)
	if props, _ := body["properties"].(map[string]any); props["galleonSha256"] != "sha256:"+sha256Hex(vhdBytes) || props["osType"] != "Linux" {
		t.Errorf("a copy: %v", props)
	}
	wantResponseError(t, "a copy into another region", copyOf("farCopy", "westus2"), 400, "InvalidParameter")

	readSAS, err := grant("osSnap", armcompute.AccessLevelRead)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := blob.NewClientWithNoCredential(readSAS, &blob.ClientOptions{ClientOptions: blobOpts.ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	downloaded, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || sha256Hex(downloaded) != sha256Hex(vhdBytes) {
		t.Fatalf("downloaded %d bytes (%v) with another digest than the uploaded file", len(downloaded), err)
	}
	part, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 1<<20 + 7, Count: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	ranged, _ := io.ReadAll(part.Body)
	part.Body.Close()
	if !bytes.Equal(ranged, vhdBytes[1<<20+7:1<<20+1007]) {
		t.Error("a ranged download returned other bytes")
	}

	t.Run("TamperedSAS", func(t *testing.T) {
		u, _ := url.Parse(readSAS)
		q := u.Query()
		q.Set("sp", "rw")
		u.RawQuery = q.Encode()
		c, _ := blob.NewClientWithNoCredential(u.String(), &blob.ClientOptions{ClientOptions: blobOpts.ClientOptions})
		_, err := c.DownloadStream(ctx, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 403 {
			t.Fatalf("a tampered SAS: %v, want 403", err)
		}
		other := strings.Replace(readSAS, "disk-", "disk-0", 1)
		c, _ = blob.NewClientWithNoCredential(other, &blob.ClientOptions{ClientOptions: blobOpts.ClientOptions})
		if _, err := c.DownloadStream(ctx, nil); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Fatalf("a SAS used for another blob: %v, want 403", err)
		}
	})

	t.Run("ExpiredSAS", func(t *testing.T) {
		p, err := snaps.BeginGrantAccess(ctx, "uploads", "osSnap", armcompute.GrantAccessData{Access: to.Ptr(armcompute.AccessLevelRead),
			DurationInSeconds: to.Ptr[int32](1)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.PollUntilDone(ctx, pollOpts)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := blob.NewClientWithNoCredential(*resp.AccessSAS, &blob.ClientOptions{ClientOptions: blobOpts.ClientOptions})
		time.Sleep(2 * time.Second) // SAS expiry has one-second resolution
		var re *azcore.ResponseError
		if _, err := c.DownloadStream(ctx, nil); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Fatalf("an expired SAS: %v, want 403", err)
		}
	})

	t.Run("NotAVHD", func(t *testing.T) {
		size := int64(21<<20 + 512)
		create("garbage", size)
		sas, err := grant("garbage", armcompute.AccessLevelWrite)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, size)
		_, _ = rand.Read(junk)
		uploadAll(sas, junk)
		err = seal("garbage")
		wantResponseError(t, "sealing random bytes", err, 400, "InvalidParameter")
		if !strings.Contains(err.Error(), "VHD") {
			t.Errorf("the error should name the problem: %v", err)
		}
		got, err := snaps.Get(ctx, "uploads", "garbage", nil)
		if err != nil || *got.Properties.DiskState != armcompute.DiskStateActiveUpload {
			t.Fatalf("a refused seal should leave the upload open: %v %v", got.Properties.DiskState, err)
		}
	})
}
