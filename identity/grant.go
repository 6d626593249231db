package identity

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// tokenResponse is the whole successful answer. expires_in must be a JSON
// integer (az crashes on a string); scope is left out, because echoing
// anything but the request's exact scope makes the Go SDK report "declined
// scopes"; a client-credentials answer never carries id_token,
// refresh_token or client_info.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
}

// maxTokenRequest bounds a token request body; real ones are under 1 KiB,
// and a refresh token, the longest parameter, about 2 KiB. It is small
// because anyone may send one, without signing in.
const maxTokenRequest = 8 << 10

// tokenRequest is a parsed POST to a token endpoint.
type tokenRequest struct {
	form url.Values
	// tenant is the authority's tenant; nil on /adfs, where the tenant never
	// reaches the server and the client id alone names the principal.
	tenant *galleon.Tenant
	auth   authority
	// resourceParam: the authority accepts resource= (AD FS, and Entra's
	// v1 endpoint) as well as scope=.
	resourceParam bool
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request, rt route) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		i.writeOAuthError(w, r, errMethod(r.Method))
		return
	}
	req := tokenRequest{auth: i.adfsAuthority(), resourceParam: rt.adfs() || rt.v1}
	if !rt.adfs() {
		t, ok := i.requireTenant(w, r, rt.tenant, "invalid_request")
		if !ok {
			return
		}
		req.tenant, req.auth = t, i.tenantAuthority(t.ID)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		i.writeOAuthError(w, r, errBadBody())
		return
	}
	req.form = r.PostForm // never the query string: secrets do not belong in URLs

	switch grant := req.form.Get("grant_type"); grant {
	case "client_credentials":
		i.clientCredentials(w, r, req)
	case "password":
		i.passwordGrant(w, r, req)
	case "refresh_token":
		i.refreshGrant(w, r, req)
	case "":
		i.writeOAuthError(w, r, errMissingParameter("grant_type"))
	default:
		i.writeOAuthError(w, r, errUnsupportedGrant(grant))
	}
}

// clientCredentials is the grant service principals use: the client
// authenticates with its secret and gets a token for itself.
func (i *Issuer) clientCredentials(w http.ResponseWriter, r *http.Request, req tokenRequest) {
	clientID, secret := clientCredentialsOf(r, req.form)
	if clientID == "" {
		i.writeOAuthError(w, r, errMissingParameter("client_id"))
		return
	}
	logClient := slog.String("client_id", clientID)
	resource, oerr := requestedResource(req.form, req.resourceParam)
	if oerr != nil {
		i.writeOAuthError(w, r, oerr, logClient)
		return
	}

	p, secrets, err := i.Directory.ServicePrincipalByAppID(r.Context(), clientID)
	switch {
	case galleon.ErrorCode(err) == galleon.CodeResourceNotFound,
		err == nil && req.tenant != nil && p.TenantID != req.tenant.ID:
		i.writeOAuthError(w, r, errUnknownClient(clientID), logClient)
		return
	case err != nil:
		i.writeOAuthError(w, r, errDirectoryUnavailable(), logClient, slog.Any("err", err))
		return
	}
	if secret == "" {
		i.writeOAuthError(w, r, errMissingSecret(), logClient)
		return
	}
	addr := signinlimit.PeerAddress(r.RemoteAddr)
	limits, account := i.limits(), clientAccount+clientID+"@"+addr
	if ref := limits.Try(account, addr); ref != nil {
		i.writeLockout(w, r, ref, true, logClient)
		return
	}
	now := i.now()
	var matched *galleon.ClientSecret
	for k := range secrets {
		if CheckClientSecret(secrets[k].Hash, secret) {
			matched = &secrets[k]
			break
		}
	}
	if matched != nil {
		limits.Succeeded(account, addr) // an expired secret is no guess
	}
	switch {
	case matched == nil:
		i.writeOAuthError(w, r, errInvalidSecret(clientID), logClient)
		return
	case !matched.ExpiresAt.IsZero() && !now.Before(matched.ExpiresAt):
		i.writeOAuthError(w, r, errExpiredSecret(clientID), logClient, slog.String("secret_id", matched.ID))
		return
	}

	// Only an authenticated client learns which resources exist.
	if !i.acceptsAudience(resource) {
		i.writeOAuthError(w, r, errUnknownResource(resource, i.Audiences), logClient)
		return
	}
	i.respond(w, r, *p, resource, req.auth)
}

// respond mints a token for p and audience under the request's authority
// and writes the token response.
func (i *Issuer) respond(w http.ResponseWriter, r *http.Request, p galleon.Principal, audience string, a authority) {
	token, _, err := i.mint(p, audience, a)
	if err != nil {
		i.writeOAuthError(w, r, &oauthError{http.StatusInternalServerError, "server_error", 0, "The token could not be signed."},
			slog.Any("err", err))
		return
	}
	// One second short of the lifetime: mint truncates iat to the second,
	// so a client's now+expires_in never passes the token's exp.
	expiresIn := max(int(i.lifetime().Seconds())-1, 0)
	i.logger().LogAttrs(r.Context(), slog.LevelDebug, "token issued",
		slog.String("oid", p.ObjectID), slog.String("aud", audience), slog.String("iss", a.issuer))
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType:    "Bearer",
		AccessToken:  token,
		ExpiresIn:    expiresIn,
		ExtExpiresIn: expiresIn,
	})
}

// clientCredentialsOf returns the client id and secret from HTTP Basic
// (client_secret_basic, whose parts RFC 6749 §2.3.1 form-encodes) or else
// from the body (client_secret_post, which MSAL uses).
func clientCredentialsOf(r *http.Request, form url.Values) (id, secret string) {
	if user, pass, ok := r.BasicAuth(); ok {
		return formDecode(user), formDecode(pass)
	}
	return form.Get("client_id"), form.Get("client_secret")
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// oidcScopes name no resource; MSAL adds them to every request.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// requestedResource returns the resource a client-credentials request
// names: the one non-OIDC scope minus "/.default", trailing slash kept
// ("https://management.core.windows.net//.default" names
// "https://management.core.windows.net/"), or else, where the authority
// takes it, the resource parameter.
func requestedResource(form url.Values, resourceParam bool) (string, *oauthError) {
	scope := form.Get("scope")
	var scopes []string
	for _, s := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(s)] {
			scopes = append(scopes, s)
		}
	}
	switch {
	case len(scopes) > 1:
		return "", errScopeResources(scope)
	case len(scopes) == 1:
		s := scopes[0]
		const suffix = "/.default"
		if len(s) <= len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
			return "", errScopeNotDefault(s)
		}
		return s[:len(s)-len(suffix)], nil
	case resourceParam && form.Get("resource") != "":
		return form.Get("resource"), nil
	}
	return "", errMissingParameter("scope")
}
