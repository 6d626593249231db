package blobapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
)

// tickingStaging is a Staging on a memory bucket whose clock moves a
// microsecond a call, so writes are ordered as they are made.
func tickingStaging(t *testing.T) *Staging {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	now := time.Unix(1700000000, 0)
	return &Staging{Bucket: b, Now: func() time.Time { now = now.Add(time.Microsecond); return now }}
}

// stagedBytes is what the upload takes in the bucket.
func stagedBytes(t *testing.T, s *Staging, upload string) (n int64, objects int) {
	t.Helper()
	it := s.Bucket.List(&blob.ListOptions{Prefix: "uploads/" + upload + "/"})
	for {
		obj, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, objects
		}
		if err != nil {
			t.Fatal(err)
		}
		n += obj.Size
		objects++
	}
}

func assembled(t *testing.T, s *Staging, upload string, size int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), upload, size)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, s *Staging, upload string, off int64, data []byte) {
	t.Helper()
	if err := s.WritePages(context.Background(), upload, Range{off, off + int64(len(data)) - 1}, bytes.NewReader(data)); err != nil {
		t.Fatalf("WritePages at %d (%d bytes): %v", off, len(data), err)
	}
}

// TestStaging_RewriteReplaces: 50 rewrites of one 4 MiB page stage 4 MiB,
// not 200 MiB (each Put Page was kept before), and the last one is read.
func TestStaging_RewriteReplaces(t *testing.T) {
	s := tickingStaging(t)
	const size = 8 << 20
	for i := range 50 {
		write(t, s, "u", 4<<20, bytes.Repeat([]byte{byte(i + 1)}, MaxPageWrite))
	}
	if n, objects := stagedBytes(t, s, "u"); n != MaxPageWrite || objects != 1 {
		t.Fatalf("after 50 rewrites: %d bytes in %d objects, want %d in 1", n, objects, MaxPageWrite)
	}
	got := assembled(t, s, "u", size)
	if !bytes.Equal(got[4<<20:], bytes.Repeat([]byte{50}, MaxPageWrite)) || !bytes.Equal(got[:4<<20], make([]byte, 4<<20)) {
		t.Fatal("the assembled image is not the last write over zeros")
	}
}

// TestStaging_Overlaps: the newest write wins byte by byte, whatever the
// overlap; a write that covers older ones removes them, and a clear too.
func TestStaging_Overlaps(t *testing.T) {
	const size = 16 << 10
	for _, tt := range []struct {
		name    string
		writes  [][3]int64 // offset, length, value (0: a clear)
		objects int        // staged objects left
	}{
		{"Disjoint", [][3]int64{{0, 4096, 1}, {8192, 4096, 2}}, 2},
		{"SameRange", [][3]int64{{0, 4096, 1}, {0, 4096, 2}, {0, 4096, 3}}, 1},
		{"NewerInside", [][3]int64{{0, 8192, 1}, {1024, 512, 2}}, 2},
		{"NewerCovers", [][3]int64{{1024, 512, 1}, {2048, 1024, 2}, {0, 8192, 3}}, 1},
		{"PartialOverlaps", [][3]int64{{0, 4096, 1}, {2048, 4096, 2}, {1024, 2048, 3}}, 3},
		{"ClearCovers", [][3]int64{{0, 4096, 1}, {4096, 4096, 2}, {0, 8192, 0}}, 1},
		{"WriteAfterClear", [][3]int64{{0, 8192, 1}, {0, 4096, 0}, {512, 512, 4}}, 3},
		{"AcrossBlocks", [][3]int64{{0, 16 << 10, 1}, {4096, 4096, 2}}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tickingStaging(t)
			want := make([]byte, size)
			for _, w := range tt.writes {
				off, n, v := w[0], w[1], w[2]
				if v == 0 {
					if err := s.ClearPages(context.Background(), "u", Range{off, off + n - 1}); err != nil {
						t.Fatal(err)
					}
				} else {
					write(t, s, "u", off, bytes.Repeat([]byte{byte(v)}, int(n)))
				}
				copy(want[off:off+n], bytes.Repeat([]byte{byte(v)}, int(n)))
			}
			if got := assembled(t, s, "u", size); !bytes.Equal(got, want) {
				t.Error("the assembled image is not the newest write of every byte")
			}
			if _, objects := stagedBytes(t, s, "u"); objects != tt.objects {
				t.Errorf("%d staged objects left, want %d", objects, tt.objects)
			}
		})
	}
}

