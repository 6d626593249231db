package armapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/felixge/httpsnoop"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// request is an authenticated ARM request with its parsed resource id.
type request struct {
	*http.Request
	id         *arm.ResourceID // for a collection, a child with an empty name
	collection bool
	apiVersion string
	principal  galleon.Principal
	// action and scope are what the dispatcher authorized, for errors
	// about the resources the request names (LinkedAuthorizationFailed).
	action, scope string
	// visible, when set, is the caller's read access item by item: the
	// caller may not read the whole collection, so writeList shows only
	// the items it can.
	visible func(id string) bool
}

// call is what the dispatcher learned about a request, for its metrics and
// the audit log.
type call struct {
	metricsType  string // the folded resource type, when routed
	principal    *galleon.Principal
	action       string
	scope        string
	subscription string
}

// collectionPlaceholder completes a collection path into an item id that
// azcore/arm can parse; the placeholder never reaches a handler.
const collectionPlaceholder = "\x00collection"

// parsePath turns an ARM path into a resource id, reporting whether it names
// a collection of that type rather than one item.
func parsePath(path string) (*arm.ResourceID, bool, error) {
	path = "/" + strings.Trim(path, "/")
	id, err := arm.ParseResourceID(path)
	if err == nil && id.Name != "" {
		return id, false, nil
	}
	if err == nil {
		return id, true, nil
	}
	id, err2 := arm.ParseResourceID(path + "/" + collectionPlaceholder)
	if err2 != nil {
		return nil, false, err
	}
	id.Name = ""
	return id, true, nil
}

func (s *Server) serveARM(w http.ResponseWriter, hr *http.Request) {
	c := &call{metricsType: "unknown"}
	var err error
	m := httpsnoop.CaptureMetricsFn(w, func(w http.ResponseWriter) {
		if err = s.dispatch(w, hr, c); err != nil {
			s.writeError(w, hr, err)
		}
	})
	s.audit(hr, c, m.Code, galleon.ErrorCode(err))
	s.Metrics.observe(c.metricsType, hr.Method, m.Code, m.Duration)
}

// audit records every write and every denied call of an authenticated
// caller. Recording must not fail the call it records: errors are logged.
func (s *Server) audit(hr *http.Request, c *call, status int, code string) {
	read := hr.Method == http.MethodGet || hr.Method == http.MethodHead
	denied := code == galleon.CodeAuthorizationFailed || code == galleon.CodeLinkedAuthorizationFailed
	if c.principal == nil || c.action == "" || read && !denied {
		return
	}
	result := "Succeeded"
	switch {
	case denied:
		result = "Denied"
	case status >= 400:
		result = "Failed"
	}
	e := &galleon.AuditEvent{ID: uuid.NewString(), At: s.now(), SubscriptionID: c.subscription, PrincipalID: c.principal.ObjectID,
		PrincipalName: c.principal.DisplayIdentity(), Action: c.action, Scope: c.scope, Method: hr.Method, Status: status,
		Result: result, CorrelationID: hr.Header.Get(headerCorrelationID)}
	if err := s.Store.AppendAudit(context.WithoutCancel(hr.Context()), e); err != nil {
		s.logger().Error("recording an audit event", slog.Any("err", err), slog.String("action", c.action))
	}
}

