// Package e2e drives the real galleon binary over TLS with real clients:
// the Azure SDK for Go, the az CLI and plain HTTP.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/galleon-project/galleon/internal/testenv"
	"github.com/galleon-project/galleon/pgtest"
)

// binary is the galleon binary built once by TestMain.
var binary string

// recordSources opens every source file the binary is built from, once,
// while the tests run: the go command caches a passing test run keyed by
// the files the test reads, and the build in TestMain is another process
// whose reads it does not see, so without this a changed server could
// leave a stale cached pass in place.
var recordSources = sync.OnceFunc(func() {
	_ = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "artifacts") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".sql", ".html", ".js", ".css", ".mod", ".sum":
			if f, err := os.Open(path); err == nil {
				f.Close()
			}
		}
		return nil
	})
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "galleon-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "galleon")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/galleon")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building galleon:", err)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Credentials mirrors <data>/credentials.json.
type Credentials struct {
	TenantID                 string `json:"tenantId"`
	SubscriptionID           string `json:"subscriptionId"`
	ClientID                 string `json:"clientId"`
	ClientSecret             string `json:"clientSecret"`
	ServicePrincipalObjectID string `json:"servicePrincipalObjectId"`
	AdminUserPrincipalName   string `json:"adminUserPrincipalName"`
	AdminPassword            string `json:"adminPassword"`
	ResourceManagerEndpoint  string `json:"resourceManagerEndpoint"`
	AuthorityHost            string `json:"authorityHost"`
	ADFSAuthority            string `json:"adfsAuthority"`
	Audience                 string `json:"audience"`
	GraphEndpoint            string `json:"graphEndpoint"`
	CACertificate            string `json:"caCertificate"`
}

// Server is a running galleon process.
type Server struct {
	DataDir string
	Addr    string
	URL     string // https://127.0.0.1:port
	Creds   Credentials
	Client  *http.Client // trusts the server's CA
	Args    []string
	Env     []string // added to the process's environment

	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// syncBuffer is the process's output, safe to read while it writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartServer starts galleon on a free loopback port with a fresh data
// folder, and stops it when the test ends.
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	s := &Server{DataDir: t.TempDir(), Args: args}
	s.Start(t)
	return s
}

// Start (re)starts the process on the server's data folder and waits
// until it serves.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.Launch(t)
	s.WaitReady(t)
}

// Launch starts the process without waiting for it to serve.
func (s *Server) Launch(t testing.TB) {
	t.Helper()
	recordSources()
	if s.Addr == "" {
		s.Addr = freeAddr(t)
	}
	s.URL = "https://" + s.Addr
	s.logs = &syncBuffer{}
	args := append([]string{"serve", "--data", s.DataDir, "--listen", s.Addr}, s.Args...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	// The tests read /metrics, which is off unless asked for.
	s.cmd.Env = append(append(os.Environ(), "GALLEON_LOG_LEVEL=debug", "GALLEON_METRICS=true"), s.Env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			t.Logf("galleon output (%s):\n%s", s.Addr, s.logs.String())
		}
	})
}

// WaitReady waits until a launched process serves, then reads its
// credentials.json.
func (s *Server) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !s.ready() {
		select {
		case <-s.exited:
			t.Fatalf("galleon exited early:\n%s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("galleon did not become ready:\n%s", s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	data, err := os.ReadFile(filepath.Join(s.DataDir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Creds = Credentials{}
	if err := json.Unmarshal(data, &s.Creds); err != nil {
		t.Fatal(err)
	}
	s.Client = httpClientTrusting(t, s.Creds.CACertificate)
}

// ready reports whether the server answers its metadata endpoint; the
// certificate is not checked here because it may not exist yet.
func (s *Server) ready() bool {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(s.URL + "/metadata/endpoints?api-version=2015-01-01")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop sends SIGTERM and waits for a graceful exit.
func (s *Server) Stop(t testing.TB) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("galleon exited with code %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("galleon did not stop within 30s of SIGTERM")
		<-s.exited
	}
}

// Kill stops the process with SIGKILL, as a crash would.
func (s *Server) Kill(t testing.TB) {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Logs returns what the process printed so far.
func (s *Server) Logs() string { return s.logs.String() }

// handedOut are the addresses freeAddr has given: tests run in parallel,
// and a server that is killed and started again on its address must not
// find another test's server there (nor start one there itself).
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

func freeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no loopback port that was not handed out before")
	return ""
}

func httpClientTrusting(t testing.TB, caPath string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificates in %s", caPath)
	}
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64},
	}
}

// Token gets an ARM token for the bootstrap service principal from the
// token endpoint, as a raw HTTP client would.
func (s *Server) Token(t testing.TB) string {
	t.Helper()
	form := "grant_type=client_credentials&client_id=" + s.Creds.ClientID + "&client_secret=" + s.Creds.ClientSecret +
		"&scope=" + "https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default"
	resp, err := s.Client.Post(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.AccessToken == "" {
		t.Fatalf("token endpoint: status %d, err %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// Do sends an ARM request with a bearer token (empty for none) and returns
// the status and decoded JSON body.
func (s *Server) Do(t testing.TB, method, path, token string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rdr *bytes.Reader
	switch b := body.(type) {
	case nil:
		rdr = bytes.NewReader(nil)
	case string:
		rdr = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rdr = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, rdr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// errorCode extracts error.code from an ARM error body.
func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// requireService reports a missing external tool: a failure when CI asks
// for every service (GALLEON_REQUIRE_SERVICES=1), a skip otherwise.
func requireService(t testing.TB, name string, err error) {
	t.Helper()
	testenv.RequireService(t, name, err)
}
