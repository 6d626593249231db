package blobapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/galleon-project/galleon/internal/failpoint"
)

// PageSize is the unit of page blob writes: every range starts and ends on
// a 512-byte boundary, as Azure requires.
const PageSize = 512

// MaxPageWrite is the largest Put Page Azure accepts.
const MaxPageWrite = 4 << 20

// Staging keeps the pages of uploads in progress, in a bucket, so that any
// node behind a load balancer can take any page:
//
//	uploads/<upload>/b/<block>/<start>-<end>-<nanos>-p   the bytes of one Put Page
//	uploads/<upload>/b/<block>/<start>-<end>-<nanos>-c   an empty marker of one Clear Page
//
// where block is start / MaxPageWrite, so the writes near a range are found
// by listing at most three small folders. Later writes win over earlier
// ones where they overlap; the time in the key orders them. A write removes
// the older writes it covers entirely, so rewriting a range replaces it
// instead of piling up copies, and the bytes staged in one block are
// capped at MaxStagedPerBlock (and its clear markers at MaxClearsPerBlock):
// staging holds at most twice the disk's size, rounded up to a block,
// whatever a client writes.
//
// Uploads staged before this layout (uploads/<upload>/pages/<start>-<end>-<nanos>
// and …/clears/…) are still read, so an upload in progress survives an
// upgrade.
type Staging struct {
	Bucket *blob.Bucket
	Now    func() time.Time
}

// MaxStagedPerBlock caps the bytes of staged writes that start in one
// block of MaxPageWrite bytes: a block written once takes MaxPageWrite, and
// one written in full then rewritten in smaller pieces twice that.
const MaxStagedPerBlock = 2 * MaxPageWrite

// MaxClearsPerBlock caps the clear markers that start in one block and
// cover none of each other; a clear that covers older ones replaces them.
const MaxClearsPerBlock = 64

// ErrStagingFull refuses a write that would stage more than
// MaxStagedPerBlock bytes, or a clear past MaxClearsPerBlock markers, in
// one block.
var ErrStagingFull = errors.New("staging full")

// Range is an inclusive byte range, as page lists report them.
type Range struct{ Start, End int64 }

func (s *Staging) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func validUpload(upload string) error {
	if upload == "" || strings.ContainsAny(upload, "/\\") || strings.Contains(upload, "..") {
		return fmt.Errorf("invalid upload id %q", upload)
	}
	return nil
}

func block(offset int64) int64 { return offset / MaxPageWrite }

func blockPrefix(upload string, b int64) string {
	return fmt.Sprintf("uploads/%s/b/%012d/", upload, b)
}

func (s *Staging) key(upload string, clear bool, r Range, at int64) string {
	kind := "p"
	if clear {
		kind = "c"
	}
	return fmt.Sprintf("%s%020d-%020d-%020d-%s", blockPrefix(upload, block(r.Start)), r.Start, r.End, at, kind)
}

