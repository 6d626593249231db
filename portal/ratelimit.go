package portal

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// signInLimiter slows down password guessing on the sign-in form, per
// account and per client address, on this node (each node counts for
// itself: behind a balancer of n nodes a guesser gets n times the rate).
//
//   - An address may try AddressBurst sign-ins at once, then one every
//     AddressEvery, whatever the outcome.
//   - An account may fail AccountBurst times at once, then once every
//     AccountEvery. Only failures count, so the owner who knows the
//     password is slowed only while someone else is guessing.
type signInLimiter struct {
	AccountEvery time.Duration
	AccountBurst int
	AddressEvery time.Duration
	AddressBurst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	accounts  map[string]*entry
	addresses map[string]*entry
	lastSweep time.Time
}

type entry struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{
		AccountEvery: 12 * time.Second, AccountBurst: 5, // 5 failures, then 5 a minute
		AddressEvery: 3 * time.Second, AddressBurst: 20, // 20 tries, then 20 a minute
	}
}

func (l *signInLimiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// get returns the limiter of key in m, creating it; l.mu is held.
func (l *signInLimiter) get(m map[string]*entry, key string, every time.Duration, burst int, now time.Time) *rate.Limiter {
	e := m[key]
	if e == nil {
		e = &entry{limiter: rate.NewLimiter(rate.Every(every), burst)}
		m[key] = e
	}
	e.seen = now
	return e.limiter
}

// sweep forgets limiters untouched for longer than they take to refill;
// l.mu is held.
func (l *signInLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for _, m := range []struct {
		entries map[string]*entry
		full    time.Duration
	}{
		{l.accounts, l.AccountEvery * time.Duration(l.AccountBurst)},
		{l.addresses, l.AddressEvery * time.Duration(l.AddressBurst)},
	} {
		for k, e := range m.entries {
			if now.Sub(e.seen) > m.full {
				delete(m.entries, k)
			}
		}
	}
}

// Allow reports whether a sign-in of account from address may be tried
// now, and if not, how long to wait. An allowed try is counted against
// the address.
func (l *signInLimiter) Allow(account, address string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.accounts == nil {
		l.accounts, l.addresses = map[string]*entry{}, map[string]*entry{}
	}
	l.sweep(now)
	acc := l.get(l.accounts, strings.ToLower(account), l.AccountEvery, l.AccountBurst, now)
	if acc.TokensAt(now) < 1 {
		return false, waitFor(acc, now)
	}
	addr := l.get(l.addresses, address, l.AddressEvery, l.AddressBurst, now)
	if !addr.AllowN(now, 1) {
		return false, waitFor(addr, now)
	}
	return true, 0
}

// Failed counts a failed sign-in against the account.
func (l *signInLimiter) Failed(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.accounts == nil {
		l.accounts, l.addresses = map[string]*entry{}, map[string]*entry{}
	}
	l.get(l.accounts, strings.ToLower(account), l.AccountEvery, l.AccountBurst, now).AllowN(now, 1)
}

// waitFor is how long until lim has a whole token.
func waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	d := time.Duration(missing / float64(lim.Limit()) * float64(time.Second))
	return max(d.Round(time.Second), time.Second)
}
