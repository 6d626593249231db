package identity

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestNewClientSecret(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
	seen := map[string]bool{}
	for range 1000 {
		s, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 40 || strings.Trim(s, alphabet) != "" {
			t.Fatalf("NewClientSecret() = %q, want 40 characters of %s", s, alphabet)
		}
		if strings.ContainsAny(s[:1], "~._-") {
			t.Fatalf("NewClientSecret() = %q starts with punctuation, which command lines take for an option", s)
		}
		if seen[s] {
			t.Fatalf("NewClientSecret() repeated %q", s)
		}
		seen[s] = true
	}
}

func TestNewPassword(t *testing.T) {
	p, err := NewPassword()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 24 || strings.ContainsAny(p, "0O1lI") {
		t.Errorf("NewPassword() = %q, want 24 characters without look-alikes", p)
	}
	if q, _ := NewPassword(); q == p {
		t.Error("NewPassword() repeated itself")
	}
}

func TestCheckClientSecret(t *testing.T) {
	hash := HashClientSecret(secret)
	if strings.Contains(hash, secret) {
		t.Fatal("the hash contains the secret")
	}
	if HashClientSecret(secret) == hash {
		t.Error("hashes must be salted")
	}
	for _, tt := range []struct {
		name         string
		hash, secret string
		want         bool
	}{
		{"OK", hash, secret, true},
		{"ErrWrongSecret", hash, secret + "x", false},
		{"ErrEmptySecret", hash, "", false},
		{"ErrPrefix", hash, secret[:39], false},
		{"ErrGarbageHash", "garbage", secret, false},
		{"ErrEmptyHash", "", secret, false},
		{"ErrOtherScheme", strings.Replace(hash, "sha256$", "md5$", 1), secret, false},
		{"ErrBadBase64", "sha256$!!$!!", secret, false},
		{"ErrPasswordHash", mustHashPassword(t, secret), secret, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckClientSecret(tt.hash, tt.secret); got != tt.want {
				t.Errorf("CheckClientSecret() = %v, want %v", got, tt.want)
			}
		})
	}
}

func mustHashPassword(tb testing.TB, pw string) string {
	tb.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// phc hashes pw with the given argon2id parameters, in HashPassword's format.
func phc(pw, salt string, time, memory uint32, threads uint8) string {
	key := argon2.IDKey([]byte(pw), []byte(salt), time, memory, threads, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", memory, time, threads, enc([]byte(salt)), enc(key))
}

func TestCheckPassword(t *testing.T) {
	hash := mustHashPassword(t, "correct horse")
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry its parameters", hash)
	}
	if mustHashPassword(t, "correct horse") == hash {
		t.Error("hashes must be salted")
	}
	parts := strings.Split(hash, "$")
	withParams := func(params string) string {
		p := append([]string(nil), parts...)
		p[3] = params
		return strings.Join(p, "$")
	}
	for _, tt := range []struct {
		name     string
		hash, pw string
		want     bool
	}{
		{"OK", hash, "correct horse", true},
		// Parameters come from the hash, so old hashes survive a change of
		// the defaults.
		{"OKOtherParams", phc("pw", "saltsalt", 1, 8, 1), "pw", true},
		{"ErrWrongPassword", hash, "wrong horse", false},
		{"ErrEmptyPassword", hash, "", false},
		{"ErrTruncated", "$argon2id$x", "correct horse", false},
		{"ErrArgon2i", strings.Replace(hash, "argon2id", "argon2i", 1), "correct horse", false},
		{"ErrVersion", strings.Replace(hash, "v=19", "v=16", 1), "correct horse", false},
		// A damaged row must neither panic nor allocate without bound.
		{"ErrZeroTime", withParams("m=19456,t=0,p=1"), "correct horse", false},
		{"ErrZeroThreads", withParams("m=19456,t=2,p=0"), "correct horse", false},
		{"ErrHugeMemory", withParams("m=4294967295,t=2,p=1"), "correct horse", false},
		{"ErrClientSecretHash", HashClientSecret("correct horse"), "correct horse", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPassword(tt.hash, tt.pw); got != tt.want {
				t.Errorf("CheckPassword() = %v, want %v", got, tt.want)
			}
		})
	}
}
