package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/galleon-project/galleon/vhd"
)

// cliResult is what one run of a galleon client command printed.
type cliResult struct {
	Stdout, Stderr string
	Err            error
}

// cliCommand is a galleon client command against s, not yet started.
func cliCommand(s *Server, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(binary, append(args, "--data", s.DataDir)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The commands must find everything in the data folder, not in the
	// environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURE_") && !strings.HasPrefix(kv, "GALLEON_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd, &stdout, &stderr
}

// runCLI runs a galleon client command against s to its end.
func runCLI(t *testing.T, s *Server, args ...string) cliResult {
	t.Helper()
	cmd, stdout, stderr := cliCommand(s, args...)
	err := cmd.Run()
	r := cliResult{stdout.String(), stderr.String(), err}
	t.Logf("galleon %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, r.Stdout, r.Stderr)
	return r
}

func mustRunCLI(t *testing.T, s *Server, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, s, args...)
	if r.Err != nil {
		t.Fatalf("galleon %s failed: %v\n%s", args[0], r.Err, r.Stderr)
	}
	return r
}

var uploadSummary = regexp.MustCompile(`uploaded (\d+) bytes \((\d+) already present, (\d+) zero bytes skipped\)`)

// parseUploadSummary returns the sent, present and zero byte counts of
// upload's summary line.
func parseUploadSummary(t *testing.T, stdout string) (sent, present, zero int64) {
	t.Helper()
	m := uploadSummary.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no summary line in %q", stdout)
	}
	n := func(s string) int64 {
		v, _ := strconv.ParseInt(s, 10, 64)
		return v
	}
	return n(m[1]), n(m[2]), n(m[3])
}

