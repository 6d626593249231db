package chunkstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest is the sha256 of some content: of one chunk (its name in the
// bucket) or of a whole image (Manifest.Digest). It is a comparable value,
// so it can be a map key and compared with ==.
type Digest [sha256.Size]byte

// digestPrefix names the algorithm in the text form, as OCI digests do, so
// that a later algorithm can be told apart without guessing from the length.
const digestPrefix = "sha256:"

// Sum returns the digest of b.
func Sum(b []byte) Digest { return sha256.Sum256(b) }

// ParseDigest parses the text form "sha256:<64 lowercase hex digits>".
// Uppercase hex is refused so that every digest has exactly one spelling:
// the text form is used as a key, and two spellings would be two keys.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	h, ok := strings.CutPrefix(s, digestPrefix)
	if !ok || len(h) != 2*len(d) || strings.ToLower(h) != h {
		return Digest{}, fmt.Errorf("chunkstore: malformed digest %q: want %s and 64 lowercase hex digits", s, digestPrefix)
	}
	if _, err := hex.Decode(d[:], []byte(h)); err != nil {
		return Digest{}, fmt.Errorf("chunkstore: malformed digest %q: %v", s, err)
	}
	return d, nil
}

// String returns "sha256:<hex>".
func (d Digest) String() string { return digestPrefix + d.Hex() }

// Hex returns the 64 lowercase hex digits alone.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the zero value, which is no digest at all
// (the sha256 of empty content is not zero).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText makes a Digest encode as its string form in JSON, also as a
// map key.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the string form.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
