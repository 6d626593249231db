package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Handler serves the identity endpoints. Paths match case-insensitively,
// because az lower-cases its whole authority URL:
//
//	GET  /adfs/.well-known/openid-configuration           AD FS authority (az)
//	GET  /adfs/discovery/keys
//	POST /adfs/oauth2/token
//	GET  /{tenant}/v2.0/.well-known/openid-configuration  AAD v2 authority (Azure SDKs)
//	GET  /{tenant}/discovery/v2.0/keys
//	POST /{tenant}/oauth2/v2.0/token
//	POST /{tenant}/oauth2/token                           v1 form, resource= instead of scope=
//
// {tenant} is the tenant id, its domain, "organizations" or "common".
func (i *Issuer) Handler() http.Handler {
	return http.HandlerFunc(i.serve)
}

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.ToLower(strings.Trim(r.URL.Path, "/")), "/")
	if len(segs) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := segs[0], strings.Join(segs[1:], "/")
	adfs := tenant == "adfs"
	switch {
	case r.Method == http.MethodGet && (adfs && rest == ".well-known/openid-configuration" || !adfs && rest == "v2.0/.well-known/openid-configuration"):
		i.serveDiscovery(w, r, tenant)
	case r.Method == http.MethodGet && (rest == "discovery/keys" || rest == "discovery/v2.0/keys"):
		i.serveJWKS(w)
	case r.Method == http.MethodPost && (adfs && rest == "oauth2/token" || !adfs && (rest == "oauth2/v2.0/token" || rest == "oauth2/token")):
		i.serveToken(w, r, tenant, rest == "oauth2/token" && !adfs)
	default:
		http.NotFound(w, r)
	}
}

// resolveTenant maps the {tenant} segment to the tenant, or nil.
func (i *Issuer) resolveTenant(r *http.Request, segment string) (*galleon.Tenant, error) {
	t, err := i.Directory.DefaultTenant(r.Context())
	if err != nil {
		return nil, err
	}
	switch segment {
	case strings.ToLower(t.ID), strings.ToLower(t.Domain), "organizations", "common":
		return t, nil
	}
	return nil, nil
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request, segment string) {
	base := i.PublicURL + "/adfs"
	issuer := i.ADFSIssuer()
	token, keys, authorize := base+"/oauth2/token", base+"/discovery/keys", base+"/oauth2/authorize"
	if segment != "adfs" {
		t, err := i.resolveTenant(r, segment)
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", 0, "The directory is unavailable.")
			return
		}
		if t == nil {
			oauthError(w, http.StatusBadRequest, "invalid_tenant", 90002,
				fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", segment))
			return
		}
		base = i.PublicURL + "/" + segment
		issuer = i.TenantIssuer(t.ID)
		token, keys, authorize = base+"/oauth2/v2.0/token", base+"/discovery/v2.0/keys", base+"/oauth2/v2.0/authorize"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                authorize,
		"token_endpoint":                        token,
		"jwks_uri":                              keys,
		"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "appid", "upn", "name"},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter) {
	pub := &i.Key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": KeyID(pub),
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// openIDScopes are requested alongside the resource by MSAL; they name no
// resource.
var openIDScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// resourceFromScope turns "https://management.core.windows.net//.default
// openid" into "https://management.core.windows.net/".
func resourceFromScope(scope string) string {
	for _, s := range strings.Fields(scope) {
		if openIDScopes[strings.ToLower(s)] {
			continue
		}
		return strings.TrimSuffix(s, "/.default")
	}
	return ""
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request, segment string, v1 bool) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must be a form-encoded body.")
		return
	}
	issuer := i.ADFSIssuer()
	var tenant *galleon.Tenant
	if segment != "adfs" {
		t, err := i.resolveTenant(r, segment)
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", 0, "The directory is unavailable.")
			return
		}
		if t == nil {
			oauthError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", segment))
			return
		}
		tenant, issuer = t, i.TenantIssuer(t.ID)
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
		i.clientCredentials(w, r, tenant, issuer, v1)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	default:
		// The password grant for users arrives with the directory milestone.
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", grant))
	}
}

func (i *Issuer) clientCredentials(w http.ResponseWriter, r *http.Request, tenant *galleon.Tenant, issuer string, v1 bool) {
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id, s, ok := r.BasicAuth(); ok {
		clientID, secret = id, s
	}
	if clientID == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	resource := r.PostForm.Get("resource")
	if !v1 || resource == "" {
		resource = resourceFromScope(r.PostForm.Get("scope"))
	}
	if !i.audienceFor(resource) {
		oauthError(w, http.StatusBadRequest, "invalid_resource", 500011,
			fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant. The resource must be one of: %s.",
				resource, strings.Join(i.Audiences, ", ")))
		return
	}
	p, secrets, err := i.Directory.ServicePrincipalByAppID(r.Context(), clientID)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && tenant != nil && p.TenantID != tenant.ID {
		oauthError(w, http.StatusUnauthorized, "unauthorized_client", 700016,
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant.", clientID))
		return
	}
	if err != nil {
		i.logger().ErrorContext(r.Context(), "looking up a client", slog.Any("err", err))
		oauthError(w, http.StatusInternalServerError, "server_error", 0, "The directory is unavailable.")
		return
	}
	now := i.now()
	matched, expired := false, false
	for _, s := range secrets {
		if CheckClientSecret(s.Hash, secret) {
			matched = true
			expired = !s.ExpiresAt.IsZero() && now.After(s.ExpiresAt)
			break
		}
	}
	switch {
	case !matched:
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	case expired:
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000222,
			fmt.Sprintf("AADSTS7000222: The provided client secret keys for app '%s' are expired.", clientID))
		return
	}
	// Tokens carry the resource as the client asked for it, trailing slash
	// and all: clients compare it verbatim.
	token, exp, err := i.IssueToken(*p, resource, issuer)
	if err != nil {
		i.logger().ErrorContext(r.Context(), "signing a token", slog.Any("err", err))
		oauthError(w, http.StatusInternalServerError, "server_error", 0, "The token could not be signed.")
		return
	}
	// expires_in must be a JSON integer: az crashes on a string.
	expiresIn := int(exp.Sub(now).Seconds()) - 1
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"access_token":   token,
		"expires_in":     expiresIn,
		"ext_expires_in": expiresIn,
	})
}

func oauthError(w http.ResponseWriter, status int, code string, aadsts int, description string) {
	body := map[string]any{
		"error":             code,
		"error_description": description,
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          uuid.NewString(),
		"correlation_id":    uuid.NewString(),
	}
	if aadsts != 0 {
		body["error_codes"] = []int{aadsts}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="galleon"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
