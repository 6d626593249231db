package chunkstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// faultBucket is a fault injector: a gocloud driver that passes every call
// to a real bucket and fails the chunk writes a test picks (litefs's
// mock/os.go pattern). gocloud's own drivers do not export their driver
// types, so it adapts the portable *blob.Bucket back to a driver.
type faultBucket struct {
	b *blob.Bucket

	mu        sync.Mutex
	failWrite int            // fail the Nth chunk write (1-based); 0: none
	writes    int            // chunk writes started
	committed map[string]int // chunk writes that succeeded, by key
}

var errInjected = errors.New("injected write failure")

// newFaultBucket wraps b; open the result with blob.NewBucket.
func newFaultBucket(b *blob.Bucket) *faultBucket {
	return &faultBucket{b: b, committed: map[string]int{}}
}

func (f *faultBucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (f *faultBucket) As(any) bool                            { return false }
func (f *faultBucket) ErrorAs(error, any) bool                { return false }
func (f *faultBucket) Close() error                           { return nil }

func (f *faultBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := f.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{ContentType: a.ContentType, Metadata: a.Metadata, CreateTime: a.CreateTime,
		ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag}, nil
}

func (f *faultBucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token, size := opts.PageToken, opts.PageSize
	if token == nil {
		token = blob.FirstPageToken
	}
	if size <= 0 {
		size = 1000
	}
	objs, next, err := f.b.ListPage(ctx, token, size, &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, o := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir})
	}
	return page, nil
}

func (f *faultBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	r, err := f.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, err
	}
	return faultReader{r}, nil
}

type faultReader struct{ *blob.Reader }

func (r faultReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.ContentType(), ModTime: r.ModTime(), Size: r.Size()}
}
func (r faultReader) As(any) bool { return false }

func (f *faultBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := f.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType, ContentMD5: opts.ContentMD5, Metadata: opts.Metadata})
	if err != nil {
		cancel()
		return nil, err
	}
	fw := &faultWriter{w: w, cancel: cancel, f: f, key: key}
	if strings.HasPrefix(key, "chunks/") {
		f.mu.Lock()
		f.writes++
		fw.fail = f.writes == f.failWrite
		f.mu.Unlock()
	}
	return fw, nil
}

type faultWriter struct {
	w      *blob.Writer
	cancel context.CancelFunc
	f      *faultBucket
	key    string
	fail   bool
}

func (w *faultWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close fails as a write cut off by a crash would: the bytes were sent, but
// the write is abandoned before it commits.
func (w *faultWriter) Close() error {
	defer w.cancel()
	if w.fail {
		w.cancel()
		_ = w.w.Close()
		return errInjected
	}
	if err := w.w.Close(); err != nil {
		return err
	}
	if strings.HasPrefix(w.key, "chunks/") {
		w.f.mu.Lock()
		w.f.committed[w.key]++
		w.f.mu.Unlock()
	}
	return nil
}

func (f *faultBucket) Copy(ctx context.Context, dstKey, srcKey string, _ *driver.CopyOptions) error {
	return f.b.Copy(ctx, dstKey, srcKey, nil)
}

func (f *faultBucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	return f.b.Delete(ctx, key)
}

func (f *faultBucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.New("not supported")
}
