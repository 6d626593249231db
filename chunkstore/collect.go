package chunkstore

import (
	"context"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// CollectManifests deletes the manifests last written before the given
// time for which keep returns false, and returns how many it deleted. GC
// frees only chunks that no manifest names, so a manifest left by a
// request that failed after it wrote it (its resource never stored) would
// keep its chunks forever; the caller, who knows which resources exist,
// says which manifests are still owned. The age threshold is what makes
// that safe against requests in flight: a manifest written just now may
// belong to a resource whose record is not committed yet, so before
// should be well behind now (an hour, say). Chunks are freed by the next
// GC.
func (s *Store) CollectManifests(ctx context.Context, before time.Time, keep func(id string) bool) (n int, err error) {
	defer wrap(&err, "collect manifests")
	var old []string
	it := s.Bucket.List(&blob.ListOptions{Prefix: manifestsPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		id, ok := parseManifestKey(obj.Key)
		if ok && obj.ModTime.Before(before) {
			old = append(old, id)
		}
	}
	for _, id := range old {
		if keep(id) {
			continue
		}
		if err := s.DeleteManifest(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CollectTemp deletes the temporary files that fileblob left behind (a
// process killed while it wrote; see isTempKey) last written before the
// given time, and returns how many and their bytes. A write in progress
// keeps its file's modification time fresh, so before a few minutes or
// more behind now spares it. Other backends have no such files.
func (s *Store) CollectTemp(ctx context.Context, before time.Time) (n int, bytes int64, err error) {
	defer wrap(&err, "collect temporary files")
	var stale []*blob.ListObject
	it := s.Bucket.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		if isTempKey(obj.Key) && obj.ModTime.Before(before) {
			stale = append(stale, obj)
		}
	}
	for _, obj := range stale {
		if err := s.Bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, bytes, err
		}
		n++
		bytes += obj.Size
	}
	return n, bytes, nil
}
