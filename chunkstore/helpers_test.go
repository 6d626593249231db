package chunkstore_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon/chunkstore"
)

// backends are the real buckets every behaviour is tested on.
var backends = []struct {
	name string
	open func(tb testing.TB) *chunkstore.Store
}{
	{"file", func(tb testing.TB) *chunkstore.Store { s, _ := MustFileStore(tb); return s }},
	{"mem", MustMemStore},
}

// MustFileStore returns a Store over a fileblob bucket in a fresh temporary
// folder, and the folder.
func MustFileStore(tb testing.TB) (*chunkstore.Store, string) {
	tb.Helper()
	dir := tb.TempDir()
	// NoTempDir: write temporary files next to their targets, as Galleon's
	// data folder configuration does, so renames never cross file systems.
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		tb.Fatal(err)
	}
	return storeOver(tb, b), dir
}

// MustMemStore returns a Store over a fresh memblob bucket.
func MustMemStore(tb testing.TB) *chunkstore.Store {
	tb.Helper()
	return storeOver(tb, memblob.OpenBucket(nil))
}

func storeOver(tb testing.TB, b *blob.Bucket) *chunkstore.Store {
	tb.Cleanup(func() { _ = b.Close() })
	return &chunkstore.Store{Bucket: b}
}

// randBytes returns n pseudo-random bytes, the same for the same seed.
func randBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// MustIngest ingests data under id and returns the manifest and stats.
func MustIngest(tb testing.TB, s *chunkstore.Store, id string, data []byte) (*chunkstore.Manifest, chunkstore.Stats) {
	tb.Helper()
	m, st, err := s.Ingest(context.Background(), id, bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return m, st
}

// MustReadAll reads the image m back through Open.
func MustReadAll(tb testing.TB, s *chunkstore.Store, m *chunkstore.Manifest) []byte {
	tb.Helper()
	r, err := s.Open(context.Background(), m)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// countChunks counts the chunk objects in the bucket.
func countChunks(tb testing.TB, s *chunkstore.Store) int {
	tb.Helper()
	n := 0
	it := s.Bucket.List(&blob.ListOptions{Prefix: "chunks/"})
	for {
		if _, err := it.Next(context.Background()); err != nil {
			break
		}
		n++
	}
	return n
}

// damage overwrites the first bytes of a chunk's file in a fileblob folder,
// keeping its size, as a failing disk would.
func damage(tb testing.TB, dir string, d chunkstore.Digest) {
	tb.Helper()
	path := filepath.Join(dir, filepath.FromSlash(chunkstore.ChunkKey(d)))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("not what was stored"), 100); err != nil {
		tb.Fatal(err)
	}
}
