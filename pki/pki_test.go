package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// MustLoadOrCreate creates TLS material in a fresh folder.
func MustLoadOrCreate(tb testing.TB, hosts []string, now time.Time) (string, *Material) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "tls")
	m, err := LoadOrCreate(dir, hosts, now)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, m
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestLoadOrCreate_Creates(t *testing.T) {
	now := time.Now()
	dir, m := MustLoadOrCreate(t, []string{"Galleon.Example.com", "10.1.2.3", "[fd00::7]", ""}, now)

	t.Run("Hosts", func(t *testing.T) {
		for _, tt := range []struct {
			host string
			ip   bool
		}{
			{"localhost", false},
			{"127.0.0.1", true},
			{"::1", true},
			{"galleon.example.com", false},
			{"10.1.2.3", true},
			{"fd00::7", true},
		} {
			if err := m.Certificate.Leaf.VerifyHostname(tt.host); err != nil {
				t.Errorf("server certificate does not cover %s: %v", tt.host, err)
			}
			// IPs must be IP SANs: clients do not match an IP against a DNS SAN.
			for _, d := range m.Certificate.Leaf.DNSNames {
				if tt.ip && net.ParseIP(d) != nil {
					t.Errorf("IP %s is a DNS SAN", d)
				}
			}
		}
	})

	t.Run("Validity", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			cert *x509.Certificate
			want time.Duration
		}{
			{"CA", m.CA, caValidity},
			{"Server", m.Certificate.Leaf, serverValidity},
		} {
			if got := tt.cert.NotAfter.Sub(now); got < tt.want-time.Hour || got > tt.want+time.Hour {
				t.Errorf("%s valid for %v, want about %v", tt.name, got, tt.want)
			}
			if !tt.cert.NotBefore.Before(now) {
				t.Errorf("%s not valid yet at creation: NotBefore %v", tt.name, tt.cert.NotBefore)
			}
		}
		if !m.CA.IsCA || m.Certificate.Leaf.IsCA {
			t.Error("only the CA may be a CA")
		}
		if err := m.Certificate.Leaf.CheckSignatureFrom(m.CA); err != nil {
			t.Errorf("server certificate not signed by the CA: %v", err)
		}
		if m.CAPath != filepath.Join(dir, CAFile) {
			t.Errorf("CAPath = %s, want %s", m.CAPath, filepath.Join(dir, CAFile))
		}
	})

	t.Run("FileModes", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			want os.FileMode
		}{
			{"", 0o700},
			{CAKeyFile, 0o600},
			{ServerKeyFile, 0o600},
			{CAFile, 0o644},
			{ServerFile, 0o644},
		} {
			fi, err := os.Stat(filepath.Join(dir, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("%q mode %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

func TestLoadOrCreate_Reuses(t *testing.T) {
	now := time.Now()
	dir, m1 := MustLoadOrCreate(t, []string{"galleon.example.com"}, now)
	ca, server := mustRead(t, filepath.Join(dir, CAFile)), mustRead(t, filepath.Join(dir, ServerFile))

	for _, tt := range []struct {
		name  string
		hosts []string
		now   time.Time
	}{
		{"SameHosts", []string{"galleon.example.com"}, now.Add(time.Hour)},
		{"HostsInOtherCase", []string{"GALLEON.example.com", "localhost"}, now.Add(time.Hour)},
		{"FewerHosts", nil, now.Add(24 * time.Hour)},
		{"YearLater", []string{"galleon.example.com"}, now.Add(365 * 24 * time.Hour)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := LoadOrCreate(dir, tt.hosts, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustRead(t, filepath.Join(dir, CAFile)), ca) {
				t.Error("the CA file changed")
			}
			if !bytes.Equal(mustRead(t, filepath.Join(dir, ServerFile)), server) {
				t.Error("the server certificate was reissued")
			}
			if !m.CA.Equal(m1.CA) || !m.Certificate.Leaf.Equal(m1.Certificate.Leaf) {
				t.Error("loaded certificates differ from the created ones")
			}
		})
	}
}

func TestLoadOrCreate_Reissues(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		hosts  []string
		now    time.Time
		tamper func(t *testing.T, dir string)
	}{
		{"NewHostname", []string{"new.example.com"}, now, nil},
		{"NewIP", []string{"192.0.2.9"}, now, nil},
		{"ExpiresWithin30Days", nil, now.Add(serverValidity - 29*24*time.Hour), nil},
		{"Expired", nil, now.Add(serverValidity + time.Hour), nil},
		{"ClockSetBack", nil, now.Add(-48 * time.Hour), nil},
		{"ServerFilesMissing", nil, now, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ServerFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"ServerKeyCorrupt", nil, now, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ServerKeyFile), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"ServerSignedByAnotherCA", nil, now, func(t *testing.T, dir string) {
			other, _ := MustLoadOrCreate(t, nil, now)
			for _, f := range []string{ServerFile, ServerKeyFile} {
				if err := os.WriteFile(filepath.Join(dir, f), mustRead(t, filepath.Join(other, f)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, m1 := MustLoadOrCreate(t, nil, now)
			ca := mustRead(t, filepath.Join(dir, CAFile))
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			m, err := LoadOrCreate(dir, tt.hosts, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustRead(t, filepath.Join(dir, CAFile)), ca) || !m.CA.Equal(m1.CA) {
				t.Fatal("the CA must never change")
			}
			leaf := m.Certificate.Leaf
			if leaf.Equal(m1.Certificate.Leaf) {
				t.Fatal("the server certificate was not reissued")
			}
			if err := leaf.CheckSignatureFrom(m1.CA); err != nil {
				t.Errorf("reissued certificate not signed by the CA: %v", err)
			}
			for _, h := range append(tt.hosts, DefaultHosts...) {
				if err := leaf.VerifyHostname(h); err != nil {
					t.Errorf("reissued certificate does not cover %s", h)
				}
			}
			if tt.now.Before(leaf.NotBefore) || !leaf.NotAfter.After(tt.now.Add(renewBefore)) {
				t.Errorf("reissued certificate valid %v..%v, not usable at %v", leaf.NotBefore, leaf.NotAfter, tt.now)
			}
			if fi, err := os.Stat(filepath.Join(dir, ServerKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("server key after reissue: %v %v, want mode 0600", fi.Mode().Perm(), err)
			}
		})
	}
}

func TestLoadOrCreate_ServerNeverOutlivesCA(t *testing.T) {
	now := time.Now()
	dir, m := MustLoadOrCreate(t, nil, now)
	later := m.CA.NotAfter.Add(-serverValidity / 2)
	m2, err := LoadOrCreate(dir, nil, later)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m2.Certificate.Leaf.NotAfter, m.CA.NotAfter; got.After(want) {
		t.Errorf("server certificate expires %v, after its CA %v", got, want)
	}
	if _, err := LoadOrCreate(dir, nil, m.CA.NotAfter.Add(time.Hour)); err == nil {
		t.Error("an expired CA must be reported, not used or silently replaced")
	}
}

func TestMaterial_Handshake(t *testing.T) {
	_, m := MustLoadOrCreate(t, nil, time.Now())
	_, other := MustLoadOrCreate(t, nil, time.Now())
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{m.Certificate}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
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

	for _, tt := range []struct {
		name       string
		serverName string
		pool       *x509.CertPool
		ok         bool
	}{
		{"OK/127.0.0.1", "127.0.0.1", m.Pool, true},
		{"OK/localhost", "localhost", m.Pool, true},
		{"ErrOtherName", "galleon.example.com", m.Pool, false},
		{"ErrOtherCA", "127.0.0.1", other.Pool, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: tt.pool, ServerName: tt.serverName})
			if err == nil {
				c.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("handshake as %s: err = %v, want ok = %v", tt.serverName, err, tt.ok)
			}
		})
	}
}

func TestLoadKeyPair(t *testing.T) {
	dir, m := MustLoadOrCreate(t, nil, time.Now())
	cert, key := filepath.Join(dir, ServerFile), filepath.Join(dir, ServerKeyFile)
	for _, tt := range []struct {
		name         string
		cert, key    string
		wantSameLeaf bool
		wantErr      bool
	}{
		{"OK", cert, key, true, false},
		{"ErrKeyMissing", cert, "", false, true},
		{"ErrCertMissing", "", key, false, true},
		{"ErrMismatch", filepath.Join(dir, CAFile), key, false, true},
		{"ErrNoSuchFile", filepath.Join(dir, "nope.pem"), key, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadKeyPair(tt.cert, tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadKeyPair() err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantSameLeaf && !got.Leaf.Equal(m.Certificate.Leaf) {
				t.Error("loaded another certificate")
			}
		})
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
	if fi, err := os.Stat(filepath.Join(nodeB, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("installed CA key: %v, want mode 0600", err)
	}
	for _, bad := range [][]byte{[]byte("not pem"), bundle[:bytes.Index(bundle, []byte("-----BEGIN PRIVATE KEY"))]} {
		if err := InstallCA(nodeB, bad); err == nil {
			t.Errorf("a malformed bundle should be refused: %.40q", bad)
		}
	}
}
