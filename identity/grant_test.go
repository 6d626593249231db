package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// azForm is what az 2.45 (MSAL-Python) posts; the Go SDK sends the same
// without client_info and claims, and with "openid offline_access profile".
func azForm() url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {appID},
		"client_secret": {secret},
		"scope":         {armScope + " offline_access openid profile"},
		"client_info":   {"1"},
		"claims":        {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
	}
}

func with(f url.Values, kv ...string) url.Values {
	f = cloneValues(f)
	for k := 0; k < len(kv); k += 2 {
		if kv[k+1] == "" {
			f.Del(kv[k])
		} else {
			f.Set(kv[k], kv[k+1])
		}
	}
	return f
}

func TestHandler_TokenOK(t *testing.T) {
	iss, srv := MustIssuer(t, newDirectory())
	v2, v1 := "/"+tenantID+"/oauth2/v2.0/token", "/"+tenantID+"/oauth2/token"
	for _, tt := range []struct {
		name    string
		path    string
		form    url.Values
		basic   bool
		wantAud string
		wantIss string
		wantVer string
	}{
		{"ADFS", "/adfs/oauth2/token", azForm(), false, armAud, srv.URL + "/adfs", "1.0"},
		{"ADFSUpperCase", "/ADFS/OAuth2/Token", azForm(), false, armAud, srv.URL + "/adfs", "1.0"},
		{"ADFSBasic", "/adfs/oauth2/token", azForm(), true, armAud, srv.URL + "/adfs", "1.0"},
		{"ADFSResourceParam", "/adfs/oauth2/token", with(azForm(), "scope", "", "resource", armAud), false, armAud, srv.URL + "/adfs", "1.0"},
		{"TenantV2", v2, azForm(), false, armAud, iss.TenantIssuer(tenantID), "2.0"},
		{"TenantV2Basic", v2, azForm(), true, armAud, iss.TenantIssuer(tenantID), "2.0"},
		{"TenantDomain", "/" + tenantDomain + "/oauth2/v2.0/token", azForm(), false, armAud, iss.TenantIssuer(tenantID), "2.0"},
		{"Organizations", "/organizations/oauth2/v2.0/token", azForm(), false, armAud, iss.TenantIssuer(tenantID), "2.0"},
		{"TenantV1Resource", v1, with(azForm(), "scope", "", "resource", armAud), false, armAud, iss.TenantIssuer(tenantID), "2.0"},
		// The resource goes into aud as the client spelled it: clients
		// compare it verbatim.
		{"ScopeWithoutDoubleSlash", v2, with(azForm(), "scope", "https://management.core.windows.net/.default"), false, "https://management.core.windows.net", iss.TenantIssuer(tenantID), "2.0"},
		{"OtherAudience", v2, with(azForm(), "scope", "https://management.azure.com//.default"), false, "https://management.azure.com/", iss.TenantIssuer(tenantID), "2.0"},
		{"ScopeOnly", v2, with(azForm(), "scope", armScope, "client_info", "", "claims", ""), false, armAud, iss.TenantIssuer(tenantID), "2.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := postForm(t, srv, tt.path, tt.form, tt.basic)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d %s", resp.status, resp.raw)
			}
			if got := resp.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			// Exactly these four fields; expires_in a JSON integer.
			var body map[string]json.RawMessage
			if err := json.Unmarshal(resp.raw, &body); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range body {
				keys = append(keys, k)
			}
			if len(body) != 4 || string(body["token_type"]) != `"Bearer"` || string(body["expires_in"]) != "3599" || string(body["ext_expires_in"]) != "3599" {
				t.Errorf("body fields %v: %s", keys, resp.raw)
			}

			token := resp.body["access_token"].(string)
			c, h := unverifiedClaims(t, token)
			if h["kid"] != KeyID(&iss.Key.PublicKey) || h["typ"] != "JWT" || h["alg"] != "RS256" {
				t.Errorf("header %v", h)
			}
			for claim, want := range map[string]any{
				"aud": tt.wantAud, "iss": tt.wantIss, "ver": tt.wantVer,
				"tid": tenantID, "oid": objectID, "sub": objectID,
				"appid": appID, "azp": appID, "idtyp": "app",
			} {
				if c[claim] != want {
					t.Errorf("claim %s = %v, want %v", claim, c[claim], want)
				}
			}
			if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
				t.Errorf("exp-iat = %v, want 3600", exp-iat)
			}
			if c["uti"] == nil || c["uti"] == "" {
				t.Error("no uti")
			}

			p, err := iss.VerifyToken(token)
			if err != nil {
				t.Fatalf("VerifyToken: %v", err)
			}
			if p != testPrincipalAsVerified() {
				t.Errorf("VerifyToken = %+v", p)
			}
		})
	}
}

