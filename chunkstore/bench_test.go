package chunkstore_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/galleon-project/galleon/chunkstore"
)

const benchSize = 64 << 20

// BenchmarkIngest ingests 64 MiB of random data into an empty bucket, so
// every chunk is cut, hashed and written; MB/s is of the image.
func BenchmarkIngest(b *testing.B) {
	data := randBytes(40, benchSize)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				b.StopTimer()
				s := be.open(b)
				b.StartTimer()
				if _, _, err := s.Ingest(context.Background(), "img", bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCopy copies a 64 MiB image to an empty bucket of the same kind.
func BenchmarkCopy(b *testing.B) {
	data := randBytes(41, benchSize)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			src := be.open(b)
			m, _ := MustIngest(b, src, "img", data)
			b.SetBytes(benchSize)
			for b.Loop() {
				b.StopTimer()
				dst := be.open(b)
				b.StartTimer()
				if _, err := chunkstore.Copy(context.Background(), dst, src, "img", m, chunkstore.CopyOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead reads a 64 MiB image back, verifying every chunk.
func BenchmarkRead(b *testing.B) {
	data := randBytes(42, benchSize)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			m, _ := MustIngest(b, s, "img", data)
			b.SetBytes(benchSize)
			for b.Loop() {
				r, err := s.Open(context.Background(), m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
