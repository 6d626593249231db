package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// NewClientSecret returns a random client secret in the style Entra uses:
// 40 characters from a 66-letter URL-safe alphabet (about 241 bits), which
// needs no quoting in a shell, a URL or a form. The first character is a
// letter or digit: a secret starting with "-" is taken for an option by
// command-line parsers such as az's ("az login -p -x..." fails with
// "expected one argument").
func NewClientSecret() (string, error) {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	first, err := randomString(1, alnum)
	if err != nil {
		return "", err
	}
	rest, err := randomString(39, alnum+"~._-")
	return first + rest, err
}

// NewPassword returns a random password for a bootstrap account: 24
// letters and digits without look-alikes (0/O, 1/l/I), for a person to
// copy by hand.
func NewPassword() (string, error) {
	return randomString(24, "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
}

func randomString(n int, alphabet string) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the choice
	for b.Len() < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		if int(buf[0]) >= limit {
			continue
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
	}
	return b.String(), nil
}

// HashClientSecret hashes a client secret for storage, as
// "sha256$<salt>$<digest>". Not argon2: a memory-hard hash slows the
// guessing of low-entropy secrets chosen by people, but a client secret is
// 40 random characters (~241 bits) that no amount of guessing reaches, so
// it would only make every token request cost ~50 ms of CPU and 19 MiB.
// The salt still keeps equal secrets from having equal hashes.
func HashClientSecret(secret string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "sha256$" + enc(salt) + "$" + enc(saltedSHA256(salt, secret))
}

// CheckClientSecret reports whether secret matches a HashClientSecret hash.
func CheckClientSecret(hash, secret string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 3 || parts[0] != "sha256" {
		return false
	}
	salt, err1 := dec(parts[1])
	want, err2 := dec(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	return subtle.ConstantTimeCompare(saltedSHA256(salt, secret), want) == 1
}

func saltedSHA256(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// argon2id parameters, after OWASP's recommendation (19 MiB, 2 passes).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	// maxArgonMemoryKiB bounds what CheckPassword accepts from a hash.
	maxArgonMemoryKiB = 1 << 20
)

// HashPassword hashes a person's password with argon2id, in the PHC string
// format that carries its parameters.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc(salt), enc(key)), nil
}

// CheckPassword reports whether password matches a HashPassword hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false
	}
	// argon2 panics on zero passes or threads; a hash from a damaged row
	// must not take the server down, nor make it allocate without bound.
	if time == 0 || threads == 0 || memory < 8*uint32(threads) || memory > maxArgonMemoryKiB {
		return false
	}
	salt, err1 := dec(parts[4])
	want, err2 := dec(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func enc(b []byte) string          { return base64.RawStdEncoding.EncodeToString(b) }
func dec(s string) ([]byte, error) { return base64.RawStdEncoding.DecodeString(s) }
