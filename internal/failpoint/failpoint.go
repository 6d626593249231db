// Package failpoint injects faults at named points of Galleon's
// multi-step writes (sealing, importing, replicating, collecting,
// deleting), so tests can stop an operation between two of its steps and
// check what a crash there would leave behind.
//
// A point is a call, Hit("seal/after-record"), that does nothing unless
// the point is armed; unarmed, it costs one atomic load. Tests arm points
// in process with Enable; a built binary arms them from the environment,
// GALLEON_FAILPOINTS="seal/after-record=exit;gc/before-delete=error",
// read once at start by Setup.
package failpoint

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// EnvVar names the environment variable Setup reads.
const EnvVar = "GALLEON_FAILPOINTS"

// Action is what an armed point does when it is hit.
type Action int

const (
	// ReturnError makes Hit return an *Injected: the step fails as an I/O error would.
	ReturnError Action = iota + 1
	// Panic makes Hit panic with a Crash: nothing after the point runs on
	// this goroutine. Tests recover it to simulate a process that died
	// there, in process.
	Panic
	// Exit kills the process with SIGKILL, as kill -9 would: no deferred
	// function, no graceful shutdown, nothing after the point.
	Exit
	// Call runs a test's func at the point and returns its error: a test
	// interleaves another request there, deterministically.
	Call
)

// Injected is what Hit returns at a point armed with ReturnError.
type Injected struct{ Point string }

func (e *Injected) Error() string { return "failpoint " + e.Point + ": injected error" }

// Crash is the value Hit panics with at a point armed with Panic.
type Crash struct{ Point string }

func (c Crash) String() string { return "failpoint " + c.Point + ": injected crash" }

var (
	armed  atomic.Bool // any point armed: the only cost of Hit otherwise
	mu     sync.Mutex
	points = map[string]*point{}
)

type point struct {
	action Action
	fn     func() error // for Call
	skip   int          // hits to let pass before acting
	hits   int          // times the point was reached while armed
}

// Hit is a named point. Unarmed, it returns nil at the cost of an atomic
// load; armed, it does the point's Action.
func Hit(name string) error {
	if !armed.Load() {
		return nil
	}
	mu.Lock()
	p, ok := points[name]
	var act Action
	var fn func() error
	if ok {
		p.hits++
		if p.hits > p.skip {
			act, fn = p.action, p.fn
		}
	}
	mu.Unlock()
	switch act {
	case Call:
		return fn()
	case ReturnError:
		return &Injected{Point: name}
	case Panic:
		panic(Crash{Point: name})
	case Exit:
		// Killing ourselves is what a crash test of the binary wants: the
		// process ends here, with whatever was persisted so far.
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; wait for it to land
	}
	return nil
}

// Enable arms point name with action after skip hits have passed, and
// returns a func that disarms it. Points are process-wide: tests that arm
// them must not run in parallel with tests that pass the same points.
func Enable(name string, action Action, skip int) (disable func()) {
	mu.Lock()
	points[name] = &point{action: action, skip: skip}
	armed.Store(true)
	mu.Unlock()
	return func() {
		mu.Lock()
		delete(points, name)
		armed.Store(len(points) > 0)
		mu.Unlock()
	}
}

// EnableFunc arms point name to call fn at every hit (Call), and returns a
// func that disarms it. fn runs without the package's lock held, so it may
// pass the point again.
func EnableFunc(name string, fn func() error) (disable func()) {
	disable = Enable(name, Call, 0)
	mu.Lock()
	points[name].fn = fn
	mu.Unlock()
	return disable
}

// Hits reports how often an armed point was reached.
func Hits(name string) int {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := points[name]; ok {
		return p.hits
	}
	return 0
}

// Setup arms the points spec names: entries "name=action" or
// "name=action@skip", separated by ';' or ','; action is error, panic or
// exit. An empty spec arms nothing.
func Setup(spec string) error {
	for _, entry := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == ',' }) {
		name, act, ok := strings.Cut(strings.TrimSpace(entry), "=")
		skip := 0
		if a, n, found := strings.Cut(act, "@"); found {
			if _, err := fmt.Sscanf(n, "%d", &skip); err != nil || skip < 0 {
				return fmt.Errorf("%s: %q: the skip count must be a whole number", EnvVar, entry)
			}
			act = a
		}
		var a Action
		switch act {
		case "error":
			a = ReturnError
		case "panic":
			a = Panic
		case "exit":
			a = Exit
		}
		if !ok || name == "" || a == 0 {
			return fmt.Errorf("%s: %q is not name=error|panic|exit[@skip]", EnvVar, entry)
		}
		Enable(name, a, skip)
	}
	return nil
}

// SetupFromEnv arms the points named in GALLEON_FAILPOINTS.
func SetupFromEnv() error {
	return Setup(os.Getenv(EnvVar))
}

// IsInjected reports whether err came from an armed point.
func IsInjected(err error) bool {
	var e *Injected
	return errors.As(err, &e)
}
