package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
)

// Sessions are signed cookies, not server-side state: every node holds the
// same HMAC key (an installation secret), so a browser signed in on one node
// is signed in on all, and nothing is lost when a node restarts.
//
//	__Host-galleon-session = base64url(JSON session) "." base64url(HMAC-SHA256(key, "session\x00" payload))
//
// A cookie cannot be recalled once issued, so each request checks the
// user again (exists, enabled, same password: see Server.stillValid), and
// sign-out both clears the cookie in the browser and records the session's
// id as ended in the store every node shares (Server.Sessions), so a copy
// of the cookie taken before sign-out is refused too.

// sessionCookie is the cookie's name. The __Host- prefix makes browsers
// refuse it unless it is Secure, has Path=/ and no Domain.
const sessionCookie = "__Host-galleon-session"

// session is what the cookie carries. An anonymous visitor has a session
// too (ID only), so that the sign-in form has a CSRF token bound to it.
type session struct {
	// ID is random, renewed at sign-in and sign-out; CSRF tokens are bound to it.
	ID string `json:"sid"`
	// The signed-in user; empty ObjectID when anonymous.
	ObjectID    string `json:"oid,omitempty"`
	TenantID    string `json:"tid,omitempty"`
	UPN         string `json:"upn,omitempty"`
	DisplayName string `json:"name,omitempty"`
	// Password is a fingerprint of the user's password hash at sign-in:
	// a password change ends every session.
	Password string `json:"pwd,omitempty"`
	// Expires is the session's absolute end (Unix seconds).
	Expires int64 `json:"exp"`
}

func (s *session) signedIn() bool { return s != nil && s.ObjectID != "" }

// principal is the user the portal acts as, for tokens.
func (s *session) principal() galleon.Principal {
	return galleon.Principal{ObjectID: s.ObjectID, TenantID: s.TenantID, Type: galleon.PrincipalUser,
		UserPrincipalName: s.UPN, DisplayName: s.DisplayName}
}

func newSessionID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mac is HMAC-SHA256 of the purpose and the message under the key.
func (s *Server) mac(purpose, msg string) []byte {
	h := hmac.New(sha256.New, s.Key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// encodeSession signs sess for the cookie.
func (s *Server) encodeSession(sess *session) string {
	data, _ := json.Marshal(sess)
	payload := base64.RawURLEncoding.EncodeToString(data)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", payload))
}

var errBadSession = errors.New("invalid session cookie")

// decodeSession verifies a cookie value and returns its unexpired session.
func (s *Server) decodeSession(value string, now time.Time) (*session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("session", payload)) {
		return nil, errBadSession
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errBadSession
	}
	var sess session
	if err := json.Unmarshal(data, &sess); err != nil || sess.ID == "" {
		return nil, errBadSession
	}
	if now.Unix() >= sess.Expires {
		return nil, errBadSession
	}
	return &sess, nil
}

// readSession returns the request's session, or nil.
func (s *Server) readSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	sess, err := s.decodeSession(c.Value, s.now())
	if err != nil {
		return nil
	}
	return sess
}

// writeSession sets the session cookie: HttpOnly (no script reads it),
// Secure (TLS only), SameSite=Lax (not sent on cross-site posts), expiring
// with the session.
func (s *Server) writeSession(w http.ResponseWriter, sess *session) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    s.encodeSession(sess),
		Path:     "/",
		Expires:  time.Unix(sess.Expires, 0),
		MaxAge:   int(time.Until(time.Unix(sess.Expires, 0)).Seconds()),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	})
}

// anonymousSession is a new session for a visitor who has not signed in.
func (s *Server) anonymousSession() *session {
	return &session{ID: newSessionID(), Expires: s.now().Add(anonymousLifetime).Unix()}
}

// anonymousLifetime is how long a sign-in form stays usable.
const anonymousLifetime = time.Hour

// csrfField is the hidden form field that carries the CSRF token.
const csrfField = "csrf_token"

// csrfToken is the token every form of sess carries: bound to the
// session id, so it changes at sign-in and a token from one session is
// worthless in another.
func (s *Server) csrfToken(sess *session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.ID))
}

// checkCSRF reports whether the form's token belongs to sess.
func (s *Server) checkCSRF(sess *session, token string) bool {
	if sess == nil || token == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, s.mac("csrf", sess.ID))
}

// passwordFingerprint names a password hash without revealing it.
func (s *Server) passwordFingerprint(hash string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("password", hash)[:12])
}
