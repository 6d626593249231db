package chunkstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/galleon-project/galleon/chunkstore"
)

func TestNewVerifyingReader(t *testing.T) {
	data := []byte("the quick brown fox")
	d := chunkstore.Sum(data)
	tests := []struct {
		name    string
		content []byte
		size    int64
		ok      bool
	}{
		{"OK", data, int64(len(data)), true},
		{"ErrFlipped", append([]byte("T"), data[1:]...), int64(len(data)), false},
		{"ErrShort", data[:5], int64(len(data)), false},
		{"ErrLong", append(bytes.Clone(data), '!'), int64(len(data)), false},
		{"ErrWrongSize", data, int64(len(data)) - 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time, so the verdict falls on a later Read than the bytes.
			r := chunkstore.NewVerifyingReader(iotest.OneByteReader(bytes.NewReader(tt.content)), d, tt.size)
			_, err := io.ReadAll(r)
			var ce *chunkstore.CorruptError
			if tt.ok && err != nil || !tt.ok && !errors.As(err, &ce) {
				t.Fatalf("err = %v, want ok = %v", err, tt.ok)
			}
			if _, again := r.Read(make([]byte, 1)); !tt.ok && again != err || tt.ok && again != io.EOF {
				t.Fatalf("the verdict is not sticky: %v then %v", err, again)
			}
		})
	}
}

// TestStore_Corrupt damages a stored chunk in each way a disk can, and
// checks that reads and Verify report it with the typed error and hand out
// nothing of the damaged chunk.
func TestStore_Corrupt(t *testing.T) {
	tests := []struct {
		name  string
		harm  func(t *testing.T, path string)
		check func(t *testing.T, err error)
	}{
		{"ErrOverwritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte("bit rot"), 1000); err != nil {
				t.Fatal(err)
			}
		}, isCorrupt(false)},
		{"ErrTruncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 1000); err != nil {
				t.Fatal(err)
			}
		}, isCorrupt(true)},
		{"ErrExtended", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("trailing")); err != nil {
				t.Fatal(err)
			}
		}, isCorrupt(true)},
		{"ErrMissing", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, err error) {
			if !errors.Is(err, chunkstore.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := MustFileStore(t)
			data := randBytes(14, 2<<20)
			m, _ := MustIngest(t, s, "img", data)
			bad := m.Chunks[2]
			tt.harm(t, filepath.Join(dir, filepath.FromSlash(chunkstore.ChunkKey(bad.Digest))))

			t.Run("Verify", func(t *testing.T) { tt.check(t, s.Verify(ctx, m)) })
			t.Run("Read", func(t *testing.T) {
				r, err := s.Open(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				tt.check(t, err)
				if !bytes.Equal(got, data[:bad.Offset]) {
					t.Fatalf("read %d bytes before the error, want exactly the %d before the damaged chunk", len(got), bad.Offset)
				}
			})
			t.Run("ReadAt", func(t *testing.T) {
				r, err := s.Open(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				_, err = r.ReadAt(make([]byte, 10), bad.Offset+5)
				tt.check(t, err)
			})
		})
	}
}

func isCorrupt(sizeWrong bool) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ce *chunkstore.CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *CorruptError", err)
		}
		if (ce.GotSize != ce.WantSize) != sizeWrong {
			t.Fatalf("err = %v: size wrong = %v, want %v", err, ce.GotSize != ce.WantSize, sizeWrong)
		}
	}
}
