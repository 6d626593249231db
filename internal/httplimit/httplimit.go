// Package httplimit bounds what one client may hold of a server: how long
// a request body may take to arrive, and how many connections are open.
//
// A server with a header timeout but no body deadline can be held by a
// client that declares a large Content-Length and sends a byte every few
// seconds: each such request keeps a connection, a goroutine and a file
// descriptor until the process runs out of them. Bodies wraps a handler so
// that every request body arrives within a deadline — a total one for the
// small bodies of the API, token endpoint and portal, a minimum transfer
// rate for large uploads — and the connection is dropped when it does not.
package httplimit

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// Bodies holds request bodies to a deadline. The zero value holds none.
type Bodies struct {
	// Timeout is how long a small request body may take to arrive in
	// full, counted from when its handler starts; zero means no deadline.
	Timeout time.Duration
	// Streaming reports whether a request carries a large body (a page
	// upload) that is held to MinRate instead of Timeout.
	Streaming func(*http.Request) bool
	// MinRate is the slowest a streaming body may arrive, in bytes per
	// second, after a grace of Timeout: by t seconds into the body at
	// least (t − Timeout) × MinRate bytes must have come.
	MinRate int64
}

// Handler wraps next so that each request body is read under a deadline
// on the connection. When the deadline passes, the body's Read fails with
// a timeout, the handler answers whatever a failed read means to it, and
// the server closes the connection, as it does after any read error.
//
// The deadline is set only while a body is being received and is cleared
// when the body ends: after that the server reads the connection in the
// background to notice a client that goes away, and a deadline passing
// then would cancel a long answer (a download) that is still being sent.
// A body the handler leaves unread keeps its deadline, which then bounds
// the server's own discarding of the rest after the handler returns.
func (b *Bodies) Handler(next http.Handler) http.Handler {
	if b.Timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		start := time.Now()
		body := &deadlineBody{rc: rc, body: r.Body, start: start, grace: b.Timeout}
		if b.Streaming != nil && b.Streaming(r) && b.MinRate > 0 {
			body.rate = b.MinRate
		}
		if err := body.setDeadline(start.Add(b.Timeout)); err != nil {
			// The connection cannot hold a deadline (a test's recorder, say):
			// serve without one rather than refuse.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = body
		next.ServeHTTP(w, r)
	})
}

// deadlineBody is a request body read under a connection read deadline:
// fixed for a small body, moved forward as bytes arrive for a streaming one.
type deadlineBody struct {
	rc    *http.ResponseController
	body  io.ReadCloser
	start time.Time
	grace time.Duration
	rate  int64 // bytes per second; 0 for a fixed deadline

	mu       sync.Mutex
	read     int64
	deadline time.Time
	done     bool
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	n, err := d.body.Read(p)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.read += int64(n)
	switch {
	case err == io.EOF:
		d.clearLocked()
	case d.rate > 0 && n > 0 && !d.done:
		// The body has earned the time its bytes are worth at MinRate.
		earned := d.start.Add(d.grace + time.Duration(float64(d.read)/float64(d.rate)*float64(time.Second)))
		if earned.After(d.deadline) {
			_ = d.setDeadlineLocked(earned)
		}
	}
	return n, err
}

func (d *deadlineBody) Close() error { return d.body.Close() }

func (d *deadlineBody) setDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setDeadlineLocked(t)
}

func (d *deadlineBody) setDeadlineLocked(t time.Time) error {
	if err := d.rc.SetReadDeadline(t); err != nil {
		return err
	}
	d.deadline = t
	return nil
}

// clearLocked lifts the deadline once the body has ended, so that it
// cannot fire during the server's background read of the connection.
func (d *deadlineBody) clearLocked() {
	if !d.done {
		d.done = true
		_ = d.rc.SetReadDeadline(time.Time{})
	}
}

// Listener limits l to n connections open at once: Accept waits while n
// are open, so new clients queue in the kernel's backlog instead of the
// process running out of file descriptors. n ≤ 0 means no limit.
func Listener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return netutil.LimitListener(l, n)
}

// DefaultMaxConnections is a connection limit that keeps the process
// below its limit on open files: the soft limit raised to the hard one,
// less an eighth (at least 256) for the database, the region stores'
// files, outgoing fetches and the listener itself. Without a known limit
// it is 10,000; with an unlimited one, about a million.
func DefaultMaxConnections() int {
	limit, ok := fileLimit()
	if !ok {
		return 10000
	}
	limit = min(limit, 1<<20)
	reserve := max(limit/8, 256)
	if limit <= reserve+64 {
		return 64
	}
	return int(limit - reserve)
}
