package operations_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/operations"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// fixture is a real SQLite store with one resource group per operation.
func fixture(t *testing.T) *storetest.Fixture {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "galleon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return storetest.MustFixture(t, func(*testing.T) galleon.Store { return db })
}

// begin starts an operation of kind on a new group named name.
func begin(t *testing.T, f *storetest.Fixture, name, kind string) *galleon.Operation {
	t.Helper()
	f.MustPutResourceGroup(t, name)
	op := &galleon.Operation{ID: name, SubscriptionID: f.Sub, Location: "eastus", Kind: kind,
		Target: f.RG(name).String(), Status: galleon.OperationInProgress, StartTime: time.Now().UTC()}
	if _, err := f.Store.BeginDeleteResourceGroup(context.Background(), f.RG(name), op); err != nil {
		t.Fatal(err)
	}
	return op
}

func status(t *testing.T, f *storetest.Fixture, id string) *galleon.Operation {
	t.Helper()
	op, err := f.Store.GetOperation(context.Background(), f.Sub, id)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func TestRunner_RunPending(t *testing.T) {
	f := fixture(t)
	begin(t, f, "ok", "ok")
	begin(t, f, "fails", "fails")
	begin(t, f, "transient", "transient")
	begin(t, f, "unknown", "unknown")
	var attempts atomic.Int32
	r := &operations.Runner{Store: f.Store, Holder: "node-a", Handlers: map[string]operations.Handler{
		"ok":    func(context.Context, *galleon.Operation) error { return nil },
		"fails": func(context.Context, *galleon.Operation) error { return galleon.Errorf(galleon.CodeConflict, "no") },
		"transient": func(context.Context, *galleon.Operation) error {
			if attempts.Add(1) == 1 {
				return errors.New("database is busy")
			}
			return nil
		},
	}}
	if err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"ok": galleon.OperationSucceeded, "fails": galleon.OperationFailed,
		"transient": galleon.OperationInProgress, "unknown": galleon.OperationFailed} {
		if got := status(t, f, id).Status; got != want {
			t.Errorf("%s: status %s, want %s", id, got, want)
		}
	}
	if e := status(t, f, "fails").Error; e == nil || e.Code != galleon.CodeConflict {
		t.Errorf("a failed operation keeps its error: %+v", e)
	}
	// The transient failure is retried after its backoff, not at once.
	if err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if attempts.Load() != 1 {
		t.Fatalf("retried before the backoff: %d attempts", attempts.Load())
	}
	// Claims compare with the store's clock, so wait out the 1 s backoff.
	time.Sleep(1100 * time.Millisecond)
	if err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := status(t, f, "transient").Status; got != galleon.OperationSucceeded {
		t.Errorf("transient after its retry: %s", got)
	}
}

func TestRunner_TwoNodesNeverRunOneOperation(t *testing.T) {
	f := fixture(t)
	for i := range 10 {
		begin(t, f, sprintf("op%d", i), "count")
	}
	var runs atomic.Int32
	handlers := map[string]operations.Handler{"count": func(context.Context, *galleon.Operation) error {
		runs.Add(1)
		time.Sleep(5 * time.Millisecond)
		return nil
	}}
	a := &operations.Runner{Store: f.Store, Holder: "a", Handlers: handlers}
	b := &operations.Runner{Store: f.Store, Holder: "b", Handlers: handlers}
	done := make(chan error, 2)
	go func() { done <- a.RunPending(context.Background()) }()
	go func() { done <- b.RunPending(context.Background()) }()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if runs.Load() != 10 {
		t.Fatalf("10 operations ran %d times between two runners", runs.Load())
	}
}

func TestRunner_NudgeRunsSoon(t *testing.T) {
	f := fixture(t)
	ran := make(chan struct{}, 1)
	r := &operations.Runner{Store: f.Store, Holder: "a", Interval: time.Hour, Handlers: map[string]operations.Handler{
		"k": func(context.Context, *galleon.Operation) error { ran <- struct{}{}; return nil },
	}}
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	time.Sleep(50 * time.Millisecond) // the first pass finds nothing
	begin(t, f, "x", "k")
	r.Nudge()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a nudge did not start a pass within 5s (the interval is an hour)")
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestRunner_GivesUpAfterMaxAttempts fails an operation whose handler
// keeps failing transiently, telling the handler when it is on its last
// attempt.
func TestRunner_GivesUpAfterMaxAttempts(t *testing.T) {
	f := fixture(t)
	begin(t, f, "flaky", "flaky")
	var lasts []bool
	r := &operations.Runner{Store: f.Store, Holder: "node-a", MaxAttempts: 3, Handlers: map[string]operations.Handler{
		"flaky": func(ctx context.Context, _ *galleon.Operation) error {
			lasts = append(lasts, operations.LastAttempt(ctx))
			return errors.New("connection refused")
		},
	}}
	// Backoffs of 1 s and 2 s separate the three attempts.
	for _, wait := range []time.Duration{0, 1100 * time.Millisecond, 2100 * time.Millisecond} {
		time.Sleep(wait)
		if err := r.RunPending(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(lasts) != "[false false true]" {
		t.Fatalf("LastAttempt over the attempts: %v", lasts)
	}
	op := status(t, f, "flaky")
	if op.Status != galleon.OperationFailed || op.Error == nil || op.Error.Code != galleon.CodeInternal {
		t.Fatalf("after the last attempt: %s, %+v", op.Status, op.Error)
	}
	if err := r.RunPending(context.Background()); err != nil || len(lasts) != 3 {
		t.Fatalf("a failed operation ran again: %v, %d attempts", err, len(lasts))
	}
}
