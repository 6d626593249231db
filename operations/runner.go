// Package operations runs the slow half of long-running operations: the
// work that continues after the request that started it has answered 202.
// The operation rows in the store are the queue, so work survives restarts;
// a nudge only cuts latency.
package operations

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
)

// Handler does the work of one operation kind. It must be safe to repeat:
// a crash after the work but before completion runs it again. Returning a
// *galleon.Error fails the operation with that error; any other error is
// treated as transient and retried on a later pass.
type Handler func(ctx context.Context, op *galleon.Operation) error

// Store is what the runner needs from the metadata store.
type Store interface {
	ListOperations(ctx context.Context, status string) ([]galleon.Operation, error)
	CompleteOperation(ctx context.Context, id, status string, opErr *galleon.Error, end time.Time) error
}

// Runner executes in-progress operations.
type Runner struct {
	Store    Store
	Handlers map[string]Handler
	// Interval is how often the runner looks for work without a nudge.
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger

	nudge  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // serializes passes
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

func (r *Runner) setDefaults() {
	if r.Interval <= 0 {
		r.Interval = 5 * time.Second
	}
	if r.Now == nil {
		r.Now = func() time.Time { return time.Now().UTC() }
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
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

// RunPending is one pass: every in-progress operation is run once. Tests
// call it directly.
func (r *Runner) RunPending(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setDefaults()
	ops, err := r.Store.ListOperations(ctx, galleon.OperationInProgress)
	if err != nil {
		return err
	}
	for i := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.run(ctx, &ops[i])
	}
	return nil
}

func (r *Runner) run(ctx context.Context, op *galleon.Operation) {
	log := r.Logger.With(slog.String("operation", op.ID), slog.String("kind", op.Kind), slog.String("target", op.Target))
	h, ok := r.Handlers[op.Kind]
	var opErr *galleon.Error
	switch {
	case !ok:
		opErr = galleon.Errorf(galleon.CodeInternal, "No handler is registered for operations of kind %q.", op.Kind)
	default:
		err := h(ctx, op)
		if err != nil && !errors.As(err, &opErr) {
			log.Warn("operation failed; will retry", slog.Any("err", err))
			return
		}
	}
	status := galleon.OperationSucceeded
	if opErr != nil {
		status = galleon.OperationFailed
	}
	if err := r.Store.CompleteOperation(ctx, op.ID, status, opErr, r.Now()); err != nil {
		log.Error("completing operation", slog.Any("err", err))
		return
	}
	log.Info("operation finished", slog.String("status", status))
}