// WritePages stores the bytes of range r (r.End-r.Start+1 bytes from data)
// and removes the older writes r covers. It returns ErrStagingFull, having
// stored nothing, when the bytes staged in r's first block would exceed
// MaxStagedPerBlock.
func (s *Staging) WritePages(ctx context.Context, upload string, r Range, data io.Reader) error {
	if err := validUpload(upload); err != nil {
		return err
	}
	n := r.End - r.Start + 1
	// A write of at most MaxPageWrite bytes overlaps only writes that
	// start in its own blocks or the one before.
	near, err := s.list(ctx, upload, max(block(r.Start)-1, 0), block(r.End))
	if err != nil {
		return err
	}
	staged := n
	for _, e := range near {
		if block(e.Start) == block(r.Start) && !covers(r, e.Range) {
			staged += e.size
		}
	}
	if staged > MaxStagedPerBlock {
		return fmt.Errorf("%w: %d bytes would be staged from offset %d, at most %d may be", ErrStagingFull, staged, block(r.Start)*MaxPageWrite, MaxStagedPerBlock)
	}
	at := s.now().UnixNano()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel() // cancelling before Close aborts the write
	w, err := s.Bucket.NewWriter(wctx, s.key(upload, false, r, at), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return err
	}
	copied, err := io.Copy(w, io.LimitReader(data, n))
	if err == nil && copied != n {
		err = fmt.Errorf("the body has %d bytes, the range %d", copied, n)
	}
	if err != nil {
		// gocloud commits an object only when its writer closes without
		// error; closing after a failed copy could commit a partial page,
		// so the writer is abandoned through its context instead.
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return s.prune(ctx, near, r, at)
}

// ClearPages records that range r is zeros again, and removes the older
// writes it covers.
func (s *Staging) ClearPages(ctx context.Context, upload string, r Range) error {
	if err := validUpload(upload); err != nil {
		return err
	}
	// The writes a clear covers start in its own blocks; a clear of more
	// than a few blocks (the whole disk, say) is rare and reads the list.
	var exts []extent
	var err error
	if first, last := block(r.Start), block(r.End); last-first < 16 {
		exts, err = s.list(ctx, upload, first, last)
	} else {
		exts, err = s.extents(ctx, upload)
	}
	if err != nil {
		return err
	}
	// Markers hold no bytes, but each is an object that listings read.
	markers := 1
	for _, e := range exts {
		if e.clear && block(e.Start) == block(r.Start) && !covers(r, e.Range) {
			markers++
		}
	}
	if markers > MaxClearsPerBlock {
		return fmt.Errorf("%w: %d clears would be staged from offset %d, at most %d may be", ErrStagingFull, markers, block(r.Start)*MaxPageWrite, MaxClearsPerBlock)
	}
	at := s.now().UnixNano()
	if err := s.Bucket.WriteAll(ctx, s.key(upload, true, r, at), nil, nil); err != nil {
		return err
	}
	return s.prune(ctx, exts, r, at)
}

// covers reports whether r holds all of e.
func covers(r, e Range) bool { return r.Start <= e.Start && e.End <= r.End }

// prune deletes the writes among exts that are older than at and lie
// within r: the write at at hides every byte of them. Another node's
// newer write is never deleted, so concurrent writes of one range leave
// the newest.
func (s *Staging) prune(ctx context.Context, exts []extent, r Range, at int64) error {
	for _, e := range exts {
		if e.at < at && covers(r, e.Range) {
			if err := s.Bucket.Delete(ctx, e.key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return err
			}
		}
	}
	return nil
}

// extent is one stored write, in the order it happened.
type extent struct {
	Range
	key   string
	clear bool
	at    int64
	size  int64 // bytes stored
}

// list returns the writes that start in blocks first to last.
func (s *Staging) list(ctx context.Context, upload string, first, last int64) ([]extent, error) {
	var out []extent
	for b := first; b <= last; b++ {
		exts, err := s.listPrefix(ctx, upload, blockPrefix(upload, b))
		if err != nil {
			return nil, err
		}
		out = append(out, exts...)
	}
	return out, nil
}

func (s *Staging) extents(ctx context.Context, upload string) ([]extent, error) {
	if err := validUpload(upload); err != nil {
		return nil, err
	}
	out, err := s.listPrefix(ctx, upload, "uploads/"+upload+"/")
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out, nil
}

// listPrefix parses the keys under prefix, of either layout.
func (s *Staging) listPrefix(ctx context.Context, upload, prefix string) ([]extent, error) {
	var out []extent
	it := s.Bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e, ok := parseExtent(strings.TrimPrefix(obj.Key, "uploads/"+upload+"/")); ok {
			e.key, e.size = obj.Key, obj.Size
			out = append(out, e)
		}
	}
}

