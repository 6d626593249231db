package armapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// request is an authenticated ARM request with its parsed resource id.
type request struct {
	*http.Request
	id         *arm.ResourceID // for a collection, a child with an empty name
	collection bool
	apiVersion string
	principal  galleon.Principal
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
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	typ := "unknown" // a metric label: the folded resource type, when routed
	if err := s.dispatch(rec, hr, &typ); err != nil {
		s.writeError(rec, hr, err)
	}
	s.Metrics.observe(typ, hr.Method, rec.status, time.Since(start))
}

func (s *Server) dispatch(w http.ResponseWriter, hr *http.Request, metricsType *string) error {
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
	if err := s.Authorizer.Authorize(hr.Context(), r.principal, ep.action, scopeOf(path, collection)); err != nil {
		return err
	}
	return ep.handle(s, w, r)
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