// TestCLI_UploadWatchDownload drives the galleon binary's client commands
// against a server: an upload killed part way resumes and sends only what
// is missing; a raw image is uploaded as a fixed VHD; watch follows a
// version's replication to two regions; download reads the version back
// in the second region, and resumes from a partial file.
func TestCLI_UploadWatchDownload(t *testing.T) {
	t.Parallel()
	vhdPath, vhdBytes := makeFixedVHD(t, 64<<20)
	total := int64(len(vhdBytes))
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "cli")
	armOpts := &arm.ClientOptions{ClientOptions: sdk.opts}
	snaps, err := armcompute.NewSnapshotsClient(s.Creds.SubscriptionID, sdk.Cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := armcompute.NewDisksClient(s.Creds.SubscriptionID, sdk.Cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	snapshotID := func(name string) string {
		return "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/cli/providers/Microsoft.Compute/snapshots/" + name
	}
	dir := t.TempDir()

	t.Run("UploadResumes", func(t *testing.T) {
		cmd, stdout, stderr := cliCommand(s, "upload", vhdPath, "-g", "cli", "--snapshot", "osSnap", "--os-type", "Linux", "--parallelism", "1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		// Let the upload run in slices of 20 ms, stopped in between, until
		// the snapshot is open and holds some pages, then kill it.
		var present int64
		for present == 0 {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			time.Sleep(20 * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGSTOP)
			select {
			case err := <-exited:
				t.Fatalf("the upload ended (%v) before it could be interrupted\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			default:
			}
			got, err := snaps.Get(ctx, "cli", "osSnap", nil)
			if notFoundErr(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got.Properties.DiskState != armcompute.DiskStateActiveUpload {
				continue
			}
			present = cliPagesPresent(t, s, snaps, "osSnap")
		}
		_ = cmd.Process.Kill()
		<-exited
		if present >= total {
			t.Fatalf("all %d bytes were sent before the upload was killed", present)
		}
		t.Logf("killed the upload with %d of %d bytes present", present, total)

		r := mustRunCLI(t, s, "upload", vhdPath, "-g", "cli", "--snapshot", "osSnap")
		sent, already, zero := parseUploadSummary(t, r.Stdout)
		if !strings.Contains(r.Stderr, "resuming") {
			t.Errorf("the second run does not say it resumes")
		}
		if already < present || sent >= total || sent+already+zero != total {
			t.Errorf("second run: sent %d, present %d, zero %d; want at least the %d bytes there before present, fewer than %d sent, and all %d accounted for",
				sent, already, zero, present, total, total)
		}
		if !strings.Contains(r.Stdout, "sha256:"+sha256Hex(vhdBytes)) {
			t.Errorf("the summary does not give the file's sha256 %s", sha256Hex(vhdBytes))
		}
		code, _, body := s.Do(t, "GET", snapshotID("osSnap")+"?api-version=2025-01-02", s.Token(t), nil)
		props, _ := body["properties"].(map[string]any)
		if code != 200 || props["diskState"] != "Unattached" || props["galleonSha256"] != "sha256:"+sha256Hex(vhdBytes) || props["osType"] != "Linux" {
			t.Fatalf("the snapshot after the resumed upload: %d %v; want Unattached, Linux, sha256 %s", code, props, sha256Hex(vhdBytes))
		}

		r = runCLI(t, s, "upload", vhdPath, "-g", "cli", "--snapshot", "osSnap")
		if r.Err == nil || !strings.Contains(r.Stderr, "--restart") {
			t.Errorf("uploading again to a sealed snapshot should fail pointing at --restart: %v %s", r.Err, r.Stderr)
		}
	})

	t.Run("RawImage", func(t *testing.T) {
		raw := make([]byte, 24<<20+1000)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		clear(raw[4<<20 : 12<<20]) // two all-zero 4 MiB ranges, not sent
		rawPath := filepath.Join(dir, "disk.raw")
		if err := os.WriteFile(rawPath, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		r := mustRunCLI(t, s, "upload", rawPath, "-g", "cli", "--snapshot", "rawSnap", "--location", "eastus")
		sent, already, zero := parseUploadSummary(t, r.Stdout)
		wantSize := int64(25<<20 + 512)
		if !strings.Contains(r.Stderr, "padded with") || sent+already+zero != wantSize || zero != 8<<20 || already != 0 {
			t.Errorf("raw upload: sent %d present %d zero %d, want %d bytes with 8 MiB of zeros skipped, and a word on padding", sent, already, zero, wantSize)
		}

		out := filepath.Join(dir, "raw.vhd")
		mustRunCLI(t, s, "download", "--disk-id", snapshotID("rawSnap"), "-o", out)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != wantSize || !bytes.Equal(got[:len(raw)], raw) {
			t.Fatalf("the snapshot reads back as %d bytes, want the raw bytes then padding and a footer, %d bytes", len(got), wantSize)
		}
		if pad := got[len(raw) : wantSize-vhd.FooterSize]; !bytes.Equal(pad, make([]byte, len(pad))) {
			t.Error("the padding is not zeros")
		}
		if _, err := vhd.ValidateForAzure(bytes.NewReader(got), int64(len(got))); err != nil {
			t.Errorf("the generated footer: %v", err)
		}
		// qemu reads the result as the raw disk, padded.
		back := filepath.Join(dir, "back.raw")
		if out, err := exec.Command("qemu-img", "convert", "-f", "vpc", "-O", "raw", filepath.Join(dir, "raw.vhd"), back).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert: %v: %s", err, out)
		}
		if b, _ := os.ReadFile(back); !bytes.Equal(b, got[:wantSize-vhd.FooterSize]) {
			t.Errorf("qemu-img reads %d bytes other than the uploaded raw image", len(b))
		}
	})

	t.Run("ErrOtherFormats", func(t *testing.T) {
		for _, format := range []string{"qcow2", "vpc"} { // vpc: a dynamic VHD
			path := filepath.Join(dir, "disk."+format)
			if out, err := exec.Command("qemu-img", "create", "-f", format, path, "32M").CombinedOutput(); err != nil {
				t.Fatalf("qemu-img create: %v: %s", err, out)
			}
			r := runCLI(t, s, "upload", path, "-g", "cli", "--snapshot", "other", "--location", "eastus")
			if r.Err == nil || !strings.Contains(r.Stderr, "qemu-img convert") || !strings.Contains(r.Stderr, "subformat=fixed") {
				t.Errorf("%s: got %v %q, want a failure suggesting qemu-img convert -O vpc -o subformat=fixed", format, r.Err, r.Stderr)
			}
		}
		if _, err := snaps.Get(ctx, "cli", "other", nil); !notFoundErr(err) {
			t.Errorf("a refused file still made a snapshot: %v", err)
		}
	})

	versionID := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/cli/providers/Microsoft.Compute/galleries/gal/images/img/versions/1.0.0"
	t.Run("Watch", func(t *testing.T) {
		if _, err := sdk.createGallery(ctx, "cli", "gal", armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.createImage(ctx, "cli", "gal", "img", linuxImage("pub", "offer", "sku")); err != nil {
			t.Fatal(err)
		}
		versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, armOpts)
		if err != nil {
			t.Fatal(err)
		}
		poller, err := versions.BeginCreateOrUpdate(ctx, "cli", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{
			Location: to.Ptr("eastus"),
			Properties: &armcompute.GalleryImageVersionProperties{
				PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
					{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}}},
				StorageProfile: &armcompute.GalleryImageVersionStorageProfile{
					Source: &armcompute.GalleryArtifactVersionFullSource{ID: to.Ptr(snapshotID("osSnap"))}},
			}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := mustRunCLI(t, s, "watch", "--version-id", versionID, "--interval", "200ms")
		for _, region := range []string{"eastus", "westus2"} {
			if !strings.Contains(r.Stderr, region+": Completed 100%") || !strings.Contains(r.Stdout, region+" Completed") {
				t.Errorf("watch does not report %s Completed", region)
			}
		}
		if !strings.Contains(r.Stdout, "Succeeded") {
			t.Errorf("watch does not say the version Succeeded")
		}
		if _, err := poller.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		mustRunCLI(t, s, "watch", "-g", "cli", "--gallery", "gal", "--image", "img", "--version", "1.0.0")
		r = runCLI(t, s, "watch", "--version-id", strings.Replace(versionID, "1.0.0", "9.9.9", 1))
		if r.Err == nil || !strings.Contains(r.Stderr, "NotFound: ") {
			t.Errorf("watching a missing version: %v %q, want a failure with the server's code and message", r.Err, r.Stderr)
		}
	})

	t.Run("DownloadVersion", func(t *testing.T) {
		out := filepath.Join(dir, "version.vhd")
		r := mustRunCLI(t, s, "download", "--version-id", versionID, "--location", "westus2", "-o", out)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// The read SAS serves the VHD as uploaded, footer included.
		if sha256Hex(got) != sha256Hex(vhdBytes) || !strings.Contains(r.Stdout, sha256Hex(vhdBytes)+"  "+out) {
			t.Fatalf("downloaded %d bytes with sha256 %s, want the uploaded VHD's %s printed", len(got), sha256Hex(got), sha256Hex(vhdBytes))
		}
		if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
			t.Errorf("%s.partial is left behind: %v", out, err)
		}
		cliNoTemporaryDisks(t, disks)

		// A download that stopped part way continues from the partial file.
		resumed := filepath.Join(dir, "resumed.vhd")
		const have = 20<<20 + 12345
		if err := os.WriteFile(resumed+".partial", vhdBytes[:have], 0o600); err != nil {
			t.Fatal(err)
		}
		r = mustRunCLI(t, s, "download", "--version-id", versionID, "--location", "westus2", "-o", resumed)
		if want := fmt.Sprintf("downloaded %d bytes (%d resumed", total-have, have); !strings.Contains(r.Stdout, want) {
			t.Errorf("the resumed download does not say %q", want)
		}
		if b, err := os.ReadFile(resumed); err != nil || !bytes.Equal(b, vhdBytes) {
			t.Fatalf("the resumed download differs from the uploaded VHD (%d bytes, %v)", len(b), err)
		}
		cliNoTemporaryDisks(t, disks)

		// A partial file of other bytes is caught by the digest and removed.
		bad := filepath.Join(dir, "bad.vhd")
		if err := os.WriteFile(bad+".partial", make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		r = runCLI(t, s, "download", "--disk-id", snapshotID("osSnap"), "-o", bad)
		if r.Err == nil || !strings.Contains(r.Stderr, "MISMATCH") {
			t.Errorf("a wrong partial file: %v %q, want a sha256 mismatch", r.Err, r.Stderr)
		}
		for _, p := range []string{bad, bad + ".partial"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s exists after a mismatch: %v", p, err)
			}
		}
	})
}

// cliPagesPresent is how many bytes of an open upload the server holds.
func cliPagesPresent(t *testing.T, s *Server, snaps *armcompute.SnapshotsClient, name string) int64 {
	t.Helper()
	ctx := context.Background()
	p, err := snaps.BeginGrantAccess(ctx, "cli", name, armcompute.GrantAccessData{Access: to.Ptr(armcompute.AccessLevelWrite), DurationInSeconds: to.Ptr[int32](600)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	access, err := p.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pageblob.NewClientWithNoCredential(*access.AccessSAS, &pageblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.Client}})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	pager := c.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.PageRange {
			n += *r.End - *r.Start + 1
		}
	}
	return n
}

// cliNoTemporaryDisks checks that download deleted the disks it made.
func cliNoTemporaryDisks(t *testing.T, disks *armcompute.DisksClient) {
	t.Helper()
	pager := disks.NewListByResourceGroupPager("cli", nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			if strings.HasPrefix(*d.Name, "galleon-download-") {
				t.Errorf("the temporary disk %s was left behind", *d.Name)
			}
		}
	}
}

func notFoundErr(err error) bool {
	var re *azcore.ResponseError
	return err != nil && errors.As(err, &re) && re.StatusCode == 404
}

// TestCLI_WatchFailedRegion watches a version whose westus2 storage is
// broken (its bucket folder replaced by a file): watch follows it to
// Failed and exits non-zero, naming westus2 and why, not eastus.
func TestCLI_WatchFailedRegion(t *testing.T) {
	t.Parallel()
	vhdPath, _ := makeFixedVHD(t, 21<<20)
	westus2 := filepath.Join(t.TempDir(), "westus2")
	s := StartServer(t, "--work-max-attempts", "2",
		"--region-bucket", "westus2=file://"+westus2+"?create_dir=1&no_tmp_dir=1&metadata=skip")
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "cli")
	mustRunCLI(t, s, "upload", vhdPath, "-g", "cli", "--snapshot", "os", "--location", "eastus")
	if _, err := sdk.createGallery(ctx, "cli", "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "cli", "gal", "img", linuxImage("p", "o", "s")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(westus2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(westus2, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, &arm.ClientOptions{ClientOptions: sdk.opts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := versions.BeginCreateOrUpdate(ctx, "cli", "gal", "img", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{
			StorageProfile: &armcompute.GalleryImageVersionStorageProfile{Source: &armcompute.GalleryArtifactVersionFullSource{
				ID: to.Ptr("/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/cli/providers/Microsoft.Compute/snapshots/os")}},
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{TargetRegions: []*armcompute.TargetRegion{
				{Name: to.Ptr("eastus")}, {Name: to.Ptr("westus2")}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, s, "watch", "-g", "cli", "--gallery", "gal", "--image", "img", "--version", "1.0.0", "--interval", "200ms")
	var exit *exec.ExitError
	if !errors.As(r.Err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("watch of a failed version: %v, want a non-zero exit", r.Err)
	}
	last := strings.TrimSpace(r.Stderr[strings.LastIndex(strings.TrimSpace(r.Stderr), "\n")+1:])
	if !strings.Contains(last, "replication Failed") || !strings.Contains(last, "westus2: Failed") || strings.Contains(last, "eastus") {
		t.Errorf("watch's error %q should name westus2's failure and details, and not eastus", last)
	}
	if !strings.Contains(r.Stderr, "eastus: Completed 100%") {
		t.Errorf("watch does not show eastus completing")
	}
}
