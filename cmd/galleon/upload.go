package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

// pageChunk is the size of one Put Page: the most Azure takes in one.
const pageChunk = 4 << 20

type uploadConfig struct {
	conn             connection
	ResourceGroup    string
	Snapshot         string
	Disk             string
	Location         string
	OSType           string
	HyperVGeneration string
	Restart          bool
	Parallelism      int
}

func newUploadCommand() *cobra.Command {
	var c uploadConfig
	cmd := &cobra.Command{
		Use:   "upload FILE (--snapshot NAME | --disk NAME) --resource-group RG",
		Short: "Upload a VHD or raw disk image to a new snapshot or disk",
		Long: `Upload a local disk image to a new snapshot or managed disk, as Azure users do:
create it with createOption Upload, get a write SAS (beginGetAccess), write
the pages with the Azure page blob client, then end access, which seals the
upload: the server checks the VHD and records its sha256 (galleonSha256).

FILE is a fixed VHD, or a raw disk image that is sent as one: its bytes,
zeros up to a whole MiB if it is not one already, then a generated VHD
footer. qcow2, VHDX and dynamic VHD files are refused; convert them with
  qemu-img convert -O vpc -o subformat=fixed,force_size IN out.vhd

Pages go in 4 MiB writes, several at a time (--parallelism); all-zero
ranges are not sent, since an upload reads as zeros where nothing was
written.

Resuming: if the snapshot or disk exists and is still open for upload
(ReadyToUpload or ActiveUpload) with the same size, upload asks the server
which pages it already holds (Get Page Ranges) and sends only the 4 MiB
ranges not wholly among them. A range the server reports is taken as
present without comparing its bytes, so resuming is only for the same,
unchanged file; after changing the file, run with --restart, which deletes
the snapshot or disk and uploads anew. The sha256 the server reports after
sealing is compared with the file's, so a mix of two files is caught.

The progress bar is drawn on stderr when it is a terminal. The last line on
stdout is a summary:
  uploaded N bytes (M already present, Z zero bytes skipped) to snapshot RG/NAME, sha256:HEX`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			return serverError(runUpload(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &c, args[0]))
		},
	}
	f := cmd.Flags()
	c.conn.addFlags(f)
	f.StringVarP(&c.ResourceGroup, "resource-group", "g", "", "resource group of the snapshot or disk (required)")
	f.StringVar(&c.Snapshot, "snapshot", "", "name of the snapshot to upload to")
	f.StringVar(&c.Disk, "disk", "", "name of the managed disk to upload to")
	f.StringVarP(&c.Location, "location", "l", "", "region of a new snapshot or disk (default: the resource group's)")
	f.StringVar(&c.OSType, "os-type", "", "Linux or Windows, recorded on a new snapshot or disk")
	f.StringVar(&c.HyperVGeneration, "hyper-v-generation", "", "V1 or V2, recorded on a new snapshot or disk")
	f.BoolVar(&c.Restart, "restart", false, "delete an existing snapshot or disk of that name and upload from the start")
	f.IntVar(&c.Parallelism, "parallelism", 4, "page writes in flight at once")
	_ = cmd.MarkFlagRequired("resource-group")
	cmd.MarkFlagsOneRequired("snapshot", "disk")
	cmd.MarkFlagsMutuallyExclusive("snapshot", "disk")
	return cmd
}

// uploadStats count the bytes of an upload by what happened to them.
type uploadStats struct {
	Sent, Present, Zero atomic.Int64
}

func runUpload(ctx context.Context, stdout, stderr io.Writer, c *uploadConfig, path string) error {
	if c.Parallelism < 1 {
		return fmt.Errorf("--parallelism must be at least 1")
	}
	im, f, err := openImage(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(stderr, im.describe())

	client, err := c.conn.open()
	if err != nil {
		return err
	}
	var target *diskTarget
	if c.Snapshot != "" {
		target, err = snapshotTarget(client, "", c.ResourceGroup, c.Snapshot)
	} else {
		target, err = diskTargetOf(client, "", c.ResourceGroup, c.Disk)
	}
	if err != nil {
		return err
	}
	resumed, err := prepareUpload(ctx, stderr, client, c, target, im.Size)
	if err != nil {
		return err
	}

	sas, err := target.grant(ctx, armcompute.AccessLevelWrite)
	if err != nil {
		return fmt.Errorf("getting a write SAS for %s: %w", target, err)
	}
	pb, err := pageblob.NewClientWithNoCredential(sas, &pageblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client.HTTP}})
	if err != nil {
		return err
	}
	var present []span
	if resumed {
		if present, err = pageRanges(ctx, pb); err != nil {
			return fmt.Errorf("asking %s which pages it holds: %w", target, err)
		}
	}

	// The file's digest, read alongside the upload, is checked against the
	// server's once the upload is sealed.
	digest := make(chan string, 1)
	digestErr := make(chan error, 1)
	hashCtx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	go func() {
		h := sha256.New()
		_, err := io.Copy(h, &ctxReader{ctx: hashCtx, r: io.NewSectionReader(im, 0, im.Size)})
		if err != nil {
			digestErr <- err
			return
		}
		digest <- "sha256:" + hex.EncodeToString(h.Sum(nil))
	}()

	progress := newProgress(ctx)
	bar := bytesBar(progress, "upload", im.Size)
	var stats uploadStats
	err = uploadPages(ctx, pb, im, im.Size, present, c.Parallelism, &stats, bar.IncrInt64)
	if err != nil {
		bar.Abort(false)
	}
	progress.Wait()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted after sending %d bytes; run the same command again to resume\n", stats.Sent.Load())
		}
		return err
	}

	if err := target.revoke(ctx); err != nil {
		return fmt.Errorf("sealing %s (endGetAccess): %w", target, err)
	}
	st, err := target.get(ctx)
	if err != nil {
		return err
	}
	var local string
	select {
	case local = <-digest:
	case err := <-digestErr:
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if st.SHA256 != "" && st.SHA256 != local {
		return fmt.Errorf("%s was sealed with sha256 %s, but %s (as uploaded) has %s: it holds pages of an earlier upload of another file; run again with --restart",
			target, st.SHA256, path, local)
	}
	fmt.Fprintf(stdout, "uploaded %d bytes (%d already present, %d zero bytes skipped) to %s, %s\n",
		stats.Sent.Load(), stats.Present.Load(), stats.Zero.Load(), target, local)
	return nil
}

