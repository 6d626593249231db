package chunkstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestReader(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			// Random data, then zeros (a repeated entry), then random again; small,
			// since TestReader reads it a few bytes at a time.
			data := append(append(randBytes(5, 300<<10), make([]byte, 3*chunkstore.MinChunkSize+77)...), randBytes(6, 100<<10)...)
			m, _ := MustIngest(t, s, "img", data)
			r, err := s.Open(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(len(data)) {
				t.Fatalf("Size = %d, want %d", r.Size(), len(data))
			}
			// Read, ReadAt, Seek and their edge cases, as the standard library checks them.
			if err := iotest.TestReader(r, data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReader_Ranges reads ranges that start, end and cross chunk boundaries,
// including inside a repeated entry, as HTTP Range requests would.
func TestReader_Ranges(t *testing.T) {
	s := MustMemStore(t)
	data := append(randBytes(8, 2<<20), make([]byte, 5*chunkstore.MinChunkSize+3)...)
	m, _ := MustIngest(t, s, "img", data)
	if len(m.Chunks) < 3 || m.Chunks[len(m.Chunks)-2].Repeat == 0 {
		t.Fatalf("want several chunks and a repeated one, got %+v", m.Chunks)
	}
	type rng struct{ off, n int64 }
	var ranges []rng
	for _, c := range m.Chunks {
		for _, b := range []int64{c.Offset, c.Offset + c.Size, c.End()} {
			for _, d := range []int64{-1, 0, 1} {
				if off := b + d; off >= 0 && off < m.Size {
					ranges = append(ranges, rng{off, 1}, rng{off, 4096}, rng{off, c.Size + 1})
				}
			}
		}
	}
	ranges = append(ranges, rng{0, m.Size}, rng{m.Size - 1, 1}, rng{0, -1}, rng{m.Size / 3, -1}, rng{m.Size, 0})

	for _, tt := range ranges {
		want := data[tt.off:]
		if tt.n >= 0 && tt.n < int64(len(want)) {
			want = want[:tt.n]
		}
		rr, err := s.NewRangeReader(context.Background(), m, tt.off, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("range %+v: got %d bytes (err %v), want %d", tt, len(got), err, len(want))
		}
	}
	if _, err := s.NewRangeReader(context.Background(), m, m.Size+1, 1); err == nil {
		t.Error("a range past the end was accepted")
	}
}

// TestReader_ConcurrentReadAt runs ReadAt from several goroutines, as an
// io.ReaderAt allows (the race detector watches).
func TestReader_ConcurrentReadAt(t *testing.T) {
	s := MustMemStore(t)
	data := randBytes(9, 4<<20)
	m, _ := MustIngest(t, s, "img", data)
	r, err := s.Open(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			p := make([]byte, 100_000)
			for off := int64(g * 13_000); off+int64(len(p)) <= m.Size; off += 700_000 {
				if _, err := r.ReadAt(p, off); err != nil || !bytes.Equal(p, data[off:off+int64(len(p))]) {
					errs <- fmt.Errorf("ReadAt at %d: %v", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
