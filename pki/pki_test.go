package pki

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	m1, err := LoadOrCreate(dir, []string{"galleon.example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "galleon.example.com"} {
		if err := m1.Certificate.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not cover %s: %v", h, err)
		}
	}
	for name, want := range map[string]os.FileMode{CAKeyFile: 0o600, ServerKeyFile: 0o600, CAFile: 0o644, ServerFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", fi.Mode().Perm())
	}

	t.Run("Reuse", func(t *testing.T) {
		caBefore, _ := os.ReadFile(filepath.Join(dir, CAFile))
		serverBefore, _ := os.ReadFile(filepath.Join(dir, ServerFile))
		m2, err := LoadOrCreate(dir, []string{"galleon.example.com"}, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		caAfter, _ := os.ReadFile(filepath.Join(dir, CAFile))
		serverAfter, _ := os.ReadFile(filepath.Join(dir, ServerFile))
		if string(caBefore) != string(caAfter) || string(serverBefore) != string(serverAfter) {
			t.Error("a second start should reuse both certificates")
		}
		if !m2.CA.Equal(m1.CA) {
			t.Error("CA differs")
		}
	})

	t.Run("NewHostReissuesServerKeepsCA", func(t *testing.T) {
		m3, err := LoadOrCreate(dir, []string{"10.1.2.3"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if !m3.CA.Equal(m1.CA) {
			t.Error("the CA must never change")
		}
		if err := m3.Certificate.Leaf.VerifyHostname("10.1.2.3"); err != nil {
			t.Errorf("new host not covered: %v", err)
		}
	})

	t.Run("NearExpiryReissues", func(t *testing.T) {
		later := now.Add(serverValidity - 10*24*time.Hour)
		m4, err := LoadOrCreate(dir, nil, later)
		if err != nil {
			t.Fatal(err)
		}
		if !m4.Certificate.Leaf.NotAfter.After(later.Add(renewBefore)) {
			t.Errorf("server certificate not renewed: expires %v", m4.Certificate.Leaf.NotAfter)
		}
	})
}

func TestHandshakeTrustsCA(t *testing.T) {
	m, err := LoadOrCreate(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{m.Certificate}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{RootCAs: m.Pool, ServerName: host})
		if err != nil {
			t.Errorf("handshake as %s: %v", host, err)
			continue
		}
		c.Close()
	}
	// Another CA's pool must not trust this server.
	other, err := LoadOrCreate(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: other.Pool, ServerName: "127.0.0.1"}); err == nil {
		c.Close()
		t.Error("a client trusting another CA completed the handshake")
	}
}

func TestInstallCA_SharesOneCA(t *testing.T) {
	now := time.Now()
	nodeA, nodeB := t.TempDir(), t.TempDir()
	bundle, err := LoadOrCreateCABundle(nodeA, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(nodeB, nil, now); err != nil { // B first made its own CA and server cert
		t.Fatal(err)
	}
	if err := InstallCA(nodeB, bundle); err != nil {
		t.Fatal(err)
	}
	a, err := LoadOrCreate(nodeA, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(nodeB, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if !a.CA.Equal(b.CA) {
		t.Fatal("the nodes should share one CA")
	}
	if err := b.Certificate.Leaf.CheckSignatureFrom(a.CA); err != nil {
		t.Fatalf("B's server certificate should be reissued by the shared CA: %v", err)
	}
	if err := InstallCA(nodeB, []byte("not pem")); err == nil {
		t.Error("a malformed bundle should be refused")
	}
}
