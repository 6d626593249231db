package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

func TestIssuer_VerifyToken(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	iss, _ := MustIssuer(t, newDirectory())
	iss.Now = func() time.Time { return now }
	sp := testServicePrincipal()
	user := galleon.Principal{ObjectID: "66666666-6666-6666-6666-666666666666", TenantID: tenantID, Type: galleon.PrincipalUser,
		UserPrincipalName: "admin@" + tenantDomain, DisplayName: "Administrator"}

	good, _, err := iss.IssueToken(sp, armAud)
	if err != nil {
		t.Fatal(err)
	}
	kid := KeyID(&iss.Key.PublicKey)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&iss.Key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	// forge re-signs good's claims, changed by mutate, with key and method
	// under header kid (none when empty).
	forge := func(key any, method jwt.SigningMethod, kid string, mutate func(jwt.MapClaims)) string {
		t.Helper()
		c, _ := unverifiedClaims(t, good)
		if mutate != nil {
			mutate(c)
		}
		tok := jwt.NewWithClaims(method, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	set := func(kv ...any) func(jwt.MapClaims) {
		return func(c jwt.MapClaims) {
			for k := 0; k < len(kv); k += 2 {
				if kv[k+1] == nil {
					delete(c, kv[k].(string))
				} else {
					c[kv[k].(string)] = kv[k+1]
				}
			}
		}
	}
	rs256 := jwt.SigningMethodRS256

	t.Run("OK", func(t *testing.T) {
		adfsToken, _, err := iss.mint(sp, armAud, iss.adfsAuthority())
		if err != nil {
			t.Fatal(err)
		}
		userToken, _, err := iss.IssueToken(user, armAud)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			token string
			want  galleon.Principal
		}{
			{"TenantAuthority", good, testPrincipalAsVerified()},
			{"ADFSAuthority", adfsToken, testPrincipalAsVerified()},
			{"User", userToken, user},
			{"AudienceWithoutSlash", forge(iss.Key, rs256, kid, set("aud", "https://management.core.windows.net")), testPrincipalAsVerified()},
			{"AudienceArrayOfOne", forge(iss.Key, rs256, kid, set("aud", []string{armAud})), testPrincipalAsVerified()},
			{"ExpiredWithinSkew", forge(iss.Key, rs256, kid, set("exp", now.Add(-30*time.Second).Unix())), testPrincipalAsVerified()},
			{"NotBeforeWithinSkew", forge(iss.Key, rs256, kid, set("nbf", now.Add(30*time.Second).Unix())), testPrincipalAsVerified()},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := iss.VerifyToken(tt.token)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("VerifyToken = %+v, want %+v", got, tt.want)
				}
			})
		}
	})

	for _, tt := range []struct {
		name    string
		token   string
		message string
	}{
		{"ErrExpired", forge(iss.Key, rs256, kid, set("exp", now.Add(-2*time.Minute).Unix())), "The token is expired."},
		{"ErrNotYetValid", forge(iss.Key, rs256, kid, set("nbf", now.Add(10*time.Minute).Unix())), "The token is not valid yet."},
		{"ErrIssuedInFuture", forge(iss.Key, rs256, kid, set("iat", now.Add(10*time.Minute).Unix())), "The token is not valid yet."},
		{"ErrNoExpiry", forge(iss.Key, rs256, kid, set("exp", nil)), "The access token is invalid."},
		{"ErrOtherKeySameKid", forge(other, rs256, kid, nil), "The access token is invalid."},
		{"ErrOtherKeyOwnKid", forge(other, rs256, KeyID(&other.PublicKey), nil), "The access token is invalid."},
		{"ErrNoKid", forge(iss.Key, rs256, "", nil), "The access token is invalid."},
		{"ErrAlgNone", forge(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, kid, nil), "The access token is invalid."},
		{"ErrHS256WithPublicKey", forge(pubPEM, jwt.SigningMethodHS256, kid, nil), "The access token is invalid."},
		{"ErrHS256WithPublicKeyDER", forge(pubDER, jwt.SigningMethodHS256, kid, nil), "The access token is invalid."},
		{"ErrRS512", forge(iss.Key, jwt.SigningMethodRS512, kid, nil), "The access token is invalid."},
		{"ErrPS256", forge(iss.Key, jwt.SigningMethodPS256, kid, nil), "The access token is invalid."},
		{"ErrWrongAudience", forge(iss.Key, rs256, kid, set("aud", "https://graph.microsoft.com/")),
			"The access token has been obtained for wrong audience or resource 'https://graph.microsoft.com/'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com'."},
		{"ErrTwoAudiences", forge(iss.Key, rs256, kid, set("aud", []string{armAud, "https://graph.microsoft.com/"})), "wrong audience"},
		{"ErrNoAudience", forge(iss.Key, rs256, kid, set("aud", nil)), "wrong audience"},
		{"ErrWrongIssuer", forge(iss.Key, rs256, kid, set("iss", "https://login.microsoftonline.com/"+tenantID+"/v2.0")), "The access token is from the wrong issuer 'https://login.microsoftonline.com/"},
		{"ErrOldPublicURL", forge(iss.Key, rs256, kid, set("iss", "https://old.example:8443/adfs")), "wrong issuer"},
		{"ErrOtherTenant", forge(iss.Key, rs256, kid, set("tid", "44444444-4444-4444-4444-444444444444",
			"iss", iss.TenantIssuer("44444444-4444-4444-4444-444444444444"))), "wrong issuer"},
		{"ErrNoOID", forge(iss.Key, rs256, kid, set("oid", nil)), "The access token is invalid."},
		{"ErrSubIsNotOID", forge(iss.Key, rs256, kid, set("sub", "someone-else")), "The access token is invalid."},
		{"ErrUnknownIDType", forge(iss.Key, rs256, kid, set("idtyp", "device")), "The access token is invalid."},
		{"ErrAppWithoutAppID", forge(iss.Key, rs256, kid, set("appid", nil)), "The access token is invalid."},
		{"ErrGarbage", "a.b.c", "The access token is invalid."},
		{"ErrEmpty", "", "The access token is invalid."},
		{"ErrTruncatedSignature", good[:len(good)-10], "The access token is invalid."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := iss.VerifyToken(tt.token)
			var e *galleon.Error
			if !errors.As(err, &e) || e.Code != galleon.CodeAuthenticationFailed {
				t.Fatalf("VerifyToken = %+v, %v; want an InvalidAuthenticationToken error", p, err)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.message)
			}
			if p != (galleon.Principal{}) {
				t.Errorf("a refused token named %+v", p)
			}
		})
	}
}

