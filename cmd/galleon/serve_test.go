package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// startMain runs the server in process, as `galleon serve args…` would,
// on a free loopback port with a fresh data folder.
func startMain(t *testing.T, args ...string) *Main {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addServeFlags(fs, &c)
	args = append([]string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--log-level", "error", "--gc-interval", "0"}, args...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: c, Out: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		m.Close()
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// tlsConfig trusts the server's CA.
func (m *Main) tlsConfig(t *testing.T) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(m.TLS.CAPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in the credentials")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// TestServe_SlowBodies holds 2,000 connections that declare a 100,000-byte
// body to the token endpoint and the portal's sign-in and send one byte:
// a client with a real request is still answered within a second, and the
// slow ones are answered and closed once their body deadline passes.
// Without a body deadline the slow connections are held for as long as
// their clients keep them (each one a file descriptor).
func TestServe_SlowBodies(t *testing.T) {
	const bodyTimeout = 3 * time.Second
	m := startMain(t, "--body-timeout", bodyTimeout.String())
	addr := m.listener.Addr().String()
	cfg := m.tlsConfig(t)
	// Resumed sessions spare most of 2,000 handshakes' work (under -race
	// full ones take tens of seconds).
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}

	const slow = 2000
	conns := make([]*tls.Conn, slow)
	var (
		wg   sync.WaitGroup
		errs = make(chan error, slow)
		next = make(chan int)
	)
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for i := range next {
				path := "/adfs/oauth2/token"
				if i%2 == 1 {
					path = "/portal/signin"
				}
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
				if err != nil {
					errs <- err
					continue
				}
				conns[i] = c
				_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ng", path, addr)
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range slow {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("opening a slow connection: %v", err)
	}
	opened := time.Now()
	t.Logf("%d slow connections open in %v", slow, opened.Sub(start).Round(time.Millisecond))
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	// A normal client, on a connection of its own, gets a token at once.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Credentials.ClientID},
		"client_secret": {m.Credentials.ClientSecret}, "resource": {"https://management.core.windows.net/"}}
	asked := time.Now()
	resp, err := client.PostForm("https://"+addr+"/adfs/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(asked)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "access_token") {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	if took > time.Second {
		t.Errorf("a normal token request took %v beside %d slow bodies, want under a second", took, slow)
	}
	t.Logf("a token request took %v beside %d slow bodies", took.Round(time.Millisecond), slow)

	// Every slow connection is answered and closed once its deadline has
	// passed; none is held past it (plus slack for 2,000 answers on a busy
	// machine). The last one's deadline started when it was opened.
	var closed sync.WaitGroup
	var mu sync.Mutex
	heldN := 0
	until := opened.Add(bodyTimeout + 15*time.Second)
	for _, c := range conns {
		closed.Go(func() {
			_ = c.SetReadDeadline(until)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil {
					// The answer is followed by the connection's end.
					_, err = c.Read(make([]byte, 1))
				}
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				heldN++
				mu.Unlock()
			}
		})
	}
	closed.Wait()
	if heldN > 0 {
		t.Fatalf("%d of %d slow connections were still held %v after their body deadline of %v", heldN, slow, 15*time.Second, bodyTimeout)
	}
	t.Logf("all slow connections were closed %v after they started", time.Since(start).Round(time.Millisecond))
}

// TestServe_Metrics: /metrics is served only with --metrics.
func TestServe_Metrics(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		m := startMain(t, fmt.Sprintf("--metrics=%t", on))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: m.tlsConfig(t)}}
		resp, err := client.Get("https://" + m.listener.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		client.CloseIdleConnections()
		if got := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "go_goroutines"); got != on {
			t.Errorf("--metrics=%t: /metrics answered %d %.100q", on, resp.StatusCode, body)
		}
	}
}
