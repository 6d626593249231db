// Package pki keeps the TLS material of an installation: a self-signed CA
// that users trust once, and a server certificate it signs for the names
// the server is reached by.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names under the TLS folder.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 2 * 365 * 24 * time.Hour
	// renewBefore reissues a server certificate this close to expiry.
	renewBefore = 30 * 24 * time.Hour
)

// DefaultHosts are always in the server certificate.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Material is the loaded TLS material.
type Material struct {
	CAPath      string
	CA          *x509.Certificate
	Pool        *x509.CertPool // holds only the CA
	Certificate tls.Certificate
}

// LoadOrCreate returns the TLS material in dir, creating the CA on first
// use and (re)issuing the server certificate when it is missing, does not
// cover every host, or expires within 30 days. The CA is never replaced.
func LoadOrCreate(dir string, hosts []string, now time.Time) (*Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hosts = normalizeHosts(append(slices.Clone(DefaultHosts), hosts...))
	ca, caKey, err := loadOrCreateCA(dir, now)
	if err != nil {
		return nil, err
	}
	if !now.Before(ca.NotAfter) {
		// Replacing the CA silently would break every client that trusts
		// it; the operator decides.
		return nil, fmt.Errorf("the CA in %s expired on %s: remove %s and %s to create a new one, then trust it again",
			dir, ca.NotAfter.Format(time.DateOnly), CAFile, CAKeyFile)
	}
	cert, err := loadServer(dir, ca)
	if err != nil || !usable(cert.Leaf, hosts, now) {
		if cert, err = issueServer(dir, ca, caKey, hosts, now); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &Material{CAPath: filepath.Join(dir, CAFile), CA: ca, Pool: pool, Certificate: cert}, nil
}

// LoadOrCreateCABundle returns the CA in dir as one PEM bundle (certificate
// then key), creating the CA first if there is none. Nodes of one
// installation agree on a bundle through the store and InstallCA it.
func LoadOrCreateCABundle(dir string, now time.Time) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if _, _, err := loadOrCreateCA(dir, now); err != nil {
		return nil, err
	}
	cert, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	return append(cert, key...), nil
}

// InstallCA writes a bundle from LoadOrCreateCABundle into dir as the CA;
// LoadOrCreate then reissues a server certificate the new CA signed.
func InstallCA(dir string, bundle []byte) error {
	var cert, key []byte
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			cert = pem.EncodeToMemory(block)
		case "PRIVATE KEY":
			key = pem.EncodeToMemory(block)
		}
	}
	if cert == nil || key == nil {
		return errors.New("the CA bundle needs a CERTIFICATE and a PRIVATE KEY block")
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return fmt.Errorf("the CA bundle: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, CAKeyFile), key, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, CAFile), cert, 0o644)
}

// LoadKeyPair loads a user-supplied certificate and key, for installations
// that bring their own certificate instead of trusting Galleon's CA.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, errors.New("a TLS certificate and its key must be given together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading TLS key pair: %w", err)
	}
	return cert, nil
}

func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err == nil {
		keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
		if err != nil {
			return nil, nil, fmt.Errorf("the CA certificate exists but its key does not: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("loading the CA: %w", err)
		}
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, errors.New("the CA key is not an ECDSA key")
		}
		return pair.Leaf, key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn := serial()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		// A per-installation name: verifiers that chain by subject name
		// must not confuse the CAs of two installations a user trusts.
		Subject:               pkix.Name{CommonName: fmt.Sprintf("Galleon local CA %08x", uint32(sn.Uint64())), Organization: []string{"Galleon"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(dir, CAFile, CAKeyFile, der, key); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func loadServer(dir string, ca *x509.Certificate) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		return cert, err
	}
	if err := cert.Leaf.CheckSignatureFrom(ca); err != nil {
		return cert, fmt.Errorf("the server certificate is not signed by the CA: %w", err)
	}
	return cert, nil
}

func issueServer(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	notAfter := now.Add(serverValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter // a certificate never outlives its signer
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Galleon"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePair(dir, ServerFile, ServerKeyFile, der, key); err != nil {
		return tls.Certificate{}, err
	}
	return loadServer(dir, ca)
}

// writePair writes a certificate (0644: it is public) and its key (0600),
// each atomically.
func writePair(dir, certName, keyName string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// usable reports whether a server certificate can be kept: it covers every
// host, is already valid (a clock set back would make it look issued in
// the future) and has more than renewBefore left.
func usable(leaf *x509.Certificate, hosts []string, now time.Time) bool {
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func normalizeHosts(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if h == "" {
			continue
		}
		h = strings.TrimSuffix(strings.Trim(h, "[]"), ".") // [::1] and FQDN dots
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(h) // DNS names compare case-insensitively
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
