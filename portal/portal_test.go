package portal

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// fakeUsers is the directory the portal checks sessions against.
type fakeUsers struct {
	mu    sync.Mutex
	users map[string]*galleon.DirectoryUser
}

func (f *fakeUsers) GetUser(_ context.Context, id string) (*galleon.DirectoryUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "no user %s", id)
	}
	c := *u
	return &c, nil
}

func (f *fakeUsers) update(id string, fn func(u *galleon.DirectoryUser)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.users[id])
}

// fakeARM answers the few reads the pages make and records writes.
type fakeARM struct {
	mu     sync.Mutex
	writes []string
}

func (a *fakeARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer arm-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		a.mu.Lock()
		a.writes = append(a.writes, r.Method+" "+r.URL.Path)
		a.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch p := r.URL.Path; {
	case p == "/subscriptions":
		_, _ = w.Write([]byte(`{"value":[{"subscriptionId":"sub1","displayName":"Galleon"}]}`))
	case strings.HasSuffix(p, "/locations"):
		_, _ = w.Write([]byte(`{"value":[{"name":"eastus","displayName":"East US"}]}`))
	case strings.HasSuffix(p, "/resourcegroups/rg1"):
		_, _ = w.Write([]byte(`{"id":"/subscriptions/sub1/resourceGroups/rg1","name":"rg1","location":"eastus"}`))
	case strings.HasSuffix(p, "/resourcegroups"):
		_, _ = w.Write([]byte(`{"value":[{"id":"/subscriptions/sub1/resourceGroups/rg1","name":"rg1","location":"eastus"}]}`))
	case strings.HasSuffix(p, "/galleries"), strings.HasSuffix(p, "/resources"):
		_, _ = w.Write([]byte(`{"value":[]}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not found"}}`))
	}
}

func (a *fakeARM) Writes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.writes...)
}

const alicePassword = "correct horse"

// newTestServer is a portal whose sign-in knows alice@galleon.local.
func newTestServer(t *testing.T) (*Server, *fakeUsers, *fakeARM) {
	t.Helper()
	users := &fakeUsers{users: map[string]*galleon.DirectoryUser{
		"oid-alice": {Principal: galleon.Principal{ObjectID: "oid-alice", TenantID: "t", Type: galleon.PrincipalUser,
			UserPrincipalName: "alice@galleon.local", DisplayName: "Alice"}, PasswordHash: "hash-1", AccountEnabled: true},
	}}
	arm := &fakeARM{}
	identity := &fakeIdentity{limits: signinlimit.New(0)}
	s := &Server{
		ARM:      arm,
		Identity: identity,
		VerifyToken: func(tok string) (galleon.Principal, error) {
			if tok != "signin-token" {
				return galleon.Principal{}, galleon.Errorf(galleon.CodeAuthenticationFailed, "bad token")
			}
			return users.users["oid-alice"].Principal, nil
		},
		IssueToken: func(p galleon.Principal, aud string) (string, time.Time, error) {
			return "arm-token", time.Now().Add(time.Hour), nil
		},
		Users:       users,
		ARMAudience: "https://management.core.windows.net/",
		Key:         []byte("0123456789abcdef0123456789abcdef"),
	}
	return s, users, arm
}

// browser keeps the session cookie between requests, as a browser would.
type testBrowser struct {
	t      *testing.T
	h      http.Handler
	cookie *http.Cookie
}

func (b *testBrowser) do(method, path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, "https://galleon.test"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "https://galleon.test"+path, nil)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			b.cookie = c
		}
	}
	return w
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of the form on the page at path.
func (b *testBrowser) csrf(path string) string {
	b.t.Helper()
	w := b.do(http.MethodGet, path, nil)
	m := csrfPattern.FindStringSubmatch(w.Body.String())
	if m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in\n%s", path, w.Code, w.Body.String())
	}
	return m[1]
}

func (b *testBrowser) signIn(password string) *httptest.ResponseRecorder {
	b.t.Helper()
	tok := b.csrf("/portal/signin")
	return b.do(http.MethodPost, "/portal/signin", url.Values{"username": {"alice@galleon.local"}, "password": {password},
		"csrf_token": {tok}, "return": {"/portal/galleries"}})
}

