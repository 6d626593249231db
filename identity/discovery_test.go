package identity

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

func TestHandler_Discovery(t *testing.T) {
	iss, srv := MustIssuer(t, newDirectory())
	adfs := srv.URL + "/adfs"
	v2 := iss.TenantIssuer(tenantID)
	for _, tt := range []struct {
		name, path                   string
		issuer, token, keys, authorz string
	}{
		{"ADFS", "/adfs/.well-known/openid-configuration",
			adfs, adfs + "/oauth2/token", adfs + "/discovery/keys", adfs + "/oauth2/authorize"},
		// az lower-cases the authority; other clients may not.
		{"ADFSUpperCase", "/ADFS/.Well-Known/OpenID-Configuration",
			adfs, adfs + "/oauth2/token", adfs + "/discovery/keys", adfs + "/oauth2/authorize"},
		{"ADFSTrailingSlash", "/adfs/.well-known/openid-configuration/",
			adfs, adfs + "/oauth2/token", adfs + "/discovery/keys", adfs + "/oauth2/authorize"},
		{"TenantID", "/" + tenantID + "/v2.0/.well-known/openid-configuration",
			v2, srv.URL + "/" + tenantID + "/oauth2/v2.0/token", srv.URL + "/" + tenantID + "/discovery/v2.0/keys", srv.URL + "/" + tenantID + "/oauth2/v2.0/authorize"},
		{"TenantIDUpperCase", "/" + strings.ToUpper(tenantID) + "/V2.0/.well-known/openid-configuration",
			v2, srv.URL + "/" + strings.ToUpper(tenantID) + "/oauth2/v2.0/token", srv.URL + "/" + strings.ToUpper(tenantID) + "/discovery/v2.0/keys", srv.URL + "/" + strings.ToUpper(tenantID) + "/oauth2/v2.0/authorize"},
		{"TenantDomain", "/" + tenantDomain + "/v2.0/.well-known/openid-configuration",
			v2, srv.URL + "/" + tenantDomain + "/oauth2/v2.0/token", srv.URL + "/" + tenantDomain + "/discovery/v2.0/keys", srv.URL + "/" + tenantDomain + "/oauth2/v2.0/authorize"},
		{"Organizations", "/organizations/v2.0/.well-known/openid-configuration",
			v2, srv.URL + "/organizations/oauth2/v2.0/token", srv.URL + "/organizations/discovery/v2.0/keys", srv.URL + "/organizations/oauth2/v2.0/authorize"},
		{"Common", "/common/v2.0/.well-known/openid-configuration",
			v2, srv.URL + "/common/oauth2/v2.0/token", srv.URL + "/common/discovery/v2.0/keys", srv.URL + "/common/oauth2/v2.0/authorize"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, srv, tt.path)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d %s", resp.status, resp.raw)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			for _, f := range []struct{ field, want string }{
				{"issuer", tt.issuer},
				{"token_endpoint", tt.token},
				{"jwks_uri", tt.keys},
				{"authorization_endpoint", tt.authorz},
			} {
				if got := resp.body[f.field]; got != f.want {
					t.Errorf("%s = %v, want %s", f.field, got, f.want)
				}
			}
			// MSAL-Go refuses an issuer whose scheme and host:port differ
			// from the authority's.
			u, err := url.Parse(resp.body["issuer"].(string))
			if err != nil || u.Scheme+"://"+u.Host != srv.URL {
				t.Errorf("issuer origin %s, want %s", resp.body["issuer"], srv.URL)
			}
			// MSAL-Python does not fill in a placeholder.
			if strings.Contains(string(resp.raw), "{tenant") {
				t.Errorf("placeholder in %s", resp.raw)
			}
			for field, want := range map[string]string{
				"id_token_signing_alg_values_supported": "RS256",
				"token_endpoint_auth_methods_supported": "client_secret_post client_secret_basic",
				"grant_types_supported":                 "client_credentials password refresh_token",
			} {
				var got []string
				for _, v := range resp.body[field].([]any) {
					got = append(got, v.(string))
				}
				if strings.Join(got, " ") != want {
					t.Errorf("%s = %v, want %s", field, got, want)
				}
			}
		})
	}
}

