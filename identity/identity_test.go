package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

const (
	tenantID = "11111111-1111-1111-1111-111111111111"
	appID    = "22222222-2222-2222-2222-222222222222"
	objectID = "33333333-3333-3333-3333-333333333333"
	secret   = "s3cr3t-value-for-tests"
	armAud   = "https://management.core.windows.net/"
)

// directory is a func-field fake of the store's directory lookups.
type directory struct {
	secrets []galleon.ClientSecret
}

func (d *directory) DefaultTenant(context.Context) (*galleon.Tenant, error) {
	return &galleon.Tenant{ID: tenantID, Domain: "galleon.local"}, nil
}

func (d *directory) ServicePrincipalByAppID(_ context.Context, id string) (*galleon.Principal, []galleon.ClientSecret, error) {
	if id != appID {
		return nil, nil, galleon.Errorf(galleon.CodeResourceNotFound, "no such app")
	}
	return &galleon.Principal{ObjectID: objectID, TenantID: tenantID, Type: galleon.PrincipalServicePrincipal, AppID: appID}, d.secrets, nil
}

func newTestIssuer(t *testing.T) (*Issuer, *httptest.Server, *directory) {
	t.Helper()
	key, err := LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "keys", "signing.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := &directory{secrets: []galleon.ClientSecret{{Hash: HashClientSecret(secret), ExpiresAt: time.Now().Add(time.Hour)}}}
	iss := &Issuer{Key: key, Audiences: []string{armAud}, Directory: dir}
	srv := httptest.NewTLSServer(iss.Handler())
	t.Cleanup(srv.Close)
	iss.PublicURL = srv.URL
	return iss, srv, dir
}

func TestSigningKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "signing.pem")
	k1, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) || KeyID(&k1.PublicKey) != KeyID(&k2.PublicKey) {
		t.Error("the key or its id changed on reload")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestSecretsAndPasswords(t *testing.T) {
	s, err := NewClientSecret()
	if err != nil || len(s) != 40 {
		t.Fatalf("NewClientSecret() = %q, %v", s, err)
	}
	h := HashClientSecret(s)
	if strings.Contains(h, s) || !CheckClientSecret(h, s) || CheckClientSecret(h, s+"x") || CheckClientSecret("garbage", s) {
		t.Error("client secret hashing is broken")
	}
	if HashClientSecret(s) == h {
		t.Error("hashes must be salted")
	}
	ph, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(ph, "correct horse") || CheckPassword(ph, "wrong horse") || CheckPassword("$argon2id$x", "correct horse") {
		t.Error("password hashing is broken")
	}
}

func TestDiscovery(t *testing.T) {
	iss, srv, _ := newTestIssuer(t)
	for _, tt := range []struct {
		path, issuer, token string
	}{
		{"/adfs/.well-known/openid-configuration", srv.URL + "/adfs", srv.URL + "/adfs/oauth2/token"},
		{"/ADFS/.well-known/openid-configuration", srv.URL + "/adfs", srv.URL + "/adfs/oauth2/token"},
		{"/" + tenantID + "/v2.0/.well-known/openid-configuration", iss.TenantIssuer(tenantID), srv.URL + "/" + tenantID + "/oauth2/v2.0/token"},
		{"/organizations/v2.0/.well-known/openid-configuration", iss.TenantIssuer(tenantID), srv.URL + "/organizations/oauth2/v2.0/token"},
	} {
		resp, err := srv.Client().Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != 200 || doc["issuer"] != tt.issuer || doc["token_endpoint"] != tt.token || doc["jwks_uri"] == nil {
			t.Errorf("%s: %d %v", tt.path, resp.StatusCode, doc)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/99999999-9999-9999-9999-999999999999/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown tenant: %d, want 400", resp.StatusCode)
	}
}

func tokenRequest(t *testing.T, srv *httptest.Server, path string, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	if basic {
		form.Del("client_id")
		form.Del("client_secret")
	}
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(appID, secret)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	iss, srv, dir := newTestIssuer(t)
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
			"scope": {"https://management.core.windows.net//.default openid offline_access profile"}, "client_info": {"1"},
			"claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}}
	}
	for _, tt := range []struct {
		name   string
		path   string
		form   func() url.Values
		basic  bool
		status int
		errStr string
	}{
		{"OKTenant", "/" + tenantID + "/oauth2/v2.0/token", good, false, 200, ""},
		{"OKADFS", "/adfs/oauth2/token", good, false, 200, ""},
		{"OKBasic", "/adfs/oauth2/token", good, true, 200, ""},
		{"OKV1Resource", "/" + tenantID + "/oauth2/token", func() url.Values {
			f := good()
			f.Del("scope")
			f.Set("resource", armAud)
			return f
		}, false, 200, ""},
		{"ErrWrongSecret", "/adfs/oauth2/token", func() url.Values { f := good(); f.Set("client_secret", "nope"); return f }, false, 401, "invalid_client"},
		{"ErrUnknownClient", "/adfs/oauth2/token", func() url.Values { f := good(); f.Set("client_id", "nobody"); return f }, false, 401, "unauthorized_client"},
		{"ErrGrant", "/adfs/oauth2/token", func() url.Values { f := good(); f.Set("grant_type", "authorization_code"); return f }, false, 400, "unsupported_grant_type"},
		{"ErrResource", "/adfs/oauth2/token", func() url.Values { f := good(); f.Set("scope", "https://vault.azure.net/.default"); return f }, false, 400, "invalid_resource"},
		{"ErrTenant", "/99999999-9999-9999-9999-999999999999/oauth2/v2.0/token", good, false, 400, "invalid_tenant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tokenRequest(t, srv, tt.path, tt.form(), tt.basic)
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, body, tt.status)
			}
			if tt.errStr != "" {
				if body["error"] != tt.errStr || body["error_description"] == "" {
					t.Errorf("body %v, want error %s", body, tt.errStr)
				}
				return
			}
			if _, ok := body["expires_in"].(float64); !ok {
				t.Errorf("expires_in must be a JSON number: %v", body["expires_in"])
			}
			for _, absent := range []string{"scope", "id_token", "refresh_token", "client_info"} {
				if _, ok := body[absent]; ok {
					t.Errorf("%s must not be in a client-credentials response", absent)
				}
			}
			p, err := iss.VerifyToken(body["access_token"].(string))
			if err != nil || p.ObjectID != objectID || p.AppID != appID || p.Type != galleon.PrincipalServicePrincipal {
				t.Errorf("VerifyToken = %+v, %v", p, err)
			}
		})
	}
	t.Run("ErrExpiredSecret", func(t *testing.T) {
		dir.secrets = []galleon.ClientSecret{{Hash: HashClientSecret(secret), ExpiresAt: time.Now().Add(-time.Hour)}}
		defer func() { dir.secrets = []galleon.ClientSecret{{Hash: HashClientSecret(secret)}} }()
		status, body := tokenRequest(t, srv, "/adfs/oauth2/token", good(), false)
		if status != 401 || !strings.Contains(body["error_description"].(string), "AADSTS7000222") {
			t.Errorf("%d %v", status, body)
		}
	})
}

