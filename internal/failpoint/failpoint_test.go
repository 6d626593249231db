package failpoint

import (
	"errors"
	"testing"
)

func TestHit(t *testing.T) {
	if err := Hit("x/unarmed"); err != nil {
		t.Fatalf("an unarmed point: %v", err)
	}
	off := Enable("x/error", ReturnError, 1)
	if err := Hit("x/error"); err != nil {
		t.Fatalf("the skipped first hit: %v", err)
	}
	if err := Hit("x/error"); !IsInjected(err) {
		t.Fatalf("the second hit = %v, want an injected error", err)
	}
	if Hits("x/error") != 2 {
		t.Errorf("Hits = %d, want 2", Hits("x/error"))
	}
	if err := Hit("x/other"); err != nil {
		t.Fatalf("another point while one is armed: %v", err)
	}
	off()
	if err := Hit("x/error"); err != nil || armed.Load() {
		t.Fatalf("after disarming: %v, armed %v", err, armed.Load())
	}

	calls := 0
	offCall := EnableFunc("x/call", func() error {
		calls++
		if calls == 1 {
			return Hit("x/call") // a point may be passed again from within
		}
		return errors.New("second")
	})
	if err := Hit("x/call"); err == nil || err.Error() != "second" || calls != 2 {
		t.Fatalf("a Call point = %v after %d calls, want the inner call's error after 2", err, calls)
	}
	offCall()

	defer Enable("x/panic", Panic, 0)()
	defer func() {
		c, ok := recover().(Crash)
		if !ok || c.Point != "x/panic" {
			t.Fatalf("recovered %v, want the crash of x/panic", c)
		}
	}()
	_ = Hit("x/panic")
	t.Fatal("Hit returned from a point armed to panic")
}

func TestSetup(t *testing.T) {
	for _, tt := range []struct {
		spec string
		ok   bool
	}{
		{"", true},
		{"a/b=error", true},
		{"a/b=panic@2; c/d=exit", true},
		{"a/b", false},
		{"a/b=explode", false},
		{"=error", false},
		{"a/b=error@-1", false},
		{"a/b=error@x", false},
	} {
		err := Setup(tt.spec)
		if (err == nil) != tt.ok {
			t.Errorf("Setup(%q) = %v, want ok %v", tt.spec, err, tt.ok)
		}
		mu.Lock()
		points = map[string]*point{}
		armed.Store(false)
		mu.Unlock()
	}
	if err := Setup("a/b=error@1"); err != nil {
		t.Fatal(err)
	}
	defer func() { mu.Lock(); points = map[string]*point{}; armed.Store(false); mu.Unlock() }()
	if err := Hit("a/b"); err != nil {
		t.Fatalf("first hit of a/b=error@1: %v", err)
	}
	var e *Injected
	if err := Hit("a/b"); !errors.As(err, &e) || e.Point != "a/b" {
		t.Fatalf("second hit: %v", err)
	}
}
