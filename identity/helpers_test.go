package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

const (
	tenantID     = "11111111-1111-1111-1111-111111111111"
	tenantDomain = "galleon.local"
	appID        = "22222222-2222-2222-2222-222222222222"
	objectID     = "33333333-3333-3333-3333-333333333333"
	secret       = "s3cr3t~value.for-tests_0123456789abcdefg"
	armAud       = "https://management.core.windows.net/"
	armScope     = armAud + "/.default"
)

// fakeDirectory is a func-field fake of the directory lookups the issuer
// makes.
type fakeDirectory struct {
	DefaultTenantFn           func(ctx context.Context) (*galleon.Tenant, error)
	ServicePrincipalByAppIDFn func(ctx context.Context, appID string) (*galleon.Principal, []galleon.ClientSecret, error)
	UserForSignInFn           func(ctx context.Context, username string) (*galleon.DirectoryUser, error)
}

func (d *fakeDirectory) UserForSignIn(ctx context.Context, username string) (*galleon.DirectoryUser, error) {
	if d.UserForSignInFn == nil {
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "no user %s", username)
	}
	return d.UserForSignInFn(ctx, username)
}

func (d *fakeDirectory) DefaultTenant(ctx context.Context) (*galleon.Tenant, error) {
	return d.DefaultTenantFn(ctx)
}

func (d *fakeDirectory) ServicePrincipalByAppID(ctx context.Context, id string) (*galleon.Principal, []galleon.ClientSecret, error) {
	return d.ServicePrincipalByAppIDFn(ctx, id)
}

func testServicePrincipal() galleon.Principal {
	return galleon.Principal{ObjectID: objectID, TenantID: tenantID, Type: galleon.PrincipalServicePrincipal, AppID: appID, DisplayName: "galleon"}
}

// newDirectory knows one tenant and one service principal, appID, with the
// given secrets (by default one valid secret, secret).
func newDirectory(secrets ...galleon.ClientSecret) *fakeDirectory {
	if secrets == nil {
		secrets = []galleon.ClientSecret{{ID: "s1", Hash: HashClientSecret(secret), ExpiresAt: time.Now().Add(time.Hour)}}
	}
	return &fakeDirectory{
		DefaultTenantFn: func(context.Context) (*galleon.Tenant, error) {
			return &galleon.Tenant{ID: tenantID, Domain: tenantDomain}, nil
		},
		ServicePrincipalByAppIDFn: func(_ context.Context, id string) (*galleon.Principal, []galleon.ClientSecret, error) {
			if id != appID {
				return nil, nil, galleon.Errorf(galleon.CodeResourceNotFound, "no service principal %s", id)
			}
			p := testServicePrincipal()
			return &p, secrets, nil
		},
	}
}

// testKey is one RSA key for the tests that do not test keys: generating
// one per test would cost most of the package's test time.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// MustIssuer returns an issuer with the shared test key, serving its
// handler over TLS; PublicURL is the server's own origin.
func MustIssuer(tb testing.TB, dir Directory) (*Issuer, *httptest.Server) {
	tb.Helper()
	iss := &Issuer{Key: testKey(), Audiences: []string{armAud, "https://management.azure.com"}, Directory: dir,
		// Shown with the test's output when it fails or runs with -v.
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}
	srv := httptest.NewUnstartedServer(iss.Handler())
	// The listener exists before the server starts, so PublicURL is set
	// before any request can read it.
	iss.PublicURL = "https://" + srv.Listener.Addr().String()
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return iss, srv
}

// response is a recorded HTTP answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func do(tb testing.TB, srv *httptest.Server, req *http.Request) response {
	tb.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func get(tb testing.TB, srv *httptest.Server, path string) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, srv, req)
}

// postForm posts a token request; basic moves client_id and client_secret
// into an HTTP Basic header.
func postForm(tb testing.TB, srv *httptest.Server, path string, form url.Values, basic bool) response {
	tb.Helper()
	form = cloneValues(form)
	id, sec := form.Get("client_id"), form.Get("client_secret")
	if basic {
		form.Del("client_id")
		form.Del("client_secret")
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	}
	return do(tb, srv, req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// unverifiedClaims decodes a token without checking it, to look inside.
func unverifiedClaims(tb testing.TB, token string) (jwt.MapClaims, map[string]any) {
	tb.Helper()
	t, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		tb.Fatalf("decoding %q: %v", token, err)
	}
	return t.Claims.(jwt.MapClaims), t.Header
}