func TestHandler_DiscoveryErrors(t *testing.T) {
	failing := newDirectory()
	failing.DefaultTenantFn = func(context.Context) (*galleon.Tenant, error) { return nil, errors.New("database is down") }
	for _, tt := range []struct {
		name, method, path string
		dir                *fakeDirectory
		status             int
		errCode            string
		aadsts             float64
	}{
		{"ErrUnknownTenant", "GET", "/99999999-9999-9999-9999-999999999999/v2.0/.well-known/openid-configuration", newDirectory(), 400, "invalid_tenant", 90002},
		{"ErrUnknownTenantKeys", "GET", "/nowhere.example/discovery/v2.0/keys", newDirectory(), 400, "invalid_tenant", 90002},
		{"ErrDirectoryDown", "GET", "/" + tenantID + "/v2.0/.well-known/openid-configuration", failing, 500, "server_error", 0},
		{"ErrMethod", "POST", "/adfs/.well-known/openid-configuration", newDirectory(), 405, "", 0},
		{"ErrNotIdentityPath", "GET", "/subscriptions", newDirectory(), 404, "", 0},
		{"ErrV1DiscoveryNotServed", "GET", "/" + tenantID + "/.well-known/openid-configuration", newDirectory(), 404, "", 0},
		{"ErrADFSv2Keys", "GET", "/adfs/discovery/v2.0/keys", newDirectory(), 404, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := MustIssuer(t, tt.dir)
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp := do(t, srv, req)
			if resp.status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.status, resp.raw, tt.status)
			}
			if tt.errCode == "" {
				return
			}
			if resp.body["error"] != tt.errCode {
				t.Errorf("error %v, want %s", resp.body["error"], tt.errCode)
			}
			desc, _ := resp.body["error_description"].(string)
			if tt.aadsts != 0 {
				codes, _ := resp.body["error_codes"].([]any)
				if len(codes) != 1 || codes[0] != tt.aadsts || !strings.HasPrefix(desc, "AADSTS90002: Tenant '") {
					t.Errorf("error_codes %v, description %q", codes, desc)
				}
			}
			if strings.Contains(desc, "database is down") {
				t.Error("an internal error leaked to the client")
			}
		})
	}
}

// TestHandler_Keys fetches every JWKS URL and verifies a token with the key
// published there, as a third party would.
func TestHandler_Keys(t *testing.T) {
	iss, srv := MustIssuer(t, newDirectory())
	token, _, err := iss.IssueToken(testServicePrincipal(), armAud)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/adfs/discovery/keys",
		"/" + tenantID + "/discovery/v2.0/keys",
		"/" + tenantID + "/discovery/keys",
		"/common/discovery/v2.0/keys",
		"/" + tenantDomain + "/discovery/v2.0/keys",
	} {
		t.Run(path, func(t *testing.T) {
			resp := get(t, srv, path)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d %s", resp.status, resp.raw)
			}
			keys, _ := resp.body["keys"].([]any)
			if len(keys) != 1 {
				t.Fatalf("keys = %v, want one", resp.body["keys"])
			}
			k := keys[0].(map[string]any)
			for field, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KeyID(&iss.Key.PublicKey)} {
				if k[field] != want {
					t.Errorf("%s = %v, want %s", field, k[field], want)
				}
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b64url(t, k["n"])), E: int(new(big.Int).SetBytes(b64url(t, k["e"])).Int64())}
			if !pub.Equal(&iss.Key.PublicKey) {
				t.Fatal("the published key is not the signing key")
			}
			parsed, err := jwt.Parse(token, func(tok *jwt.Token) (any, error) {
				if tok.Header["kid"] != k["kid"] {
					return nil, errors.New("kid not in the JWKS")
				}
				return pub, nil
			}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(armAud))
			if err != nil || !parsed.Valid {
				t.Errorf("verifying with the published key: %v", err)
			}
		})
	}
}

func b64url(tb testing.TB, v any) []byte {
	tb.Helper()
	s, _ := v.(string)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		tb.Fatalf("%q is not base64url: %v", s, err)
	}
	return b
}

func TestOwns(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/adfs/.well-known/openid-configuration", true},
		{"/ADFS/OAUTH2/TOKEN", true},
		{"/adfs/discovery/keys", true},
		{"/" + tenantID + "/v2.0/.well-known/openid-configuration", true},
		{"/" + tenantID + "/oauth2/v2.0/token", true},
		{"/" + tenantID + "/oauth2/token", true},
		{"/common/discovery/v2.0/keys", true},
		{"/", false},
		{"/adfs", false},
		{"/adfs/oauth2/v2.0/token", false},
		{"/subscriptions/x/resourceGroups", false},
		{"/metadata/endpoints", false},
		{"/v1.0/users", false},
		{"/" + tenantID + "/oauth2/v2.0/authorize", false},
	} {
		if got := Owns(tt.path); got != tt.want {
			t.Errorf("Owns(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
