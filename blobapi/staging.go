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
)

// PageSize is the unit of page blob writes: every range starts and ends on
// a 512-byte boundary, as Azure requires.
const PageSize = 512

// MaxPageWrite is the largest Put Page Azure accepts.
const MaxPageWrite = 4 << 20

// Staging keeps the pages of uploads in progress, in a bucket, so that any
// node behind a load balancer can take any page:
//
//	uploads/<upload>/pages/<start>-<end>-<nanos>   the bytes of one Put Page
//	uploads/<upload>/clears/<start>-<end>-<nanos>  an empty marker of one Clear Page
//
// Later writes win over earlier ones where they overlap; the time in the
// key orders them.
type Staging struct {
	Bucket *blob.Bucket
	Now    func() time.Time
}

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

func (s *Staging) key(upload, kind string, r Range) string {
	return fmt.Sprintf("uploads/%s/%s/%020d-%020d-%020d", upload, kind, r.Start, r.End, s.now().UnixNano())
}

// WritePages stores the bytes of range r (r.End-r.Start+1 bytes from data).
func (s *Staging) WritePages(ctx context.Context, upload string, r Range, data io.Reader) error {
	if err := validUpload(upload); err != nil {
		return err
	}
	n := r.End - r.Start + 1
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // cancelling before Close aborts the write
	w, err := s.Bucket.NewWriter(ctx, s.key(upload, "pages", r), &blob.WriterOptions{ContentType: "application/octet-stream"})
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
	return w.Close()
}

// ClearPages records that range r is zeros again.
func (s *Staging) ClearPages(ctx context.Context, upload string, r Range) error {
	if err := validUpload(upload); err != nil {
		return err
	}
	return s.Bucket.WriteAll(ctx, s.key(upload, "clears", r), nil, nil)
}

// extent is one stored write, in the order it happened.
type extent struct {
	Range
	key   string
	clear bool
	at    int64
}

func (s *Staging) extents(ctx context.Context, upload string) ([]extent, error) {
	if err := validUpload(upload); err != nil {
		return nil, err
	}
	var out []extent
	it := s.Bucket.List(&blob.ListOptions{Prefix: "uploads/" + upload + "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		rest := strings.TrimPrefix(obj.Key, "uploads/"+upload+"/")
		kind, name, ok := strings.Cut(rest, "/")
		parts := strings.Split(name, "-")
		if !ok || len(parts) != 3 {
			continue
		}
		start, err1 := strconv.ParseInt(parts[0], 10, 64)
		end, err2 := strconv.ParseInt(parts[1], 10, 64)
		at, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, extent{Range: Range{start, end}, key: obj.Key, clear: kind == "clears", at: at})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out, nil
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
	}
	return nil
}
