package chunkstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/restic/chunker"
	"golang.org/x/sync/errgroup"
)

// Chunking parameters. Changing any of them changes where chunks are cut,
// so new images would share no chunks with old ones: they are part of the
// storage format, like the layout in paths.go.
const (
	// Polynomial is the irreducible polynomial of degree 53 over GF(2) that
	// the Rabin fingerprint of the content-defined chunker uses. restic
	// picks a random one per repository, to hide content from an observer
	// of chunk sizes; Galleon needs the opposite, boundaries that are the
	// same on every node and every run, so that an image ingested anywhere
	// dedups against every other. This one is restic/chunker's own test
	// polynomial, known to be irreducible (TestPolynomial checks).
	Polynomial = chunker.Pol(0x3DA3358B4DC173)

	// A cut falls where the fingerprint of the last 64 bytes has its low
	// AverageBits bits zero, but not before MinChunkSize bytes and at the
	// latest after MaxChunkSize; chunks average about 200 KiB.
	//
	// restic's defaults (512 KiB, 20 bits, 8 MiB: 1.5 MiB on average) are
	// too coarse for the delta Galleon promises: a change costs the chunks
	// around it, and with 64 MiB of random data changed by 1% in 2, 4 or 8
	// runs they stored 11%, 13% and 23% of the image anew. These store
	// 1.9%, 2.9% and 4.1% (averages of four seeds). The price is about
	// 5,000 chunks per GiB of random data; a run of zeros is cut at every
	// MinChunkSize, which the manifest's Repeat keeps small. The 1 MiB
	// maximum also bounds the buffer of every chunk in flight.
	MinChunkSize = 64 << 10
	AverageBits  = 17
	MaxChunkSize = 1 << 20
)

// Ingest reads r to its end, cuts it into content-defined chunks, writes
// each chunk that the bucket lacks, and stores the manifest under id once
// every chunk is in (replacing a manifest there). Identical chunks, within
// r or across images, are stored once per bucket, and an image that differs
// from another in a few places shares all but the chunks around them.
//
// Ingest holds a writer lock throughout (see GC), which is also why it
// stores the manifest itself rather than leaving that to the caller: the
// chunks it skipped as present must not be collected before the manifest
// that names them lands. If Ingest fails, the chunks written so far stay and
// are skipped by the next attempt; GC removes them if none comes.
func (s *Store) Ingest(ctx context.Context, id string, r io.Reader) (m *Manifest, st Stats, err error) {
	defer wrap(&err, "ingest %s", id)
	key, err := manifestKey(id)
	if err != nil {
		return nil, st, err
	}
	err = s.withWriterLock(ctx, func(ctx context.Context) error {
		m, err = s.ingest(ctx, r, &st)
		if err != nil {
			return err
		}
		return s.putManifest(ctx, key, m)
	})
	if err != nil {
		return nil, st, err
	}
	return m, st, nil
}

// ingest cuts r into chunks on this goroutine while up to
// defaultParallelism workers hash and store them: the chunker and the
// bucket writes each take about half the time, so overlapping them nearly
// halves an ingest on two cores (and hides a remote bucket's latency).
func (s *Store) ingest(ctx context.Context, r io.Reader, st *Stats) (*Manifest, error) {
	type piece struct {
		data   []byte // until stored; then the buffer goes back
		size   int64
		digest Digest
	}
	var (
		pieces  []*piece // in image order; each filled in by one worker
		mu      sync.Mutex
		claimed = make(map[Digest]bool) // chunks a worker has taken on storing
	)
	// Buffers in circulation bound the memory: MaxChunkSize each.
	bufs := make(chan []byte, defaultParallelism+2)
	for range cap(bufs) {
		bufs <- make([]byte, MaxChunkSize)
	}
	jobs := make(chan *piece)
	g, gctx := errgroup.WithContext(ctx)
	for range defaultParallelism {
		g.Go(func() error {
			for p := range jobs {
				p.digest = Sum(p.data)
				mu.Lock()
				first := !claimed[p.digest]
				claimed[p.digest] = true
				mu.Unlock()
				if first {
					written, err := s.putChunk(gctx, p.digest, p.data)
					if err != nil {
						return err
					}
					d := s.count(OpIngest, written, p.size)
					mu.Lock()
					st.add(d)
					mu.Unlock()
				}
				bufs <- p.data[:0]
				p.data = nil
			}
			return nil
		})
	}

	whole := sha256.New()
	c := chunker.NewWithBoundaries(r, Polynomial, MinChunkSize, MaxChunkSize)
	c.SetAverageBits(AverageBits)
	err := func() error {
		defer close(jobs)
		for {
			var buf []byte
			select {
			case buf = <-bufs:
			case <-gctx.Done():
				return nil // a worker failed; g.Wait says why
			}
			ch, err := c.Next(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			whole.Write(ch.Data)
			p := &piece{data: ch.Data, size: int64(ch.Length)}
			pieces = append(pieces, p)
			select {
			case jobs <- p:
			case <-gctx.Done():
				return nil
			}
		}
	}()
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = context.Cause(ctx) // cancelled between the last chunk and here
	}
	if err != nil {
		return nil, err
	}

	m := &Manifest{SchemaVersion: SchemaVersion, Chunks: []Chunk{}}
	for _, p := range pieces {
		m.append(p.digest, p.size)
	}
	whole.Sum(m.Digest[:0])
	return m, nil
}