func TestSignIn_SessionCookie(t *testing.T) {
	s, _, _ := newTestServer(t)
	b := &testBrowser{t: t, h: s.Handler()}

	t.Run("OK", func(t *testing.T) {
		b.csrf("/portal/signin")
		anonymous := s.readSessionValue(t, b.cookie.Value)
		w := b.signIn(alicePassword)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/portal/galleries" {
			t.Fatalf("sign-in = %d to %q, want 303 to /portal/galleries\n%s", w.Code, w.Header().Get("Location"), w.Body)
		}
		c := b.cookie
		if c.Name != "__Host-galleon-session" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie = %+v, want __Host- prefixed, HttpOnly, Secure, SameSite=Lax, Path=/", c)
		}
		sess := s.readSessionValue(t, c.Value)
		if sess.ObjectID != "oid-alice" || sess.ID == anonymous.ID {
			t.Errorf("session = %+v; anonymous id %s, want alice with a new id", sess, anonymous.ID)
		}
		if w := b.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusOK {
			t.Errorf("galleries after sign-in = %d", w.Code)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		b := &testBrowser{t: t, h: s.Handler()}
		w := b.signIn("wrong")
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "user name or password is incorrect") {
			t.Errorf("wrong password = %d\n%s", w.Code, w.Body)
		}
	})
	t.Run("ErrFormTooLarge", func(t *testing.T) {
		b := &testBrowser{t: t, h: s.Handler()}
		if w := b.signIn(strings.Repeat("x", maxSignInForm)); w.Code != http.StatusBadRequest {
			t.Errorf("a sign-in form over %d bytes = %d, want 400\n%s", maxSignInForm, w.Code, w.Body)
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		b := &testBrowser{t: t, h: s.Handler()}
		b.signIn(alicePassword)
		payload, sig, _ := strings.Cut(b.cookie.Value, ".")
		data, _ := decodeB64(payload)
		data = []byte(strings.Replace(string(data), "oid-alice", "oid-admin", 1))
		b.cookie.Value = encodeB64(data) + "." + sig
		if w := b.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/portal/signin") {
			t.Errorf("tampered cookie = %d to %q, want a redirect to sign in", w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		b := &testBrowser{t: t, h: s.Handler()}
		b.signIn(alicePassword)
		s.Now = func() time.Time { return time.Now().Add(9 * time.Hour) }
		defer func() { s.Now = nil }()
		if w := b.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusSeeOther {
			t.Errorf("expired session = %d, want 303 to sign in", w.Code)
		}
	})
}

func TestSession_UserChecked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(u *galleon.DirectoryUser)
	}{
		{"ErrDisabled", func(u *galleon.DirectoryUser) { u.AccountEnabled = false }},
		{"ErrPasswordChanged", func(u *galleon.DirectoryUser) { u.PasswordHash = "hash-2" }},
		{"ErrDeleted", func(u *galleon.DirectoryUser) { u.ObjectID = "gone" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, users, _ := newTestServer(t)
			b := &testBrowser{t: t, h: s.Handler()}
			b.signIn(alicePassword)
			users.update("oid-alice", tt.change)
			if tt.name == "ErrDeleted" {
				delete(users.users, "oid-alice")
			}
			if w := b.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusSeeOther {
				t.Errorf("GET after the change = %d, want 303 to sign in", w.Code)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	s, _, arm := newTestServer(t)
	b := &testBrowser{t: t, h: s.Handler()}
	b.signIn(alicePassword)
	other := &testBrowser{t: t, h: s.Handler()}
	other.signIn(alicePassword)
	otherToken := other.csrf("/portal/galleries/create")

	create := url.Values{"subscription": {"sub1"}, "rg_mode": {"existing"}, "resource_group": {"rg1"}, "name": {"myGallery"},
		"region": {"eastus"}, "step": {"create"}}
	for _, tt := range []struct {
		name, token string
	}{
		{"ErrMissing", ""},
		{"ErrOtherSession", otherToken},
		{"ErrGarbage", "not-a-token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range create {
				form[k] = v
			}
			form.Set("csrf_token", tt.token)
			if w := b.do(http.MethodPost, "/portal/galleries/create", form); w.Code != http.StatusForbidden {
				t.Errorf("create gallery = %d, want 403", w.Code)
			}
			if w := b.do(http.MethodPost, "/portal/signout", url.Values{"csrf_token": {tt.token}}); w.Code != http.StatusForbidden {
				t.Errorf("sign out = %d, want 403", w.Code)
			}
			anon := &testBrowser{t: t, h: s.Handler()}
			anon.csrf("/portal/signin")
			w := anon.do(http.MethodPost, "/portal/signin", url.Values{"username": {"alice@galleon.local"}, "password": {alicePassword}, "csrf_token": {tt.token}})
			if w.Code != http.StatusForbidden {
				t.Errorf("sign in = %d, want 403", w.Code)
			}
		})
	}
	if got := arm.Writes(); len(got) != 0 {
		t.Errorf("ARM writes without a valid token: %v", got)
	}
	t.Run("ErrCrossOrigin", func(t *testing.T) {
		form := url.Values{"csrf_token": {b.csrf("/portal/galleries/create")}}
		for k, v := range create {
			form[k] = v
		}
		if w := b.do(http.MethodPost, "/portal/galleries/create", form, "Sec-Fetch-Site", "cross-site"); w.Code != http.StatusForbidden {
			t.Errorf("cross-site create = %d, want 403", w.Code)
		}
		if got := arm.Writes(); len(got) != 0 {
			t.Errorf("ARM writes from a cross-site form: %v", got)
		}
	})
	t.Run("OK", func(t *testing.T) {
		form := url.Values{"csrf_token": {b.csrf("/portal/galleries/create")}}
		for k, v := range create {
			form[k] = v
		}
		w := b.do(http.MethodPost, "/portal/galleries/create", form)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/portal/deployment?") {
			t.Fatalf("create gallery = %d to %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
		}
		want := "PUT /subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/myGallery"
		if got := arm.Writes(); len(got) != 1 || got[0] != want {
			t.Errorf("ARM writes = %v, want [%s]", got, want)
		}
	})
	t.Run("ErrSignedOut", func(t *testing.T) {
		anon := &testBrowser{t: t, h: s.Handler()}
		w := anon.do(http.MethodGet, "/portal/galleries/create", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/portal/signin?return=%2Fportal%2Fgalleries%2Fcreate" {
			t.Errorf("signed out = %d to %q", w.Code, w.Header().Get("Location"))
		}
	})
}

// fakeIdentity answers the portal's password grant for alice, with the
// token endpoint's sign-in limits, and remembers the client addresses it
// was given.
type fakeIdentity struct {
	limits *signinlimit.Limiter

	mu    sync.Mutex
	addrs []string
}

func (f *fakeIdentity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.addrs = append(f.addrs, r.RemoteAddr)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	user, addr := r.PostForm.Get("username"), signinlimit.PeerAddress(r.RemoteAddr)
	if r.URL.Path != "/adfs/oauth2/token" || r.PostForm.Get("grant_type") != "password" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"unsupported_grant_type","error_codes":[70003]}`))
		return
	}
	if ref := f.limits.Try(user, addr); ref != nil {
		w.Header().Set("Retry-After", strconv.Itoa(ref.Seconds()))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_codes":[50053]}`))
		return
	}
	if user == "alice@galleon.local" && r.PostForm.Get("password") == alicePassword {
		f.limits.Succeeded(user, addr)
		_, _ = w.Write([]byte(`{"access_token":"signin-token"}`))
		return
	}
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"invalid_grant","error_codes":[50126]}`))
}

// TestSignIn_RateLimited: the portal keeps no count of its own; the token
// endpoint's limits, given the browser's address, refuse the sixth
// failure in a row and then the right password, which the page shows as
// 429 with Retry-After, until the wait is over.
func TestSignIn_RateLimited(t *testing.T) {
	s, _, _ := newTestServer(t)
	now := time.Unix(1_000_000, 0)
	identity := s.Identity.(*fakeIdentity)
	identity.limits.Now = func() time.Time { return now }
	b := &testBrowser{t: t, h: s.Handler()}
	for i := range 5 {
		if w := b.signIn("wrong"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Your user name or password is incorrect.") {
			t.Fatalf("attempt %d = %d, want 401 with the message", i+1, w.Code)
		}
	}
	w := b.signIn(alicePassword)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "12" ||
		!strings.Contains(w.Body.String(), "Too many sign-in attempts. Try again in 12 seconds.") {
		t.Fatalf("sixth attempt = %d (Retry-After %q), want 429 after 12s", w.Code, w.Header().Get("Retry-After"))
	}
	now = now.Add(12 * time.Second)
	if w := b.signIn(alicePassword); w.Code != http.StatusSeeOther {
		t.Errorf("after waiting = %d, want 303", w.Code)
	}
	identity.mu.Lock()
	defer identity.mu.Unlock()
	for _, a := range identity.addrs {
		if a != "192.0.2.1:1234" { // httptest.NewRequest's client
			t.Errorf("the token endpoint was told the client is %q, want the browser's address", a)
		}
	}
	if len(identity.addrs) != 7 {
		t.Errorf("%d password grants for 7 sign-ins: each attempt is counted once, by the token endpoint", len(identity.addrs))
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/portal/galleries":       "/portal/galleries",
		"/portal/resource/a?b=c":  "/portal/resource/a?b=c",
		"":                        "/portal/",
		"https://evil.example/":   "/portal/",
		"//evil.example/portal/":  "/portal/",
		"/portal/\\evil":          "/portal/",
		"/v1.0/users":             "/portal/",
		"/portal/x\r\nSet-Cookie": "/portal/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchServices(t *testing.T) {
	for _, q := range []string{"Shared image gallery", "compute gallery", "Azure compute galleries", "shared image galleries"} {
		got := matchServices(q)
		if len(got) == 0 || got[0].URL != "/portal/galleries" {
			t.Errorf("matchServices(%q) = %v, want the galleries page first", q, got)
		}
	}
	if got := matchServices("toaster"); len(got) != 0 {
		t.Errorf("matchServices(toaster) = %v", got)
	}
}

func TestFieldFor(t *testing.T) {
	for _, tt := range []struct {
		target string
		fields map[string]string
		want   string
	}{
		{"galleryName", galleryFields, "name"},
		{"location", galleryFields, "region"},
		{"gallery.properties.description", galleryFields, "description"},
		{"galleryImageName", imageFields, "name"},
		{"galleryImage.properties.identifier.publisher", imageFields, "publisher"},
		{"galleryImage.properties.identifier", imageFields, "publisher"},
		{"galleryImage.properties.osType", imageFields, "os_type"},
		{"somethingElse", imageFields, ""},
		{"", imageFields, ""},
	} {
		if got := fieldFor(tt.target, tt.fields); got != tt.want {
			t.Errorf("fieldFor(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}

// readSessionValue decodes a cookie value.
func (s *Server) readSessionValue(t *testing.T, v string) *session {
	t.Helper()
	sess, err := s.decodeSession(v, s.now())
	if err != nil {
		t.Fatalf("decoding the session cookie: %v", err)
	}
	return sess
}

func decodeB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestParsePages(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"signin", "home", "search", "galleries", "gallery_create", "image_create", "version_create",
		"deployment", "gallery", "image", "version", "resource", "resources", "error"} {
		if pages[p] == nil {
			t.Errorf("no page %q", p)
		}
	}
}

// routePath is a request path for a route pattern, its wildcards filled.
func routePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{id...}", "subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/g1")
	return method, path
}

// TestRoutes_SignedOut walks every signed-in route: a signed-out browser
// is sent to sign in (a page) or told 401 (a script's JSON endpoint), and
// nothing reaches the API.
func TestRoutes_SignedOut(t *testing.T) {
	s, _, arm := newTestServer(t)
	var calls atomic.Int32
	inner := s.ARM
	s.ARM = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); inner.ServeHTTP(w, r) })
	routes := s.signedInRoutes()
	if len(routes) < 25 {
		t.Fatalf("only %d signed-in routes", len(routes))
	}
	h := s.Handler()
	for _, rt := range routes {
		t.Run(rt.pattern, func(t *testing.T) {
			method, path := routePath(rt.pattern)
			anon := &testBrowser{t: t, h: h}
			var form url.Values
			if method == http.MethodPost {
				form = url.Values{"csrf_token": {"x"}, "name": {"g1"}}
			}
			w := anon.do(method, path+"?id=/subscriptions/sub1/resourceGroups/rg1&scope=/subscriptions/sub1", form)
			switch loc := w.Header().Get("Location"); {
			case w.Code == http.StatusSeeOther && (loc == "/portal/signin" || strings.HasPrefix(loc, "/portal/signin?return=")):
			case w.Code == http.StatusUnauthorized && method == http.MethodGet:
			default:
				t.Errorf("signed out: %d to %q, want 303 to sign-in or 401", w.Code, loc)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d API requests from signed-out browsers (writes: %v)", n, arm.Writes())
	}
}

// TestRoutes_CSRF walks every unsafe signed-in route: without the
// session's CSRF token, or with another session's, it is refused with 403
// and nothing is written.
func TestRoutes_CSRF(t *testing.T) {
	s, _, arm := newTestServer(t)
	h := s.Handler()
	b := &testBrowser{t: t, h: h}
	b.signIn(alicePassword)
	other := &testBrowser{t: t, h: h}
	other.signIn(alicePassword)
	otherToken := other.csrf("/portal/galleries/create")
	n := 0
	for _, rt := range s.signedInRoutes() {
		method, path := routePath(rt.pattern)
		if method == http.MethodGet {
			continue
		}
		n++
		for _, token := range []string{"", otherToken, "garbage"} {
			t.Run(rt.pattern, func(t *testing.T) {
				// A form each handler would act on: the fake API serves
				// this resource group, and its name is confirmed.
				form := url.Values{"id": {"/subscriptions/sub1/resourcegroups/rg1"}, "scope": {"/subscriptions/sub1"}, "name": {"rg1"},
					"confirm_name": {"rg1"}, "step": {"create"}}
				if token != "" {
					form.Set("csrf_token", token)
				}
				if w := b.do(method, path, form); w.Code != http.StatusForbidden {
					t.Errorf("token %q: %d, want 403", token, w.Code)
				}
			})
		}
	}
	if n < 8 {
		t.Errorf("only %d unsafe routes", n)
	}
	if got := arm.Writes(); len(got) != 0 {
		t.Errorf("ARM writes without a valid CSRF token: %v", got)
	}
	// The same browser's own token passes the check (the handler then
	// decides): sign-out with it ends the session.
	if w := b.do(http.MethodPost, "/portal/signout", url.Values{"csrf_token": {b.csrf("/portal/galleries")}}); w.Code != http.StatusSeeOther {
		t.Errorf("sign out with the session's token = %d, want 303", w.Code)
	}
}

// fakeSessions remembers ended sessions in memory, as the store does in
// its ended_sessions table; err makes every check fail.
type fakeSessions struct {
	mu    sync.Mutex
	ended map[string]time.Time
	err   error
}

func (f *fakeSessions) EndSession(_ context.Context, id string, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == nil {
		f.ended = map[string]time.Time{}
	}
	f.ended[id] = expires
	return f.err
}

func (f *fakeSessions) SessionEnded(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.ended[id]
	return ok, f.err
}

// TestSignOut_EndsCopies: a copy of the session cookie taken before
// sign-out (another tab's, or a stolen one) is refused after it, while
// another sign-in of the same user goes on; a store that cannot say
// whether a session ended sends the user to sign in.
func TestSignOut_EndsCopies(t *testing.T) {
	s, _, _ := newTestServer(t)
	sessions := &fakeSessions{}
	s.Sessions = sessions
	h := s.Handler()
	b := &testBrowser{t: t, h: h}
	b.signIn(alicePassword)
	other := &testBrowser{t: t, h: h}
	other.signIn(alicePassword)
	copied := &testBrowser{t: t, h: h, cookie: b.cookie}
	if w := copied.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusOK {
		t.Fatalf("the copied cookie before sign-out: %d, want 200", w.Code)
	}
	if w := b.do(http.MethodPost, "/portal/signout", url.Values{"csrf_token": {b.csrf("/portal/galleries")}}); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out = %d", w.Code)
	}
	if w := copied.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusSeeOther ||
		!strings.HasPrefix(w.Header().Get("Location"), "/portal/signin") {
		t.Errorf("the copied cookie after sign-out: %d to %q, want 303 to sign-in", w.Code, w.Header().Get("Location"))
	}
	if w := other.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusOK {
		t.Errorf("the other sign-in after sign-out: %d, want 200", w.Code)
	}
	sessions.err = errors.New("store unavailable")
	if w := other.do(http.MethodGet, "/portal/galleries", nil); w.Code != http.StatusSeeOther {
		t.Errorf("with the store failing: %d, want 303 to sign-in", w.Code)
	}
}
