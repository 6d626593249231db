package httplimit

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sendSlowly posts size bytes to url in pieces of piece bytes, one every
// gap, and returns the status, or an error if the server cut it off.
func sendSlowly(client *http.Client, url string, size, piece int, gap time.Duration) (int, error) {
	pr, pw := io.Pipe()
	go func() {
		for sent := 0; sent < size; sent += piece {
			if _, err := pw.Write([]byte(strings.Repeat("x", min(piece, size-sent)))); err != nil {
				return
			}
			time.Sleep(gap)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, url, pr)
	req.ContentLength = int64(size)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

func TestBodies_Handler(t *testing.T) {
	t.Parallel()
	b := &Bodies{
		Timeout:   300 * time.Millisecond,
		MinRate:   1000,
		Streaming: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/upload") },
	}
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// A slow answer after the body must not be cut off by the body's
		// deadline (the server reads in the background meanwhile).
		time.Sleep(400 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	// HTTP/1.1, and HTTP/2 (as Azure's SDKs speak over TLS), where the
	// deadline is the stream's.
	h1 := httptest.NewServer(h)
	t.Cleanup(h1.Close)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)

	for _, tt := range []struct {
		name       string
		path       string
		size       int
		piece      int
		gap        time.Duration
		wantStatus int // 0: the connection is cut
	}{
		{"OK", "/small", 100, 100, 0, 200},
		// 2,000 bytes in 10 pieces a tenth of a second apart: 1 s in all,
		// past the total deadline but at 2,000 B/s, above the minimum rate.
		{"OKStreamingAtRate", "/upload", 2000, 200, 100 * time.Millisecond, 200},
		{"ErrSmallBodyTooSlow", "/small", 1000, 100, 100 * time.Millisecond, 400},
		// 100 B/s, a tenth of the minimum rate.
		{"ErrStreamingTooSlow", "/upload", 1000, 10, 100 * time.Millisecond, 400},
	} {
		for _, srv := range []*httptest.Server{h1, h2} {
			proto := "HTTP1"
			if srv == h2 {
				proto = "HTTP2"
			}
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				status, err := sendSlowly(srv.Client(), srv.URL+tt.path, tt.size, tt.piece, tt.gap)
				if tt.wantStatus == 200 && (err != nil || status != 200) {
					t.Fatalf("status %d, %v; want 200", status, err)
				}
				if tt.wantStatus != 200 && err == nil && status != tt.wantStatus {
					t.Fatalf("a body slower than its limit: status %d, want %d or the connection cut", status, tt.wantStatus)
				}
			})
		}
	}
}

func TestListener(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = Listener(l, 1)
	defer l.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c1, _ := net.Dial("tcp", l.Addr().String())
	defer c1.Close()
	first := <-accepted
	c2, _ := net.Dial("tcp", l.Addr().String())
	defer c2.Close()
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the limit of one was open")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection was not accepted once the first closed")
	}
}

func TestDefaultMaxConnections(t *testing.T) {
	limit, ok := fileLimit()
	n := DefaultMaxConnections()
	if ok && uint64(n) >= limit {
		t.Errorf("DefaultMaxConnections() = %d, not below the open-file limit %d", n, limit)
	}
	if n < 64 {
		t.Errorf("DefaultMaxConnections() = %d", n)
	}
}
