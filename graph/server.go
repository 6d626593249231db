// Package graph serves the directory as the Microsoft Graph v1.0 subset
// that az and Graph clients use (CLIENT-CONTRACT.md §5), B2B invitations
// with their e-mail, and the page where an invited guest redeems the link
// and chooses a password.
//
//	GET/POST              /v1.0/users                    $filter, $top, @odata.nextLink
//	GET/PATCH/DELETE      /v1.0/users/{id|upn}
//	POST                  /v1.0/{users|groups|directoryObjects}/{id}/getMemberGroups|checkMemberGroups
//	GET                   /v1.0/me
//	GET/POST              /v1.0/groups
//	GET/DELETE            /v1.0/groups/{id}
//	GET                   /v1.0/groups/{id}/members
//	POST                  /v1.0/groups/{id}/members/$ref
//	DELETE                /v1.0/groups/{id}/members/{memberId}/$ref
//	GET/POST              /v1.0/applications
//	GET/PATCH/DELETE      /v1.0/applications/{id}
//	POST                  /v1.0/{applications|servicePrincipals}/{id}/addPassword|removePassword
//	GET/POST              /v1.0/servicePrincipals
//	GET/PATCH/DELETE      /v1.0/servicePrincipals/{id}
//	POST                  /v1.0/directoryObjects/getByIds
//	GET                   /v1.0/directoryObjects/{id}
//	POST                  /v1.0/invitations              Graph's, plus galleonResourceId
//	GET                   /v1.0/invitations[/{id}]       Galleon's: list and read
//	POST                  /v1.0/invitations/{id}/resend  Galleon's: a new link, the old one dead
//	POST                  /v1.0/invitations/{id}/revoke  Galleon's: no redemption; a redeemed guest disabled
//	GET/POST              /invitations/redeem?token=…    the redemption page (HTML)
//
// Every /v1.0 call carries a bearer token for the Graph audience (the
// server's public URL with a trailing slash, as az asks for it). The
// token's tenant (tid) selects the directory: each tenant sees and writes
// only its own objects (tenant.go). Reads need a member user or a service
// principal of the tenant (a guest reads only itself); writes need a
// directory administrator of the tenant: a principal that may write role
// assignments on one of the tenant's subscriptions, or, in the default
// tenant, the bootstrap admin user.
package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/felixge/httpsnoop"

	"github.com/galleon-project/galleon"
)

// Store is what Graph reads and writes. Handlers reach the directory only
// through Server.dir, which keeps each tenant to its own (tenant.go).
type Store interface {
	galleon.DirectoryAdminStore
	DefaultTenant(ctx context.Context) (*galleon.Tenant, error)
	GetTenant(ctx context.Context, idOrDomain string) (*galleon.Tenant, error)
	ListSubscriptions(ctx context.Context, tenantID string) ([]galleon.Subscription, error)
}

// Server serves Graph. cmd/galleon assigns the fields before the first
// request.
type Server struct {
	Store Store
	// VerifyToken checks a bearer token (identity.Issuer.VerifyToken).
	VerifyToken func(token string) (galleon.Principal, error)
	// Authorizer decides who administers the directory.
	Authorizer galleon.Authorizer
	// SubscriptionID is the installation's subscription, where the
	// default tenant's directory writes are audited.
	SubscriptionID string
	// Administrators are the principal names of member users who
	// administer the directory whatever their roles, as Entra's Global
	// Administrators do: the bootstrap admin user.
	Administrators []string
	// PublicURL is the server's origin, without a trailing slash; the
	// Graph audience is PublicURL + "/".
	PublicURL string
	// HashPassword hashes users' passwords (identity.HashPassword);
	// NewSecret makes client secrets (identity.NewClientSecret) and
	// HashSecret hashes them (identity.HashClientSecret).
	HashPassword func(password string) (string, error)
	NewSecret    func() (string, error)
	HashSecret   func(secret string) string
	// Mailer sends invitation e-mail, From (when set) as its sender.
	Mailer Mailer
	From   string
	// InvitationKey signs invitation links (HMAC-SHA256).
	InvitationKey []byte
	// InvitationLifetime defaults to galleon.DefaultInvitationLifetime.
	InvitationLifetime time.Duration
	// PageSize is the default $top; at most 999.
	PageSize int
	Logger   *slog.Logger
	Now      func() time.Time
}

// PathPrefix is the Graph API's root.
const PathPrefix = "/v1.0/"

// Owns reports whether path belongs to this package: the Graph API and
// the invitation redemption page.
func Owns(path string) bool {
	return strings.HasPrefix(path, PathPrefix) || path == RedeemPath
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

// maxBody bounds request bodies; directory objects are small.
const maxBody = 64 << 10

// Error is an error answer in Graph's shape.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "Request_BadRequest", sprintf(format, args...)}
}