// testPrincipalAsVerified is what a token of testServicePrincipal maps
// back to: the display name does not travel in app tokens.
func testPrincipalAsVerified() galleon.Principal {
	p := testServicePrincipal()
	p.DisplayName = ""
	return p
}

func TestHandler_TokenErrors(t *testing.T) {
	v2 := "/" + tenantID + "/oauth2/v2.0/token"
	otherTenant := newDirectory()
	otherTenant.ServicePrincipalByAppIDFn = func(context.Context, string) (*galleon.Principal, []galleon.ClientSecret, error) {
		p := testServicePrincipal()
		p.TenantID = "44444444-4444-4444-4444-444444444444"
		return &p, []galleon.ClientSecret{{Hash: HashClientSecret(secret)}}, nil
	}
	failing := newDirectory()
	failing.ServicePrincipalByAppIDFn = func(context.Context, string) (*galleon.Principal, []galleon.ClientSecret, error) {
		return nil, nil, errors.New("database is down")
	}
	expired := newDirectory(galleon.ClientSecret{ID: "old", Hash: HashClientSecret(secret), ExpiresAt: time.Now().Add(-time.Minute)})

	for _, tt := range []struct {
		name   string
		dir    *fakeDirectory
		method string
		path   string
		form   url.Values
		basic  bool
		status int
		err    string
		aadsts string
	}{
		{"ErrWrongSecret", nil, "POST", "/adfs/oauth2/token", with(azForm(), "client_secret", "nope"), false, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + appID + "'."},
		{"ErrWrongSecretBasic", nil, "POST", v2, with(azForm(), "client_secret", "nope"), true, 401, "invalid_client", "AADSTS7000215"},
		{"ErrMissingSecret", nil, "POST", v2, with(azForm(), "client_secret", ""), false, 401, "invalid_client", "AADSTS7000218"},
		{"ErrExpiredSecret", expired, "POST", "/adfs/oauth2/token", azForm(), false, 401, "invalid_client", "AADSTS7000222"},
		{"ErrUnknownClient", nil, "POST", "/adfs/oauth2/token", with(azForm(), "client_id", "55555555-5555-5555-5555-555555555555"), false, 400, "unauthorized_client", "AADSTS700016: Application with identifier '55555555-5555-5555-5555-555555555555' was not found in the directory"},
		{"ErrClientOfOtherTenant", otherTenant, "POST", v2, azForm(), false, 400, "unauthorized_client", "AADSTS700016"},
		{"ErrMissingClientID", nil, "POST", v2, with(azForm(), "client_id", ""), false, 400, "invalid_request", "AADSTS900144"},
		{"ErrUnsupportedGrant", nil, "POST", v2, with(azForm(), "grant_type", "authorization_code"), false, 400, "unsupported_grant_type", "AADSTS70003"},
		{"ErrPasswordGrantNoUsername", nil, "POST", "/adfs/oauth2/token", with(azForm(), "grant_type", "password"), false, 400, "invalid_request", "AADSTS900144"},
		{"ErrMissingGrant", nil, "POST", v2, with(azForm(), "grant_type", ""), false, 400, "invalid_request", "AADSTS900144"},
		{"ErrUnknownResource", nil, "POST", v2, with(azForm(), "scope", "https://vault.azure.net/.default"), false, 400, "invalid_resource", "AADSTS500011: The resource principal named https://vault.azure.net was not found"},
		{"ErrUnknownResourceADFS", nil, "POST", "/adfs/oauth2/token", with(azForm(), "scope", "", "resource", "https://graph.microsoft.com/"), false, 400, "invalid_resource", "AADSTS500011"},
		{"ErrScopeNotDefault", nil, "POST", v2, with(azForm(), "scope", "https://management.core.windows.net/user_impersonation"), false, 400, "invalid_scope", "AADSTS1002012"},
		{"ErrScopeTwoResources", nil, "POST", v2, with(azForm(), "scope", armScope+" https://management.azure.com//.default"), false, 400, "invalid_scope", "AADSTS28000"},
		{"ErrMissingScope", nil, "POST", v2, with(azForm(), "scope", "openid profile"), false, 400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'."},
		{"ErrResourceParamOnV2", nil, "POST", v2, with(azForm(), "scope", "", "resource", armAud), false, 400, "invalid_request", "AADSTS900144"},
		{"ErrUnknownTenant", nil, "POST", "/99999999-9999-9999-9999-999999999999/oauth2/v2.0/token", azForm(), false, 400, "invalid_request", "AADSTS90002"},
		{"ErrGET", nil, "GET", "/adfs/oauth2/token", nil, false, 400, "invalid_request", "AADSTS900561"},
		{"ErrBodyTooLarge", nil, "POST", v2, with(azForm(), "padding", strings.Repeat("x", maxTokenRequest)), false, 400, "invalid_request", "AADSTS900144: The request body must be form-encoded (application/x-www-form-urlencoded) and at most 8 KiB."},
		{"ErrDirectoryDown", failing, "POST", v2, azForm(), false, 500, "server_error", "The directory is unavailable."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == nil {
				dir = newDirectory()
			}
			_, srv := MustIssuer(t, dir)
			var resp response
			if tt.method == "POST" {
				resp = postForm(t, srv, tt.path, tt.form, tt.basic)
			} else {
				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
				resp = do(t, srv, req)
			}
			if resp.status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.status, resp.raw, tt.status)
			}
			if resp.body["error"] != tt.err {
				t.Errorf("error %v, want %s", resp.body["error"], tt.err)
			}
			desc, _ := resp.body["error_description"].(string)
			if !strings.HasPrefix(desc, tt.aadsts) {
				t.Errorf("error_description %q, want it to start with %q", desc, tt.aadsts)
			}
			if strings.Contains(desc, "database is down") || bytes.Contains(resp.raw, []byte(secret)) {
				t.Errorf("the answer leaks: %s", resp.raw)
			}
			if resp.body["access_token"] != nil {
				t.Error("an error answer carries a token")
			}
			if got := resp.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if tt.status == 401 && resp.header.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
}

// TestHandler_TokenSecrets covers choosing among a principal's secrets.
func TestHandler_TokenSecrets(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name    string
		secrets []galleon.ClientSecret
		status  int
	}{
		{"OKNoExpiry", []galleon.ClientSecret{{Hash: HashClientSecret(secret)}}, 200},
		{"OKSecondSecret", []galleon.ClientSecret{{Hash: HashClientSecret("other")}, {Hash: HashClientSecret(secret), ExpiresAt: now.Add(time.Hour)}}, 200},
		{"OKOtherSecretExpired", []galleon.ClientSecret{{Hash: HashClientSecret("other"), ExpiresAt: now.Add(-time.Hour)}, {Hash: HashClientSecret(secret)}}, 200},
		{"ErrNoSecrets", []galleon.ClientSecret{}, 401},
		{"ErrExpiredNow", []galleon.ClientSecret{{Hash: HashClientSecret(secret), ExpiresAt: now}}, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss, srv := MustIssuer(t, newDirectory(tt.secrets...))
			iss.Now = func() time.Time { return now }
			resp := postForm(t, srv, "/adfs/oauth2/token", azForm(), false)
			if resp.status != tt.status {
				t.Errorf("status %d %s, want %d", resp.status, resp.raw, tt.status)
			}
		})
	}
}

