package vhd

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFixedSizeFor(t *testing.T) {
	for _, tt := range []struct{ raw, want int64 }{
		{1, MiB},
		{MiB - 1, MiB},
		{MiB, MiB},
		{MiB + 1, 2 * MiB},
		{64 * MiB, 64 * MiB},
		{10<<30 + 12345, 10<<30 + MiB},
	} {
		if got := FixedSizeFor(tt.raw); got != tt.want {
			t.Errorf("FixedSizeFor(%d) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

func TestWrapRaw(t *testing.T) {
	for _, rawSize := range []int64{1, 512, MiB - 3, MiB, 3*MiB + 12345} {
		raw := make([]byte, rawSize)
		rand.Read(raw)
		// A reader that returns one byte at a time exercises every
		// boundary of the stream.
		r, n, err := WrapRaw(iotest.OneByteReader(bytes.NewReader(raw)), rawSize, testNow)
		if err != nil {
			t.Fatal(err)
		}
		img, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		size := FixedSizeFor(rawSize)
		if int64(len(img)) != n || n != size+FooterSize {
			t.Fatalf("raw %d: got %d bytes, reported %d, want %d", rawSize, len(img), n, size+FooterSize)
		}
		if !bytes.Equal(img[:rawSize], raw) {
			t.Errorf("raw %d: the raw bytes are not the start of the VHD", rawSize)
		}
		if !bytes.Equal(img[rawSize:size], make([]byte, size-rawSize)) {
			t.Errorf("raw %d: the padding is not zero", rawSize)
		}
		f, err := ValidateForAzure(bytes.NewReader(img), n)
		if err != nil {
			t.Fatalf("raw %d: %v", rawSize, err)
		}
		if f.UniqueID == ([16]byte{}) || !f.Timestamp.Equal(testNow) {
			t.Errorf("raw %d: footer %+v", rawSize, f)
		}
	}
}

func TestWrapRaw_Errors(t *testing.T) {
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, _, err := WrapRaw(bytes.NewReader(nil), 0, testNow); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrShortSource", func(t *testing.T) {
		r, _, err := WrapRaw(bytes.NewReader(make([]byte, 1000)), 2000, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("LongSourceReadOnlyToRawSize", func(t *testing.T) {
		src := bytes.NewReader(make([]byte, 3000))
		r, n, err := WrapRaw(src, 2000, testNow)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, r)
		if err != nil || got != n || src.Len() != 1000 {
			t.Errorf("copied %d of %d (%v); %d bytes of the source left, want 1000", got, n, err, src.Len())
		}
	})
}
