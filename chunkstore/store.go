package chunkstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"

	// The bucket URL schemes a region can be configured with.
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/memblob"   // mem://
	_ "gocloud.dev/blob/s3blob"    // s3://
)

// ErrNotFound is wrapped by every error about a manifest or chunk that is
// not in the bucket.
var ErrNotFound = errors.New("not found")

// Store is the content-addressed store in one bucket. A region is one or
// more buckets; which buckets make up a region is configured elsewhere.
// A Store is safe for concurrent use, and several processes (Galleon nodes)
// may share one bucket: see Ingest, Copy and GC for how they stay out of
// each other's way.
type Store struct {
	Bucket *blob.Bucket

	// Counter, if set, is told about every chunk that Ingest or Copy writes
	// or finds already present, as it happens, so that totals survive a
	// call that fails half way (and a restart of it). It is called from
	// several goroutines at once.
	Counter Counter

	// LockTTL is how long a lock in locks/ counts as held after its last
	// refresh; zero means DefaultLockTTL. It must be well above the clock
	// skew between nodes, since lock times come from the bucket.
	LockTTL time.Duration

	// Now is the clock compared with lock times; nil means time.Now.
	Now func() time.Time

	// Zeros, if set, gives IngestZeros the digests of runs of zeros from
	// checkpoints shared by every store (see ZeroHashes); without it,
	// IngestZeros hashes every zero, which costs about a second of CPU per
	// 2 GB (it stops when its context ends).
	Zeros *ZeroHashes
}

// OpenStore opens the bucket at a gocloud URL (file://, mem://, azblob://
// or s3://) as a Store. For file:// URLs, add no_tmp_dir=true when the
// folder may be on another file system than $TMPDIR (fileblob writes to a
// temporary file and renames it into place, and a rename cannot cross file
// systems), and metadata=skip to spare one sidecar file per chunk.
func OpenStore(ctx context.Context, url string) (*Store, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: open %s: %w", url, err)
	}
	return &Store{Bucket: b}, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.Bucket.Close() }

// Stats counts the chunks that Ingest or Copy dealt with. Copied chunks
// were written to the bucket (by Ingest: new to this bucket); skipped ones
// were present already and cost nothing but an existence check. A chunk
// that appears several times in one image is counted once.
type Stats struct {
	ChunksCopied  int64
	BytesCopied   int64
	ChunksSkipped int64
	BytesSkipped  int64
}

func (s *Stats) add(d Stats) {
	s.ChunksCopied += d.ChunksCopied
	s.BytesCopied += d.BytesCopied
	s.ChunksSkipped += d.ChunksSkipped
	s.BytesSkipped += d.BytesSkipped
}

// Op says which operation a Counter call comes from.
type Op string

const (
	OpIngest Op = "ingest"
	OpCopy   Op = "copy"
)

// Counter receives the Stats of one chunk at a time (one field pair set),
// for running totals such as Prometheus counters.
type Counter func(op Op, delta Stats)

func (s *Store) count(op Op, written bool, size int64) Stats {
	d := Stats{ChunksSkipped: 1, BytesSkipped: size}
	if written {
		d = Stats{ChunksCopied: 1, BytesCopied: size}
	}
	if s.Counter != nil {
		s.Counter(op, d)
	}
	return d
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// wrap adds context to a non-nil *errp, once, at the top of an exported
// method.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("chunkstore: "+format+": %w", append(args, *errp)...)
	}
}

// notFound turns a bucket's not-found error into one that wraps ErrNotFound.
func notFound(err error, key string) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return err
}

// hasChunk reports whether the chunk is in the bucket. Presence is taken to
// mean "complete": writes are atomic (see putChunk), and every read verifies
// anyway.
func (s *Store) hasChunk(ctx context.Context, d Digest) (bool, error) {
	return s.Bucket.Exists(ctx, chunkKey(d))
}

// putChunk writes data, whose digest the caller has computed from these very
// bytes, unless the chunk is present already. It reports whether it wrote.
//
// A chunk is never visible under its key unless complete: a gocloud write
// becomes visible only when Close succeeds, all or nothing. fileblob renames
// a finished temporary file into place, memblob stores on Close, azureblob
// commits the block list and s3blob completes the (multipart) upload as the
// last step; a write that fails or whose context is cancelled before Close
// leaves nothing under the key.
//
// A present chunk that a scrub noted as damaged is written again from
// data, which is known good, and its note removed: an ingest heals it. A
// present chunk without a note is trusted, as it is cheap to: reading
// every deduplicated chunk back would cost Ingest what it saves, and the
// scrub reads them all anyway.
func (s *Store) putChunk(ctx context.Context, d Digest, data []byte) (bool, error) {
	ok, err := s.hasChunk(ctx, d)
	if err != nil {
		return false, err
	}
	if ok {
		noted, err := s.Bucket.Exists(ctx, quarantineKey(d))
		if err != nil || !noted {
			return false, err
		}
	}
	if err := s.writeChunk(ctx, d, data); err != nil {
		return false, err
	}
	if ok {
		return true, s.ClearDamaged(ctx, d)
	}
	return true, nil
}

// writeChunk writes data, whose digest d the caller computed from these
// very bytes, whether or not the chunk is present.
func (s *Store) writeChunk(ctx context.Context, d Digest, data []byte) error {
	return s.writeAll(ctx, chunkKey(d), data)
}

// writeAll writes a chunk's data at key. It does what Bucket.WriteAll
// does, less the MD5 that WriteAll computes and the writer then computes
// again to check it: that took half of Ingest's time, and buys nothing for
// chunks, which every read checks by sha256. (Manifests and locks, small,
// still go through WriteAll.)
func (s *Store) writeAll(ctx context.Context, key string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// An explicit content type spares the drivers sniffing every chunk.
	w, err := s.Bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel() // abandons the write: Close must not commit a part
		_ = w.Close()
		return err
	}
	return w.Close()
}

// bufPool holds chunk buffers, each of capacity MaxChunkSize, for the
// chunks that Copy and Verify hold in flight.
var bufPool = sync.Pool{New: func() any { b := make([]byte, MaxChunkSize); return &b }}

// getBuf returns a buffer of length n ≤ MaxChunkSize (Validate bounds every
// chunk size that reaches here).
func getBuf(n int64) []byte { return (*bufPool.Get().(*[]byte))[:n] }

func putBuf(b []byte) { b = b[:cap(b)]; bufPool.Put(&b) }

// readChunk reads chunk c into buf (grown if too small) and returns it only
// after it verified: exactly c.Size bytes hashing to c.Digest. A damaged
// chunk is a *CorruptError, a missing one wraps ErrNotFound.
func (s *Store) readChunk(ctx context.Context, c Chunk, buf []byte) ([]byte, error) {
	key := chunkKey(c.Digest)
	r, err := s.Bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, notFound(err, key)
	}
	defer r.Close()
	if int64(cap(buf)) < c.Size {
		buf = make([]byte, c.Size)
	}
	buf = buf[:c.Size]
	v := &verifyingReader{r: r, h: sha256.New(), want: c.Digest, size: c.Size, key: key}
	if _, err := io.ReadFull(v, buf); err != nil {
		return nil, err
	}
	// The digest is decided at EOF: read on to it, which also catches a
	// chunk longer than it should be.
	if _, err := io.Copy(io.Discard, v); err != nil {
		return nil, err
	}
	return buf, nil
}

// forEach runs fn for 0 ≤ i < n with at most parallel calls at once and
// returns the first error, cancelling the rest.
func forEach(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err() // cancelled before any fn failed
}