func TestRequestedResource(t *testing.T) {
	for _, tt := range []struct {
		scope, resource string
		resourceParam   bool
		want            string
		errCode         string
	}{
		{armScope, "", false, armAud, ""},
		{armScope + " openid offline_access profile", "", false, armAud, ""},
		{"openid " + armScope, "", false, armAud, ""},
		{"https://management.core.windows.net/.DEFAULT", "", false, "https://management.core.windows.net", ""},
		{"api://galleon/.default", "", false, "api://galleon", ""},
		{"", armAud, true, armAud, ""},
		{armScope, "https://ignored/", true, armAud, ""},
		{"", armAud, false, "", "invalid_request"},
		{"", "", true, "", "invalid_request"},
		{"/.default", "", false, "", "invalid_scope"},
		{"https://management.core.windows.net/", "", false, "", "invalid_scope"},
		{armScope + " https://graph.microsoft.com/.default", "", false, "", "invalid_scope"},
	} {
		got, err := requestedResource(url.Values{"scope": {tt.scope}, "resource": {tt.resource}}, tt.resourceParam)
		var code string
		if err != nil {
			code = err.code
		}
		if got != tt.want || code != tt.errCode {
			t.Errorf("requestedResource(scope %q, resource %q, %v) = %q, %s; want %q, %s", tt.scope, tt.resource, tt.resourceParam, got, code, tt.want, tt.errCode)
		}
	}
}
