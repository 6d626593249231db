// Package portal serves Galleon's web portal: server-rendered pages
// (html/template, embedded templates and assets, a small hand-written
// script) that walk through the seed's steps in a browser.
//
// The portal is a client, not a second implementation: every read and write
// is an in-process request to the ARM handler (or Graph's) with a bearer
// token the identity issuer mints for the signed-in user, so validation,
// RBAC, auditing and long-running operations are exactly the API's.
//
//	GET  /                                  redirects to /portal/
//	GET  /portal/                           home: services and recent resources
//	GET  /portal/signin, POST               sign-in with a directory user (password grant)
//	POST /portal/signout
//	GET  /portal/search?q=                  services and resources by name
//	GET  /portal/search/suggest?q=          the same as JSON, for the search box
//	GET  /portal/validate?kind=&name=       a name checked against the domain's rule, as JSON
//	GET  /portal/galleries                  the galleries list, with Add
//	GET  /portal/galleries/create, POST     form → Review + create → Create
//	GET  /portal/images/create?gallery=, POST
//	GET  /portal/versions/create?image=, POST   Basics and Replication → Review + create → Create
//	GET  /portal/version/status?id=          a version's replication, as JSON, polled by its page
//	GET  /portal/deployment?…               a deployment's progress
//	GET  /portal/deployment/status?…        the same as JSON, polled by the page
//	GET  /portal/resources                  all resources the user may read
//	GET  /portal/resource/{ARM id}          a resource's page
//	GET  /portal/upload                     upload a disk image to a new snapshot, from the browser
//	POST /portal/upload/start, /finish      create it and grant a write SAS; end access (seal), as JSON
//	GET  /portal/delete?id=, POST           confirm by typing the name, then delete through ARM
//	GET  /portal/deletion?…, /status        a delete ARM runs in the background (a resource group's)
//	GET  /portal/access?scope=              access control (IAM): role assignments at and above a scope
//	GET  /portal/access/add?scope=, POST    add a role assignment (a guest invited by e-mail first)
//	GET  /portal/access/principals?q=&kind= the member picker's suggestions, as JSON
//	POST /portal/access/remove              remove an assignment at the scope, after confirming
//	GET  /portal/static/…                   embedded CSS and script
package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the portal's root path.
const Prefix = "/portal/"

// Owns reports whether path is the portal's: /portal/… and the bare origin,
// where a browser pointed at the server lands.
func Owns(path string) bool {
	return path == "/" || path == "/portal" || strings.HasPrefix(path, Prefix)
}

// Users is what the portal reads about the signed-in user on every
// request, so that a disabled or deleted account, or a changed password,
// ends its sessions at once. galleon.Store satisfies it.
type Users interface {
	GetUser(ctx context.Context, idOrUPN string) (*galleon.DirectoryUser, error)
}

// Sessions is where signed-out sessions are remembered, so that a copy of
// a session cookie stops working on every node at sign-out. galleon.Store
// satisfies it.
type Sessions interface {
	EndSession(ctx context.Context, id string, expires time.Time) error
	SessionEnded(ctx context.Context, id string) (bool, error)
}

// Server serves the portal. cmd/galleon assigns the fields before the
// first request.
type Server struct {
	// ARM and Graph are the API handlers the portal calls in process.
	ARM   http.Handler
	Graph http.Handler
	// Identity serves the token endpoint: sign-in is the password grant.
	Identity http.Handler
	// VerifyToken reads the principal out of the token sign-in got.
	VerifyToken func(token string) (galleon.Principal, error)
	// IssueToken mints a token for the signed-in user to call audience.
	IssueToken func(p galleon.Principal, audience string) (string, time.Time, error)
	Users      Users
	// Sessions remembers signed-out sessions; nil leaves sign-out to the
	// browser (a copied cookie then lasts until it expires).
	Sessions Sessions
	// ARMAudience and GraphAudience are the audiences of the tokens the
	// portal mints for the two APIs.
	ARMAudience   string
	GraphAudience string
	// PublicURL is the server's origin, for links that leave the browser
	// (an invitation's redirect); default https://<the request's host>.
	PublicURL string
	// Key signs session cookies and CSRF tokens; every node must have the
	// same (an installation secret).
	Key []byte
	// SessionLifetime is how long a sign-in lasts; default 8 hours.
	SessionLifetime time.Duration
	Logger          *slog.Logger
	Now             func() time.Time

	once    sync.Once
	pages   map[string]*template.Template
	initErr error
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) sessionLifetime() time.Duration {
	if s.SessionLifetime > 0 {
		return s.SessionLifetime
	}
	return 8 * time.Hour
}

