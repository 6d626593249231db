// Package signinlimit slows down the guessing of passwords and client
// secrets. It counts failed sign-ins per account and per client address,
// each in a token bucket: an account may fail AccountBurst times at once,
// then once every AccountEvery; an address AddressBurst times, then once
// every AddressEvery. Only failures count, so the owner who knows the
// password is slowed only while someone else is guessing, and clients that
// sign in often from one address are never slowed.
//
// Counts live in memory, on each node: behind a balancer of n nodes a
// guesser gets n times the rate. The package does no I/O and reads the
// clock only through Limiter.Now.
//
// An attempt takes its token before the credential is checked (Try) and
// gives it back when the credential proves right (Succeeded): checking a
// password takes long enough that counting failures afterwards would let
// many guesses sent at once all pass the check.
package signinlimit

import (
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultLockout is how long an account waits between tries once it has
// used up its failures.
const DefaultLockout = 12 * time.Second

// Limiter counts failed sign-ins. The zero value is not usable; New
// returns one. A Limiter is safe for concurrent use; set its fields before
// the first call.
type Limiter struct {
	AccountEvery time.Duration
	AccountBurst int
	AddressEvery time.Duration
	AddressBurst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	accounts  map[string]*bucket
	addresses map[string]*bucket
	lastSweep time.Time
}

// New returns the limits Galleon documents, scaled by lockout
// (DefaultLockout if not positive): an account may fail 5 times, then once
// every lockout (12 s); an address 20 times, then once every lockout/4
// (3 s).
func New(lockout time.Duration) *Limiter {
	if lockout <= 0 {
		lockout = DefaultLockout
	}
	return &Limiter{
		AccountEvery: lockout, AccountBurst: 5,
		AddressEvery: lockout / 4, AddressBurst: 20,
	}
}

// A Refusal says why Try refused an attempt.
type Refusal struct {
	// Address is true when the client address's limit refused, false
	// when the account's did.
	Address bool
	// RetryAfter is how long until the limits allow one more try, in
	// whole seconds, at least one.
	RetryAfter time.Duration
}

// Seconds is RetryAfter in whole seconds, as a Retry-After header and a
// message give it.
func (r *Refusal) Seconds() int { return int(r.RetryAfter / time.Second) }

// bucket holds tokens as of at; it refills continuously up to the burst.
// A missing bucket is a full one.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) level(now time.Time, every time.Duration, burst int) float64 {
	if b == nil {
		return float64(burst)
	}
	elapsed := max(now.Sub(b.at), 0)
	return min(b.tokens+float64(elapsed)/float64(every), float64(burst))
}

// wait is how long until a bucket at level has a whole token, rounded up
// to whole seconds (after rounding to the millisecond, so that float error
// does not add a second).
func wait(level float64, every time.Duration) time.Duration {
	d := time.Duration((1 - level) * float64(every)).Round(time.Millisecond)
	return max((d+time.Second-1)/time.Second, 1) * time.Second
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Try reserves one failure of account from address: the attempt may go
// ahead (nil), or a Refusal says which limit refused it and for how long.
// An allowed attempt counts as a failure unless Succeeded gives it back.
// Accounts compare case-insensitively. A refused attempt changes nothing
// and keeps nothing in memory.
func (l *Limiter) Try(account, address string) *Refusal {
	account = strings.ToLower(account)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.accounts == nil {
		l.accounts, l.addresses = map[string]*bucket{}, map[string]*bucket{}
	}
	l.sweep(now)
	acc := l.accounts[account].level(now, l.AccountEvery, l.AccountBurst)
	addr := l.addresses[address].level(now, l.AddressEvery, l.AddressBurst)
	switch {
	case acc < 1 && addr < 1:
		return &Refusal{RetryAfter: max(wait(acc, l.AccountEvery), wait(addr, l.AddressEvery))}
	case acc < 1:
		return &Refusal{RetryAfter: wait(acc, l.AccountEvery)}
	case addr < 1:
		return &Refusal{Address: true, RetryAfter: wait(addr, l.AddressEvery)}
	}
	l.accounts[account] = &bucket{tokens: acc - 1, at: now}
	l.addresses[address] = &bucket{tokens: addr - 1, at: now}
	return nil
}

// Succeeded gives back the failure Try reserved for an attempt whose
// credential proved right (or was never checked): it does not count, and
// the failures of others stay counted.
func (l *Limiter) Succeeded(account, address string) {
	account = strings.ToLower(account)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	refund := func(m map[string]*bucket, key string, every time.Duration, burst int) {
		if b := m[key]; b != nil {
			b.tokens, b.at = min(b.level(now, every, burst)+1, float64(burst)), now
		}
	}
	refund(l.accounts, account, l.AccountEvery, l.AccountBurst)
	refund(l.addresses, address, l.AddressEvery, l.AddressBurst)
}

// sweep forgets buckets that have refilled, once a minute; l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for _, m := range []struct {
		buckets map[string]*bucket
		every   time.Duration
		burst   int
	}{
		{l.accounts, l.AccountEvery, l.AccountBurst},
		{l.addresses, l.AddressEvery, l.AddressBurst},
	} {
		for k, b := range m.buckets {
			if b.level(now, m.every, m.burst) >= float64(m.burst) {
				delete(m.buckets, k)
			}
		}
	}
}

// PeerAddress is the client address a limit counts: the host of an
// http.Request's RemoteAddr, the connection's peer. Forwarded headers are
// not trusted: anyone can write them.
func PeerAddress(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