func TestVerifyToken(t *testing.T) {
	iss, _, _ := newTestIssuer(t)
	p := galleon.Principal{ObjectID: objectID, TenantID: tenantID, Type: galleon.PrincipalServicePrincipal, AppID: appID}
	good, _, err := iss.IssueToken(p, armAud, iss.ADFSIssuer())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.VerifyToken(good); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	resign := func(key any, method jwt.SigningMethod, mutate func(jwt.MapClaims)) string {
		tok, _, _ := jwt.NewParser().ParseUnverified(good, jwt.MapClaims{})
		c := tok.Claims.(jwt.MapClaims)
		mutate(c)
		nt := jwt.NewWithClaims(method, c)
		nt.Header["kid"] = KeyID(&iss.Key.PublicKey)
		s, err := nt.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	same := func(jwt.MapClaims) {}
	now := time.Now()
	pemPub := []byte(KeyID(&iss.Key.PublicKey))
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"Expired", resign(iss.Key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })},
		{"NotYetValid", resign(iss.Key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() })},
		{"OtherKey", resign(other, jwt.SigningMethodRS256, same)},
		{"AlgNone", resign(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, same)},
		{"HMACConfusion", resign(pemPub, jwt.SigningMethodHS256, same)},
		{"WrongAudience", resign(iss.Key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { c["aud"] = "https://graph.microsoft.com/" })},
		{"WrongIssuer", resign(iss.Key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { c["iss"] = "https://evil.example/adfs" })},
		{"NoExpiry", resign(iss.Key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { delete(c, "exp") })},
		{"Garbage", "a.b.c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iss.VerifyToken(tt.token)
			if galleon.ErrorCode(err) != galleon.CodeAuthenticationFailed {
				t.Fatalf("VerifyToken = %v, want InvalidAuthenticationToken", err)
			}
		})
	}
	t.Run("ResignedUnchangedIsAccepted", func(t *testing.T) {
		if _, err := iss.VerifyToken(resign(iss.Key, jwt.SigningMethodRS256, same)); err != nil {
			t.Fatalf("the control case must pass: %v", err)
		}
	})
}

// TestAzureSDKCredential logs in through MSAL-Go, as the Azure SDK does,
// against both authority styles.
func TestAzureSDKCredential(t *testing.T) {
	iss, srv, _ := newTestIssuer(t)
	for _, tenant := range []string{tenantID, "adfs"} {
		t.Run(tenant, func(t *testing.T) {
			opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client()}
			cred, err := azidentity.NewClientSecretCredential(tenant, appID, secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armAud + "/.default"}})
			if err != nil {
				t.Fatal(err)
			}
			p, err := iss.VerifyToken(tok.Token)
			if err != nil || p.ObjectID != objectID {
				t.Fatalf("VerifyToken = %+v, %v", p, err)
			}
			if time.Until(tok.ExpiresOn) < 50*time.Minute {
				t.Errorf("token expires too soon: %v", tok.ExpiresOn)
			}
		})
	}
}

func TestVerifyToken_CacheHonoursExpiry(t *testing.T) {
	iss, _, _ := newTestIssuer(t)
	now := time.Now()
	iss.Now = func() time.Time { return now }
	p := galleon.Principal{ObjectID: objectID, TenantID: tenantID, Type: galleon.PrincipalServicePrincipal, AppID: appID}
	tok, exp, err := iss.IssueToken(p, armAud, iss.ADFSIssuer())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second answer comes from the cache
		if _, err := iss.VerifyToken(tok); err != nil {
			t.Fatal(err)
		}
	}
	now = exp.Add(2 * clockSkew)
	if _, err := iss.VerifyToken(tok); galleon.ErrorCode(err) != galleon.CodeAuthenticationFailed {
		t.Fatalf("an expired token that was cached: %v, want InvalidAuthenticationToken", err)
	}
}