func (s *Server) init() {
	s.once.Do(func() {
		s.pages, s.initErr = parsePages()
	})
}

// Handler returns the portal's handler.
func (s *Server) Handler() http.Handler {
	s.init()
	if s.initErr != nil {
		panic(fmt.Sprintf("portal templates: %v", s.initErr)) // embedded: a build defect
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /portal/static/", http.StripPrefix("/portal/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix, http.StatusFound) })
	mux.HandleFunc("GET /portal", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix, http.StatusFound) })
	mux.HandleFunc("GET /portal/signin", s.getSignIn)
	mux.HandleFunc("POST /portal/signin", s.postSignIn)
	for _, rt := range s.signedInRoutes() {
		mux.Handle(rt.pattern, s.signedIn(rt.handler))
	}
	// Cross-origin unsafe requests are refused from the browser's own
	// Sec-Fetch-Site/Origin headers before any handler runs; the CSRF token
	// on every form is checked as well, for browsers that send neither.
	protect := http.NewCrossOriginProtection()
	return securityHeaders(protect.Handler(mux))
}

// signedInRoute is a page or endpoint for signed-in users only.
type signedInRoute struct {
	pattern string // a ServeMux pattern: method and path
	handler visitHandler
}

// signedInRoutes is every route but sign-in and the static files. Each one
// goes through signedIn, so it sends a signed-out browser to sign in and
// refuses an unsafe request without the session's CSRF token; the tests
// walk this table to check exactly that for every route.
func (s *Server) signedInRoutes() []signedInRoute {
	return []signedInRoute{
		{"POST /portal/signout", s.postSignOut},
		{"GET /portal/{$}", s.home},
		{"GET /portal/search", s.search},
		{"GET /portal/search/suggest", s.suggest},
		{"GET /portal/validate", s.validateName},
		{"GET /portal/galleries", s.galleries},
		{"GET /portal/galleries/create", s.createGallery},
		{"POST /portal/galleries/create", s.createGallery},
		{"GET /portal/images/create", s.createImage},
		{"POST /portal/images/create", s.createImage},
		{"GET /portal/versions/create", s.createVersion},
		{"POST /portal/versions/create", s.createVersion},
		{"GET /portal/version/status", s.versionStatusJSON},
		{"GET /portal/deployment", s.deployment},
		{"GET /portal/deployment/status", s.deploymentStatus},
		{"GET /portal/resources", s.allResources},
		{"GET /portal/resource/{id...}", s.resource},
		{"GET /portal/upload", s.upload},
		{"POST /portal/upload/start", s.uploadStart},
		{"POST /portal/upload/finish", s.uploadFinish},
		{"GET /portal/delete", s.deleteResource},
		{"POST /portal/delete", s.deleteResource},
		{"GET /portal/deletion", s.deletionPage},
		{"GET /portal/deletion/status", s.deletionStatus},
		{"GET /portal/access", s.access},
		{"GET /portal/access/add", s.addAccess},
		{"POST /portal/access/add", s.addAccess},
		{"GET /portal/access/principals", s.principalsJSON},
		{"POST /portal/access/remove", s.removeAccess},
	}
}

// securityHeaders are sent with every portal answer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/portal/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// visit is one signed-in request: the session, the user's ARM client
// (its token minted on first use) and the CSRF token its forms carry.
type visit struct {
	s    *Server
	sess *session
	CSRF string

	armClient   *client
	graphClient *client
}

// arm returns the ARM client acting as the user.
func (v *visit) arm() (*client, error) {
	if v.armClient == nil {
		tok, _, err := v.s.IssueToken(v.sess.principal(), v.s.ARMAudience)
		if err != nil {
			return nil, err
		}
		v.armClient = &client{handler: v.s.ARM, token: tok}
	}
	return v.armClient, nil
}

