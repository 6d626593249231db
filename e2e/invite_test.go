package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon/pki"
)

// mailServer is a real SMTP server (emersion/go-smtp) on loopback that
// keeps what it receives: STARTTLS with a certificate from its own CA, and
// AUTH PLAIN with one account.
type mailServer struct {
	Addr   string
	Port   string
	CAPath string
	User   string
	Pass   string

	mu       sync.Mutex
	messages []receivedMail
	arrived  chan struct{}
}

type receivedMail struct {
	From string
	To   []string
	Data []byte
}

func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	m, err := pki.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ms := &mailServer{CAPath: m.CAPath, User: "galleon", Pass: "smtp-" + uuid.NewString(), arrived: make(chan struct{}, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{server: ms}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{m.Certificate}}
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.Addr = l.Addr().String()
	_, ms.Port, _ = net.SplitHostPort(ms.Addr)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return ms
}

// startServerWithMail starts Galleon sending its e-mail through ms over
// STARTTLS with AUTH; the server trusts the mail server's CA as a system
// root.
func startServerWithMail(t *testing.T, ms *mailServer) *Server {
	t.Helper()
	passFile := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(passFile, []byte(ms.Pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{DataDir: t.TempDir(), Args: []string{"--smtp-host", "127.0.0.1", "--smtp-port", ms.Port, "--smtp-tls", "starttls",
		"--smtp-username", ms.User, "--smtp-password-file", passFile, "--smtp-from", "Galleon <galleon@example.com>"},
		Env: []string{"SSL_CERT_FILE=" + ms.CAPath}}
	s.Start(t)
	return s
}

// wait returns the next message for to, or fails after a while.
func (ms *mailServer) wait(t *testing.T, to string, seen int) receivedMail {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		ms.mu.Lock()
		var matches []receivedMail
		for _, m := range ms.messages {
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) {
					matches = append(matches, m)
				}
			}
		}
		ms.mu.Unlock()
		if len(matches) > seen {
			return matches[seen]
		}
		select {
		case <-ms.arrived:
		case <-deadline:
			t.Fatalf("no message %d for %s arrived", seen+1, to)
		}
	}
}

