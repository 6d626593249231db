package chunkstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/galleon-project/galleon/chunkstore"
)

// TestCopy_RewritesDamagedPresentChunk: a chunk present in dst but damaged
// there is read back, found bad and copied again from src, so the copy
// never reports success over bytes its digest no longer has. Before Copy
// verified what it found present, it skipped the chunk and the replica
// stayed unreadable.
func TestCopy_RewritesDamagedPresentChunk(t *testing.T) {
	ctx := context.Background()
	src := MustMemStore(t)
	dst, dir := MustFileStore(t)
	data := randBytes(40, 3<<20)
	m, _ := MustIngest(t, src, "img", data)
	if _, err := chunkstore.Copy(ctx, dst, src, "old", m, chunkstore.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	damage(t, dir, m.Chunks[1].Digest)
	st, err := chunkstore.Copy(ctx, dst, src, "new", m, chunkstore.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.ChunksCopied != 1 {
		t.Errorf("copied %d chunks, want the damaged one", st.ChunksCopied)
	}
	if err := dst.Verify(ctx, m); err != nil {
		t.Fatalf("the copy over a damaged chunk: %v", err)
	}
}

// TestCopy_ClearsNoteOfChunkItRewrites: a chunk a scrub noted as damaged
// (missing here) is copied again and its note removed.
func TestCopy_ClearsNoteOfChunkItRewrites(t *testing.T) {
	ctx := context.Background()
	src, dst := MustMemStore(t), MustMemStore(t)
	m, _ := MustIngest(t, src, "img", randBytes(41, 1<<20))
	d := m.Chunks[0].Digest
	if err := dst.MarkDamaged(ctx, d, "missing"); err != nil {
		t.Fatal(err)
	}
	if _, err := chunkstore.Copy(ctx, dst, src, "img", m, chunkstore.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if de, err := dst.Damaged(ctx, d); err != nil || de != nil {
		t.Fatalf("Damaged() after the copy = %v, %v; want no note", de, err)
	}
}

func TestPutManifest_RefusesNotedChunk(t *testing.T) {
	ctx := context.Background()
	s := MustMemStore(t)
	m, _ := MustIngest(t, s, "img", randBytes(42, 2<<20))
	d := m.Chunks[len(m.Chunks)-1].Digest
	if err := s.MarkDamaged(ctx, d, "content hashes to something else"); err != nil {
		t.Fatal(err)
	}
	err := s.PutManifest(ctx, "copy", m)
	var de *chunkstore.DamagedError
	if !errors.As(err, &de) || de.Digest != d || de.Reason != "content hashes to something else" || de.Found.IsZero() {
		t.Fatalf("PutManifest over a noted chunk = %v, want a *DamagedError for %s", err, d)
	}
	if _, err := s.GetManifest(ctx, "copy"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("a refused manifest was stored: %v", err)
	}
	if err := s.ClearDamaged(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.PutManifest(ctx, "copy", m); err != nil {
		t.Fatalf("PutManifest after the note was cleared: %v", err)
	}
}

func TestCheckChunk(t *testing.T) {
	ctx := context.Background()
	s, dir := MustFileStore(t)
	m, _ := MustIngest(t, s, "img", randBytes(43, 2<<20))
	good, bad := m.Chunks[0], m.Chunks[1]
	if n, err := s.CheckChunk(ctx, good.Digest); err != nil || n != good.Size {
		t.Errorf("CheckChunk(good) = %d, %v; want %d, nil", n, err, good.Size)
	}
	damage(t, dir, bad.Digest)
	var ce *chunkstore.CorruptError
	if _, err := s.CheckChunk(ctx, bad.Digest); !errors.As(err, &ce) {
		t.Errorf("CheckChunk(damaged) = %v, want a *CorruptError", err)
	}
	if _, err := s.CheckChunk(ctx, chunkstore.Sum([]byte("absent"))); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Errorf("CheckChunk(absent) = %v, want ErrNotFound", err)
	}
	// Longer than any chunk may be: damaged, whatever it hashes to.
	long := make([]byte, chunkstore.MaxChunkSize+1)
	d := chunkstore.Sum(long)
	if err := s.Bucket.WriteAll(ctx, chunkstore.ChunkKey(d), long, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckChunk(ctx, d); !errors.As(err, &ce) {
		t.Errorf("CheckChunk(too long) = %v, want a *CorruptError", err)
	}
}

func TestRepairChunk(t *testing.T) {
	ctx := context.Background()
	src, srcDir := MustFileStore(t)
	dst, dstDir := MustFileStore(t)
	data := randBytes(44, 2<<20)
	m, _ := MustIngest(t, src, "img", data)
	if _, err := chunkstore.Copy(ctx, dst, src, "img", m, chunkstore.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	d := m.Chunks[0].Digest
	damage(t, dstDir, d)
	if err := dst.MarkDamaged(ctx, d, "damaged"); err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		n, err := chunkstore.RepairChunk(ctx, dst, src, d)
		if err != nil || n != m.Chunks[0].Size {
			t.Fatalf("RepairChunk() = %d, %v", n, err)
		}
		if err := dst.Verify(ctx, m); err != nil {
			t.Fatalf("after repair: %v", err)
		}
		if de, _ := dst.Damaged(ctx, d); de != nil {
			t.Errorf("the note stayed after repair: %v", de)
		}
	})
	t.Run("ErrSourceDamaged", func(t *testing.T) {
		d := m.Chunks[1].Digest
		damage(t, srcDir, d)
		damage(t, dstDir, d)
		var ce *chunkstore.CorruptError
		if _, err := chunkstore.RepairChunk(ctx, dst, src, d); !errors.As(err, &ce) || ce.Key != chunkstore.ChunkKey(d) {
			t.Fatalf("RepairChunk from a damaged source = %v, want a *CorruptError", err)
		}
	})
}

func TestCollectManifests(t *testing.T) {
	ctx := context.Background()
	s := MustMemStore(t)
	for i, id := range []string{"owned", "orphan"} {
		MustIngest(t, s, id, randBytes(45+uint64(i)*100, 1<<20))
	}
	keep := func(id string) bool { return id == "owned" }
	// Too young: a request may be about to commit its owner.
	if n, err := s.CollectManifests(ctx, time.Now().Add(-time.Hour), keep); err != nil || n != 0 {
		t.Fatalf("CollectManifests(an hour ago) = %d, %v; want nothing deleted", n, err)
	}
	if n, err := s.CollectManifests(ctx, time.Now().Add(time.Minute), keep); err != nil || n != 1 {
		t.Fatalf("CollectManifests() = %d, %v; want the orphan", n, err)
	}
	ids, err := s.ListManifests(ctx, "")
	if err != nil || len(ids) != 1 || ids[0] != "owned" {
		t.Fatalf("manifests left = %v, %v; want [owned]", ids, err)
	}
	// The orphan's chunks are garbage now.
	st, err := s.GC(ctx)
	if err != nil || st.ChunksDeleted == 0 {
		t.Fatalf("GC after collecting the orphan = %+v, %v", st, err)
	}
}

func TestCollectTemp(t *testing.T) {
	ctx := context.Background()
	s, dir := MustFileStore(t)
	m, _ := MustIngest(t, s, "img", randBytes(46, 1<<20))
	// What a process killed mid-write leaves beside its target.
	stale := filepath.Join(dir, filepath.FromSlash(chunkstore.ChunkKey(m.Chunks[0].Digest))+".18a3f0c2d4e5f601.tmp")
	fresh := filepath.Join(dir, "manifests", "img.json.18a3f0c2d4e5f602.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	n, bytes, err := s.CollectTemp(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 1 || bytes != int64(len("partial")) {
		t.Fatalf("CollectTemp() = %d, %d, %v; want the stale file", n, bytes, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file (a write in progress) was removed: %v", err)
	}
	if err := s.Verify(ctx, m); err != nil {
		t.Fatalf("the image after collection: %v", err)
	}
}

// TestIngest_HealsNotedChunk: an ingest of content with a chunk that is
// present but noted damaged writes the chunk again from the bytes it
// holds, and removes the note.
func TestIngest_HealsNotedChunk(t *testing.T) {
	ctx := context.Background()
	s, dir := MustFileStore(t)
	data := randBytes(47, 2<<20)
	m, _ := MustIngest(t, s, "first", data)
	d := m.Chunks[0].Digest
	damage(t, dir, d)
	if err := s.MarkDamaged(ctx, d, "damaged"); err != nil {
		t.Fatal(err)
	}
	_, st := MustIngest(t, s, "second", data)
	if st.ChunksCopied != 1 {
		t.Errorf("ingest wrote %d chunks, want the noted one", st.ChunksCopied)
	}
	if err := s.Verify(ctx, m); err != nil {
		t.Fatalf("after the ingest: %v", err)
	}
	if de, err := s.Damaged(ctx, d); err != nil || de != nil {
		t.Errorf("note after the ingest: %v, %v", de, err)
	}
}