func (s *Server) dispatch(w http.ResponseWriter, hr *http.Request, c *call) error {
	metricsType := &c.metricsType
	path := "/" + strings.Trim(hr.URL.Path, "/")
	lower := strings.ToLower(path)
	apiVersion := hr.URL.Query().Get("api-version")

	// Routes without a resource id.
	switch lower {
	case "/metadata/endpoints", "/subscriptions", "/tenants":
		*metricsType = lower
	}
	switch lower {
	case "/metadata/endpoints":
		if hr.Method != http.MethodGet {
			return methodNotAllowed(hr.Method)
		}
		return s.getMetadataEndpoints(w, hr)
	case "/subscriptions", "/tenants":
		api := subscriptionAPI
		if lower == "/tenants" {
			api = tenantsAPI
		}
		if hr.Method != http.MethodGet {
			return methodNotAllowed(hr.Method)
		}
		v, err := api.check(apiVersion, "")
		if err != nil {
			return err
		}
		r, err := s.authenticate(hr)
		if err != nil {
			return err
		}
		r.apiVersion = v
		if lower == "/tenants" {
			return s.listTenants(w, r)
		}
		return s.listSubscriptions(w, r)
	}

	id, collection, err := parsePath(path)
	if err != nil {
		return galleon.Errorf(galleon.CodeInvalidResourceType, "The resource path '%s' is not a valid Azure Resource Manager path.", path)
	}
	typ := strings.ToLower(id.ResourceType.String())
	rt, ok := routes[routeKey{typ, collection}]
	if !ok {
		if !knownNamespace(id.ResourceType.Namespace) {
			return galleon.Errorf(galleon.CodeNoRegisteredProvider,
				"No registered resource provider found for location 'global' and API version '%s' for namespace '%s'.",
				apiVersion, id.ResourceType.Namespace)
		}
		return galleon.Errorf(galleon.CodeInvalidResourceType,
			"The resource type '%s' could not be found in the namespace '%s' for api version '%s'.",
			strings.Join(id.ResourceType.Types, "/"), id.ResourceType.Namespace, apiVersion)
	}
	*metricsType = typ
	if collection {
		*metricsType += "[]"
	}
	ep, ok := rt.methods[hr.Method]
	if !ok {
		return methodNotAllowed(hr.Method)
	}
	v, err := rt.api.check(apiVersion, locationForMessages(id))
	if err != nil {
		return err
	}
	r, err := s.authenticate(hr)
	if err != nil {
		return err
	}
	r.id, r.collection, r.apiVersion = id, collection, v

	sub, err := s.Store.GetSubscription(hr.Context(), id.SubscriptionID)
	if err != nil {
		return err
	}
	// Subscription ids are case-insensitive; handlers see the stored form.
	id.SubscriptionID = sub.ID
	scope := scopeOf(path, collection)
	c.principal, c.action, c.scope, c.subscription = &r.principal, ep.action, scope, sub.ID
	r.action, r.scope = ep.action, scope
	if !ep.selfAuthorized {
		if err := s.authorize(r, ep, scope); err != nil {
			return err
		}
	}
	return ep.handle(s, w, r)
}

// authorize makes the route's one authorization decision. A list the
// caller may not read as a whole is still served when the caller may read
// something in it: r.visible then filters the items.
func (s *Server) authorize(r *request, ep endpoint, scope string) error {
	if !r.collection || r.Method != http.MethodGet {
		if err := s.Authorizer.Authorize(r.Context(), r.principal, ep.action, scope); err != nil {
			return err
		}
	} else {
		perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
		if err != nil {
			return err
		}
		if !perms.Allows(ep.action, scope) {
			if !perms.AllowsBelow(ep.action, scope) {
				return galleon.Denied(r.principal, ep.action, scope)
			}
			r.visible = func(id string) bool { return perms.Allows(ep.action, id) }
		}
	}
	if ep.dataAction != "" {
		perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
		if err != nil {
			return err
		}
		if !perms.AllowsData(ep.dataAction, scope) {
			return galleon.Denied(r.principal, ep.dataAction, scope)
		}
	}
	return nil
}

// scopeOf is the scope an action is authorized at: the resource itself, or
// for a collection the resource that holds it.
func scopeOf(path string, collection bool) string {
	if !collection {
		return path
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	segs = segs[:len(segs)-1]
	// "/subscriptions/s/providers/Microsoft.Compute/galleries" lists at the
	// subscription, not at a provider namespace.
	if n := len(segs); n >= 2 && strings.EqualFold(segs[n-2], "providers") {
		segs = segs[:n-2]
	}
	return "/" + strings.Join(segs, "/")
}

func locationForMessages(id *arm.ResourceID) string {
	for p := id; p != nil; p = p.Parent {
		if strings.EqualFold(p.ResourceType.String(), "Microsoft.Compute/locations") {
			return p.Name
		}
	}
	return ""
}

func methodNotAllowed(method string) error {
	return galleon.Errorf(galleon.CodeMethodNotAllowed, "The requested resource does not support http method '%s'.", method)
}

// authenticate verifies the bearer token.
func (s *Server) authenticate(hr *http.Request) (*request, error) {
	h := hr.Header.Get("Authorization")
	if h == "" {
		return nil, galleon.Errorf(galleon.CodeAuthenticationMissing,
			"Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, galleon.Errorf(galleon.CodeAuthenticationMissing,
			"Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	p, err := s.VerifyToken(strings.TrimSpace(token))
	if err != nil {
		var e *galleon.Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, galleon.Errorf(galleon.CodeAuthenticationFailed, "The access token is invalid.")
	}
	ctx := galleon.NewContextWithPrincipal(hr.Context(), p)
	return &request{Request: hr.WithContext(ctx), principal: p}, nil
}