type mailSession struct {
	server *mailServer
	authed bool
	from   string
	to     []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.server.User || password != s.server.Pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.server.mu.Lock()
	s.server.messages = append(s.server.messages, receivedMail{From: s.from, To: s.to, Data: data})
	s.server.mu.Unlock()
	s.server.arrived <- struct{}{}
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// parsedMail is a received message's subject and decoded text.
type parsedMail struct {
	Header  mail.Header
	Subject string
	Text    string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return parsedMail{Header: msg.Header, Subject: subject, Text: string(text)}
}

var redeemLink = regexp.MustCompile(`https://\S+/invitations/redeem\?token=\S+`)

func linkIn(t *testing.T, text string) string {
	t.Helper()
	link := redeemLink.FindString(text)
	if link == "" {
		t.Fatalf("no invitation link in:\n%s", text)
	}
	return link
}

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// redeemPage GETs an invitation link as a browser would.
func (s *Server) redeemPage(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := s.Client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// redeem posts the page's form with a password.
func (s *Server) redeem(t *testing.T, token, password string) (int, string) {
	t.Helper()
	resp, err := s.Client.PostForm(s.URL+"/invitations/redeem", url.Values{"token": {token}, "password": {password}, "confirm": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

var invitationID = regexp.MustCompile(`invitation ([0-9a-f-]{36}) for`)

// TestInvitations runs the whole B2B flow against a real SMTP server:
// the galleon invite command e-mails a link over STARTTLS with AUTH; the
// guest cannot sign in before redeeming; the page sets a password once;
// the guest then signs in and, given Reader on the gallery, reads it;
// tampered, reused, replaced and revoked links are refused; revoking a
// redeemed invitation disables the guest.
func TestInvitations(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t)
	s := startServerWithMail(t, ms)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "inviteRG")
	g, err := sdk.createGallery(ctx, "inviteRG", "sharedGallery", armcompute.Gallery{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createGallery(ctx, "inviteRG", "privateGallery", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	galleryID := *g.ID
	const guestMail, guestPassword = "someone@example.org", "guest passw0rd long"

	out := mustRunCLI(t, s, "invite", guestMail, "--resource", galleryID, "--message", "Images for the build farm.")
	m := invitationID.FindStringSubmatch(out.Stdout)
	if m == nil || !strings.Contains(out.Stdout, "Sent: sent through") {
		t.Fatalf("galleon invite printed:\n%s", out.Stdout)
	}
	firstID := m[1]

	received := ms.wait(t, guestMail, 0)
	if received.From != "galleon@example.com" {
		t.Errorf("envelope sender %q", received.From)
	}
	msg := parseMail(t, received.Data)
	if msg.Header.Get("To") != guestMail || !strings.Contains(msg.Subject, "galleon-bootstrap") || !strings.Contains(msg.Subject, "sharedGallery") {
		t.Errorf("To %q, Subject %q", msg.Header.Get("To"), msg.Subject)
	}
	for _, want := range []string{"galleon-bootstrap has invited you to the gallery sharedGallery", galleryID, "Images for the build farm.", "sign in as " + guestMail} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the e-mail lacks %q:\n%s", want, msg.Text)
		}
	}
	link := linkIn(t, msg.Text)
	if !strings.HasPrefix(link, s.URL+"/invitations/redeem?token=") {
		t.Errorf("link %s is not on the server", link)
	}

	t.Run("BeforeRedemption", func(t *testing.T) {
		status, body := s.PasswordToken(t, guestMail, guestPassword, s.Creds.Audience)
		if status != 400 || body["error"] != "invalid_grant" || !strings.HasPrefix(body["error_description"].(string), "AADSTS50126") {
			t.Fatalf("an unredeemed guest signs in: %d %v", status, body)
		}
		admin := s.GraphToken(t)
		status, _, u := s.Do(t, "GET", "/v1.0/users?$filter="+url.QueryEscape("mail eq '"+guestMail+"'"), admin, nil)
		us := values(u)
		if status != 200 || len(us) != 1 || us[0]["userType"] != "Guest" || us[0]["externalUserState"] != "PendingAcceptance" ||
			us[0]["userPrincipalName"] != "someone_example.org#EXT#@galleon.local" {
			t.Fatalf("the guest: %d %v", status, u)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		tok := []byte(tokenOf(t, link))
		tok[len(tok)/2] ^= 1
		if tok[len(tok)/2] == '.' || tok[len(tok)/2] == 0 {
			tok[len(tok)/2] = 'A'
		}
		status, page := s.redeemPage(t, s.URL+"/invitations/redeem?token="+url.QueryEscape(string(tok)))
		if status != 400 || !strings.Contains(page, "not valid") {
			t.Fatalf("a tampered link: %d\n%s", status, page)
		}
		if status, _ := s.redeem(t, string(tok), guestPassword); status != 400 {
			t.Fatalf("posting a tampered token: %d", status)
		}
	})

	var guestID string
	t.Run("Redeem", func(t *testing.T) {
		status, page := s.redeemPage(t, link)
		hidden := hiddenToken.FindStringSubmatch(page)
		if status != 200 || hidden == nil || !strings.Contains(page, "galleon-bootstrap") || !strings.Contains(page, "sharedGallery") {
			t.Fatalf("the redemption page: %d\n%s", status, page)
		}
		if status, page := s.redeem(t, hidden[1], "short"); status != 400 || !strings.Contains(page, "at least 8") {
			t.Fatalf("a short password: %d\n%s", status, page)
		}
		status, page = s.redeem(t, hidden[1], guestPassword)
		if status != 200 || !strings.Contains(page, "Your account is ready") {
			t.Fatalf("redeeming: %d\n%s", status, page)
		}
		// The guest signs in, by the invited address and by its UPN.
		tok := s.MustPasswordToken(t, guestMail, guestPassword, s.Creds.Audience)
		s.MustPasswordToken(t, "someone_example.org#EXT#@galleon.local", guestPassword, s.Creds.Audience)
		claims := decodeClaims(t, tok)
		guestID, _ = claims["oid"].(string)
		if claims["idtyp"] != "user" || guestID == "" || claims["upn"] != "someone_example.org#EXT#@galleon.local" {
			t.Fatalf("the guest's token: %v", claims)
		}
		// Given Reader on the gallery, the guest reads it, and only it.
		status, _, body := s.Do(t, "GET", galleryID+"?api-version=2022-03-03", tok, nil)
		if status != 403 {
			t.Fatalf("a guest without a role reads the gallery: %d %v", status, body)
		}
		assignment := galleryID + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString() + "?api-version=2022-04-01"
		status, _, body = s.Do(t, "PUT", assignment, s.Token(t), map[string]any{"properties": map[string]any{"principalId": guestID, "principalType": "User",
			"roleDefinitionId": "/subscriptions/" + s.Creds.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"}})
		if status != 201 && status != 200 {
			t.Fatalf("assigning Reader to the guest: %d %v", status, body)
		}
		if status, _, body = s.Do(t, "GET", galleryID+"?api-version=2022-03-03", tok, nil); status != 200 || body["name"] != "sharedGallery" {
			t.Fatalf("the guest reads the gallery: %d %v", status, body)
		}
		other := strings.Replace(galleryID, "sharedGallery", "privateGallery", 1)
		if status, _, _ = s.Do(t, "GET", other+"?api-version=2022-03-03", tok, nil); status != 403 {
			t.Fatalf("the guest reads another gallery: %d", status)
		}
		// A guest reads itself on Graph, and nobody else.
		graphTok := s.MustPasswordToken(t, guestMail, guestPassword, s.graphAudience())
		if status, _, body = s.Do(t, "GET", "/v1.0/me", graphTok, nil); status != 200 || body["userType"] != "Guest" || body["externalUserState"] != "Accepted" {
			t.Fatalf("a guest's /me: %d %v", status, body)
		}
		if status, _, body = s.Do(t, "GET", "/v1.0/users", graphTok, nil); status != 403 || graphErrorCode(body) != "Authorization_RequestDenied" {
			t.Fatalf("a guest lists users: %d %v", status, body)
		}
	})

	t.Run("Reuse", func(t *testing.T) {
		if status, page := s.redeemPage(t, link); status != 410 || !strings.Contains(page, "accepted already") {
			t.Fatalf("opening a used link: %d\n%s", status, page)
		}
		if status, _ := s.redeem(t, tokenOf(t, link), "an0ther password!"); status != 410 {
			t.Fatalf("posting a used token: %d", status)
		}
		s.MustPasswordToken(t, guestMail, guestPassword, s.Creds.Audience) // the password did not change
	})

	t.Run("Revoke", func(t *testing.T) {
		const other = "other@example.org"
		out := mustRunCLI(t, s, "invite", other)
		id := invitationID.FindStringSubmatch(out.Stdout)[1]
		otherLink := linkIn(t, parseMail(t, ms.wait(t, other, 0).Data).Text)
		mustRunCLI(t, s, "invite", "revoke", id)
		if status, page := s.redeemPage(t, otherLink); status != 410 || !strings.Contains(page, "revoked") {
			t.Fatalf("a revoked link: %d\n%s", status, page)
		}
		if status, _ := s.redeem(t, tokenOf(t, otherLink), guestPassword); status != 410 {
			t.Fatalf("posting a revoked token: %d", status)
		}
		if status, _ := s.PasswordToken(t, other, guestPassword, s.Creds.Audience); status != 400 {
			t.Fatalf("the revoked guest signs in: %d", status)
		}
	})

	t.Run("Resend", func(t *testing.T) {
		const third = "third@example.org"
		out := mustRunCLI(t, s, "invite", third)
		id := invitationID.FindStringSubmatch(out.Stdout)[1]
		oldLink := linkIn(t, parseMail(t, ms.wait(t, third, 0).Data).Text)
		mustRunCLI(t, s, "invite", "resend", id)
		newLink := linkIn(t, parseMail(t, ms.wait(t, third, 1).Data).Text)
		if newLink == oldLink {
			t.Fatal("the resent link is the old one")
		}
		if status, page := s.redeemPage(t, oldLink); status != 410 || !strings.Contains(page, "newer invitation") {
			t.Fatalf("the replaced link: %d\n%s", status, page)
		}
		if status, page := s.redeemPage(t, newLink); status != 200 {
			t.Fatalf("the new link: %d\n%s", status, page)
		}
		list := mustRunCLI(t, s, "invite", "list")
		for _, want := range []string{guestMail + "  Accepted", "other@example.org  Revoked", third + "  PendingAcceptance"} {
			if !strings.Contains(strings.Join(strings.Fields(list.Stdout), "  "), strings.Join(strings.Fields(want), "  ")) {
				t.Errorf("invite list lacks %q:\n%s", want, list.Stdout)
			}
		}
	})

	t.Run("RevokeRedeemed", func(t *testing.T) {
		mustRunCLI(t, s, "invite", "revoke", firstID)
		status, body := s.PasswordToken(t, guestMail, guestPassword, s.Creds.Audience)
		if status != 400 || !strings.HasPrefix(fmt.Sprint(body["error_description"]), "AADSTS50057") {
			t.Fatalf("a guest whose invitation was revoked signs in: %d %v", status, body)
		}
	})
}

// TestInvitations_Outbox: with no SMTP server the invitation is written to
// <data>/outbox as an .eml file readable only by its owner, and logged.
func TestInvitations_Outbox(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	admin := s.GraphToken(t)
	status, _, inv := s.Do(t, "POST", "/v1.0/invitations", admin, map[string]any{
		"invitedUserEmailAddress": "outbox@example.org", "inviteRedirectUrl": "https://example.org/welcome", "sendInvitationMessage": true})
	if status != 201 || inv["status"] != "PendingAcceptance" || inv["inviteRedeemUrl"] == nil || inv["invitedUser"] == nil {
		t.Fatalf("POST /v1.0/invitations: %d %v", status, inv)
	}
	entries, err := os.ReadDir(filepath.Join(s.DataDir, "outbox"))
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".eml") {
		t.Fatalf("outbox: %v, %v", entries, err)
	}
	fi, err := entries[0].Info()
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the .eml's mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	data, err := os.ReadFile(filepath.Join(s.DataDir, "outbox", entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	msg := parseMail(t, data)
	if msg.Header.Get("To") != "outbox@example.org" || linkIn(t, msg.Text) != inv["inviteRedeemUrl"] {
		t.Fatalf("the .eml:\n%s\nwant the link %v", data, inv["inviteRedeemUrl"])
	}
	if !strings.Contains(s.Logs(), "written to the outbox") {
		t.Error("no log line says the message went to the outbox")
	}
	// Only a directory administrator invites.
	if status, _, body := s.Do(t, "POST", "/v1.0/invitations", s.Token(t), map[string]any{"invitedUserEmailAddress": "x@example.org"}); status != 401 {
		t.Errorf("an ARM token invites: %d %v", status, body)
	}
}
