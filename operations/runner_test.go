package operations

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// memStore is an in-memory operation queue for testing the runner alone.
type memStore struct {
	mu  sync.Mutex
	ops map[string]*galleon.Operation
}

func (m *memStore) ListOperations(_ context.Context, status string) ([]galleon.Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []galleon.Operation
	for _, op := range m.ops {
		if op.Status == status {
			out = append(out, *op)
		}
	}
	return out, nil
}

func (m *memStore) CompleteOperation(_ context.Context, id, status string, e *galleon.Error, end time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := m.ops[id]
	if op.Status == galleon.OperationInProgress {
		op.Status, op.Error, op.EndTime = status, e, &end
	}
	return nil
}

func (m *memStore) status(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops[id].Status
}

func newStore(kinds ...string) *memStore {
	m := &memStore{ops: map[string]*galleon.Operation{}}
	for _, k := range kinds {
		m.ops[k] = &galleon.Operation{ID: k, Kind: k, Status: galleon.OperationInProgress}
	}
	return m
}

func TestRunner_RunPending(t *testing.T) {
	store := newStore("ok", "fails", "transient", "unknown")
	attempts := 0
	r := &Runner{Store: store, Now: time.Now, Handlers: map[string]Handler{
		"ok":    func(context.Context, *galleon.Operation) error { return nil },
		"fails": func(context.Context, *galleon.Operation) error { return galleon.Errorf(galleon.CodeConflict, "no") },
		"transient": func(context.Context, *galleon.Operation) error {
			attempts++
			if attempts == 1 {
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
		if got := store.status(id); got != want {
			t.Errorf("%s: status %s, want %s", id, got, want)
		}
	}
	if store.ops["fails"].Error.Code != galleon.CodeConflict {
		t.Errorf("a failed operation keeps its error: %+v", store.ops["fails"].Error)
	}
	// The next pass retries the transient failure and finishes it.
	if err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.status("transient"); got != galleon.OperationSucceeded {
		t.Errorf("transient after retry: %s", got)
	}
}

func TestRunner_NudgeRunsSoon(t *testing.T) {
	store := newStore()
	done := make(chan struct{})
	r := &Runner{Store: store, Interval: time.Hour, Handlers: map[string]Handler{
		"k": func(context.Context, *galleon.Operation) error { close(done); return nil },
	}}
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	time.Sleep(20 * time.Millisecond) // let the first pass find nothing
	store.mu.Lock()
	store.ops["x"] = &galleon.Operation{ID: "x", Kind: "k", Status: galleon.OperationInProgress}
	store.mu.Unlock()
	r.Nudge()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a nudge did not start a pass within 5s (the interval is an hour)")
	}
}