// graph returns the Graph client acting as the user.
func (v *visit) graph() (*client, error) {
	if v.graphClient == nil {
		tok, _, err := v.s.IssueToken(v.sess.principal(), v.s.GraphAudience)
		if err != nil {
			return nil, err
		}
		v.graphClient = &client{handler: v.s.Graph, token: tok}
	}
	return v.graphClient, nil
}

// visitHandler serves a signed-in request; an error it returns is
// rendered as an error page.
type visitHandler func(w http.ResponseWriter, r *http.Request, v *visit) error

// signedIn runs h for a signed-in user whose account still may sign in,
// after checking the CSRF token of an unsafe request; anyone else is sent
// to sign in.
func (s *Server) signedIn(h visitHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.readSession(r)
		if !sess.signedIn() || !s.stillValid(r.Context(), sess) || s.ended(r.Context(), sess) {
			s.toSignIn(w, r)
			return
		}
		v := &visit{s: s, sess: sess, CSRF: s.csrfToken(sess)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, v, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if !s.checkCSRF(sess, r.PostForm.Get(csrfField)) {
				s.fail(w, r, v, http.StatusForbidden, "The form's security token is missing or no longer valid. Reload the page and try again.")
				return
			}
		}
		if err := h(w, r, v); err != nil {
			s.renderError(w, r, v, err)
		}
	})
}

// ended reports whether sess was signed out (on any node). A store that
// cannot answer counts as ended: the user signs in again rather than a
// signed-out cookie being honoured.
func (s *Server) ended(ctx context.Context, sess *session) bool {
	if s.Sessions == nil {
		return false
	}
	ended, err := s.Sessions.SessionEnded(ctx, sess.ID)
	if err != nil {
		s.logger().Warn("portal: checking the session", slog.Any("err", err))
		return true
	}
	return ended
}

// maxForm bounds a form body.
const maxForm = 64 << 10

// stillValid checks the session's user against the directory: it exists,
// is enabled, has (as a guest) redeemed its invitation and has the
// password it signed in with.
func (s *Server) stillValid(ctx context.Context, sess *session) bool {
	u, err := s.Users.GetUser(ctx, sess.ObjectID)
	if err != nil {
		if galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			s.logger().Warn("portal: reading the signed-in user", slog.Any("err", err))
		}
		return false
	}
	return u.AccountEnabled && u.PasswordHash != "" &&
		(!u.IsGuest() || u.ExternalUserState == galleon.ExternalStateAccepted) &&
		s.passwordFingerprint(u.PasswordHash) == sess.Password
}

// toSignIn sends a browser to the sign-in page, remembering where it was
// going; scripts get a 401.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, "/portal/search/suggest") ||
		strings.HasPrefix(r.URL.Path, "/portal/validate") || r.URL.Path == "/portal/access/principals" || strings.HasSuffix(r.URL.Path, "/status") {
		if r.Method == http.MethodGet {
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/portal/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/portal/signin?return="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// clientAddress is the browser's address as the log shows it and the token
// endpoint's sign-in limits count it: the connection's peer. Forwarded
// headers are not trusted: Galleon is reached directly or through a TCP
// balancer that passes TLS through.
func clientAddress(r *http.Request) string {
	return signinlimit.PeerAddress(r.RemoteAddr)
}

// renderError shows err: an API refusal with its code and message, or an
// internal error (logged, not shown).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		status := ae.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		s.render(w, r, v, status, "error", "Error", errorPage{Code: ae.Code, Message: ae.Message, Target: ae.Target})
		return
	}
	s.logger().Error("portal", slog.String("path", r.URL.Path), slog.Any("err", err))
	s.render(w, r, v, http.StatusInternalServerError, "error", "Error",
		errorPage{Code: "InternalError", Message: "Something went wrong on the server. The error was logged."})
}

// fail renders an error page with a message of the portal's own.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *visit, status int, msg string) {
	s.render(w, r, v, status, "error", "Error", errorPage{Message: msg})
}

type errorPage struct {
	Code, Message, Target string
}
