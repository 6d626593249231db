package chunkstore

import (
	"context"
	"errors"
	"sync"
)

// defaultParallelism is how many chunks Copy and PutManifest handle at
// once unless told otherwise: enough to hide a remote bucket's latency,
// few enough that buffers (one chunk each, 1 MiB on average, 8 MiB at
// most) stay small.
const defaultParallelism = 4

// CopyOptions tunes Copy. The zero value is fine.
type CopyOptions struct {
	// Parallelism is how many chunks are in flight at once; 0 means 4.
	Parallelism int

	// Progress, if set, is called after each chunk with how many bytes of
	// the image are now in dst: chunks found present count as soon as they
	// are found, and a chunk that occurs several times counts for every
	// occurrence, so the last call says m.Size. Calls are serialized and
	// the value never decreases.
	Progress func(bytesDone int64)
}

// Copy makes the image m, read from src, available in dst under id: it
// copies the chunks of m that dst lacks, then stores the manifest in dst
// (replacing one there). Each chunk is read whole from src, verified, and
// only then written to dst, atomically (see putChunk), so a chunk that is
// corrupt in src is reported as a *CorruptError and never reaches dst, and
// a chunk present in dst is complete.
//
// A chunk present in dst is trusted only after it is read back and
// verified: storage may have damaged it since it was written (a scrub
// finds that too, but perhaps later), and a copy that reported success
// over it would publish bytes its digest no longer has. A damaged one, or
// one a scrub noted as damaged, is rewritten from src like a missing one
// and its note removed. So a re-run reads what dst holds, and writes only
// what is missing or bad.
//
// Copy is safe to repeat and to interrupt: chunks copied before a crash or
// an error are found present and skipped the next time, so a re-run moves
// only what is missing, and a re-run after success moves nothing. The
// Stats returned, also on error, and the Counter of dst say what moved.
// It holds a writer lock on dst (see GC); src is only read.
func Copy(ctx context.Context, dst, src *Store, id string, m *Manifest, opts CopyOptions) (st Stats, err error) {
	defer wrap(&err, "copy %s", id)
	key, err := manifestKey(id)
	if err != nil {
		return st, err
	}
	if err := m.Validate(); err != nil {
		return st, err
	}
	parallel := opts.Parallelism
	if parallel <= 0 {
		parallel = defaultParallelism
	}
	chunks, imageBytes := m.unique()

	var mu sync.Mutex // guards st, done and Progress calls
	var done int64
	finished := func(i int, d Stats) {
		mu.Lock()
		defer mu.Unlock()
		st.add(d)
		done += imageBytes[i]
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	err = dst.withWriterLock(ctx, func(ctx context.Context) error {
		noted, err := dst.ListDamaged(ctx)
		if err != nil {
			return err
		}
		damaged := make(map[Digest]bool, len(noted))
		for _, d := range noted {
			damaged[d] = true
		}
		if err := forEach(ctx, len(chunks), parallel, func(ctx context.Context, i int) error {
			written, err := copyChunk(ctx, dst, src, chunks[i], damaged[chunks[i].Digest])
			if err != nil {
				return err
			}
			finished(i, dst.count(OpCopy, written, chunks[i].Size))
			return nil
		}); err != nil {
			return err
		}
		return dst.putManifest(ctx, key, m)
	})
	mu.Lock()
	defer mu.Unlock()
	return st, err
}

// copyChunk copies one chunk unless dst has it whole, and reports whether
// it did. noted says a scrub left a note on the chunk in dst.
func copyChunk(ctx context.Context, dst, src *Store, c Chunk, noted bool) (bool, error) {
	buf := getBuf(c.Size)
	defer putBuf(buf)
	_, err := dst.readChunk(ctx, c, buf)
	var corrupt *CorruptError
	switch {
	case err == nil && noted:
		// Good again (rewritten by another copy or an ingest since).
		return false, dst.ClearDamaged(ctx, c.Digest)
	case err == nil:
		return false, nil
	case errors.Is(err, ErrNotFound), errors.As(err, &corrupt):
	default:
		return false, err
	}
	data, err := src.readChunk(ctx, c, buf)
	if err != nil {
		return false, err
	}
	if err := dst.writeChunk(ctx, c.Digest, data); err != nil {
		return false, err
	}
	if corrupt != nil || noted {
		return true, dst.ClearDamaged(ctx, c.Digest)
	}
	return true, nil
}
