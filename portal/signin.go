package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

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

// postSignIn checks the form's CSRF token and the rate limits, then signs
// the user in with the password grant, exactly as a client would.
func (s *Server) postSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
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
	if ok, wait := s.limiter.Allow(username, clientAddress(r)); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", int(wait.Seconds())))
		return
	}
	u, msg, err := s.passwordSignIn(r.Context(), username, password)
	if err != nil {
		s.logger().Error("portal: sign-in", slog.Any("err", err))
		fail(http.StatusInternalServerError, "Signing in failed on the server. The error was logged.")
		return
	}
	if u == nil {
		s.limiter.Failed(username)
		fail(http.StatusUnauthorized, msg)
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

// passwordSignIn asks the token endpoint for an ARM token with the
// password grant (so the password, a guest's redemption and a disabled
// account are checked exactly as for any client) and returns the user, or
// nil and the message to show.
func (s *Server) passwordSignIn(ctx context.Context, username, password string) (*galleon.DirectoryUser, string, error) {
	form := url.Values{
		"grant_type": {"password"},
		"username":   {username},
		"password":   {password},
		"client_id":  {"galleon-portal"},
		"resource":   {s.ARMAudience},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/adfs/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.RemoteAddr = "portal"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := &recorder{header: http.Header{}}
	s.Identity.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return nil, "", fmt.Errorf("token endpoint answered %d: %w", rec.status, err)
	}
	switch {
	case body.AccessToken != "":
	case slices.Contains(body.ErrorCodes, 50057):
		return nil, "Your account is disabled. Ask an administrator to enable it.", nil
	case body.Error == "invalid_grant":
		return nil, "Your user name or password is incorrect.", nil
	default:
		return nil, "", fmt.Errorf("token endpoint answered %d %s %v", rec.status, body.Error, body.ErrorCodes)
	}
	p, err := s.VerifyToken(body.AccessToken)
	if err != nil {
		return nil, "", fmt.Errorf("verifying the sign-in token: %w", err)
	}
	if p.Type != galleon.PrincipalUser {
		return nil, "Your user name or password is incorrect.", nil
	}
	u, err := s.Users.GetUser(ctx, p.ObjectID)
	if err != nil {
		return nil, "", err
	}
	return u, "", nil
}

// postSignOut ends the session: the cookie is replaced by an anonymous
// one with a new id.
func (s *Server) postSignOut(w http.ResponseWriter, r *http.Request, v *visit) error {
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
