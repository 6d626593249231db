package identity

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Handler serves the identity endpoints. Paths match case-insensitively,
// because az lower-cases its whole authority URL:
//
//	GET  /adfs/.well-known/openid-configuration           AD FS authority (az)
//	GET  /adfs/discovery/keys
//	POST /adfs/oauth2/token
//	GET  /{tenant}/v2.0/.well-known/openid-configuration  AAD v2 authority (Azure SDKs)
//	GET  /{tenant}/discovery/v2.0/keys
//	GET  /{tenant}/discovery/keys
//	POST /{tenant}/oauth2/v2.0/token
//	POST /{tenant}/oauth2/token                           v1 form, resource= instead of scope=
//	GET  /common/UserRealm/{username}                     MSAL-Go, before a password grant
//
// {tenant} is the tenant id, its domain, "organizations" or "common". Any
// other path is a 404, so the handler can sit behind a catch-all route;
// Owns says which paths are its own.
func (i *Issuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := parseRoute(r.URL.Path)
		switch rt.endpoint {
		case discoveryEndpoint:
			if allow(w, r, http.MethodGet) {
				i.serveDiscovery(w, r, rt)
			}
		case keysEndpoint:
			if allow(w, r, http.MethodGet) {
				i.serveKeys(w, r, rt)
			}
		case tokenEndpoint:
			i.serveToken(w, r, rt)
		case userRealmEndpoint:
			if allow(w, r, http.MethodGet) {
				i.serveUserRealm(w, r, rt.username)
			}
		default:
			http.NotFound(w, r)
		}
	})
}

// Owns reports whether path is one of the identity endpoints, for a router
// that sends each prefix to its owner.
func Owns(path string) bool {
	return parseRoute(path).endpoint != noEndpoint
}

type endpoint int

const (
	noEndpoint endpoint = iota
	discoveryEndpoint
	keysEndpoint
	tokenEndpoint
	userRealmEndpoint
)

// route is a parsed identity path.
type route struct {
	endpoint endpoint
	// tenant is the {tenant} segment as sent; empty for the AD FS authority.
	tenant string
	// v1 marks /{tenant}/oauth2/token, where clients name the resource with
	// resource= rather than scope=.
	v1 bool
	// username is the account a user realm request asks about.
	username string
}

func (rt route) adfs() bool { return rt.tenant == "" }

func parseRoute(path string) route {
	first, rest, _ := strings.Cut(strings.Trim(path, "/"), "/")
	rest = strings.ToLower(rest)
	if strings.EqualFold(first, "adfs") {
		switch rest {
		case ".well-known/openid-configuration":
			return route{endpoint: discoveryEndpoint}
		case "discovery/keys":
			return route{endpoint: keysEndpoint}
		case "oauth2/token":
			return route{endpoint: tokenEndpoint}
		}
		return route{}
	}
	if first == "" {
		return route{}
	}
	if name, ok := strings.CutPrefix(rest, "userrealm/"); ok && strings.EqualFold(first, "common") && name != "" {
		// The lower-cased rest is fine: principal names compare folded.
		return route{endpoint: userRealmEndpoint, username: name}
	}
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		return route{endpoint: discoveryEndpoint, tenant: first}
	case "discovery/v2.0/keys", "discovery/keys":
		return route{endpoint: keysEndpoint, tenant: first}
	case "oauth2/v2.0/token":
		return route{endpoint: tokenEndpoint, tenant: first}
	case "oauth2/token":
		return route{endpoint: tokenEndpoint, tenant: first, v1: true}
	}
	return route{}
}

// allow answers 405 unless the request uses method (or HEAD for GET).
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", method)
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
