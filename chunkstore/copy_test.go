package chunkstore_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestCopy(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := be.open(t), be.open(t)
			base := randBytes(10, 8<<20)
			next := bytes.Clone(base)
			copy(next[4<<20:], randBytes(11, 100_000))
			// Zeros repeated: counted once as a chunk, for every repeat in progress.
			next = append(next, make([]byte, 10*chunkstore.MinChunkSize)...)
			mBase, _ := MustIngest(t, src, "base", base)
			mNext, _ := MustIngest(t, src, "next", next)

			// dst has the base image already: only the difference moves.
			if _, err := chunkstore.Copy(ctx, dst, src, "base", mBase, chunkstore.CopyOptions{}); err != nil {
				t.Fatal(err)
			}
			var counted chunkstore.Stats
			var mu sync.Mutex
			dst.Counter = func(op chunkstore.Op, d chunkstore.Stats) {
				mu.Lock()
				defer mu.Unlock()
				if op != chunkstore.OpCopy {
					t.Errorf("Counter op %q, want %q", op, chunkstore.OpCopy)
				}
				counted.ChunksCopied += d.ChunksCopied
				counted.BytesCopied += d.BytesCopied
				counted.ChunksSkipped += d.ChunksSkipped
				counted.BytesSkipped += d.BytesSkipped
			}
			var progress []int64
			st, err := chunkstore.Copy(ctx, dst, src, "next", mNext, chunkstore.CopyOptions{
				Parallelism: 3,
				Progress:    func(n int64) { progress = append(progress, n) },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", st)
			if st != counted {
				t.Errorf("Stats %+v, Counter saw %+v", st, counted)
			}
			if st.ChunksCopied == 0 || st.BytesCopied > 2<<20 || st.ChunksSkipped == 0 {
				t.Errorf("Stats %+v: want a few chunks copied and most skipped", st)
			}
			if got := int64(len(progress)); got != st.ChunksCopied+st.ChunksSkipped {
				t.Errorf("%d progress calls for %d chunks", got, st.ChunksCopied+st.ChunksSkipped)
			}
			for i := 1; i < len(progress); i++ {
				if progress[i] < progress[i-1] {
					t.Fatalf("progress went back: %v", progress)
				}
			}
			if last := progress[len(progress)-1]; last != mNext.Size {
				t.Errorf("progress ends at %d, want %d", last, mNext.Size)
			}

			// The replica is complete and independently readable.
			got, err := dst.GetManifest(ctx, "next")
			if err != nil {
				t.Fatal(err)
			}
			if err := dst.Verify(ctx, got); err != nil {
				t.Fatal(err)
			}
			if data := MustReadAll(t, dst, got); !bytes.Equal(data, next) {
				t.Fatal("the copy reads back different bytes")
			}

			// Again: nothing moves.
			counted = chunkstore.Stats{}
			st, err = chunkstore.Copy(ctx, dst, src, "next", mNext, chunkstore.CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.ChunksCopied != 0 || st.BytesCopied != 0 {
				t.Errorf("a repeated copy moved %+v", st)
			}
		})
	}
}

func TestCopy_Corrupt(t *testing.T) {
	ctx := context.Background()
	src, dir := MustFileStore(t)
	dst := MustMemStore(t)
	data := randBytes(12, 3<<20)
	m, _ := MustIngest(t, src, "img", data)
	bad := m.Chunks[1].Digest
	damage(t, dir, bad)

	_, err := chunkstore.Copy(ctx, dst, src, "img", m, chunkstore.CopyOptions{Parallelism: 1})
	var ce *chunkstore.CorruptError
	if !errors.As(err, &ce) || ce.Want != bad || ce.Key != chunkstore.ChunkKey(bad) {
		t.Fatalf("Copy err = %v, want a *CorruptError for %s", err, bad)
	}
	if ok, _ := dst.Bucket.Exists(ctx, chunkstore.ChunkKey(bad)); ok {
		t.Fatal("the corrupt chunk reached the destination")
	}
	if _, err := dst.GetManifest(ctx, "img"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("a failed copy stored a manifest: %v", err)
	}
}

// TestCopy_Resume fails a chunk write part way through a copy, as a crash
// would, and checks that the next run copies exactly what is missing:
// every chunk is written to the destination once over both runs.
func TestCopy_Resume(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		ctx := context.Background()
		src := MustMemStore(t)
		data := randBytes(13, 6<<20)
		m, _ := MustIngest(t, src, "img", data)

		fb := newFaultBucket(memblob.OpenBucket(nil))
		fb.failWrite = 8
		dst := &chunkstore.Store{Bucket: blob.NewBucket(fb)}
		defer dst.Close()

		first, err := chunkstore.Copy(ctx, dst, src, "img", m, chunkstore.CopyOptions{Parallelism: parallel})
		if !errors.Is(err, errInjected) {
			t.Fatalf("parallel %d: first copy err = %v, want the injected failure", parallel, err)
		}
		if _, err := dst.GetManifest(ctx, "img"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("an interrupted copy stored a manifest: %v", err)
		}
		second, err := chunkstore.Copy(ctx, dst, src, "img", m, chunkstore.CopyOptions{Parallelism: parallel})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("parallel %d: first %+v, second %+v", parallel, first, second)
		// When the 8th write started, at most parallel-1 others were in
		// flight (and are cancelled with it); the rest had finished.
		if first.ChunksCopied < int64(fb.failWrite-parallel) || second.ChunksSkipped != first.ChunksCopied ||
			first.ChunksCopied+second.ChunksCopied != int64(len(m.Chunks)) {
			t.Errorf("parallel %d: first %+v then second %+v for %d chunks", parallel, first, second, len(m.Chunks))
		}
		if parallel == 1 && first.ChunksCopied != 7 {
			t.Errorf("one at a time, the first run copied %d chunks before the 8th failed", first.ChunksCopied)
		}
		for key, n := range fb.committed {
			if n != 1 {
				t.Errorf("%s written %d times", key, n)
			}
		}
		if err := dst.Verify(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}
