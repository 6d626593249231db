package chunkstore

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultZeroStep is the distance between two checkpoints of ZeroHashes:
// 32 TiB of zeros is 131,072 checkpoints (5 MiB of them), and the zeros
// past the last checkpoint cost a request at most about 0.1 s to hash.
const DefaultZeroStep = 256 << 20

// ZeroHashes gives the sha256 of a run of zeros followed by a short tail
// (an empty fixed VHD: zeros, then its footer) without hashing the zeros
// per request. Hashing 32 TiB of zeros takes hours of CPU, and a request
// for an empty disk must cost neither CPU in proportion to the disk's size
// nor anything once its client has gone.
//
// SHA-256 consumes its input in order, and its state after n bytes can be
// saved (encoding.BinaryMarshaler) and resumed. ZeroHashes keeps the state
// after every Step bytes of zeros — a checkpoint — computed once, in order,
// by one background worker shared by every request and persisted in Path,
// so a restart keeps what was done. A request for n zeros waits, with its
// context, for the checkpoint at or below n, then hashes at most Step
// zeros and its tail. The worker runs only while a request waits for a
// checkpoint not there yet, at most Rate bytes a second; when the last
// waiting request is cancelled it stops, and what it has done so far
// stays. The exact states of the sizes asked for recently are kept too,
// so a second request for a size costs one tail.
//
// A ZeroHashes is safe for concurrent use; the zero value keeps its
// checkpoints in memory only and hashes as fast as one core can.
type ZeroHashes struct {
	// Path is the file the checkpoints are kept in; empty keeps them in
	// memory only.
	Path string
	// Step is the number of zero bytes between checkpoints, a multiple of
	// 64 (the SHA-256 block); zero means DefaultZeroStep. Checkpoints in
	// Path made with another Step are discarded.
	Step int64
	// Rate bounds the bytes of zeros the worker hashes per second; zero
	// means no bound (one core).
	Rate int64

	mu      sync.Mutex
	loaded  bool
	states  [][sha256.Size]byte // states[i]: the state after (i+1)·Step zeros
	grown   chan struct{}       // closed (and replaced) when states grows
	waiting map[*int]int        // checkpoint counts that waiting requests need
	running bool
	waiters atomic.Int32 // len(waiting), for the worker to read between pieces
	exact   map[int64][]byte
	file    *os.File
}

// zeroExactStates bounds the exact states kept (108 bytes each).
const zeroExactStates = 1024

// zeroPiece is how many zeros are hashed between looks at a context.
const zeroPiece = 1 << 20

var zeroBuf [zeroPiece]byte

// Sum returns the sha256 of n zero bytes followed by tail. It fails with
// the context's error if ctx ends first.
func (z *ZeroHashes) Sum(ctx context.Context, n int64, tail []byte) (d Digest, err error) {
	if n < 0 || n > maxImageSize {
		return d, fmt.Errorf("chunkstore: %d zeros out of range", n)
	}
	h, err := z.state(ctx, n)
	if err != nil {
		return d, err
	}
	h.Write(tail)
	h.Sum(d[:0])
	return d, nil
}

// state returns a hash that has consumed n zeros.
func (z *ZeroHashes) state(ctx context.Context, n int64) (hash.Hash, error) {
	step := z.step()
	z.mu.Lock()
	z.load()
	saved, ok := z.exact[n]
	z.mu.Unlock()
	h := sha256.New()
	if ok {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); err != nil {
			return nil, err
		}
		return h, nil
	}
	k := int(n / step)
	if k > 0 {
		cp, err := z.checkpoint(ctx, k)
		if err != nil {
			return nil, err
		}
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(marshalZeroState(cp, int64(k)*step)); err != nil {
			return nil, err
		}
	}
	if err := writeZeros(ctx, h, n-int64(k)*step, nil); err != nil {
		return nil, err
	}
	if b, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
		z.mu.Lock()
		if len(z.exact) >= zeroExactStates {
			for size := range z.exact { // any one: a map's order is random
				delete(z.exact, size)
				break
			}
		}
		z.exact[n] = b
		z.mu.Unlock()
	}
	return h, nil
}

func (z *ZeroHashes) step() int64 {
	if z.Step <= 0 {
		return DefaultZeroStep
	}
	return z.Step &^ 63
}

// checkpoint waits until checkpoint k (after k·Step zeros) exists and
// returns it, starting the worker if it is not running.
func (z *ZeroHashes) checkpoint(ctx context.Context, k int) ([sha256.Size]byte, error) {
	z.mu.Lock()
	if k <= len(z.states) {
		defer z.mu.Unlock()
		return z.states[k-1], nil
	}
	me := new(int)
	z.waiting[me] = k
	z.waiters.Store(int32(len(z.waiting)))
	if !z.running {
		z.running = true
		go z.extend()
	}
	defer func() {
		z.mu.Lock()
		delete(z.waiting, me)
		z.waiters.Store(int32(len(z.waiting)))
		z.mu.Unlock()
	}()
	for {
		if k <= len(z.states) {
			cp := z.states[k-1]
			z.mu.Unlock()
			return cp, nil
		}
		grown := z.grown
		z.mu.Unlock()
		select {
		case <-grown:
		case <-ctx.Done():
			return [sha256.Size]byte{}, context.Cause(ctx)
		}
		z.mu.Lock()
	}
}

