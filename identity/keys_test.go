package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestLoadOrCreateSigningKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, "token-signing.pem")
	k1, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Format", func(t *testing.T) {
		if k1.N.BitLen() != 2048 {
			t.Errorf("key has %d bits, want 2048", k1.N.BitLen())
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("not a PKCS#8 PEM file: %.40q", data)
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			t.Errorf("PKCS#8: %v", err)
		}
	})

	t.Run("Modes", func(t *testing.T) {
		for _, tt := range []struct {
			path string
			want os.FileMode
		}{
			{path, 0o600},
			{dir, 0o700},
		} {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("%s mode %v, want %v", tt.path, got, tt.want)
			}
		}
	})

	t.Run("Reuse", func(t *testing.T) {
		k2, err := LoadOrCreateSigningKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !k1.Equal(k2) {
			t.Error("a second start made a new key")
		}
		if got, want := KeyID(&k2.PublicKey), KeyID(&k1.PublicKey); got != want {
			t.Errorf("kid %s after restart, want %s", got, want)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, data) {
			t.Error("the key file was rewritten")
		}
	})

	t.Run("ErrCorruptFileKept", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigningKey(bad); err == nil {
			t.Fatal("a corrupt key file must be an error, not replaced")
		}
		if got, _ := os.ReadFile(bad); string(got) != "not a key" {
			t.Error("the corrupt key file was overwritten")
		}
	})
}

func TestParseSigningKey(t *testing.T) {
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tt := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"OK", EncodeSigningKey(testKey()), true},
		{"ErrNoPEM", []byte("garbage"), false},
		{"ErrNotPKCS8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), false},
		{"ErrECDSA", pkcs8(ec), false},
		{"ErrWeakRSA", pkcs8(weak), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseSigningKey(tt.data)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSigningKey() err = %v, want ok = %v", err, tt.ok)
			}
			if tt.ok && !k.Equal(testKey()) {
				t.Error("round trip changed the key")
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a, b := KeyID(&testKey().PublicKey), KeyID(&other.PublicKey)
	if a == b {
		t.Error("two keys share a kid")
	}
	if a != KeyID(&testKey().PublicKey) {
		t.Error("kid is not deterministic")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(a) {
		t.Errorf("kid %q is not 22 base64url characters", a)
	}
}
