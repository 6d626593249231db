package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Message is one e-mail.
type Message struct {
	From    string // an address, optionally "Name <address>"
	To      string // an address
	Subject string
	Body    string // plain text
	Date    time.Time
	// ID names the message: its Message-ID's left part and the outbox
	// file's name.
	ID string
}

// Mailer delivers messages; the answer says where a message went, for the
// log and the invitation's galleonMessageStatus.
type Mailer interface {
	Send(ctx context.Context, m *Message) (string, error)
}

// headerValue keeps a value on one header line: CR and LF would start
// headers of an attacker's choosing.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < 0x20 && r != '\t' {
			return ' '
		}
		return r
	}, s)
}

// Bytes is the message in RFC 5322 form, its body quoted-printable UTF-8.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	host := "galleon"
	if _, domain, ok := strings.Cut(addressOf(m.From), "@"); ok {
		host = domain
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", headerValue(m.From))
	hdr("To", headerValue(m.To))
	hdr("Subject", mime.QEncoding.Encode("utf-8", headerValue(m.Subject)))
	hdr("Date", m.Date.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+headerValue(m.ID)+"@"+headerValue(host)+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	// Plain 7-bit text when it is (links stay readable in the raw
	// message); quoted-printable for anything else.
	if is7bit(body) {
		hdr("Content-Transfer-Encoding", "7bit")
		hdr("Auto-Submitted", "auto-generated")
		b.WriteString("\r\n")
		b.WriteString(body)
		return b.Bytes()
	}
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(body))
	_ = qp.Close()
	return b.Bytes()
}

// is7bit reports whether s is ASCII text with lines SMTP carries as they
// are (at most 998 bytes, RFC 5322 §2.1.1).
func is7bit(s string) bool {
	for _, line := range strings.Split(s, "\r\n") {
		if len(line) > 998 {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x80 || c == 0 || c == '\r' || c == '\n' {
				return false
			}
		}
	}
	return true
}

// addressOf returns the address of "Name <address>" or of a bare address.
func addressOf(s string) string {
	if i := strings.LastIndex(s, "<"); i >= 0 {
		return strings.TrimSuffix(strings.TrimSpace(s[i+1:]), ">")
	}
	return strings.TrimSpace(s)
}

// SMTP security modes.
const (
	SMTPNone     = "none"     // plain SMTP (a relay on the same host or network)
	SMTPStartTLS = "starttls" // upgrade with STARTTLS, which must be offered
	SMTPTLS      = "tls"      // TLS from the first byte (submissions on port 465)
)

// SMTP sends messages through an SMTP server.
type SMTP struct {
	Host     string
	Port     int
	Security string // SMTPNone, SMTPStartTLS or SMTPTLS
	Username string // with Password: AUTH PLAIN, over TLS only
	Password string
	// TLSConfig, if set, verifies the server (nil: the system's roots and Host).
	TLSConfig *tls.Config
	// Timeout bounds one delivery; default 30 s.
	Timeout time.Duration
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig != nil {
		return s.TLSConfig
	}
	return &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m *Message) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connecting to the SMTP server %s: %w", addr, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if s.Security == SMTPTLS {
		conn = tls.Client(conn, s.tlsConfig())
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return "", fmt.Errorf("SMTP server %s: %w", addr, err)
	}
	defer c.Close()
	if err := s.deliver(c, m); err != nil {
		return "", fmt.Errorf("SMTP server %s: %w", addr, err)
	}
	return "sent through " + addr, nil
}

func (s *SMTP) deliver(c *smtp.Client, m *Message) error {
	if err := c.Hello("galleon"); err != nil {
		return err
	}
	if s.Security == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("the server does not offer STARTTLS")
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return err
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(addressOf(m.From)); err != nil {
		return err
	}
	if err := c.Rcpt(addressOf(m.To)); err != nil {
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(m.Bytes()); err != nil {
		wc.Close()
		return err
	}
	if err := wc.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Outbox writes each message as an .eml file into Dir (created 0700,
// files 0600), for an installation without SMTP.
type Outbox struct {
	Dir    string
	Logger *slog.Logger
}

// Send writes m to the outbox.
func (o *Outbox) Send(ctx context.Context, m *Message) (string, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return "", err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := m.Date.UTC().Format("20060102T150405Z") + "-" + safeFileName(m.ID) + "-" + hex.EncodeToString(suffix) + ".eml"
	path := filepath.Join(o.Dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(m.Bytes()); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "no SMTP server configured: e-mail written to the outbox",
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("file", path))
	return "written to " + path, nil
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
