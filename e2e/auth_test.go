package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signingKey reads the server's token signing key from its data folder, so
// the test can mint tokens that differ from real ones in one claim only.
func signingKey(t *testing.T, s *Server) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.DataDir, "keys", "token-signing.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block in the signing key file")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// claimsOf decodes a JWT's header and claims without verifying it.
func claimsOf(t *testing.T, token string) (map[string]any, jwt.MapClaims) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	var header map[string]any
	var claims jwt.MapClaims
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	good := s.Token(t)
	header, claims := claimsOf(t, good)
	kid, _ := header["kid"].(string)
	key := signingKey(t, s)
	galleries := "/subscriptions/" + s.Creds.SubscriptionID + "/providers/Microsoft.Compute/galleries?api-version=2025-03-03"

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		change(c)
		return c
	}
	now := time.Now()
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	noneToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()

	t.Run("OK", func(t *testing.T) {
		if code, _, body := s.Do(t, "GET", galleries, good, nil); code != 200 {
			t.Fatalf("a valid token: %d %v", code, body)
		}
		// A token minted here with the server's key and unchanged claims is
		// accepted too, so the refusals below are down to the one change.
		if code, _, body := s.Do(t, "GET", galleries, sign(t, key, kid, with(func(jwt.MapClaims) {})), nil); code != 200 {
			t.Fatalf("a re-signed copy of a valid token: %d %v", code, body)
		}
	})
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"NoToken", ""},
		{"Garbage", "not-a-jwt"},
		{"Expired", sign(t, key, kid, with(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-10 * time.Minute).Unix()
			c["nbf"] = now.Add(-70 * time.Minute).Unix()
			c["iat"] = now.Add(-70 * time.Minute).Unix()
		}))},
		{"NotYetValid", sign(t, key, kid, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(30 * time.Minute).Unix() }))},
		{"OtherKey", sign(t, otherKey, kid, with(func(jwt.MapClaims) {}))},
		{"AlgNone", noneToken},
		{"OtherAudience", sign(t, key, kid, with(func(c jwt.MapClaims) { c["aud"] = "https://vault.azure.net" }))},
		// Graph's audience is the server's URL, which this server mints
		// tokens for; ARM refuses them all the same.
		{"GraphAudience", graphToken(t, s)},
		{"OtherIssuer", sign(t, key, kid, with(func(c jwt.MapClaims) { c["iss"] = "https://login.microsoftonline.com/x/v2.0" }))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := s.Do(t, "GET", galleries, tt.token, nil)
			if code != 401 {
				t.Fatalf("got %d %v, want 401", code, body)
			}
			if c := errorCode(body); c != "InvalidAuthenticationToken" && c != "AuthenticationFailed" {
				t.Errorf("error code %q", c)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
			}
		})
	}
	// And the other way round: Graph refuses a token obtained for ARM.
	t.Run("ARMTokenAtGraph", func(t *testing.T) {
		code, _, body := s.Do(t, "GET", "/v1.0/users", good, nil)
		if code != 401 || errorCode(body) != "InvalidAuthenticationToken" {
			t.Fatalf("got %d %v, want 401 InvalidAuthenticationToken", code, body)
		}
	})

	tokenRequest := func(clientID, secret string) int {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
			"scope": {"https://management.core.windows.net//.default"}}
		resp, err := s.Client.PostForm(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("TokenEndpointRefuses", func(t *testing.T) {
		if code := tokenRequest(s.Creds.ClientID, s.Creds.ClientSecret); code != 200 {
			t.Fatalf("the right secret: %d", code)
		}
		if code := tokenRequest(s.Creds.ClientID, s.Creds.ClientSecret+"x"); code != 401 && code != 400 {
			t.Errorf("a wrong secret: %d, want 400 or 401", code)
		}
		if code := tokenRequest("00000000-0000-0000-0000-000000000000", s.Creds.ClientSecret); code != 401 && code != 400 {
			t.Errorf("an unknown client: %d, want 400 or 401", code)
		}
	})
}