// extend is the one worker: it adds checkpoints while some request waits
// for one beyond the last, and returns when none does.
func (z *ZeroHashes) extend() {
	step := z.step()
	for {
		z.mu.Lock()
		want := 0
		for _, k := range z.waiting {
			want = max(want, k)
		}
		have := len(z.states)
		if want <= have {
			z.running = false
			z.mu.Unlock()
			return
		}
		h := sha256.New()
		if have > 0 {
			if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(marshalZeroState(z.states[have-1], int64(have)*step)); err != nil {
				panic(err) // a state this package built
			}
		}
		z.mu.Unlock()

		if err := writeZeros(context.Background(), h, step, z.paced()); err != nil {
			// Nobody waits any more (paced said so); stop where we are.
			z.mu.Lock()
			z.running = false
			z.mu.Unlock()
			// A request may have come between the last look and now.
			z.restartIfWanted()
			return
		}
		b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic(err)
		}
		var cp [sha256.Size]byte
		copy(cp[:], b[len(zeroStateMagic):])
		z.mu.Lock()
		z.states = append(z.states, cp)
		z.persist(len(z.states), cp)
		close(z.grown)
		z.grown = make(chan struct{})
		z.mu.Unlock()
	}
}

func (z *ZeroHashes) restartIfWanted() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.waiting) > 0 && !z.running {
		z.running = true
		go z.extend()
	}
}

// errNoWaiters stops the worker between pieces.
var errNoWaiters = errors.New("nobody waits")

// paced returns what the worker calls after each piece of zeros: it
// stops the worker when nobody waits, and sleeps to hold it to Rate.
func (z *ZeroHashes) paced() func(done int64) error {
	start := time.Now()
	return func(done int64) error {
		if z.waiters.Load() == 0 {
			return errNoWaiters
		}
		if z.Rate > 0 {
			due := start.Add(time.Duration(float64(done) / float64(z.Rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	}
}

// writeZeros writes n zeros to h in pieces, looking at ctx and calling
// after (if set) between them.
func writeZeros(ctx context.Context, h hash.Hash, n int64, after func(done int64) error) error {
	for done := int64(0); done < n; {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		piece := min(n-done, zeroPiece)
		h.Write(zeroBuf[:piece])
		done += piece
		if after != nil {
			if err := after(done); err != nil {
				return err
			}
		}
	}
	return nil
}

// zeroStateMagic starts crypto/sha256's marshalled SHA-256 state, which is
// the magic, the eight 32-bit words of the chaining state, the 64-byte
// block buffer and the 64-bit length. After a whole number of blocks of
// zeros the buffer is empty, so a checkpoint is the chaining state alone.
const zeroStateMagic = "sha\x03"

func marshalZeroState(cp [sha256.Size]byte, length int64) []byte {
	b := make([]byte, 0, len(zeroStateMagic)+sha256.Size+sha256.BlockSize+8)
	b = append(b, zeroStateMagic...)
	b = append(b, cp[:]...)
	b = append(b, make([]byte, sha256.BlockSize)...)
	return binary.BigEndian.AppendUint64(b, uint64(length))
}

// The file of checkpoints is a header line naming the step, then one
// record per checkpoint in order: the 32-byte state and the first 8 bytes
// of sha256(index, state), so that a torn or damaged record is found and
// it and everything after are computed again rather than trusted.
const zeroRecordSize = sha256.Size + 8

func (z *ZeroHashes) header() string {
	return fmt.Sprintf("galleon zero sha256 checkpoints v1 step=%d\n", z.step())
}

func zeroRecordCheck(k int, cp [sha256.Size]byte) []byte {
	var b [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(b[:8], uint64(k))
	copy(b[8:], cp[:])
	sum := sha256.Sum256(b[:])
	return sum[:8]
}

// load reads the checkpoints once, with z.mu held. A file it cannot read
// or use costs only the work of computing them again.
func (z *ZeroHashes) load() {
	if z.loaded {
		return
	}
	z.loaded = true
	z.grown = make(chan struct{})
	z.waiting = map[*int]int{}
	z.exact = map[int64][]byte{}
	if z.Path == "" {
		return
	}
	header := z.header()
	data, _ := os.ReadFile(z.Path)
	keep := len(header)
	if len(data) >= len(header) && string(data[:len(header)]) == header {
		for rec := data[len(header):]; len(rec) >= zeroRecordSize; rec = rec[zeroRecordSize:] {
			var cp [sha256.Size]byte
			copy(cp[:], rec)
			if string(rec[sha256.Size:zeroRecordSize]) != string(zeroRecordCheck(len(z.states)+1, cp)) {
				break
			}
			z.states = append(z.states, cp)
			keep += zeroRecordSize
		}
	}
	f, err := os.OpenFile(z.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	if len(z.states) == 0 {
		err = f.Truncate(0)
		if err == nil {
			_, err = f.WriteAt([]byte(header), 0)
		}
	} else {
		err = f.Truncate(int64(keep))
	}
	if err == nil {
		_, err = f.Seek(int64(keep), io.SeekStart)
	}
	if err != nil {
		f.Close()
		return
	}
	z.file = f
}

// persist appends checkpoint k, with z.mu held. A failed write only loses
// the file: the checkpoints in memory stay right.
func (z *ZeroHashes) persist(k int, cp [sha256.Size]byte) {
	if z.file == nil {
		return
	}
	rec := append(cp[:], zeroRecordCheck(k, cp)...)
	if _, err := z.file.Write(rec); err != nil {
		z.file.Close()
		z.file = nil
	}
}

// Close closes the file of checkpoints. Requests waiting are not
// affected; checkpoints the worker adds after it are kept in memory only.
func (z *ZeroHashes) Close() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.file == nil {
		return nil
	}
	err := z.file.Close()
	z.file = nil
	return err
}
