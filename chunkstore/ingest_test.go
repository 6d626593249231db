package chunkstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestPolynomial(t *testing.T) {
	if !chunkstore.Polynomial.Irreducible() || chunkstore.Polynomial.Deg() != 53 {
		t.Fatalf("Polynomial %v: want irreducible of degree 53", chunkstore.Polynomial)
	}
}

// TestIngest_Boundaries pins where chunks are cut. The cuts are part of the
// storage format: if they move, new images stop sharing chunks with every
// image stored before. A change here must be deliberate.
func TestIngest_Boundaries(t *testing.T) {
	m, _ := MustIngest(t, MustMemStore(t), "pinned", randBytes(42, 4<<20))
	var sizes []int64
	for _, c := range m.Chunks {
		sizes = append(sizes, c.Size)
	}
	want := []int64{167697, 71258, 89848, 245762, 1017113, 86951, 112192, 225431, 512827, 189434,
		100811, 98262, 155781, 279678, 125713, 157480, 78990, 123659, 293764, 61653}
	if !slices.Equal(sizes, want) {
		t.Fatalf("chunk sizes = %#v\nwant %#v", sizes, want)
	}
}

func TestStore_Ingest(t *testing.T) {
	const lo, hi = chunkstore.MinChunkSize, chunkstore.MaxChunkSize
	sizes := []int{0, 1, lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 20 << 20}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			for i, size := range sizes {
				t.Run(fmt.Sprint(size), func(t *testing.T) {
					data := randBytes(uint64(i), size)
					id := fmt.Sprintf("img-%d", size)
					m, st := MustIngest(t, s, id, data)

					if m.Size != int64(size) || m.Digest != chunkstore.Digest(sha256.Sum256(data)) {
						t.Errorf("manifest size %d digest %s, want %d %x", m.Size, m.Digest, size, sha256.Sum256(data))
					}
					if err := m.Validate(); err != nil {
						t.Error(err)
					}
					if st.BytesCopied != int64(size) || st.ChunksCopied != int64(len(m.Chunks)) {
						t.Errorf("stats %+v for %d bytes in %d chunks", st, size, len(m.Chunks))
					}
					for _, c := range m.Chunks[:max(len(m.Chunks)-1, 0)] {
						if c.Size < lo || c.Size > hi {
							t.Errorf("chunk %+v outside [%d, %d]", c, lo, hi)
						}
					}
					if got := MustReadAll(t, s, m); !bytes.Equal(got, data) {
						t.Fatalf("read back %d bytes differing from the %d ingested", len(got), len(data))
					}
					stored, err := s.GetManifest(context.Background(), id)
					if err != nil {
						t.Fatal(err)
					}
					if stored.Digest != m.Digest || !slices.Equal(stored.Chunks, m.Chunks) {
						t.Fatalf("stored manifest differs from the one returned")
					}
					if err := s.Verify(context.Background(), stored); err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}

func TestStore_Ingest_Dedup(t *testing.T) {
	s := MustMemStore(t)
	data := randBytes(7, 20<<20)
	m1, st1 := MustIngest(t, s, "first", data)
	m2, st2 := MustIngest(t, s, "second", data)
	if st2.ChunksCopied != 0 || st2.BytesSkipped != st1.BytesCopied {
		t.Errorf("second ingest of the same bytes: %+v, want nothing copied and %d bytes skipped", st2, st1.BytesCopied)
	}
	if m1.Digest != m2.Digest || !slices.Equal(m1.Chunks, m2.Chunks) {
		t.Error("the same bytes gave different manifests")
	}
	if n := countChunks(t, s); n != len(m1.Chunks) {
		t.Errorf("bucket holds %d chunks, want %d", n, len(m1.Chunks))
	}

	// Within one image: zeros are one chunk, stored once, and one manifest
	// entry repeated.
	m, st := MustIngest(t, s, "zeros", make([]byte, 64<<20))
	want := []chunkstore.Chunk{{Digest: chunkstore.Sum(make([]byte, chunkstore.MinChunkSize)), Size: chunkstore.MinChunkSize, Repeat: 1023}}
	if st.ChunksCopied != 1 || !slices.Equal(m.Chunks, want) {
		t.Errorf("64 MiB of zeros: chunks %+v, stats %+v; want %+v", m.Chunks, st, want)
	}
}

func TestStore_IngestZeros(t *testing.T) {
	s := MustMemStore(t)
	for _, size := range []int64{0, 1, chunkstore.MinChunkSize, 3*chunkstore.MinChunkSize + 5, 10<<20 + 3} {
		want, _ := MustIngest(t, s, "read", make([]byte, size))
		got, _, err := s.IngestZeros(context.Background(), "made", size)
		if err != nil {
			t.Fatal(err)
		}
		if got.Size != want.Size || got.Digest != want.Digest || !slices.Equal(got.Chunks, want.Chunks) {
			t.Errorf("IngestZeros(%d) = %+v, want %+v", size, got, want)
		}
		if data := MustReadAll(t, s, got); int64(len(data)) != size || !bytes.Equal(data, make([]byte, size)) {
			t.Errorf("IngestZeros(%d) reads back %d bytes, not all zero", size, len(data))
		}
	}
}

func TestStore_IngestZerosThen(t *testing.T) {
	s := MustMemStore(t)
	tail := []byte("a footer that follows the zeros")
	for _, size := range []int64{0, 5, chunkstore.MinChunkSize, 20<<20 + 3} {
		got, _, err := s.IngestZerosThen(context.Background(), "made", size, tail)
		if err != nil {
			t.Fatal(err)
		}
		want := append(make([]byte, size), tail...)
		if got.Size != int64(len(want)) || got.Digest != chunkstore.Sum(want) || got.Validate() != nil {
			t.Errorf("IngestZerosThen(%d): size %d, digest %s, valid %v", size, got.Size, got.Digest, got.Validate())
		}
		if data := MustReadAll(t, s, got); !bytes.Equal(data, want) {
			t.Errorf("IngestZerosThen(%d) reads back other bytes", size)
		}
	}
}

// TestStore_Ingest_Delta is the delta acceptance at package level:
// a 64 MiB image with about 1% of its bytes changed in a few contiguous runs
// adds at most 5% of the image in new chunks.
func TestStore_Ingest_Delta(t *testing.T) {
	const size = 64 << 20
	s := MustMemStore(t)
	base := randBytes(1, size)
	MustIngest(t, s, "v1.0.0", base)

	next := bytes.Clone(base)
	const runs, runLen = 4, size / 100 / 4
	patch := randBytes(2, runs*runLen)
	for i := range runs {
		off := (2*i + 1) * size / (2 * runs) // spread over the image
		copy(next[off:off+runLen], patch[i*runLen:])
	}
	m, st := MustIngest(t, s, "v1.0.1", next)
	t.Logf("%d bytes changed; new chunks %d (%d bytes, %.2f%%), shared %d chunks",
		runs*runLen, st.ChunksCopied, st.BytesCopied, 100*float64(st.BytesCopied)/size, st.ChunksSkipped)
	if limit := int64(size / 20); st.BytesCopied > limit {
		t.Errorf("delta stored %d new bytes, want at most %d (5%%)", st.BytesCopied, limit)
	}
	if got := MustReadAll(t, s, m); !bytes.Equal(got, next) {
		t.Fatal("the changed image does not read back")
	}
}

func TestStore_Ingest_Err(t *testing.T) {
	s := MustMemStore(t)
	t.Run("ErrBadID", func(t *testing.T) {
		if _, _, err := s.Ingest(context.Background(), "../x", bytes.NewReader(nil)); err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("ErrRead", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(randBytes(3, 3<<20)), iotest.ErrReader(boom))
		if _, _, err := s.Ingest(context.Background(), "broken", r); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if _, err := s.GetManifest(context.Background(), "broken"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("a failed ingest left a manifest: %v", err)
		}
	})
}
