package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/galleon-project/galleon/pki"
)

// smtpSink is a real SMTP server (emersion/go-smtp) that keeps messages.
type smtpSink struct {
	mu   sync.Mutex
	got  []string
	rcpt []string
}

type sinkSession struct {
	sink     *smtpSink
	needAuth bool
	authed   bool
	to       []string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "u" || pass != "p" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *sinkSession) Mail(string, *smtp.MailOptions) error {
	if s.needAuth && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.sink.mu.Lock()
	s.sink.got = append(s.sink.got, string(b))
	s.sink.rcpt = append(s.sink.rcpt, s.to...)
	s.sink.mu.Unlock()
	return err
}
func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }

// startSink serves SMTP on loopback: with startTLS the STARTTLS extension
// is offered, with implicit the listener is TLS from the first byte.
func startSink(t *testing.T, cert tls.Certificate, startTLS, implicit, needAuth bool) (*smtpSink, int) {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sink, needAuth: needAuth}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = !startTLS && !implicit
	if startTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if implicit {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return sink, port
}

func TestSMTP_Send(t *testing.T) {
	m, err := pki.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(m.CA)
	trusted := &tls.Config{ServerName: "127.0.0.1", RootCAs: roots}
	msg := &Message{From: "Galleon <galleon@example.com>", To: "someone@example.org", Subject: "hi", Body: "the link", Date: time.Now(), ID: "x"}
	for _, tt := range []struct {
		name                     string
		startTLS, implicit, auth bool
		security, user, pass     string
		tlsConfig                *tls.Config
		wantErr                  string
	}{
		{name: "None", security: SMTPNone},
		{name: "StartTLSAuth", startTLS: true, auth: true, security: SMTPStartTLS, user: "u", pass: "p", tlsConfig: trusted},
		{name: "ImplicitTLSAuth", implicit: true, auth: true, security: SMTPTLS, user: "u", pass: "p", tlsConfig: trusted},
		{name: "ErrNoStartTLS", security: SMTPStartTLS, wantErr: "STARTTLS"},
		{name: "ErrUntrusted", startTLS: true, security: SMTPStartTLS, wantErr: "certificate"},
		{name: "ErrWrongPassword", startTLS: true, auth: true, security: SMTPStartTLS, user: "u", pass: "wrong", tlsConfig: trusted, wantErr: "bad credentials"},
		{name: "ErrAuthRequired", startTLS: true, auth: true, security: SMTPStartTLS, tlsConfig: trusted, wantErr: "authenticate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sink, port := startSink(t, m.Certificate, tt.startTLS, tt.implicit, tt.auth)
			s := &SMTP{Host: "127.0.0.1", Port: port, Security: tt.security, Username: tt.user, Password: tt.pass, TLSConfig: tt.tlsConfig, Timeout: 10 * time.Second}
			where, err := s.Send(context.Background(), msg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send() = %q, %v; want an error with %q", where, err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(where, strconv.Itoa(port)) {
				t.Fatalf("Send() = %q, %v", where, err)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.got) != 1 || !strings.Contains(sink.got[0], "the link") || len(sink.rcpt) != 1 || sink.rcpt[0] != "someone@example.org" {
				t.Fatalf("received %q to %v", sink.got, sink.rcpt)
			}
		})
	}
}
