package identity

import "net/http"

// discoveryDocument is an OpenID Provider configuration. MSAL reads issuer,
// authorization_endpoint and token_endpoint, and checks that the issuer's
// scheme and host equal the authority's; the rest is what Entra and AD FS
// publish, for other OpenID tooling.
type discoveryDocument struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	ResponseModes         []string `json:"response_modes_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuth     []string `json:"token_endpoint_auth_methods_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	Scopes                []string `json:"scopes_supported"`
	Claims                []string `json:"claims_supported"`
	// AccessTokenIssuer is AD FS's name for the iss of its access tokens.
	AccessTokenIssuer string `json:"access_token_issuer,omitempty"`
}

// grantTypes are the grants the token endpoint accepts: service
// principals' client credentials, users' passwords (password.go) and
// their refresh tokens (refresh.go).
var grantTypes = []string{"client_credentials", "password", "refresh_token"}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request, rt route) {
	doc := discoveryDocument{
		ResponseTypes:     []string{"code", "id_token", "code id_token", "id_token token"},
		ResponseModes:     []string{"query", "fragment", "form_post"},
		SubjectTypes:      []string{"pairwise"},
		SigningAlgs:       []string{"RS256"},
		TokenEndpointAuth: []string{"client_secret_post", "client_secret_basic"},
		GrantTypes:        grantTypes,
		Scopes:            []string{"openid", "profile", "email", "offline_access"},
		Claims:            []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "appid", "azp", "idtyp", "upn", "name", "ver"},
	}
	if rt.adfs() {
		base := i.ADFSIssuer()
		doc.Issuer = base
		doc.AccessTokenIssuer = base
		doc.AuthorizationEndpoint = base + "/oauth2/authorize"
		doc.TokenEndpoint = base + "/oauth2/token"
		doc.JWKSURI = base + "/discovery/keys"
		writeJSON(w, http.StatusOK, doc)
		return
	}
	t, ok := i.requireTenant(w, r, rt.tenant, "invalid_tenant")
	if !ok {
		return
	}
	// Endpoints echo the tenant as the client sent it, as Entra's do; the
	// issuer is always the concrete tenant id (MSAL-Python does not fill in
	// Entra's {tenantid} placeholder).
	base := i.PublicURL + "/" + rt.tenant
	doc.Issuer = i.TenantIssuer(t.ID)
	doc.AuthorizationEndpoint = base + "/oauth2/v2.0/authorize"
	doc.TokenEndpoint = base + "/oauth2/v2.0/token"
	doc.JWKSURI = base + "/discovery/v2.0/keys"
	writeJSON(w, http.StatusOK, doc)
}

// jwks is a JSON Web Key Set.
type jwks struct {
	Keys []jwk `json:"keys"`
}

func (i *Issuer) serveKeys(w http.ResponseWriter, r *http.Request, rt route) {
	if !rt.adfs() {
		if _, ok := i.requireTenant(w, r, rt.tenant, "invalid_tenant"); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, jwks{Keys: []jwk{newJWK(&i.Key.PublicKey)}})
}