// prepareUpload makes sure target exists and is open for an upload of
// size bytes. It reports whether an earlier upload is being resumed.
func prepareUpload(ctx context.Context, stderr io.Writer, client *Client, c *uploadConfig, target *diskTarget, size int64) (bool, error) {
	st, err := target.get(ctx)
	switch {
	case notFound(err):
		st = nil
	case err != nil:
		return false, err
	}
	if st != nil {
		open := st.State == armcompute.DiskStateReadyToUpload || st.State == armcompute.DiskStateActiveUpload
		switch {
		case c.Restart:
			fmt.Fprintf(stderr, "deleting %s (%s) to start again\n", target, st.State)
			if err := target.delete(ctx); err != nil {
				return false, fmt.Errorf("deleting %s: %w", target, err)
			}
		case open && st.UploadSizeBytes == size:
			fmt.Fprintf(stderr, "resuming the upload to %s (%s)\n", target, st.State)
			return true, nil
		case open:
			return false, fmt.Errorf("%s exists, open for an upload of %d bytes, not %d: run with --restart to delete it and upload this file",
				target, st.UploadSizeBytes, size)
		default:
			return false, fmt.Errorf("%s exists and is %s, no longer open for upload: run with --restart to delete it and upload again, or choose another name",
				target, st.State)
		}
	}
	location := c.Location
	if location == "" {
		groups, err := client.groups("")
		if err != nil {
			return false, err
		}
		g, err := groups.Get(ctx, c.ResourceGroup, nil)
		if err != nil {
			return false, fmt.Errorf("resource group %s: %w", c.ResourceGroup, err)
		}
		location = *g.Location
	}
	props := uploadProperties{UploadSizeBytes: size, OSType: c.OSType, HyperVGeneration: c.HyperVGeneration}
	if err := target.create(ctx, location, props); err != nil {
		return false, fmt.Errorf("creating %s: %w", target, err)
	}
	return false, nil
}

// span is a half-open byte range [Start, End).
type span struct{ Start, End int64 }

// pageRanges asks the upload which pages it holds.
func pageRanges(ctx context.Context, pb *pageblob.Client) ([]span, error) {
	var spans []span
	pager := pb.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.PageRange {
			if r != nil && r.Start != nil && r.End != nil {
				spans = append(spans, span{*r.Start, *r.End + 1}) // page lists are inclusive
			}
		}
	}
	return mergeSpans(spans), nil
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	var out []span
	for _, s := range spans {
		if s.End <= s.Start {
			continue
		}
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// covers reports whether merged spans hold all of [start, end).
func covers(merged []span, start, end int64) bool {
	i := sort.Search(len(merged), func(i int) bool { return merged[i].End > start })
	return i < len(merged) && merged[i].Start <= start && merged[i].End >= end
}

// uploadPages writes the size bytes of r in pageChunk ranges, parallelism
// at a time, skipping ranges present holds wholly and ranges of zeros.
// Every range's bytes are reported to done once handled.
func uploadPages(ctx context.Context, pb *pageblob.Client, r io.ReaderAt, size int64, present []span,
	parallelism int, stats *uploadStats, done func(int64)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	bufs := sync.Pool{New: func() any { b := make([]byte, pageChunk); return &b }}
	for off := int64(0); off < size; off += pageChunk {
		end := min(off+pageChunk, size)
		n := end - off
		if covers(present, off, end) {
			stats.Present.Add(n)
			done(n)
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			bp := bufs.Get().(*[]byte)
			defer bufs.Put(bp)
			buf := (*bp)[:n]
			if k, err := r.ReadAt(buf, off); k < len(buf) {
				return fmt.Errorf("reading bytes %d-%d: %w", off, end-1, err)
			}
			if allZero(buf) {
				stats.Zero.Add(n)
				done(n)
				return nil
			}
			_, err := pb.UploadPages(gctx, streaming.NopCloser(bytes.NewReader(buf)), blob.HTTPRange{Offset: off, Count: n}, nil)
			if err != nil {
				return fmt.Errorf("writing bytes %d-%d: %w", off, end-1, serverError(err))
			}
			stats.Sent.Add(n)
			done(n)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
