package signinlimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// attempt is one sign-in in a scenario.
type attempt struct {
	at       time.Duration // since the scenario's start
	account  string
	address  string
	succeeds bool   // the credential is right: Succeeded is called
	want     string // "ok", or "account 12s" / "address 3s" for a refusal
}

// repeat is n copies of a.
func repeat(n int, a attempt) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = a
	}
	return out
}

// manyUsers is n failures of different accounts from address at at.
func manyUsers(n int, address string, at time.Duration) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = attempt{at: at, account: fmt.Sprintf("user%d@x", i), address: address, want: "ok"}
	}
	return out
}

func concat(parts ...[]attempt) []attempt {
	var out []attempt
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLimiter_Try(t *testing.T) {
	fail := func(at time.Duration, account, address, want string) attempt {
		return attempt{at: at, account: account, address: address, want: want}
	}
	for _, tt := range []struct {
		name     string
		attempts []attempt
	}{
		{"OKFiveFailures", repeat(5, fail(0, "bob@x", "10.0.0.1", "ok"))},
		{"ErrSixthFailureFromAnyAddress", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{fail(0, "BOB@X", "10.0.0.2", "account 12s")}, // names fold
		)},
		{"ErrRightPasswordWhileLocked", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{{account: "bob@x", address: "10.0.0.1", succeeds: true, want: "account 12s"}},
		)},
		{"OKOtherAccount", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{fail(0, "carol@x", "10.0.0.1", "ok")},
		)},
		{"WaitShrinks", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{fail(5*time.Second, "bob@x", "10.0.0.1", "account 7s")},
		)},
		{"OKAfterTheWindow", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{
				{at: 12 * time.Second, account: "bob@x", address: "10.0.0.1", succeeds: true, want: "ok"},
				fail(12*time.Second, "bob@x", "10.0.0.1", "ok"), // the success gave its try back
				fail(12*time.Second, "bob@x", "10.0.0.1", "account 12s"),
			},
		)},
		{"RefusedTriesDoNotCount", concat(
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{
				fail(4*time.Second, "bob@x", "10.0.0.1", "account 8s"),
				fail(11*time.Second, "bob@x", "10.0.0.1", "account 1s"),
				fail(12*time.Second, "bob@x", "10.0.0.1", "ok"),
			},
		)},
		{"ErrTwentyFirstFailureFromOneAddress", concat(
			manyUsers(20, "10.9.9.9", 0),
			[]attempt{
				fail(0, "new@x", "10.9.9.9", "address 3s"),
				fail(0, "new@x", "10.9.9.8", "ok"),
				fail(3*time.Second, "newer@x", "10.9.9.9", "ok"),
			},
		)},
		{"OKSuccessesNeverCount", repeat(50, attempt{account: "ci@x", address: "10.0.0.1", succeeds: true, want: "ok"})},
		{"SuccessDoesNotReset", concat(
			repeat(4, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{
				{account: "bob@x", address: "10.0.0.2", succeeds: true, want: "ok"},
				fail(0, "bob@x", "10.0.0.1", "ok"),
				fail(0, "bob@x", "10.0.0.1", "account 12s"),
			},
		)},
		{"BothRefusedLongerWait", concat(
			manyUsers(20, "10.9.9.9", 0),
			repeat(5, fail(0, "bob@x", "10.0.0.1", "ok")),
			[]attempt{fail(0, "bob@x", "10.9.9.9", "account 12s")},
		)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			now := start
			l := New(0)
			l.Now = func() time.Time { return now }
			for i, a := range tt.attempts {
				now = start.Add(a.at)
				got := "ok"
				if r := l.Try(a.account, a.address); r != nil {
					kind := "account"
					if r.Address {
						kind = "address"
					}
					got = fmt.Sprintf("%s %ds", kind, r.Seconds())
				} else if a.succeeds {
					l.Succeeded(a.account, a.address)
				}
				if got != a.want {
					t.Fatalf("attempt %d (%s from %s at +%v) = %s, want %s", i+1, a.account, a.address, a.at, got, a.want)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		lockout             time.Duration
		account, address    time.Duration
		accBurst, addrBurst int
	}{
		{0, 12 * time.Second, 3 * time.Second, 5, 20},
		{-time.Second, 12 * time.Second, 3 * time.Second, 5, 20},
		{2 * time.Second, 2 * time.Second, 500 * time.Millisecond, 5, 20},
	} {
		l := New(tt.lockout)
		if l.AccountEvery != tt.account || l.AddressEvery != tt.address || l.AccountBurst != tt.accBurst || l.AddressBurst != tt.addrBurst {
			t.Errorf("New(%v) = %+v, want accounts %d then every %v, addresses %d then every %v",
				tt.lockout, l, tt.accBurst, tt.account, tt.addrBurst, tt.address)
		}
	}
}

// TestLimiter_TryConcurrent sends many guesses at once: only the burst
// passes, however long each check takes.
func TestLimiter_TryConcurrent(t *testing.T) {
	l := New(0)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if l.Try("bob@x", fmt.Sprintf("10.0.0.%d", i)) == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 5 {
		t.Errorf("%d of 100 concurrent guesses allowed, want 5", got)
	}
}

func TestLimiter_Sweep(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := New(0)
	l.Now = func() time.Time { return now }
	for i := range 30 {
		l.Try(fmt.Sprintf("user%d@x", i), fmt.Sprintf("10.0.0.%d", i%3))
	}
	l.Try("bob@x", "10.0.0.1")
	l.Succeeded("bob@x", "10.0.0.1")
	now = now.Add(time.Hour)
	if r := l.Try("x@x", "10.1.1.1"); r != nil {
		t.Fatalf("a new account refused: %+v", r)
	}
	if n := len(l.accounts) + len(l.addresses); n != 2 {
		t.Errorf("%d buckets kept after an hour, want only the new two", n)
	}
	// A refused try keeps nothing.
	for range 5 {
		l.Try("y@x", "10.2.2.2")
	}
	for i := range 100 {
		l.Try("y@x", fmt.Sprintf("10.3.3.%d", i))
	}
	if n := len(l.addresses); n != 2 {
		t.Errorf("%d address buckets after refused tries, want 2", n)
	}
}

func TestPeerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:51234":   "127.0.0.1",
		"[::1]:443":         "::1",
		"[2001:db8::1]:443": "2001:db8::1",
		"10.0.0.1":          "10.0.0.1", // no port: kept whole
		"":                  "",
	} {
		if got := PeerAddress(in); got != want {
			t.Errorf("PeerAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