func notFound(id string) *Error {
	return &Error{http.StatusNotFound, "Request_ResourceNotFound",
		sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)}
}

func denied() *Error {
	return &Error{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
}

// writeError answers err: a *Error as it is, a domain error by its code,
// anything else as an internal error, logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ge *Error
	var de *galleon.Error
	var fe *FilterError
	switch {
	case errors.As(err, &ge):
	case errors.As(err, &fe):
		ge = &Error{http.StatusBadRequest, "Request_UnsupportedQuery", fe.Message}
	case errors.As(err, &de):
		switch de.Code {
		case galleon.CodeResourceNotFound:
			ge = &Error{http.StatusNotFound, "Request_ResourceNotFound", de.Message}
		case galleon.CodeConflict, galleon.CodeInvalidParameter:
			ge = &Error{http.StatusBadRequest, "Request_BadRequest", de.Message}
		case galleon.CodeAuthorizationFailed:
			ge = denied()
		}
	}
	if ge == nil {
		s.logger().LogAttrs(r.Context(), slog.LevelError, "graph request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		ge = &Error{http.StatusInternalServerError, "UnknownError", "An internal error occurred; the server log has the details."}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, ge.Status, map[string]any{"error": map[string]any{
		"code":    ge.Code,
		"message": ge.Message,
		"innerError": map[string]string{
			"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        w.Header().Get("request-id"),
			"client-request-id": w.Header().Get("client-request-id"),
		},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return badRequest("The request body could not be read.")
	}
	if len(data) > maxBody {
		return &Error{http.StatusRequestEntityTooLarge, "Request_BadRequest", "The request body is larger than 64 KiB."}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return badRequest("The request body is empty.")
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD silently.
	if !utf8.Valid(data) {
		return badRequest("The request body is not valid UTF-8.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest("Invalid JSON in the request body: %v.", err)
	}
	return nil
}

// caller is the authenticated principal; user is set for users.
type caller struct {
	galleon.Principal
	user *galleon.DirectoryUser
}

func (c *caller) guest() bool { return c.user != nil && c.user.IsGuest() }

type callerKey struct{}

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// Handler serves the Graph API and the redemption page.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == RedeemPath {
			s.serveRedeem(w, r)
			return
		}
		w.Header().Set("request-id", newID())
		if id := r.Header.Get("client-request-id"); id != "" && len(id) <= 64 {
			w.Header().Set("client-request-id", id)
		}
		c, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.PublicURL+`/adfs", error="invalid_token"`)
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		r.Body = http.MaxBytesReader(w, r.Body, maxBody+1)
		m := httpsnoop.CaptureMetricsFn(w, func(w http.ResponseWriter) {
			if err := s.route(w, r, strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, PathPrefix), "/"), "/")); err != nil {
				s.writeError(w, r, err)
			}
		})
		s.audit(r, c, m.Code)
	})
}

