package chunkstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// What a scrub needs from one bucket: every chunk listed (ListChunks) and
// read back against its name (CheckChunk), a damaged or missing one
// rewritten from a good copy in another bucket (RepairChunk), and a note
// on each chunk found bad and not repaired yet (MarkDamaged), so that
// other nodes and restarts know about it until it is good again. The pass
// itself, which knows the regions and the metadata, is the caller's.

// DamagedError reports a chunk that a scrub found damaged or missing in
// this bucket and that has not been repaired since. PutManifest and Copy
// return it (wrapped; find it with errors.As) rather than build on it.
type DamagedError struct {
	Digest Digest
	Reason string
	Found  time.Time
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("chunkstore: chunk %s is damaged (found %s: %s)", e.Digest, e.Found.UTC().Format(time.RFC3339), e.Reason)
}

// quarantineNote is the JSON stored under quarantine/ for a damaged chunk.
type quarantineNote struct {
	Reason string    `json:"reason"`
	Found  time.Time `json:"found"`
}

// maxNoteSize bounds what is read back from a note.
const maxNoteSize = 4 << 10

// MarkDamaged records that chunk d is damaged or missing in this bucket,
// and why. Marking a chunk marked already keeps the first finding's time.
func (s *Store) MarkDamaged(ctx context.Context, d Digest, reason string) (err error) {
	defer wrap(&err, "mark %s damaged", d)
	old, err := s.Damaged(ctx, d)
	if err != nil {
		return err
	}
	note := quarantineNote{Reason: reason, Found: s.now().UTC()}
	if old != nil {
		note.Found = old.Found
	}
	if len(note.Reason) > maxNoteSize/2 {
		note.Reason = note.Reason[:maxNoteSize/2]
	}
	b, err := json.Marshal(note)
	if err != nil {
		return err
	}
	return s.Bucket.WriteAll(ctx, quarantineKey(d), b, &blob.WriterOptions{ContentType: "application/json"})
}

// Damaged returns the note on chunk d, or nil when it has none.
func (s *Store) Damaged(ctx context.Context, d Digest) (*DamagedError, error) {
	r, err := s.Bucket.NewReader(ctx, quarantineKey(d), nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxNoteSize))
	if err != nil {
		return nil, err
	}
	var note quarantineNote
	if err := json.Unmarshal(b, &note); err != nil {
		// A note that cannot be read still says the chunk is bad.
		note.Reason = "unreadable quarantine note"
	}
	return &DamagedError{Digest: d, Reason: note.Reason, Found: note.Found}, nil
}

