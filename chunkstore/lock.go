package chunkstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Why locks at all: a writer that finds a chunk present skips it and, later,
// stores a manifest naming it. If GC deleted that chunk in between (it was
// unreferenced until the manifest landed), the manifest would name a chunk
// that is gone. Deleting only chunks older than a grace period does not
// help, since the chunk skipped is an old one. So writers (Ingest, Copy,
// PutManifest) and GC exclude each other through lock objects in the bucket,
// Dekker style: each side first writes its own lock, then lists the other
// side's. With the strongly consistent listing of every supported backend,
// if both ran at once, the later lister would have seen the earlier writer's
// lock. Writers share the bucket with each other. A writer that meets a GC
// keeps its lock and waits for the GC to end (so no new GC starts while it
// waits); a GC that meets a writer gives up with ErrBusy, having looked
// once before it even writes its lock, so that an aborted GC leaves no
// lock for writers to wait on. A GC can always run later; a writer is
// someone's upload or replication.
//
// A lock counts while its modification time is within LockTTL of now; the
// holder rewrites it every LockTTL/4, and cancels its own work if it cannot
// for LockTTL/2, so a live holder never loses its lock unnoticed, and the
// lock of a holder that died expires. Times come from the bucket and are
// compared with this node's clock, so LockTTL must exceed the clock skew.

// DefaultLockTTL is the LockTTL used when Store.LockTTL is zero.
const DefaultLockTTL = 10 * time.Minute

// ErrBusy is returned by GC when writers hold the bucket.
var ErrBusy = errors.New("bucket busy: writers hold locks")

// errLockLost cancels the work of a holder that could not refresh its lock.
var errLockLost = errors.New("lock lost: could not refresh it in time")

func (s *Store) lockTTL() time.Duration {
	if s.LockTTL > 0 {
		return s.LockTTL
	}
	return DefaultLockTTL
}

// withWriterLock runs fn while holding a writer lock, first waiting for any
// GC in progress to finish. The lock is taken before the wait, so that no
// new GC starts meanwhile: writers, queued or running, come first.
func (s *Store) withWriterLock(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.hold(ctx, writerLockKey(newToken()), func(ctx context.Context) error {
		delay := 20 * time.Millisecond
		for {
			live, err := s.liveLocks(ctx, gcLockPrefix)
			if err != nil {
				return err
			}
			if !live {
				return fn(ctx)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
		}
	})
}

// withGCLock runs fn while holding the GC lock, or returns ErrBusy.
func (s *Store) withGCLock(ctx context.Context, fn func(ctx context.Context) error) error {
	// A first look before taking the lock: a GC that is going to give up
	// should not leave a lock behind for waiting writers to stumble on.
	if live, err := s.liveLocks(ctx, writerLockPrefix); err != nil || live {
		if err == nil {
			err = ErrBusy
		}
		return err
	}
	return s.hold(ctx, gcLockKey(newToken()), func(ctx context.Context) error {
		live, err := s.liveLocks(ctx, writerLockPrefix)
		if err != nil {
			return err
		}
		if live {
			return ErrBusy
		}
		return fn(ctx)
	})
}

// liveLocks reports whether there are live locks under prefix (the other
// side's). Expired locks it meets are deleted, as tidying.
func (s *Store) liveLocks(ctx context.Context, prefix string) (bool, error) {
	it := s.Bucket.List(&blob.ListOptions{Prefix: prefix})
	live := false
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return live, nil
		}
		if err != nil {
			return false, err
		}
		if s.now().Sub(obj.ModTime) < s.lockTTL() {
			live = true
		} else if err := s.Bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return false, err
		}
	}
}

// hold writes the lock at key and runs fn with the lock refreshed in the
// background, then removes the lock.
func (s *Store) hold(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	if err := s.touch(ctx, key); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ttl := s.lockTTL()
		tick := time.NewTicker(ttl / 4)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if err := s.touch(ctx, key); err == nil {
				last = time.Now()
			} else if time.Since(last) > ttl/2 {
				cancel(errLockLost)
				return
			}
		}
	}()
	err := fn(ctx)
	close(done)
	<-stopped
	if err != nil && context.Cause(ctx) == errLockLost {
		err = errLockLost
	}
	cancel(nil)
	s.unlock(ctx, key)
	return err
}

// touch writes an empty object at key, (re)setting its modification time.
func (s *Store) touch(ctx context.Context, key string) error {
	return s.Bucket.WriteAll(ctx, key, nil, &blob.WriterOptions{ContentType: "application/octet-stream"})
}

// unlock removes a lock even when ctx is already cancelled; if that fails
// too, the lock expires after LockTTL.
func (s *Store) unlock(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = s.Bucket.Delete(ctx, key)
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