// IngestZeros stores under id an image of size zero bytes without reading
// any: the manifest Ingest would make of that many zeros (zeros are cut at
// every MinChunkSize), over one or two stored chunks, one entry repeated
// (so the manifest's size does not grow with the image's). The
// whole-content digest comes from s.Zeros (see ZeroHashes), so it costs no
// CPU in proportion to the size either once the zeros are known; it
// returns the context's error when ctx ends first.
func (s *Store) IngestZeros(ctx context.Context, id string, size int64) (m *Manifest, st Stats, err error) {
	return s.IngestZerosThen(ctx, id, size, nil)
}

// IngestZerosThen is IngestZeros followed by the bytes of tail (at most
// MaxChunkSize), as one more chunk: an empty fixed VHD is zeros and then
// its footer.
func (s *Store) IngestZerosThen(ctx context.Context, id string, size int64, tail []byte) (m *Manifest, st Stats, err error) {
	defer wrap(&err, "ingest %d zeros as %s", size, id)
	if len(tail) > MaxChunkSize {
		return nil, st, fmt.Errorf("a tail of %d bytes is more than a chunk", len(tail))
	}
	key, err := manifestKey(id)
	if err != nil {
		return nil, st, err
	}
	if size < 0 || size > maxImageSize {
		return nil, st, fmt.Errorf("size %d out of range", size)
	}
	zeros := make([]byte, MinChunkSize)
	m = &Manifest{SchemaVersion: SchemaVersion, Chunks: []Chunk{}}
	if n := size / MinChunkSize; n > 0 {
		m.Chunks = append(m.Chunks, Chunk{Digest: Sum(zeros), Size: MinChunkSize, Repeat: n - 1})
		m.Size = n * MinChunkSize
	}
	if rest := size % MinChunkSize; rest > 0 {
		m.append(Sum(zeros[:rest]), rest)
	}
	zeroChunks := len(m.Chunks)
	if len(tail) > 0 {
		m.append(Sum(tail), int64(len(tail)))
	}
	if m.Digest, err = s.zeroDigest(ctx, size, tail); err != nil {
		return nil, st, err
	}
	err = s.withWriterLock(ctx, func(ctx context.Context) error {
		for i, c := range m.Chunks {
			data := zeros[:c.Size]
			if i >= zeroChunks {
				data = tail
			}
			written, err := s.putChunk(ctx, c.Digest, data)
			if err != nil {
				return err
			}
			st.add(s.count(OpIngest, written, c.Size))
		}
		return s.putManifest(ctx, key, m)
	})
	if err != nil {
		return nil, st, err
	}
	return m, st, nil
}

// zeroDigest is the sha256 of size zeros and then tail.
func (s *Store) zeroDigest(ctx context.Context, size int64, tail []byte) (d Digest, err error) {
	if s.Zeros != nil {
		return s.Zeros.Sum(ctx, size, tail)
	}
	h := sha256.New()
	if err := writeZeros(ctx, h, size, nil); err != nil {
		return d, err
	}
	h.Write(tail)
	h.Sum(d[:0])
	return d, nil
}