// parseExtent reads a key below uploads/<upload>/: b/<block>/<start>-<end>-<nanos>-<p|c>,
// or the older pages/<start>-<end>-<nanos> and clears/<start>-<end>-<nanos>.
func parseExtent(rest string) (extent, bool) {
	var e extent
	dirs := strings.Split(rest, "/")
	name := dirs[len(dirs)-1]
	parts := strings.Split(name, "-")
	switch {
	case len(dirs) == 3 && dirs[0] == "b" && len(parts) == 4 && (parts[3] == "p" || parts[3] == "c"):
		e.clear = parts[3] == "c"
	case len(dirs) == 2 && (dirs[0] == "pages" || dirs[0] == "clears") && len(parts) == 3:
		e.clear = dirs[0] == "clears"
	default:
		return e, false
	}
	start, err1 := strconv.ParseInt(parts[0], 10, 64)
	end, err2 := strconv.ParseInt(parts[1], 10, 64)
	at, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return e, false
	}
	e.Range, e.at = Range{start, end}, at
	return e, true
}

// PageRanges returns the ranges that hold written (not cleared) bytes,
// merged and sorted, as Get Page Ranges reports them.
func (s *Staging) PageRanges(ctx context.Context, upload string) ([]Range, error) {
	exts, err := s.extents(ctx, upload)
	if err != nil {
		return nil, err
	}
	var set []Range
	for _, e := range exts {
		set = subtract(set, e.Range)
		if !e.clear {
			set = append(set, e.Range)
		}
	}
	sort.Slice(set, func(i, j int) bool { return set[i].Start < set[j].Start })
	var merged []Range
	for _, r := range set {
		if n := len(merged); n > 0 && merged[n-1].End+1 >= r.Start {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged, nil
}

// subtract removes r from every range of set.
func subtract(set []Range, r Range) []Range {
	var out []Range
	for _, s := range set {
		if s.End < r.Start || s.Start > r.End {
			out = append(out, s)
			continue
		}
		if s.Start < r.Start {
			out = append(out, Range{s.Start, r.Start - 1})
		}
		if s.End > r.End {
			out = append(out, Range{r.End + 1, s.End})
		}
	}
	return out
}

// Open streams the assembled image of size bytes: for every byte the last
// write that covered it, zeros where nothing was written.
func (s *Staging) Open(ctx context.Context, upload string, size int64) (io.ReadCloser, error) {
	exts, err := s.extents(ctx, upload)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.assemble(ctx, pw, exts, size)) }()
	return pr, nil
}

// assemble writes the image in windows of MaxPageWrite bytes, reading for
// each window the extents that overlap it, later ones over earlier ones.
func (s *Staging) assemble(ctx context.Context, w io.Writer, exts []extent, size int64) error {
	buf := make([]byte, MaxPageWrite)
	for off := int64(0); off < size; off += int64(len(buf)) {
		win := buf[:min(int64(len(buf)), size-off)]
		clear(win)
		winEnd := off + int64(len(win)) - 1
		for _, e := range exts {
			lo, hi := max(e.Start, off), min(e.End, winEnd)
			if lo > hi {
				continue
			}
			dst := win[lo-off : hi-off+1]
			if e.clear {
				clear(dst)
				continue
			}
			r, err := s.Bucket.NewRangeReader(ctx, e.key, lo-e.Start, hi-lo+1, nil)
			if err != nil {
				return err
			}
			_, err = io.ReadFull(r, dst)
			r.Close()
			if err != nil {
				return err
			}
		}
		if _, err := w.Write(win); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes an upload's staged pages.
func (s *Staging) Delete(ctx context.Context, upload string) error {
	exts, err := s.extents(ctx, upload)
	if err != nil {
		return err
	}
	for _, e := range exts {
		if err := s.Bucket.Delete(ctx, e.key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return err
		}
		// A crash here leaves part of the pages; the seal is recorded by
		// then, and whoever comes next (a retried endGetAccess, the disk's
		// deletion) deletes the rest.
		if err := failpoint.Hit("seal/during-staging-delete"); err != nil {
			return err
		}
	}
	return nil
}