func TestIssuer_VerifyTokenCache(t *testing.T) {
	t.Run("HonoursExpiry", func(t *testing.T) {
		now := time.Now()
		iss, _ := MustIssuer(t, newDirectory())
		iss.Now = func() time.Time { return now }
		tok, exp, err := iss.IssueToken(testServicePrincipal(), armAud)
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
	})

	t.Run("RefusalsNotCached", func(t *testing.T) {
		now := time.Now()
		iss, _ := MustIssuer(t, newDirectory())
		iss.Now = func() time.Time { return now }
		p := testServicePrincipal()
		// Issued "in the future" by a node whose clock is ahead: refused
		// now, accepted once the clocks agree.
		iss.Now = func() time.Time { return now.Add(10 * time.Minute) }
		tok, _, err := iss.IssueToken(p, armAud)
		if err != nil {
			t.Fatal(err)
		}
		iss.Now = func() time.Time { return now }
		if _, err := iss.VerifyToken(tok); err == nil {
			t.Fatal("a token issued in the future was accepted")
		}
		iss.Now = func() time.Time { return now.Add(10 * time.Minute) }
		if _, err := iss.VerifyToken(tok); err != nil {
			t.Fatalf("a refusal was cached: %v", err)
		}
	})
}

func TestIssuer_VerifyTokenDirectory(t *testing.T) {
	calls := 0
	dir := newDirectory()
	dir.DefaultTenantFn = func(context.Context) (*galleon.Tenant, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("database is down")
		}
		return &galleon.Tenant{ID: tenantID, Domain: tenantDomain}, nil
	}
	iss := &Issuer{Key: testKey(), PublicURL: "https://127.0.0.1:8443", Audiences: []string{armAud}, Directory: dir}
	tok, _, err := iss.IssueToken(testServicePrincipal(), armAud)
	if err != nil {
		t.Fatal(err)
	}
	// A directory failure is not the client's fault: not an ARM error.
	if _, err := iss.VerifyToken(tok); err == nil || galleon.ErrorCode(err) != galleon.CodeInternal {
		t.Fatalf("VerifyToken with the directory down = %v, want an internal error", err)
	}
	for range 3 {
		if _, err := iss.VerifyToken(tok); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Errorf("the tenant was read %d times, want 2 (one failure, then cached)", calls)
	}
}

