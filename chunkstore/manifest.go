package chunkstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// SchemaVersion is the version of the manifest format this package writes
// and the only one it reads.
const SchemaVersion = 1

// Manifest describes one image (a disk, a snapshot, one replica of an image
// version) in one bucket: its size, the sha256 of its whole content, and the
// chunks that make it up, in order, without gaps. Stored as JSON under
// manifests/<id>.json, it is complete and independently readable: it names
// every chunk it needs and is written only after they are all present.
//
//	{"schemaVersion":1,"size":2097152,"digest":"sha256:…",
//	 "chunks":[{"digest":"sha256:…","offset":0,"size":1048576},…]}
type Manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	Size          int64   `json:"size"`
	Digest        Digest  `json:"digest"` // of the whole content
	Chunks        []Chunk `json:"chunks"`
}

// Chunk is one piece of an image: Size bytes at Offset with sha256 Digest,
// followed by Repeat more copies of the same bytes. Repeat keeps the
// manifest of a mostly empty disk small: zeros are cut into MinChunkSize
// chunks, all alike, and a 1 TiB empty disk is one entry instead of 16
// million. Offsets are redundant with the entries before them; they are
// stored so that a reader of the JSON can find the entry for a byte range
// without summing, and Validate checks that they agree.
type Chunk struct {
	Digest Digest `json:"digest"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Repeat int64  `json:"repeat,omitempty"`
}

// End is the offset just past the entry and its repeats.
func (c Chunk) End() int64 { return c.Offset + c.Size*(1+c.Repeat) }

// maxImageSize bounds what a manifest may describe (far above Azure's
// 32 TiB disks) so that offsets and products cannot overflow.
const maxImageSize = 1 << 50

// Validate checks that m is well formed: the entries tile [0, Size) in
// order, each chunk is 1 to MaxChunkSize bytes (readers buffer a whole
// chunk, so a bound here bounds their memory), and the digests are set.
func (m *Manifest) Validate() error {
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("chunkstore: manifest schemaVersion %d, want %d", m.SchemaVersion, SchemaVersion)
	}
	if m.Digest.IsZero() {
		return errors.New("chunkstore: manifest has no digest")
	}
	if m.Size < 0 || m.Size > maxImageSize {
		return fmt.Errorf("chunkstore: manifest size %d, want 0 to %d", m.Size, int64(maxImageSize))
	}
	var off int64
	for i, c := range m.Chunks {
		switch {
		case c.Digest.IsZero():
			return fmt.Errorf("chunkstore: manifest chunk %d has no digest", i)
		case c.Offset != off:
			return fmt.Errorf("chunkstore: manifest chunk %d at offset %d, want %d", i, c.Offset, off)
		case c.Size <= 0 || c.Size > MaxChunkSize:
			return fmt.Errorf("chunkstore: manifest chunk %d has size %d, want 1 to %d", i, c.Size, MaxChunkSize)
		case c.Repeat < 0 || c.Repeat > (m.Size-off)/c.Size:
			return fmt.Errorf("chunkstore: manifest chunk %d repeats %d times, past the end", i, c.Repeat)
		}
		off = c.End()
	}
	if off != m.Size {
		return fmt.Errorf("chunkstore: manifest chunks add up to %d bytes, want %d", off, m.Size)
	}
	return nil
}

// append adds a chunk at the end of the image, as a repeat of the last
// entry if it is the same chunk.
func (m *Manifest) append(d Digest, size int64) {
	if n := len(m.Chunks); n > 0 && m.Chunks[n-1].Digest == d {
		m.Chunks[n-1].Repeat++
	} else {
		m.Chunks = append(m.Chunks, Chunk{Digest: d, Offset: m.Size, Size: size})
	}
	m.Size += size
}

// chunkAt returns the index of the entry holding byte off, for
// 0 ≤ off < m.Size.
func (m *Manifest) chunkAt(off int64) int {
	return sort.Search(len(m.Chunks), func(i int) bool { return m.Chunks[i].End() > off })
}

// unique returns the distinct chunks of m in order of first appearance, and
// how many bytes of the image each one stands for (a chunk of zeros may be
// most of a disk).
func (m *Manifest) unique() (chunks []Chunk, imageBytes []int64) {
	at := make(map[Digest]int, len(m.Chunks))
	for _, c := range m.Chunks {
		i, ok := at[c.Digest]
		if !ok {
			i = len(chunks)
			at[c.Digest] = i
			chunks = append(chunks, c)
			imageBytes = append(imageBytes, 0)
		}
		imageBytes[i] += c.End() - c.Offset
	}
	return chunks, imageBytes
}

// PutManifest stores m under id, replacing any manifest there, after
// checking that every chunk it names is present in this bucket, so that a
// stored manifest is always readable, and that none has a scrub's note
// that it is damaged (a *DamagedError): a new image is not built on a
// chunk known to be bad. The chunks are not read (that would make a copy
// within a bucket cost as much as the image's size); a damage not found
// yet is found by the next read, which verifies, or by the next scrub.
// Ingest and Copy store their manifest themselves; PutManifest is for a
// manifest over chunks already here (a copy of an image within one bucket,
// say). It holds a writer lock (see GC).
func (s *Store) PutManifest(ctx context.Context, id string, m *Manifest) (err error) {
	defer wrap(&err, "put manifest %s", id)
	key, err := manifestKey(id)
	if err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	return s.withWriterLock(ctx, func(ctx context.Context) error {
		chunks, _ := m.unique()
		if err := forEach(ctx, len(chunks), defaultParallelism, func(ctx context.Context, i int) error {
			ok, err := s.hasChunk(ctx, chunks[i].Digest)
			if err == nil && !ok {
				err = fmt.Errorf("%s: %w", chunkKey(chunks[i].Digest), ErrNotFound)
			}
			return err
		}); err != nil {
			return err
		}
		if err := s.CheckDamaged(ctx, m); err != nil {
			return err
		}
		return s.putManifest(ctx, key, m)
	})
}

// putManifest writes m, which the caller has validated, under key. The
// write is atomic (see putChunk), so a manifest is never seen half written.
func (s *Store) putManifest(ctx context.Context, key string, m *Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.Bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/json"})
}

// GetManifest reads the manifest stored under id. A missing one wraps
// ErrNotFound.
func (s *Store) GetManifest(ctx context.Context, id string) (m *Manifest, err error) {
	defer wrap(&err, "get manifest %s", id)
	key, err := manifestKey(id)
	if err != nil {
		return nil, err
	}
	return s.readManifest(ctx, key)
}

func (s *Store) readManifest(ctx context.Context, key string) (*Manifest, error) {
	b, err := s.Bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, notFound(err, key)
	}
	m := new(Manifest)
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data after the manifest", key)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return m, nil
}

// DeleteManifest deletes the manifest stored under id; deleting one that is
// not there is not an error, so that a repeated delete succeeds. The chunks
// stay until GC finds that no manifest names them.
func (s *Store) DeleteManifest(ctx context.Context, id string) (err error) {
	defer wrap(&err, "delete manifest %s", id)
	key, err := manifestKey(id)
	if err != nil {
		return err
	}
	if err := s.Bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// ListManifests returns the ids of the manifests in the bucket that start
// with prefix ("" for all), sorted.
func (s *Store) ListManifests(ctx context.Context, prefix string) (ids []string, err error) {
	defer wrap(&err, "list manifests")
	it := s.Bucket.List(&blob.ListOptions{Prefix: manifestsPrefix + prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if id, ok := parseManifestKey(obj.Key); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// within returns where image offset off falls inside the chunk's bytes,
// for c.Offset ≤ off < c.End().
func (c Chunk) within(off int64) int64 { return (off - c.Offset) % c.Size }
