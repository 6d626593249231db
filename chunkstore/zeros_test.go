package chunkstore

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

func TestZeroHashes_Sum(t *testing.T) {
	t.Parallel()
	const step = 4096
	path := filepath.Join(t.TempDir(), "zeros")
	sizes := []int64{0, 1, 63, 64, step - 1, step, step + 1, 3*step + 5, 10 * step}
	check := func(t *testing.T, z *ZeroHashes) {
		t.Helper()
		for _, n := range sizes {
			for _, tail := range [][]byte{nil, []byte("conectix footer")} {
				want := Digest(sha256.Sum256(append(make([]byte, n), tail...)))
				got, err := z.Sum(context.Background(), n, tail)
				if err != nil || got != want {
					t.Errorf("Sum(%d, %q) = %v, %v; want %v", n, tail, got, err, want)
				}
			}
		}
	}
	t.Run("OK", func(t *testing.T) {
		z := &ZeroHashes{Path: path, Step: step}
		check(t, z)
		check(t, z) // from the exact states kept
		if len(z.states) != 10 {
			t.Errorf("%d checkpoints, want 10", len(z.states))
		}
		z.Close()
	})
	t.Run("OKPersisted", func(t *testing.T) {
		z := &ZeroHashes{Path: path, Step: step}
		z.mu.Lock()
		z.load()
		n := len(z.states)
		z.mu.Unlock()
		if n != 10 {
			t.Fatalf("%d checkpoints read back, want 10", n)
		}
		check(t, z)
		z.Close()
	})
	t.Run("OKDamagedRecord", func(t *testing.T) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Damage the fourth record: it and the ones after are dropped and
		// computed again, never trusted.
		b[len((&ZeroHashes{Step: step}).header())+3*zeroRecordSize+5] ^= 1
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		z := &ZeroHashes{Path: path, Step: step}
		z.mu.Lock()
		z.load()
		n := len(z.states)
		z.mu.Unlock()
		if n != 3 {
			t.Errorf("%d checkpoints kept from a file damaged in the fourth, want 3", n)
		}
		check(t, z)
		z.Close()
	})
	t.Run("OKOtherStep", func(t *testing.T) {
		z := &ZeroHashes{Path: path, Step: 2 * step}
		check(t, z)
		z.Close()
	})
	t.Run("ErrCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		z := &ZeroHashes{Step: step}
		// Not a whole number of steps: the worker, started before the
		// wait sees the context, may already have made the checkpoint,
		// and only the zeros past it are hashed under ctx.
		if _, err := z.Sum(ctx, 100*step+1, nil); err != context.Canceled {
			t.Errorf("Sum with an ended context = %v, want context.Canceled", err)
		}
	})
}