// authenticate verifies the bearer token, that it was issued for Graph,
// and that the caller still exists and is enabled.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, &Error{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty."}
	}
	p, err := s.VerifyToken(token)
	if err != nil {
		if galleon.ErrorCode(err) == galleon.CodeAuthenticationFailed {
			return nil, &Error{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. " + err.(*galleon.Error).Message}
		}
		return nil, err
	}
	if aud := tokenAudience(token); strings.TrimRight(aud, "/") != strings.TrimRight(s.PublicURL, "/") {
		return nil, &Error{http.StatusUnauthorized, "InvalidAuthenticationToken",
			sprintf("Access token validation failure. Invalid audience '%s': Graph takes tokens for '%s/'.", aud, s.PublicURL)}
	}
	c := &caller{Principal: p}
	// The caller's own object must be of the token's tenant: tid picks
	// the directory every call of the request sees.
	if p.Type == galleon.PrincipalServicePrincipal {
		sp, err := s.Store.GetServicePrincipal(r.Context(), p.ObjectID)
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && (!sp.AccountEnabled || !strings.EqualFold(sp.TenantID, p.TenantID)) {
			return nil, &Error{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. The service principal no longer exists or is disabled."}
		}
		if err != nil {
			return nil, err
		}
		c.DisplayName = sp.DisplayName
	}
	if p.Type == galleon.PrincipalUser {
		u, err := s.Store.GetUser(r.Context(), p.ObjectID)
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && (!u.AccountEnabled || !strings.EqualFold(u.TenantID, p.TenantID)) {
			return nil, &Error{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. The user no longer exists or is disabled."}
		}
		if err != nil {
			return nil, err
		}
		c.user = u
	}
	return c, nil
}

// tokenAudience reads aud from a token VerifyToken has accepted.
func tokenAudience(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil && len(many) == 1 {
		return many[0]
	}
	return ""
}

// requireReader lets members and service principals read the directory.
func requireReader(ctx context.Context) error {
	if callerOf(ctx).guest() {
		return denied()
	}
	return nil
}

// requireAdmin lets the administrators of the caller's tenant write its
// directory: the bootstrap admin user in the default tenant, and whoever
// may write role assignments on one of the tenant's own subscriptions
// (a role held on another tenant's subscription administers nothing
// here).
func (s *Server) requireAdmin(ctx context.Context) error {
	c := callerOf(ctx)
	if c.guest() {
		return denied()
	}
	if c.user != nil {
		for _, a := range s.Administrators {
			if !strings.EqualFold(a, c.user.UserPrincipalName) {
				continue
			}
			t, err := s.Store.DefaultTenant(ctx)
			if err != nil {
				return err
			}
			if strings.EqualFold(t.ID, c.TenantID) {
				return nil
			}
		}
	}
	subs, err := s.Store.ListSubscriptions(ctx, c.TenantID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		err := s.Authorizer.Authorize(ctx, c.Principal, "Microsoft.Authorization/roleAssignments/write", galleon.SubscriptionScope(sub.ID))
		if err == nil {
			return nil
		}
		if galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
			return err
		}
	}
	return denied()
}

func methodNotAllowed() *Error {
	return &Error{http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method is not allowed on this resource."}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, seg []string) error {
	is := func(i int, name string) bool { return len(seg) > i && strings.EqualFold(seg[i], name) }
	m := r.Method
	switch {
	case len(seg) == 1 && is(0, "me"):
		if m != http.MethodGet {
			return methodNotAllowed()
		}
		return s.getMe(w, r)
	case is(0, "users"):
		return s.routeUsers(w, r, seg[1:])
	case is(0, "groups"):
		return s.routeGroups(w, r, seg[1:])
	case is(0, "applications"):
		return s.routeApplications(w, r, seg[1:])
	case is(0, "servicePrincipals"):
		return s.routeServicePrincipals(w, r, seg[1:])
	case is(0, "directoryObjects"):
		return s.routeDirectoryObjects(w, r, seg[1:])
	case is(0, "invitations"):
		return s.routeInvitations(w, r, seg[1:])
	}
	return &Error{http.StatusBadRequest, "BadRequest", sprintf("Resource not found for the segment '%s'.", seg[0])}
}

// page is a list request's $top and $skiptoken.
func (s *Server) page(r *http.Request) (galleon.Page, error) {
	q := r.URL.Query()
	limit := s.PageSize
	if limit <= 0 {
		limit = 100
	}
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 999 {
			return galleon.Page{}, badRequest("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", top)
		}
		limit = n
	}
	p := galleon.Page{Limit: limit}
	if tok := q.Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return galleon.Page{}, badRequest("The $skiptoken is invalid.")
		}
		p.After = string(after)
	}
	return p, nil
}

// writeList answers a collection with its context and, when more
// follows, the next page's link.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, context string, items any, next string) {
	body := map[string]any{"@odata.context": s.PublicURL + "/v1.0/$metadata#" + context, "value": items}
	if next != "" {
		q := r.URL.Query()
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(next)))
		body["@odata.nextLink"] = s.PublicURL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// filter parses $filter and checks it against what the collection answers.
func filter(r *http.Request, rule filterRule) (galleon.DirectoryFilter, error) {
	f, err := ParseFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return nil, err
	}
	return f, rule.check(f)
}

// objectURLID returns the object id an @odata.id URL names:
// …/directoryObjects/{id}, …/users/{id}, or a bare id.
func objectURLID(ref string) string {
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	ref = strings.TrimRight(ref, "/")
	return ref[strings.LastIndex(ref, "/")+1:]
}

// serveList answers a collection's GET: the caller must be a reader, the
// $filter follows rule, and each item of the page is shaped by toJSON.
func serveList[T any](s *Server, w http.ResponseWriter, r *http.Request, name string, rule filterRule,
	list func(context.Context, galleon.DirectoryFilter, galleon.Page) ([]T, string, error), toJSON func(*T) map[string]any) error {
	if err := requireReader(r.Context()); err != nil {
		return err
	}
	f, err := filter(r, rule)
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	got, next, err := list(r.Context(), f, page)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for i := range got {
		items = append(items, toJSON(&got[i]))
	}
	s.writeList(w, r, name, items, next)
	return nil
}
