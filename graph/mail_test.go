package graph

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestComposeInvitation(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	base := InvitationMail{From: "Galleon <noreply@galleon.local>", To: "someone@example.org", InviterName: "Ada Admin",
		TenantName: "Galleon", Link: "https://127.0.0.1:8443/invitations/redeem?token=abc.def", Expires: now.Add(7 * 24 * time.Hour),
		ServerURL: "https://127.0.0.1:8443", Now: now, ID: "inv-1"}
	for _, tt := range []struct {
		name        string
		edit        func(*InvitationMail)
		wantSubject string
		wantBody    []string
		notInBody   []string
	}{
		{"Directory", func(*InvitationMail) {}, "Ada Admin invited you to the Galleon directory Galleon",
			[]string{"Ada Admin has invited you to the Galleon directory Galleon", base.Link, "sign in as someone@example.org", "until Fri, 4 Dec 2026 10:00 UTC"}, nil},
		{"Gallery", func(m *InvitationMail) {
			m.ResourceID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/myGallery"
		}, "Ada Admin invited you to the gallery myGallery",
			[]string{"invited you to the gallery myGallery", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/myGallery", base.Link}, nil},
		{"Image", func(m *InvitationMail) {
			m.ResourceID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/ubuntu"
		}, "Ada Admin invited you to the image definition ubuntu in the gallery g", nil, nil},
		{"Note", func(m *InvitationMail) { m.Message = "Welcome aboard!\nSee you." }, "",
			[]string{"Ada Admin writes:", "  Welcome aboard!", "  See you."}, nil},
		{"HeaderInjection", func(m *InvitationMail) { m.InviterName = "Eve\r\nBcc: victim@example.com" }, "Eve  Bcc: victim@example.com invited you to the Galleon directory Galleon",
			nil, []string{"\nBcc:"}},
		{"NonASCII", func(m *InvitationMail) { m.InviterName = "Zoë Ångström" }, "Zoë Ångström invited you to the Galleon directory Galleon",
			[]string{"Zoë Ångström has invited you"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.edit(&p)
			raw := ComposeInvitation(p).Bytes()
			msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatalf("the message does not parse: %v\n%s", err, raw)
			}
			if len(msg.Header["Bcc"]) > 0 || msg.Header.Get("To") != "someone@example.org" {
				t.Fatalf("headers %v", msg.Header)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSubject != "" && subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", subject, tt.wantSubject)
			}
			var body io.Reader = msg.Body
			if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
				body = quotedprintable.NewReader(body)
			}
			text, _ := io.ReadAll(body)
			for _, w := range tt.wantBody {
				if !strings.Contains(string(text), w) {
					t.Errorf("body lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notInBody {
				if strings.Contains(string(raw), w) {
					t.Errorf("message contains %q:\n%s", w, raw)
				}
			}
			if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
				t.Errorf("Message-ID or Date missing: %v", msg.Header)
			}
		})
	}
}

func TestOutbox_Send(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := &Outbox{Dir: dir}
	where, err := o.Send(context.Background(), &Message{From: "a@b", To: "c@d", Subject: "s", Body: "hello", Date: time.Now(), ID: "../../x"})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".eml") || strings.Contains(entries[0].Name(), "..") {
		t.Fatalf("outbox %v, %v", entries, err)
	}
	if !strings.Contains(where, entries[0].Name()) {
		t.Errorf("Send said %q", where)
	}
	fi, _ := entries[0].Info()
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes: file %v, folder %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
}
