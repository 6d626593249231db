package chunkstore

import (
	"context"
	"crypto/sha256"
	"io"

	"github.com/restic/chunker"
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

	// MinChunkSize and MaxChunkSize bound a chunk; cuts fall where the
	// fingerprint of the last 64 bytes has its low 20 bits zero, about
	// every 1 MiB. These are restic's defaults.
	MinChunkSize = chunker.MinSize // 512 KiB
	MaxChunkSize = chunker.MaxSize // 8 MiB
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

func (s *Store) ingest(ctx context.Context, r io.Reader, st *Stats) (*Manifest, error) {
	m := &Manifest{SchemaVersion: SchemaVersion, Chunks: []Chunk{}}
	whole := sha256.New()
	c := chunker.NewWithBoundaries(r, Polynomial, MinChunkSize, MaxChunkSize)
	buf := make([]byte, MaxChunkSize)
	seen := make(map[Digest]bool)
	for {
		ch, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		whole.Write(ch.Data)
		d := Sum(ch.Data)
		size := int64(ch.Length)
		m.Chunks = append(m.Chunks, Chunk{Digest: d, Offset: m.Size, Size: size})
		m.Size += size
		if seen[d] {
			continue
		}
		seen[d] = true
		written, err := s.putChunk(ctx, d, ch.Data)
		if err != nil {
			return nil, err
		}
		st.add(s.count(OpIngest, written, size))
	}
	whole.Sum(m.Digest[:0])
	return m, nil
}
