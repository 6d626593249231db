package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
)

type signInPage struct {
	Username string
	Return   string
	Error    string
	Notice   string
}

// getSignIn shows the sign-in form, with an anonymous session whose CSRF
// token the form carries.
func (s *Server) getSignIn(w http.ResponseWriter, r *http.Request) {
	sess := s.readSession(r)
	if sess.signedIn() && s.stillValid(r.Context(), sess) {
		http.Redirect(w, r, safeReturn(r.URL.Query().Get("return")), http.StatusSeeOther)
		return
	}
	if sess == nil || sess.signedIn() {
		sess = s.anonymousSession()
		s.writeSession(w, sess)
	}
	page := signInPage{Return: safeReturn(r.URL.Query().Get("return"))}
	if r.URL.Query().Get("signedout") != "" {
		page.Notice = "You have signed out."
	}
	s.render(w, r, &visit{s: s, sess: sess, CSRF: s.csrfToken(sess)}, http.StatusOK, "signin", "Sign in", page)
}

// maxSignInForm bounds the sign-in form (user name, password, CSRF token,
// return path): anyone may post it, without a session.
const maxSignInForm = 8 << 10

// postSignIn checks the form's CSRF token, then signs the user in with the
// password grant, exactly as a client would; the token endpoint's sign-in
// limits refuse it with 429 and Retry-After.
func (s *Server) postSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	page := signInPage{Username: username, Return: safeReturn(r.PostForm.Get("return"))}
	sess := s.readSession(r)
	fail := func(status int, msg string) {
		if sess == nil {
			sess = s.anonymousSession()
			s.writeSession(w, sess)
		}
		page.Error = msg
		s.render(w, r, &visit{s: s, sess: sess, CSRF: s.csrfToken(sess)}, status, "signin", "Sign in", page)
	}
	if !s.checkCSRF(sess, r.PostForm.Get(csrfField)) {
		sess = nil
		fail(http.StatusForbidden, "The sign-in form expired. Please try again.")
		return
	}
	password := r.PostForm.Get("password")
	if username == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	u, refused, err := s.passwordSignIn(r.Context(), username, password, r.RemoteAddr)
	if err != nil {
		s.logger().Error("portal: sign-in", slog.Any("err", err))
		fail(http.StatusInternalServerError, "Signing in failed on the server. The error was logged.")
		return
	}
	if refused != nil {
		status := http.StatusUnauthorized
		if refused.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(refused.retryAfter))
			status = http.StatusTooManyRequests
		}
		fail(status, refused.message)
		return
	}
	// A new session id at sign-in: a session fixed before sign-in (and
	// its CSRF token) is worth nothing after it.
	sess = &session{ID: newSessionID(), ObjectID: u.ObjectID, TenantID: u.TenantID, UPN: u.UserPrincipalName,
		DisplayName: u.DisplayName, Password: s.passwordFingerprint(u.PasswordHash),
		Expires: s.now().Add(s.sessionLifetime()).Unix()}
	s.writeSession(w, sess)
	s.logger().Info("portal sign-in", slog.String("oid", u.ObjectID), slog.String("address", clientAddress(r)))
	http.Redirect(w, r, page.Return, http.StatusSeeOther)
}

// signInRefused is why the token endpoint refused a sign-in, for the page.
type signInRefused struct {
	message string
	// retryAfter is the seconds to wait when the sign-in limits refused
	// the attempt; 0 otherwise.
	retryAfter int
}

// passwordSignIn asks the token endpoint for an ARM token with the
// password grant (so the password, a guest's redemption and a disabled
// account are checked exactly as for any client) and returns the user, or
// why it was refused.
//
// The request carries the browser's address (remoteAddr, the connection's
// peer) as its own, so the token endpoint's sign-in limits count the
// attempt once, against the account and that address, as they count a
// client's: the portal keeps no limits of its own. Two counts of one
// attempt would lock an account after fewer failures than documented, and
// the portal's own count would not see the guesses sent to the token
// endpoint directly.
func (s *Server) passwordSignIn(ctx context.Context, username, password, remoteAddr string) (*galleon.DirectoryUser, *signInRefused, error) {
	form := url.Values{
		"grant_type": {"password"},
		"username":   {username},
		"password":   {password},
		"client_id":  {"galleon-portal"},
		"resource":   {s.ARMAudience},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/adfs/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.RemoteAddr = remoteAddr
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := &recorder{header: http.Header{}}
	s.Identity.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return nil, nil, fmt.Errorf("token endpoint answered %d: %w", rec.status, err)
	}
	incorrect := &signInRefused{message: "Your user name or password is incorrect."}
	switch {
	case body.AccessToken != "":
	case slices.Contains(body.ErrorCodes, 50053): // the sign-in limits
		wait, err := strconv.Atoi(rec.header.Get("Retry-After"))
		if err != nil || wait < 1 {
			wait = 1
		}
		return nil, &signInRefused{message: fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", wait), retryAfter: wait}, nil
	case slices.Contains(body.ErrorCodes, 50057):
		return nil, &signInRefused{message: "Your account is disabled. Ask an administrator to enable it."}, nil
	case body.Error == "invalid_grant":
		return nil, incorrect, nil
	default:
		return nil, nil, fmt.Errorf("token endpoint answered %d %s %v", rec.status, body.Error, body.ErrorCodes)
	}
	p, err := s.VerifyToken(body.AccessToken)
	if err != nil {
		return nil, nil, fmt.Errorf("verifying the sign-in token: %w", err)
	}
	if p.Type != galleon.PrincipalUser {
		return nil, incorrect, nil
	}
	u, err := s.Users.GetUser(ctx, p.ObjectID)
	if err != nil {
		return nil, nil, err
	}
	return u, nil, nil
}

// postSignOut ends the session: the cookie is replaced by an anonymous
// one with a new id.
func (s *Server) postSignOut(w http.ResponseWriter, r *http.Request, v *visit) error {
	if s.Sessions != nil {
		if err := s.Sessions.EndSession(r.Context(), v.sess.ID, time.Unix(v.sess.Expires, 0)); err != nil {
			return err
		}
	}
	s.writeSession(w, s.anonymousSession())
	http.Redirect(w, r, "/portal/signin?signedout=1", http.StatusSeeOther)
	return nil
}

// safeReturn keeps a return address only if it is a portal path on this
// server (no scheme, no host, no "//" or "/\" that browsers read as a host).
func safeReturn(ret string) string {
	if !strings.HasPrefix(ret, Prefix) || strings.ContainsAny(ret, "\\\r\n") || strings.HasPrefix(ret, "//") {
		return Prefix
	}
	if u, err := url.Parse(ret); err != nil || u.Host != "" || u.Scheme != "" {
		return Prefix
	}
	return ret
}