func TestIssuer_IssueToken(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 500, time.UTC)
	for _, tt := range []struct {
		name     string
		lifetime time.Duration
		want     time.Duration
	}{
		{"DefaultLifetime", 0, time.Hour},
		{"CustomLifetime", 10 * time.Minute, 10 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss := &Issuer{Key: testKey(), PublicURL: "https://127.0.0.1:8443", Audiences: []string{armAud}, Directory: newDirectory(),
				Now: func() time.Time { return now }, TokenLifetime: tt.lifetime}
			tok, exp, err := iss.IssueToken(testServicePrincipal(), armAud)
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Truncate(time.Second).Add(tt.want); !exp.Equal(want) {
				t.Errorf("expiresAt %v, want %v", exp, want)
			}
			c, _ := unverifiedClaims(t, tok)
			if int64(c["exp"].(float64)) != exp.Unix() || c["iss"] != "https://127.0.0.1:8443/"+tenantID+"/v2.0" || c["ver"] != "2.0" {
				t.Errorf("claims %v", c)
			}
			if nbf := int64(c["nbf"].(float64)); nbf > now.Unix() {
				t.Errorf("nbf %d after iat", nbf)
			}
		})
	}
	iss := &Issuer{Key: testKey(), PublicURL: "https://127.0.0.1:8443"}
	a, _, _ := iss.IssueToken(testServicePrincipal(), armAud)
	b, _, _ := iss.IssueToken(testServicePrincipal(), armAud)
	ca, _ := unverifiedClaims(t, a)
	cb, _ := unverifiedClaims(t, b)
	if ca["uti"] == cb["uti"] || ca["jti"] == cb["jti"] {
		t.Error("two tokens share an id")
	}
}

// TestIssuer_Verifier: ARM and Graph each take tokens for their own
// audiences only, whether the token was verified before (and cached) or
// not; a token for an audience the issuer does not mint is refused by
// both.
func TestIssuer_Verifier(t *testing.T) {
	t.Parallel()
	iss, _ := MustIssuer(t, newDirectory())
	graphAud := iss.PublicURL + "/"
	iss.Audiences = append(iss.Audiences, graphAud)
	arm := iss.Verifier(armAud, "https://management.azure.com/")
	graph := iss.Verifier(graphAud)
	sp := testServicePrincipal()
	token := func(aud string) string {
		tok, _, err := iss.IssueToken(sp, aud)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tt := range []struct {
		name           string
		aud            string
		cachedFirst    bool // verified by VerifyToken (any audience) before
		armOK, graphOK bool
	}{
		{"ARM", armAud, false, true, false},
		{"ARMWithoutSlash", strings.TrimSuffix(armAud, "/"), false, true, false},
		{"ARMPublicEndpoint", "https://management.azure.com/", false, true, false},
		{"Graph", graphAud, false, false, true},
		{"GraphWithoutSlash", iss.PublicURL, false, false, true},
		{"GraphCachedFirst", graphAud, true, false, true},
		{"ARMCachedFirst", armAud, true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := token(tt.aud)
			if tt.cachedFirst {
				if _, err := iss.VerifyToken(tok); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range []struct {
				name   string
				verify func(string) (galleon.Principal, error)
				ok     bool
			}{{"ARM", arm, tt.armOK}, {"Graph", graph, tt.graphOK}} {
				p, err := v.verify(tok)
				switch {
				case v.ok && (err != nil || p.ObjectID != sp.ObjectID):
					t.Errorf("%s verifying a token for %s: %+v, %v; want the principal", v.name, tt.aud, p, err)
				case !v.ok && galleon.ErrorCode(err) != galleon.CodeAuthenticationFailed:
					t.Errorf("%s verifying a token for %s: %+v, %v; want %s", v.name, tt.aud, p, err, galleon.CodeAuthenticationFailed)
				case !v.ok && !strings.Contains(err.Error(), "wrong audience"):
					t.Errorf("%s refusing a token for %s: %v; want it to name the audience", v.name, tt.aud, err)
				}
			}
		})
	}
}
