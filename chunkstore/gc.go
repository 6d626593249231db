package chunkstore

import (
	"context"
	"errors"
	"io"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/galleon-project/galleon/internal/failpoint"
)

// GCStats says what a GC pass found and did.
type GCStats struct {
	Manifests     int   // manifests read: every chunk they name was kept
	ChunksKept    int64 // chunks named by some manifest
	ChunksDeleted int64
	BytesDeleted  int64
}

// GC deletes every chunk in the bucket that no manifest in the bucket names,
// so a chunk lives exactly as long as some image in this bucket needs it:
// DeleteManifest, then GC, frees what only that image used.
//
// GC holds the bucket's GC lock, which excludes writers (see lock.go for
// why and how): if an Ingest, Copy or PutManifest is running, GC returns
// ErrBusy at once and deletes nothing; call it again later. Writers that
// start while GC runs wait for it. A manifest that cannot be read or parsed
// stops GC before anything is deleted, since the chunks it names cannot be
// known. Objects under chunks/ that are not chunk keys (a driver's temporary
// file, say) are left alone.
func (s *Store) GC(ctx context.Context) (st GCStats, err error) {
	defer wrap(&err, "gc")
	err = s.withGCLock(ctx, func(ctx context.Context) error {
		live, err := s.liveChunks(ctx, &st)
		if err != nil {
			return err
		}
		var dead []*blob.ListObject
		it := s.Bucket.List(&blob.ListOptions{Prefix: chunksPrefix})
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			d, ok := parseChunkKey(obj.Key)
			switch {
			case !ok:
			case live[d]:
				st.ChunksKept++
			default:
				dead = append(dead, obj)
			}
		}
		if err := failpoint.Hit("gc/before-delete"); err != nil {
			return err
		}
		// Listing first and deleting after keeps the listing stable.
		var deleted = make([]bool, len(dead))
		err = forEach(ctx, len(dead), 2*defaultParallelism, func(ctx context.Context, i int) error {
			err := s.Bucket.Delete(ctx, dead[i].Key)
			if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return err
			}
			deleted[i] = true
			return nil
		})
		for i, ok := range deleted {
			if ok {
				st.ChunksDeleted++
				st.BytesDeleted += dead[i].Size
			}
		}
		return err
	})
	return st, err
}

// liveChunks reads every manifest and returns the set of chunks they name.
func (s *Store) liveChunks(ctx context.Context, st *GCStats) (map[Digest]bool, error) {
	live := make(map[Digest]bool)
	it := s.Bucket.List(&blob.ListOptions{Prefix: manifestsPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return live, nil
		}
		if err != nil {
			return nil, err
		}
		if _, ok := parseManifestKey(obj.Key); !ok {
			continue
		}
		m, err := s.readManifest(ctx, obj.Key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since the listing: it needs nothing any more
		}
		if err != nil {
			return nil, err
		}
		st.Manifests++
		for _, c := range m.Chunks {
			live[c.Digest] = true
		}
	}
}
