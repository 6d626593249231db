package vhd

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
)

// FixedSizeFor is the virtual size of the fixed VHD a raw image of
// rawSize bytes becomes: rawSize rounded up to a whole MiB, as Azure
// requires.
func FixedSizeFor(rawSize int64) int64 {
	return (rawSize + MiB - 1) / MiB * MiB
}

// WrapRaw turns a raw disk image into a fixed VHD as a stream, so a raw
// image can be uploaded without converting it first: the rawSize bytes of
// r, zeros up to the next whole MiB, then a footer dated now. It returns
// the stream and its length. The stream fails with io.ErrUnexpectedEOF if
// r ends before rawSize bytes; bytes of r past rawSize are not read.
func WrapRaw(r io.Reader, rawSize int64, now time.Time) (io.Reader, int64, error) {
	if rawSize <= 0 {
		return nil, 0, fmt.Errorf("vhd: a raw image must not be empty; got %d bytes", rawSize)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, 0, fmt.Errorf("vhd: unique id: %w", err)
	}
	size := FixedSizeFor(rawSize)
	f, err := NewFixedFooter(size, now, id)
	if err != nil {
		return nil, 0, err
	}
	footer, err := f.MarshalBinary()
	if err != nil {
		return nil, 0, err
	}
	stream := io.MultiReader(
		&exactReader{r: r, n: rawSize},
		io.LimitReader(zeros{}, size-rawSize),
		bytes.NewReader(footer),
	)
	return stream, size + FooterSize, nil
}

// exactReader reads exactly n bytes of r; a short r is an error rather
// than a silently shifted footer.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	switch {
	case err == io.EOF && e.n > 0:
		return n, io.ErrUnexpectedEOF
	case err == io.EOF:
		return n, nil // MultiReader moves on when we return EOF next call
	}
	return n, err
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
