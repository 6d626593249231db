package blobapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"gocloud.dev/blob/fileblob"
)

// testServer serves one upload of size bytes, staged in a real file
// bucket; the SAS check accepts the query "sig=good" only, and reads only
// where write is not needed ("sp=r").
func testServer(t *testing.T, size int64) (*httptest.Server, *Staging) {
	t.Helper()
	bucket, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	staging := &Staging{Bucket: bucket}
	s := &Server{
		Authorize: func(id string, q url.Values, write bool) error {
			if q.Get("sig") != "good" || write && q.Get("sp") != "w" {
				return &StorageError{http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request."}
			}
			return nil
		},
		Upload: func(r *http.Request, id string) (*Upload, error) {
			if id != "disk1" {
				return nil, &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
			}
			return &Upload{Staging: staging, Size: size}, nil
		},
	}
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, s.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, staging
}

func pageClient(t *testing.T, srv *httptest.Server, query string) *pageblob.Client {
	t.Helper()
	c, err := pageblob.NewClientWithNoCredential(srv.URL+PathPrefix+"disk1?"+query, &pageblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPageBlobClientUpload uploads through the Azure SDK's own page blob
// client, in 4 MiB pages and out of order, with an overwrite and a clear,
// and reads the assembled image back from staging.
func TestPageBlobClientUpload(t *testing.T) {
	const size = 9<<20 + 512
	srv, staging := testServer(t, size)
	c := pageClient(t, srv, "sp=w&sig=good")
	ctx := context.Background()

	want := make([]byte, size)
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	props, err := c.GetProperties(ctx, nil)
	if err != nil || *props.ContentLength != size || *props.BlobType != blob.BlobTypePageBlob {
		t.Fatalf("GetProperties = %+v, %v", props, err)
	}
	// Last chunk first, then the rest, then rewrite one page.
	offsets := []int64{8 << 20, 0, 4 << 20}
	for _, off := range offsets {
		end := min(off+4<<20, size)
		if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(want[off:end])),
			blob.HTTPRange{Offset: off, Count: end - off}, nil); err != nil {
			t.Fatalf("UploadPages at %d: %v", off, err)
		}
	}
	copy(want[512:1024], bytes.Repeat([]byte{7}, 512))
	if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(want[512:1024])), blob.HTTPRange{Offset: 512, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	clear(want[1<<20 : 2<<20])
	if _, err := c.ClearPages(ctx, blob.HTTPRange{Offset: 1 << 20, Count: 1 << 20}, nil); err != nil {
		t.Fatal(err)
	}

	var ranges []Range
	pager := c.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range page.PageRange {
			ranges = append(ranges, Range{*pr.Start, *pr.End})
		}
	}
	wantRanges := []Range{{0, 1<<20 - 1}, {2 << 20, size - 1}}
	if len(ranges) != 2 || ranges[0] != wantRanges[0] || ranges[1] != wantRanges[1] {
		t.Fatalf("page ranges %v, want %v", ranges, wantRanges)
	}

	rc, err := staging.Open(ctx, "disk1", size)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("assembled image differs from what was uploaded (err %v, %d bytes)", err, len(got))
	}
	if err := staging.Delete(ctx, "disk1"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := staging.PageRanges(ctx, "disk1"); len(rs) != 0 {
		t.Errorf("ranges left after Delete: %v", rs)
	}
}

func TestPageBlobRefusals(t *testing.T) {
	const size = 2<<20 + 512
	srv, _ := testServer(t, size)
	ctx := context.Background()
	page := bytes.Repeat([]byte{1}, 512)
	for _, tt := range []struct {
		name   string
		query  string
		off    int64
		data   []byte
		status int
		code   string
	}{
		{"BadSignature", "sp=w&sig=bad", 0, page, 403, "AuthenticationFailed"},
		{"ReadOnlySAS", "sp=r&sig=good", 0, page, 403, "AuthenticationFailed"},
		{"Unaligned", "sp=w&sig=good", 100, page, 416, "InvalidPageRange"},
		{"BeyondEnd", "sp=w&sig=good", size, page, 416, "InvalidPageRange"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := pageClient(t, srv, tt.query)
			_, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(tt.data)), blob.HTTPRange{Offset: tt.off, Count: int64(len(tt.data))}, nil)
			var re *azcore.ResponseError
			if !asResponseError(err, &re) || re.StatusCode != tt.status || re.ErrorCode != tt.code {
				t.Fatalf("got %v, want %d %s", err, tt.status, tt.code)
			}
		})
	}
	t.Run("UnknownBlob", func(t *testing.T) {
		c, _ := pageblob.NewClientWithNoCredential(srv.URL+PathPrefix+"other?sp=w&sig=good", &pageblob.ClientOptions{
			ClientOptions: azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}})
		_, err := c.GetProperties(ctx, nil)
		var re *azcore.ResponseError
		if !asResponseError(err, &re) || re.StatusCode != 404 {
			t.Fatalf("got %v, want 404", err)
		}
	})
}

func asResponseError(err error, target **azcore.ResponseError) bool {
	return errors.As(err, target)
}
