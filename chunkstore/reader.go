package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Reader reads an image back: sequentially (io.Reader, io.WriterTo),
// by position (io.Seeker) or at random (io.ReaderAt), so it serves
// http.ServeContent and HTTP Range requests directly. It reads whole chunks
// and hands out bytes only after the chunk verified; a range inside a chunk
// still costs that chunk. It keeps the last chunk read, so sequential small
// reads cost one fetch per chunk. ReadAt is safe for concurrent use; Read
// and Seek, sharing a position, are not.
type Reader struct {
	ctx context.Context // for the bucket reads behind io methods, which take none
	s   *Store
	m   *Manifest
	off int64 // Read and Seek's position

	mu     sync.Mutex
	cached int // index of the chunk in buf, or -1
	buf    []byte
}

// Open returns a Reader of the image m describes. Reads use ctx.
func (s *Store) Open(ctx context.Context, m *Manifest) (*Reader, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &Reader{ctx: ctx, s: s, m: m, cached: -1}, nil
}

// Size is the size of the image.
func (r *Reader) Size() int64 { return r.m.Size }

// ReadAt reads len(p) bytes at off, fewer only at the end of the image,
// where it returns io.EOF.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("chunkstore: negative offset")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(p) {
		if off >= r.m.Size {
			return n, io.EOF
		}
		i := r.m.chunkAt(off)
		data, err := r.chunk(i)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], data[r.m.Chunks[i].within(off):])
		n += k
		off += int64(k)
	}
	return n, nil
}

// chunk returns chunk i, verified, from the cache or the bucket. r.mu is held.
func (r *Reader) chunk(i int) ([]byte, error) {
	if i == r.cached {
		return r.buf, nil
	}
	r.cached = -1
	data, err := r.s.readChunk(r.ctx, r.m.Chunks[i], r.buf)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: read chunk %d of image %s: %w", i, r.m.Digest, err)
	}
	r.buf, r.cached = data, i
	return data, nil
}

// Read reads from the current position.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil // the next Read says EOF
	}
	return n, err
}

// Seek sets the position for Read.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.m.Size
	default:
		return 0, errors.New("chunkstore: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("chunkstore: negative position")
	}
	r.off = offset
	return offset, nil
}

// WriteTo writes the image from the current position to w, a chunk at a
// time, with no intermediate copy; io.Copy uses it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.off < r.m.Size {
		r.mu.Lock()
		i := r.m.chunkAt(r.off)
		data, err := r.chunk(i)
		if err == nil {
			var n int
			n, err = w.Write(data[r.m.Chunks[i].within(r.off):])
			r.off += int64(n)
			total += int64(n)
		}
		r.mu.Unlock()
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close releases the chunk buffer. A Reader holds nothing else.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf, r.cached = nil, -1
	return nil
}

// NewRangeReader returns a reader of length bytes of the image at offset,
// or of everything from offset on if length is negative: the body of an
// HTTP Range response.
func (s *Store) NewRangeReader(ctx context.Context, m *Manifest, offset, length int64) (io.Reader, error) {
	r, err := s.Open(ctx, m)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > m.Size {
		return nil, fmt.Errorf("chunkstore: offset %d outside an image of %d bytes", offset, m.Size)
	}
	if length < 0 || length > m.Size-offset {
		length = m.Size - offset
	}
	return io.NewSectionReader(r, offset, length), nil
}
