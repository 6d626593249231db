// Package operations runs the slow half of long-running operations: the
// work that continues after the request that started it has answered 202.
// Each operation is a work item in the store, claimed under a lease, so any
// node can run it, no two nodes run it at once, work survives restarts, and
// a dead node's work is taken over when its lease expires; a nudge only
// cuts latency.
package operations

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
)

// Handler does the work of one operation kind. It must be safe to repeat:
// a crash after the work but before completion runs it again. Returning a
// *galleon.Error fails the operation with that error; any other error is
// treated as transient and retried later, up to the runner's MaxAttempts.
// A handler that records failure details of its own (a region marked
// Failed) asks LastAttempt whether this is its last chance to.
type Handler func(ctx context.Context, op *galleon.Operation) error

type lastAttemptKey struct{}

// LastAttempt reports whether the handler running with ctx is on its
// operation's last attempt: a transient error now fails the operation.
func LastAttempt(ctx context.Context) bool {
	last, _ := ctx.Value(lastAttemptKey{}).(bool)
	return last
}

// Store is what the runner needs from the metadata store.
type Store interface {
	GetOperation(ctx context.Context, subscriptionID, id string) (*galleon.Operation, error)
	CompleteOperation(ctx context.Context, id, status string, opErr *galleon.Error, end time.Time) error
	ClaimWork(ctx context.Context, kind, holder string, lease time.Duration, limit int) ([]galleon.WorkItem, error)
	ExtendLease(ctx context.Context, item *galleon.WorkItem, lease time.Duration) error
	CompleteWork(ctx context.Context, item galleon.WorkItem) error
	ReleaseWork(ctx context.Context, item galleon.WorkItem, notBefore time.Time) error
}

// Runner executes operations on behalf of one node.
type Runner struct {
	Store    Store
	Handlers map[string]Handler
	// Holder names this node in leases; unique per process.
	Holder string
	// Lease is how long a claim lasts without renewal; a crashed node's
	// operations wait this long before another node takes them over.
	Lease time.Duration
	// Interval is how often the runner looks for work without a nudge.
	Interval time.Duration
	// MaxAttempts bounds how often an operation is tried (claims by any
	// node, takeovers after a crash included) before a transient error
	// fails it; 0 means 10, which with the backoff spans about six minutes.
	MaxAttempts int
	Now         func() time.Time
	Logger      *slog.Logger

	nudge  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // serializes passes
}

func (r *Runner) setDefaults() {
	if r.Lease <= 0 {
		r.Lease = 30 * time.Second
	}
	if r.Interval <= 0 {
		r.Interval = 2 * time.Second
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 10
	}
	if r.Now == nil {
		r.Now = func() time.Time { return time.Now().UTC() }
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
}

// Open starts the background loop; Close stops it.
func (r *Runner) Open() error {
	r.setDefaults()
	r.nudge = make(chan struct{}, 1)
	r.done = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.loop(ctx)
	return nil
}

// Close stops the loop and waits for the pass in flight.
func (r *Runner) Close() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	<-r.done
	return nil
}

// Nudge asks for a pass soon; it never blocks.
func (r *Runner) Nudge() {
	if r.nudge == nil {
		return
	}
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if err := r.RunPending(ctx); err != nil && !errors.Is(err, context.Canceled) {
			r.Logger.Error("running operations", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.nudge:
		}
	}
}

// RunPending is one pass: it claims the operations that are due and runs
// each once. Tests call it directly.
func (r *Runner) RunPending(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setDefaults()
	for {
		items, err := r.Store.ClaimWork(ctx, galleon.WorkOperation, r.Holder, r.Lease, 16)
		if err != nil || len(items) == 0 {
			return err
		}
		for i := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.run(ctx, &items[i])
		}
	}
}

// run works one claimed item, renewing its lease while the handler runs.
func (r *Runner) run(ctx context.Context, item *galleon.WorkItem) {
	log := r.Logger.With(slog.String("work", item.Key), slog.String("holder", r.Holder))
	sub, id, ok := strings.Cut(item.Key, "/")
	if !ok {
		log.Error("malformed operation work key")
		_ = r.Store.CompleteWork(ctx, *item)
		return
	}
	op, err := r.Store.GetOperation(ctx, sub, id)
	if galleon.ErrorCode(err) == galleon.CodeOperationNotFound {
		_ = r.Store.CompleteWork(ctx, *item)
		return
	}
	if err != nil {
		log.Warn("loading operation", slog.Any("err", err))
		return // the lease expires and the item comes back
	}
	if op.Terminal() {
		// Finished by a holder that died before removing the item.
		_ = r.Store.CompleteWork(ctx, *item)
		return
	}
	log = log.With(slog.String("kind", op.Kind), slog.String("target", op.Target))

	last := item.Attempts >= r.MaxAttempts
	workCtx, stop := context.WithCancel(context.WithValue(ctx, lastAttemptKey{}, last))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(r.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-workCtx.Done():
				return
			case <-t.C:
				if err := r.Store.ExtendLease(workCtx, item, r.Lease); err != nil {
					log.Warn("lost the lease; stopping", slog.Any("err", err))
					stop()
					return
				}
			}
		}
	}()
	var opErr *galleon.Error
	h, ok := r.Handlers[op.Kind]
	if !ok {
		opErr = galleon.Errorf(galleon.CodeInternal, "No handler is registered for operations of kind %q.", op.Kind)
	} else if err := h(workCtx, op); err != nil && !errors.As(err, &opErr) {
		if last {
			opErr = galleon.Errorf(galleon.CodeInternal, "The operation failed after %d attempts: %v", item.Attempts, err)
		} else {
			stop()
			<-renewed
			log.Warn("operation failed; will retry", slog.Any("err", err), slog.Int("attempt", item.Attempts))
			_ = r.Store.ReleaseWork(ctx, *item, r.Now().Add(backoff(item.Attempts)))
			return
		}
	}
	stop()
	<-renewed
	status := galleon.OperationSucceeded
	if opErr != nil {
		status = galleon.OperationFailed
	}
	if err := r.Store.CompleteOperation(ctx, op.ID, status, opErr, r.Now()); err != nil {
		log.Error("completing operation", slog.Any("err", err))
		return
	}
	if err := r.Store.CompleteWork(ctx, *item); err != nil {
		log.Warn("removing finished work", slog.Any("err", err))
	}
	log.Info("operation finished", slog.String("status", status))
}

// backoff is the wait before retrying a transient failure: 1s, 2s, 4s, …
// up to a minute.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts-1, 6)
	return min(d, time.Minute)
}
