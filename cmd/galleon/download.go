package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/spf13/cobra"
)

// downloadChunk is the size of one ranged GET.
const downloadChunk = 8 << 20

type downloadConfig struct {
	conn      connection
	VersionID string
	Lun       *int32
	Location  string
	DiskID    string
	Output    string
}

func newDownloadCommand() *cobra.Command {
	var c downloadConfig
	var lun int32
	cmd := &cobra.Command{
		Use:   "download (--version-id ID --location REGION [--lun N] | --disk-id ID) -o FILE",
		Short: "Download an image version's disk, a disk or a snapshot as a fixed VHD",
		Long: `Download the bytes of a disk or snapshot (--disk-id), or of a disk of an image
version (--version-id), through a read SAS, as Azure users do: beginGetAccess
Read, ranged GETs of 8 MiB, endGetAccess.

What the read SAS serves, and so what FILE holds, is the disk exactly as it was
uploaded or imported: a fixed VHD, the disk's virtual bytes followed by the
512-byte VHD footer. Its sha256 is the one the server reports as galleonSha256,
and equals the sha256 of the VHD file that was uploaded. For the raw disk,
drop the last 512 bytes (or: qemu-img convert -f vpc -O raw FILE disk.raw).

For an image version, a temporary disk named galleon-download-<random> is made
from it (createOption FromImage) in the version's resource group, in the region
--location (one of the version's target regions), and deleted afterwards, also
when the download fails. --lun picks a data disk; without it, the OS disk.

FILE must not exist. The bytes go to FILE.partial, renamed to FILE once
complete and verified. If
FILE.partial exists, the download continues from its size: an interrupted
download resumes by running the same command again. After the download the
file's sha256 is printed and compared with the server's galleonSha256; on a
mismatch FILE.partial is deleted and the command fails.

The progress bar is drawn on stderr when it is a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			if cmd.Flags().Changed("lun") {
				c.Lun = &lun
			}
			return serverError(runDownload(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &c))
		},
	}
	f := cmd.Flags()
	c.conn.addFlags(f)
	f.StringVar(&c.VersionID, "version-id", "", "resource id of an image version to download a disk of")
	f.Int32Var(&lun, "lun", 0, "with --version-id: the LUN of the data disk to download (default: the OS disk)")
	f.StringVarP(&c.Location, "location", "l", "", "with --version-id: the region whose replica to read")
	f.StringVar(&c.DiskID, "disk-id", "", "resource id of a disk or snapshot to download")
	f.StringVarP(&c.Output, "output", "o", "", "file to write (required)")
	_ = cmd.MarkFlagRequired("output")
	cmd.MarkFlagsOneRequired("version-id", "disk-id")
	cmd.MarkFlagsMutuallyExclusive("version-id", "disk-id")
	return cmd
}

func runDownload(ctx context.Context, stdout, stderr io.Writer, c *downloadConfig) error {
	if c.DiskID != "" && (c.Lun != nil || c.Location != "") {
		return errors.New("--lun and --location go with --version-id; a disk or snapshot is read where it is")
	}
	if c.VersionID != "" && c.Location == "" {
		return errors.New("--version-id needs --location: the target region whose replica to read")
	}
	if _, err := os.Stat(c.Output); err == nil {
		return fmt.Errorf("%s exists; remove it or choose another --output", c.Output)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	client, err := c.conn.open()
	if err != nil {
		return err
	}
	if c.DiskID != "" {
		target, err := targetFromID(client, c.DiskID)
		if err != nil {
			return err
		}
		return downloadDisk(ctx, stdout, stderr, client, target, c.Output)
	}

	rid, err := arm.ParseResourceID(c.VersionID)
	if err != nil {
		return fmt.Errorf("--version-id %q is not a resource id: %w", c.VersionID, err)
	}
	if !strings.EqualFold(rid.ResourceType.String(), "Microsoft.Compute/galleries/images/versions") {
		return fmt.Errorf("--version-id %s is a %s, not an image version (Microsoft.Compute/galleries/images/versions)", c.VersionID, rid.ResourceType)
	}
	disks, err := client.disks(rid.SubscriptionID)
	if err != nil {
		return err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "galleon-download-" + hex.EncodeToString(suffix)
	target, err := diskTargetOf(client, rid.SubscriptionID, rid.ResourceGroupName, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "creating temporary %s from %s in %s\n", target, c.VersionID, c.Location)
	poller, err := disks.BeginCreateOrUpdate(ctx, rid.ResourceGroupName, name, armcompute.Disk{
		Location: to.Ptr(c.Location),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{
			CreateOption:          to.Ptr(armcompute.DiskCreateOptionFromImage),
			GalleryImageReference: &armcompute.ImageDiskReference{ID: to.Ptr(c.VersionID), Lun: c.Lun},
		}},
	}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, pollOptions)
	}
	// Delete the disk whatever happened, even if creating it seemed to
	// fail: a create that timed out on our side may have succeeded.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if derr := target.delete(dctx); derr != nil && !notFound(derr) {
			fmt.Fprintf(stderr, "warning: could not delete the temporary %s: %v; delete it yourself\n", target, serverError(derr))
			return
		}
		fmt.Fprintf(stderr, "deleted the temporary %s\n", target)
	}()
	if err != nil {
		return fmt.Errorf("creating a disk from %s in %s: %w", c.VersionID, c.Location, serverError(err))
	}
	return downloadDisk(ctx, stdout, stderr, client, target, c.Output)
}

// downloadDisk reads target through a read SAS into out, by way of
// out.partial, resuming from what out.partial already holds.
func downloadDisk(ctx context.Context, stdout, stderr io.Writer, client *Client, target *diskTarget, out string) (err error) {
	st, err := target.get(ctx)
	if err != nil {
		return err
	}
	sas, err := target.grant(ctx, armcompute.AccessLevelRead)
	if err != nil {
		return fmt.Errorf("getting a read SAS for %s: %w", target, err)
	}
	defer func() {
		// endGetAccess: the SAS is not needed any more.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rerr := target.revoke(rctx); rerr != nil && err == nil {
			err = fmt.Errorf("ending access to %s: %w", target, rerr)
		}
	}()
	bc, err := blob.NewClientWithNoCredential(sas, &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client.HTTP}})
	if err != nil {
		return err
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return fmt.Errorf("reading the size of %s: %w", target, serverError(err))
	}
	if props.ContentLength == nil {
		return fmt.Errorf("the server did not say how large %s is", target)
	}
	total := *props.ContentLength

	partial := out + ".partial"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have := fi.Size()
	if have > total {
		return fmt.Errorf("%s has %d bytes, more than the %d of %s: it is not a part of this download; delete it", partial, have, total, target)
	}
	if have > 0 {
		fmt.Fprintf(stderr, "resuming from %s: %d of %d bytes already there\n", partial, have, total)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
		return fmt.Errorf("reading %s: %w", partial, err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}

	progress := newProgress(ctx)
	bar := bytesBar(progress, "download", total)
	bar.SetCurrent(have)
	w := io.MultiWriter(f, h)
	for off := have; off < total && err == nil; off += downloadChunk {
		n := min(downloadChunk, total-off)
		err = downloadRange(ctx, bc, w, off, n)
		if err == nil {
			bar.IncrInt64(n)
		}
	}
	if err != nil {
		bar.Abort(false)
	}
	progress.Wait()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted; %s keeps what arrived: run the same command again to resume\n", partial)
		}
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return cerr
	}

	local := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if st.SHA256 != "" && st.SHA256 != local {
		os.Remove(partial)
		return fmt.Errorf("SHA256 MISMATCH: %s reports %s but the downloaded bytes have %s; %s was deleted, run again to download afresh",
			target, st.SHA256, local, partial)
	}
	if err := os.Rename(partial, out); err != nil {
		return err
	}
	verified := "the server reports no sha256 to compare"
	if st.SHA256 != "" {
		verified = "matches the server's galleonSha256"
	}
	fmt.Fprintf(stdout, "downloaded %d bytes (%d resumed from %s) of %s to %s; sha256 %s\n", total-have, have, partial, target, out, verified)
	fmt.Fprintf(stdout, "%s  %s\n", strings.TrimPrefix(local, "sha256:"), out)
	return nil
}

// downloadRange copies bytes [off, off+n) of the blob to w.
func downloadRange(ctx context.Context, bc *blob.Client, w io.Writer, off, n int64) error {
	resp, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: n}})
	if err != nil {
		return fmt.Errorf("reading bytes %d-%d: %w", off, off+n-1, serverError(err))
	}
	defer resp.Body.Close()
	got, err := io.CopyN(w, resp.Body, n)
	if err != nil {
		return fmt.Errorf("reading bytes %d-%d: got %d: %w", off, off+n-1, got, err)
	}
	return nil
}
