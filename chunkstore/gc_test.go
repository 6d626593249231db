package chunkstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestStore_GC(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := be.open(t)
			base := randBytes(20, 4<<20)
			changed := bytes.Clone(base)
			copy(changed[2<<20:], randBytes(21, 300_000))
			a, _ := MustIngest(t, s, "a", base)
			b, _ := MustIngest(t, s, "b", changed)
			c, _ := MustIngest(t, s, "c", randBytes(22, 1<<20))

			inA := map[chunkstore.Digest]bool{}
			for _, ch := range a.Chunks {
				inA[ch.Digest] = true
			}
			var onlyB, onlyBBytes int64
			for _, ch := range b.Chunks {
				if !inA[ch.Digest] {
					onlyB++
					onlyBBytes += ch.Size
				}
			}
			before := countChunks(t, s)

			if err := s.DeleteManifest(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			st, err := s.GC(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := chunkstore.GCStats{Manifests: 2, ChunksKept: int64(before) - onlyB, ChunksDeleted: onlyB, BytesDeleted: onlyBBytes}
			if st != want {
				t.Fatalf("GC = %+v, want %+v", st, want)
			}
			if got := countChunks(t, s); got != before-int(onlyB) {
				t.Fatalf("%d chunks left, want %d", got, before-int(onlyB))
			}
			for _, m := range []*chunkstore.Manifest{a, c} {
				if err := s.Verify(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Verify(ctx, b); !errors.Is(err, chunkstore.ErrNotFound) {
				t.Fatalf("b's own chunks should be gone: %v", err)
			}

			if st, err := s.GC(ctx); err != nil || st.ChunksDeleted != 0 {
				t.Fatalf("second GC = %+v, %v; want nothing deleted", st, err)
			}

			// Everything goes once no manifest is left, and nothing else is touched.
			for _, id := range []string{"a", "c", "c"} {
				if err := s.DeleteManifest(ctx, id); err != nil {
					t.Fatalf("DeleteManifest(%s): %v", id, err)
				}
			}
			if err := s.Bucket.WriteAll(ctx, "chunks/sha256/README", []byte("not a chunk"), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GC(ctx); err != nil {
				t.Fatal(err)
			}
			if got := countChunks(t, s); got != 1 {
				t.Fatalf("%d objects left under chunks/, want only the one that is not a chunk", got)
			}
		})
	}
}

func TestStore_GC_ErrBadManifest(t *testing.T) {
	ctx := context.Background()
	s := MustMemStore(t)
	MustIngest(t, s, "a", randBytes(23, 1<<20))
	MustIngest(t, s, "b", randBytes(24, 1<<20))
	if err := s.Bucket.WriteAll(ctx, "manifests/b.json", []byte(`{"schemaVersion":1,`), nil); err != nil {
		t.Fatal(err)
	}
	before := countChunks(t, s)
	if _, err := s.GC(ctx); err == nil {
		t.Fatal("GC ran over a manifest it could not read")
	}
	if got := countChunks(t, s); got != before {
		t.Fatalf("GC deleted %d chunks without knowing what b needs", before-got)
	}
}

// TestStore_Locks checks the exclusion between writers and GC.
func TestStore_Locks(t *testing.T) {
	ctx := context.Background()
	data := randBytes(25, 1<<20)

	t.Run("ErrBusy", func(t *testing.T) {
		s := MustMemStore(t)
		MustIngest(t, s, "a", data)
		if err := s.DeleteManifest(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		// A writer elsewhere is running: GC must not delete what it may be about to name.
		if err := s.Bucket.WriteAll(ctx, chunkstore.WriterLockKey("other-node"), nil, nil); err != nil {
			t.Fatal(err)
		}
		before := countChunks(t, s)
		if _, err := s.GC(ctx); !errors.Is(err, chunkstore.ErrBusy) {
			t.Fatalf("GC err = %v, want ErrBusy", err)
		}
		if countChunks(t, s) != before {
			t.Fatal("a busy GC deleted chunks")
		}
		// That writer died: after LockTTL its lock no longer counts, and GC tidies it.
		s.Now = func() time.Time { return time.Now().Add(chunkstore.DefaultLockTTL + time.Second) }
		if st, err := s.GC(ctx); err != nil || st.ChunksDeleted != int64(before) {
			t.Fatalf("GC past the lock's expiry = %+v, %v", st, err)
		}
		if ok, _ := s.Bucket.Exists(ctx, chunkstore.WriterLockKey("other-node")); ok {
			t.Fatal("the expired lock is still there")
		}
	})

	t.Run("WriterWaitsForGC", func(t *testing.T) {
		s := MustMemStore(t)
		if err := s.Bucket.WriteAll(ctx, chunkstore.GCLockKey("other-node"), nil, nil); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, _, err := s.Ingest(short, "a", bytes.NewReader(data)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Ingest during GC: err = %v, want it to wait until the deadline", err)
		}
		if n := countChunks(t, s); n != 0 {
			t.Fatalf("Ingest wrote %d chunks while GC held the bucket", n)
		}
		s.Now = func() time.Time { return time.Now().Add(chunkstore.DefaultLockTTL + time.Second) }
		MustIngest(t, s, "a", data)
	})

	t.Run("Refresh", func(t *testing.T) {
		// A writer that takes longer than LockTTL keeps its lock alive.
		s := MustMemStore(t)
		s.LockTTL = 400 * time.Millisecond
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, _, err := s.Ingest(ctx, "slow", pr)
			done <- err
		}()
		for i := range 5 {
			time.Sleep(200 * time.Millisecond) // 1 s in all, 2.5 LockTTLs
			if _, err := pw.Write(data[i*1000 : (i+1)*1000]); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GC(ctx); !errors.Is(err, chunkstore.ErrBusy) {
				t.Fatalf("GC after %d ms of a running Ingest: err = %v, want ErrBusy", (i+1)*200, err)
			}
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := s.GC(ctx); err != nil {
			t.Fatalf("GC after the writer finished: %v", err)
		}
	})
}

// TestStore_GC_Concurrent runs GC over and over while the same image is
// ingested, verified and deleted over and over: the skipped-then-collected
// race that the locks exist for would show as a manifest naming a chunk
// that is gone.
func TestStore_GC_Concurrent(t *testing.T) {
	ctx := context.Background()
	s := MustMemStore(t)
	data := randBytes(26, 1<<20)
	stop := make(chan struct{})
	gcDone := make(chan int)
	go func() {
		runs := 0
		for {
			select {
			case <-stop:
				gcDone <- runs
				return
			default:
			}
			if _, err := s.GC(ctx); err == nil {
				runs++
			} else if !errors.Is(err, chunkstore.ErrBusy) {
				t.Error(err)
			}
		}
	}()
	defer func() {
		close(stop)
		t.Logf("%d GC passes ran between the ingests", <-gcDone)
	}()
	for range 20 {
		m, _ := MustIngest(t, s, "img", data)
		if err := s.Verify(ctx, m); err != nil {
			t.Fatalf("a manifest just stored does not verify: %v", err)
		}
		if err := s.DeleteManifest(ctx, "img"); err != nil {
			t.Fatal(err)
		}
	}
}
