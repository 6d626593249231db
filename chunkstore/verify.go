package chunkstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
)

// CorruptError reports content that is not what its digest says: a chunk
// whose bytes in the bucket were damaged or truncated, or an image whose
// chunks do not add up to the manifest's whole-content digest. Reads, Copy
// and Verify return it (wrapped; find it with errors.As) and never pass the
// bad bytes on: a reader hands out a chunk only after it verified, and Copy
// writes a chunk only after it verified.
type CorruptError struct {
	Key      string // the bucket key read, or "" for a whole image
	Want     Digest
	WantSize int64
	Got      Digest // zero when reading stopped early because the size was wrong
	GotSize  int64  // bytes seen; more than WantSize means "at least this many"
}

func (e *CorruptError) Error() string {
	what := e.Key
	if what == "" {
		what = "image " + e.Want.String()
	}
	if e.GotSize != e.WantSize {
		return fmt.Sprintf("chunkstore: corrupt %s: got %d bytes, want %d", what, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("chunkstore: corrupt %s: content hashes to %s, want %s", what, e.Got, e.Want)
}

// NewVerifyingReader returns a reader that passes r through while hashing
// it, and that ends with io.EOF only if r held exactly size bytes with
// digest want; otherwise it ends with a *CorruptError. Bytes are handed out
// as they stream, before the verdict, so a caller must treat any error but
// io.EOF as "discard everything read" (perkeep's checkHashReader does the
// same). The chunk reads in this package buffer a chunk before releasing
// it; this reader is for callers streaming a whole image, such as a
// download client checking Manifest.Digest.
func NewVerifyingReader(r io.Reader, want Digest, size int64) io.Reader {
	return &verifyingReader{r: r, h: sha256.New(), want: want, size: size}
}

type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want Digest
	size int64
	n    int64
	key  string // for the error message only
	err  error  // sticky: once decided, every later Read says the same
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.n > v.size {
		// Too long: no point reading the rest to find out by how much.
		v.err = &CorruptError{Key: v.key, Want: v.want, WantSize: v.size, GotSize: v.n}
		return 0, v.err
	}
	v.h.Write(p[:n])
	switch {
	case err == io.EOF && v.n != v.size:
		v.err = &CorruptError{Key: v.key, Want: v.want, WantSize: v.size, GotSize: v.n}
	case err == io.EOF:
		var got Digest
		v.h.Sum(got[:0])
		if got != v.want {
			v.err = &CorruptError{Key: v.key, Want: v.want, WantSize: v.size, Got: got, GotSize: v.n}
		} else {
			v.err = io.EOF
		}
	case err != nil:
		v.err = err
	}
	return n, v.err
}

// Verify reads every distinct chunk of m from this bucket and checks it
// against its digest, with a few chunks in flight at once. It is the proof
// that a replica is whole: a nil error means every byte of the image can be
// read back from this bucket, as the bytes Ingest cut and hashed. (Ingest
// computed m.Digest from the same stream it cut into these chunks; to check
// it end to end, as a download client would, read the image through
// NewVerifyingReader, at the cost of hashing every byte of it, zeros and
// repeats included.) A damaged chunk is a *CorruptError naming its key, a
// missing one wraps ErrNotFound.
func (s *Store) Verify(ctx context.Context, m *Manifest) (err error) {
	defer wrap(&err, "verify %s", m.Digest)
	if err := m.Validate(); err != nil {
		return err
	}
	chunks, _ := m.unique()
	return forEach(ctx, len(chunks), defaultParallelism, func(ctx context.Context, i int) error {
		buf := getBuf(chunks[i].Size)
		defer putBuf(buf)
		_, err := s.readChunk(ctx, chunks[i], buf)
		return err
	})
}
