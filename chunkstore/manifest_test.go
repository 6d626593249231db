package chunkstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestManifest_Validate(t *testing.T) {
	d := chunkstore.Sum([]byte("x"))
	ok := func() chunkstore.Manifest {
		return chunkstore.Manifest{SchemaVersion: 1, Size: 300, Digest: d, Chunks: []chunkstore.Chunk{
			{Digest: d, Offset: 0, Size: 100},
			{Digest: d, Offset: 100, Size: 50, Repeat: 3},
		}}
	}
	tests := []struct {
		name   string
		modify func(m *chunkstore.Manifest)
		ok     bool
	}{
		{"OK", func(*chunkstore.Manifest) {}, true},
		{"OKEmpty", func(m *chunkstore.Manifest) { m.Size, m.Chunks = 0, nil }, true},
		{"ErrVersion", func(m *chunkstore.Manifest) { m.SchemaVersion = 2 }, false},
		{"ErrNoDigest", func(m *chunkstore.Manifest) { m.Digest = chunkstore.Digest{} }, false},
		{"ErrChunkNoDigest", func(m *chunkstore.Manifest) { m.Chunks[1].Digest = chunkstore.Digest{} }, false},
		{"ErrGap", func(m *chunkstore.Manifest) { m.Chunks[1].Offset = 101 }, false},
		{"ErrShort", func(m *chunkstore.Manifest) { m.Size = 301 }, false},
		{"ErrLong", func(m *chunkstore.Manifest) { m.Size = 299 }, false},
		{"ErrZeroSize", func(m *chunkstore.Manifest) { m.Chunks[0].Size = 0 }, false},
		{"ErrHugeChunk", func(m *chunkstore.Manifest) {
			m.Chunks = m.Chunks[:1]
			m.Chunks[0].Size = chunkstore.MaxChunkSize + 1
			m.Size = m.Chunks[0].Size
		}, false},
		{"ErrNegativeRepeat", func(m *chunkstore.Manifest) { m.Chunks[1].Repeat = -1 }, false},
		{"ErrOverflowRepeat", func(m *chunkstore.Manifest) { m.Chunks[1].Repeat = 1 << 62 }, false},
		{"ErrNegativeSize", func(m *chunkstore.Manifest) { m.Size, m.Chunks = -1, nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.modify(&m)
			if err := m.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestStore_PutManifest(t *testing.T) {
	ctx := context.Background()
	s := MustMemStore(t)
	m, _ := MustIngest(t, s, "a", randBytes(30, 1<<20))

	t.Run("OK", func(t *testing.T) {
		if err := s.PutManifest(ctx, "b", m); err != nil {
			t.Fatal(err)
		}
		ids, err := s.ListManifests(ctx, "")
		if err != nil || !slices.Equal(ids, []string{"a", "b"}) {
			t.Fatalf("ListManifests = %v, %v", ids, err)
		}
	})
	t.Run("ErrMissingChunk", func(t *testing.T) {
		other := *m
		other.Chunks = slices.Clone(m.Chunks)
		other.Chunks[0].Digest = chunkstore.Sum([]byte("never stored"))
		if err := s.PutManifest(ctx, "c", &other); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if _, err := s.GetManifest(ctx, "c"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatal("a manifest over a missing chunk was stored")
		}
	})
	t.Run("ErrBadID", func(t *testing.T) {
		for _, id := range []string{"", "../a", "a/b", "A"} {
			if err := s.PutManifest(ctx, id, m); err == nil {
				t.Errorf("PutManifest(%q) accepted the id", id)
			}
			if _, err := s.GetManifest(ctx, id); err == nil || errors.Is(err, chunkstore.ErrNotFound) {
				t.Errorf("GetManifest(%q) = %v, want an invalid id error", id, err)
			}
		}
	})
	t.Run("DeleteTwice", func(t *testing.T) {
		for range 2 {
			if err := s.DeleteManifest(ctx, "b"); err != nil {
				t.Fatal(err)
			}
		}
	})
}
