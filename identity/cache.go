package identity

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
)

// maxVerified bounds the verified-token cache; when full it is emptied,
// which costs one verification per live token and needs no bookkeeping.
const maxVerified = 10000

// verifiedCache remembers tokens that passed verification, keyed by their
// SHA-256, until they expire.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedToken
}

type verifiedToken struct {
	principal galleon.Principal
	audience  string // checked against each verifier's own audiences on every use
	expires   time.Time
}

func (c *verifiedCache) get(raw string, now time.Time) (verifiedToken, bool) {
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return verifiedToken{}, false
	}
	// The same leeway as verification, so a cached answer never outlives
	// the one a fresh verification would give.
	if now.After(v.expires.Add(clockSkew)) {
		delete(c.m, key)
		return verifiedToken{}, false
	}
	return v, true
}

func (c *verifiedCache) put(raw string, v verifiedToken) {
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxVerified {
		c.m = make(map[[32]byte]verifiedToken)
	}
	c.m[key] = v
}