// ClearDamaged removes the note on chunk d; clearing none is not an error.
func (s *Store) ClearDamaged(ctx context.Context, d Digest) (err error) {
	defer wrap(&err, "clear %s", d)
	if err := s.Bucket.Delete(ctx, quarantineKey(d)); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// ListDamaged returns the chunks with a note in this bucket. It costs one
// listing of quarantine/, which is empty while all is well.
func (s *Store) ListDamaged(ctx context.Context) (ds []Digest, err error) {
	defer wrap(&err, "list damaged chunks")
	it := s.Bucket.List(&blob.ListOptions{Prefix: quarantinePrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return ds, nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := parseQuarantineKey(obj.Key); ok {
			ds = append(ds, d)
		}
	}
}

// CheckDamaged returns a *DamagedError for the first chunk of m that has
// a note in this bucket, or nil. It reads no chunk: one listing of
// quarantine/, whatever m's size.
func (s *Store) CheckDamaged(ctx context.Context, m *Manifest) error {
	noted, err := s.ListDamaged(ctx)
	if err != nil || len(noted) == 0 {
		return err
	}
	set := make(map[Digest]bool, len(noted))
	for _, d := range noted {
		set[d] = true
	}
	for _, c := range m.Chunks {
		if set[c.Digest] {
			de, err := s.Damaged(ctx, c.Digest)
			if err != nil {
				return err
			}
			if de != nil {
				return de
			}
		}
	}
	return nil
}

// ChunkInfo is one chunk object as listed.
type ChunkInfo struct {
	Digest Digest
	Size   int64
}

// ListChunks calls fn for every chunk object in the bucket, in key order.
// Objects under chunks/ that are not chunk keys are skipped.
func (s *Store) ListChunks(ctx context.Context, fn func(ChunkInfo) error) (err error) {
	defer wrap(&err, "list chunks")
	it := s.Bucket.List(&blob.ListOptions{Prefix: chunksPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if d, ok := parseChunkKey(obj.Key); ok {
			if err := fn(ChunkInfo{Digest: d, Size: obj.Size}); err != nil {
				return err
			}
		}
	}
}

// HasChunk reports whether chunk d is present, without reading it.
func (s *Store) HasChunk(ctx context.Context, d Digest) (bool, error) {
	return s.hasChunk(ctx, d)
}

// CheckChunk reads chunk d whole and verifies it against its name, and
// returns how many bytes it read (of a damaged one too). A damaged chunk
// is a *CorruptError, a missing one wraps ErrNotFound.
func (s *Store) CheckChunk(ctx context.Context, d Digest) (int64, error) {
	buf := getBuf(MaxChunkSize)
	defer putBuf(buf)
	data, err := s.readNamed(ctx, d, buf)
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce.GotSize, err
	}
	return int64(len(data)), err
}

// readNamed reads chunk d, whose size is not known here (no manifest says
// it), into buf, and returns it only after it hashed to d. The size in the
// bucket is believed only up to MaxChunkSize: a longer object is damaged.
func (s *Store) readNamed(ctx context.Context, d Digest, buf []byte) ([]byte, error) {
	key := chunkKey(d)
	r, err := s.Bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, notFound(err, key)
	}
	defer r.Close()
	buf = buf[:cap(buf)]
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		// The buffer is full: one byte more means the object is too long.
		var one [1]byte
		if k, _ := io.ReadFull(r, one[:]); k > 0 {
			return nil, &CorruptError{Key: key, Want: d, WantSize: MaxChunkSize, GotSize: int64(n) + 1}
		}
	case err == io.EOF, err == io.ErrUnexpectedEOF:
	default:
		return nil, err
	}
	data := buf[:n]
	if got := Digest(sha256.Sum256(data)); got != d {
		return nil, &CorruptError{Key: key, Want: d, WantSize: int64(n), Got: got, GotSize: int64(n)}
	}
	return data, nil
}

// RepairChunk rewrites chunk d in dst from src: it reads the chunk whole
// from src and verifies it before anything is written, then writes it
// atomically over whatever dst holds (see putChunk) and removes dst's note
// on it. It returns the bytes written. A chunk damaged or missing in src
// is a *CorruptError or wraps ErrNotFound, and dst is left as it was.
func RepairChunk(ctx context.Context, dst, src *Store, d Digest) (n int64, err error) {
	defer wrap(&err, "repair %s", d)
	buf := getBuf(MaxChunkSize)
	defer putBuf(buf)
	data, err := src.readNamed(ctx, d, buf)
	if err != nil {
		return 0, err
	}
	if err := dst.writeChunk(ctx, d, data); err != nil {
		return 0, err
	}
	return int64(len(data)), dst.ClearDamaged(ctx, d)
}

// IsDamaged reports whether err says some content is not what its digest
// says, or is marked damaged: a *CorruptError or a *DamagedError.
func IsDamaged(err error) bool {
	var ce *CorruptError
	var de *DamagedError
	return errors.As(err, &ce) || errors.As(err, &de)
}

// ScrubDue returns when the next scrub pass is due, as last recorded by
// SetScrubDue; ok is false when none was.
func (s *Store) ScrubDue(ctx context.Context) (due time.Time, ok bool, err error) {
	b, err := s.Bucket.ReadAll(ctx, scrubDueKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	due, err = time.Parse(time.RFC3339, string(b))
	if err != nil {
		// A damaged record is as good as none: the next pass is
		// scheduled anew.
		return time.Time{}, false, nil
	}
	return due, true, nil
}

// SetScrubDue records when the next scrub pass is due.
func (s *Store) SetScrubDue(ctx context.Context, due time.Time) error {
	return s.Bucket.WriteAll(ctx, scrubDueKey, []byte(due.UTC().Format(time.RFC3339)), nil)
}