// TestStaging_Bound: writes that pile up in one block are refused past
// MaxStagedPerBlock, and nothing of the refused write is stored.
func TestStaging_Bound(t *testing.T) {
	s := tickingStaging(t)
	page := bytes.Repeat([]byte{7}, MaxPageWrite)
	// A block written once, then rewritten in pieces: allowed.
	write(t, s, "u", 0, page)
	for off := int64(0); off < MaxPageWrite; off += 1 << 20 {
		write(t, s, "u", off, page[:1<<20])
	}
	// Overlapping 4 MiB writes that start 512 bytes apart in one block
	// cover none of each other: the first past the cap is refused.
	s2 := tickingStaging(t)
	var err error
	writes := 0
	for off := int64(0); err == nil && off < MaxPageWrite; off += PageSize {
		err = s2.WritePages(context.Background(), "u", Range{off, off + MaxPageWrite - 1}, bytes.NewReader(page))
		writes++
	}
	if !errors.Is(err, ErrStagingFull) || writes != 3 {
		t.Fatalf("the staircase stopped after %d writes with %v, want ErrStagingFull at the third", writes, err)
	}
	if n, _ := stagedBytes(t, s2, "u"); n != MaxStagedPerBlock {
		t.Errorf("%d bytes staged, want %d", n, MaxStagedPerBlock)
	}
	// Clears that cover none of each other are capped too: they hold no
	// bytes, but every listing reads them.
	s3 := tickingStaging(t)
	err, clears := nil, 0
	for off := int64(0); err == nil && off < MaxPageWrite; off += PageSize {
		err = s3.ClearPages(context.Background(), "u", Range{off, off + 2*PageSize - 1})
		clears++
	}
	if !errors.Is(err, ErrStagingFull) || clears != MaxClearsPerBlock+1 {
		t.Fatalf("overlapping clears stopped after %d with %v, want ErrStagingFull at %d", clears, err, MaxClearsPerBlock+1)
	}
}

// TestStaging_OldLayout: pages staged before the block layout are still
// read, so an upload in progress survives an upgrade.
func TestStaging_OldLayout(t *testing.T) {
	s := tickingStaging(t)
	ctx := context.Background()
	old := fmt.Sprintf("uploads/u/pages/%020d-%020d-%020d", 0, 1023, 1)
	if err := s.Bucket.WriteAll(ctx, old, bytes.Repeat([]byte{1}, 1024), nil); err != nil {
		t.Fatal(err)
	}
	write(t, s, "u", 512, bytes.Repeat([]byte{2}, 512))
	got := assembled(t, s, "u", 2048)
	want := append(append(bytes.Repeat([]byte{1}, 512), bytes.Repeat([]byte{2}, 512)...), make([]byte, 1024)...)
	if !bytes.Equal(got, want) {
		t.Fatal("an old-layout page was not read under a newer write")
	}
	if ranges, err := s.PageRanges(ctx, "u"); err != nil || len(ranges) != 1 || ranges[0] != (Range{0, 1023}) {
		t.Errorf("PageRanges = %v, %v", ranges, err)
	}
	if err := s.Delete(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bucket.Attributes(ctx, old); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Delete left the old-layout page: %v", err)
	}
}

// TestPageWriteError: a full disk or quota is said as such (507), a full
// staging area as 409; other errors stay internal.
func TestPageWriteError(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"NoSpace", fmt.Errorf("blob (key %q) (code=Unknown): %w", "k", &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}), 507, "InsufficientStorage"},
		{"Quota", &fs.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}, 507, "InsufficientStorage"},
		{"StagingFull", fmt.Errorf("%w: too much", ErrStagingFull), 409, "StagedPagesLimitExceeded"},
		{"Other", errors.New("connection reset"), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := pageWriteError(tt.err)
			se, ok := got.(*StorageError)
			if tt.status == 0 {
				if ok || got != tt.err {
					t.Fatalf("pageWriteError = %v, want the error unchanged", got)
				}
				return
			}
			if !ok || se.Status != tt.status || se.Code != tt.code || se.Message == "" {
				t.Fatalf("pageWriteError = %#v, want %d %s with a reason", got, tt.status, tt.code)
			}
		})
	}
}

// TestPutPage_StagingFull: the data plane answers a write past the cap
// with 409 and a reason, in Azure Storage's error shape.
func TestPutPage_StagingFull(t *testing.T) {
	const size = 8<<20 + 512
	srv, _ := testServer(t, size)
	page := bytes.Repeat([]byte{1}, MaxPageWrite)
	var resp *http.Response
	for off := 0; off < 3*PageSize; off += PageSize {
		req, _ := http.NewRequest("PUT", srv.URL+PathPrefix+"disk1?comp=page&sp=w&sig=good", bytes.NewReader(page))
		req.Header.Set("x-ms-page-write", "update")
		req.Header.Set("x-ms-range", fmt.Sprintf("bytes=%d-%d", off, off+MaxPageWrite-1))
		var err error
		if resp, err = srv.Client().Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("x-ms-error-code") != "StagedPagesLimitExceeded" {
		t.Fatalf("the third overlapping write = %d %s, want 409 StagedPagesLimitExceeded", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}
