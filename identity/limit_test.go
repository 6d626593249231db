package identity

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// limitStep is one token request in a limits scenario.
type limitStep struct {
	after  time.Duration // how far the clock moves before the request
	n      int           // how many times the request is sent (default once)
	path   string
	form   url.Values
	addr   string // the connection's peer address (default 192.0.2.1)
	status int
	code   int    // the one AADSTS number of error_codes; 0 for a token
	retry  string // the Retry-After header wanted
	text   string // a part of the description wanted
}

// limitedIssuer is an issuer on a fake clock with the documented limits.
func limitedIssuer(t *testing.T, dir Directory) (*Issuer, *time.Time) {
	t.Helper()
	now := time.Now() // newDirectory's secret expires an hour from now
	clock := func() time.Time { return now }
	limits := signinlimit.New(0)
	limits.Now = clock
	return &Issuer{Key: testKey(), PublicURL: "https://issuer.test", Audiences: []string{armAud}, Directory: dir, Now: clock, Limits: limits,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, &now
}

// tokenFrom posts form to path over a connection from addr, in process.
func tokenFrom(iss *Issuer, path string, form url.Values, addr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "https://issuer.test"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = addr + ":50123"
	w := httptest.NewRecorder()
	iss.Handler().ServeHTTP(w, r)
	return w
}

func runLimitSteps(t *testing.T, iss *Issuer, now *time.Time, steps []limitStep) {
	t.Helper()
	for i, st := range steps {
		*now = now.Add(st.after)
		addr := cmpOr(st.addr, "192.0.2.1")
		for k := range max(st.n, 1) {
			w := tokenFrom(iss, st.path, st.form, addr)
			var body struct {
				AccessToken string `json:"access_token"`
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Codes       []int  `json:"error_codes"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			code := 0
			if len(body.Codes) == 1 {
				code = body.Codes[0]
			}
			where := fmt.Sprintf("step %d, request %d (%s from %s)", i+1, k+1, st.form.Get("username")+st.form.Get("client_id"), addr)
			if w.Code != st.status || code != st.code || (st.status == 200) != (body.AccessToken != "") {
				t.Fatalf("%s = %d %v, want %d AADSTS%d\n%s", where, w.Code, body.Codes, st.status, st.code, w.Body)
			}
			if got := w.Header().Get("Retry-After"); got != st.retry {
				t.Fatalf("%s: Retry-After %q, want %q", where, got, st.retry)
			}
			if !strings.Contains(body.Description, st.text) {
				t.Fatalf("%s: description %q, want it to say %q", where, body.Description, st.text)
			}
			if code == 50053 && (body.Error != "invalid_grant" && body.Error != "invalid_client" ||
				!strings.HasPrefix(body.Description, "AADSTS50053: ")) {
				t.Fatalf("%s: a lockout answered %s %q", where, body.Error, body.Description)
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestPasswordGrant_Limits(t *testing.T) {
	v2, adfs := "/"+tenantID+"/oauth2/v2.0/token", "/adfs/oauth2/token"
	pw := func(user, password string) url.Values { return sdkPasswordForm(user, password) }
	const locked = "The account is locked, you've tried to sign in too many times with an incorrect user ID or password. Try again in 12 seconds."
	for _, tt := range []struct {
		name  string
		steps []limitStep
	}{
		{"ErrLockedAfterFiveWrongPasswords", []limitStep{
			{n: 5, path: v2, form: pw("alice@galleon.local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("alice@galleon.local", "wrong"), status: 400, code: 50053, retry: "12", text: locked},
			// The right password too, by any authority, name case or address.
			{path: adfs, form: pw("ALICE@galleon.local", userPass), addr: "198.51.100.7", status: 400, code: 50053, retry: "12", text: locked},
			{after: 5 * time.Second, path: v2, form: pw("alice@galleon.local", userPass), status: 400, code: 50053, retry: "7", text: "Try again in 7 seconds."},
			// Other accounts are not locked.
			{path: v2, form: pw(guestMail, userPass), status: 200},
			// After the window, one try; the right password does not use it up.
			{after: 7 * time.Second, path: v2, form: pw("alice@galleon.local", userPass), status: 200},
			{path: v2, form: pw("alice@galleon.local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("alice@galleon.local", userPass), status: 400, code: 50053, retry: "12"},
		}},
		{"ErrFailuresCountAcrossAuthorities", []limitStep{
			{n: 2, path: adfs, form: with(pw("alice@galleon.local", "wrong"), "scope", "", "resource", armAud), status: 400, code: 50126},
			{n: 3, path: v2, form: pw("Alice@Galleon.Local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("alice@galleon.local", userPass), status: 400, code: 50053, retry: "12"},
		}},
		{"ErrUnknownNameLocksAlike", []limitStep{
			{n: 5, path: v2, form: pw("nobody@galleon.local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("nobody@galleon.local", "wrong"), status: 400, code: 50053, retry: "12", text: locked},
		}},
		{"OKRightPasswordsNeverCount", []limitStep{
			{n: 22, path: v2, form: pw("alice@galleon.local", userPass), status: 200}, // more than either burst
			{n: 4, path: v2, form: pw("alice@galleon.local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("alice@galleon.local", userPass), status: 200},
			{path: v2, form: pw("alice@galleon.local", "wrong"), status: 400, code: 50126},
			{path: v2, form: pw("alice@galleon.local", userPass), status: 400, code: 50053, retry: "12"},
		}},
		{"OKDisabledAccountDoesNotCount", []limitStep{
			// The password is right: the account is disabled, not guessed.
			{n: 10, path: v2, form: pw("dis@galleon.local", userPass), status: 400, code: 50057},
		}},
		{"OKMalformedRequestsDoNotCount", []limitStep{
			{n: 10, path: v2, form: with(pw("alice@galleon.local", "wrong"), "scope", "https://a/.default https://b/.default"), status: 400, code: 28000},
			{path: v2, form: pw("alice@galleon.local", userPass), status: 200},
		}},
		{"ErrAddressAfterTwentyFailures", func() []limitStep {
			var steps []limitStep
			for i := range 20 {
				steps = append(steps, limitStep{path: v2, form: pw(fmt.Sprintf("user%d@galleon.local", i), "wrong"), addr: "203.0.113.9", status: 400, code: 50126})
			}
			return append(steps,
				limitStep{path: v2, form: pw("alice@galleon.local", userPass), addr: "203.0.113.9", status: 400, code: 50053, retry: "3",
					text: "Sign-in was blocked because it came from an IP address with too many failed sign-ins. Try again in 3 seconds."},
				limitStep{path: v2, form: pw("alice@galleon.local", userPass), addr: "203.0.113.10", status: 200},
				limitStep{after: 3 * time.Second, path: v2, form: pw("alice@galleon.local", userPass), addr: "203.0.113.9", status: 200},
			)
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss, now := limitedIssuer(t, userDirectory(t))
			runLimitSteps(t, iss, now, tt.steps)
		})
	}
}

func TestClientCredentials_Limits(t *testing.T) {
	v2 := "/" + tenantID + "/oauth2/v2.0/token"
	wrong := with(azForm(), "client_secret", "not-the-secret")
	const locked = "The application is locked: it has tried to sign in too many times with an incorrect client secret. Try again in 12 seconds."
	for _, tt := range []struct {
		name    string
		secrets []galleon.ClientSecret
		steps   []limitStep
	}{
		{"ErrLockedAfterFiveWrongSecrets", nil, []limitStep{
			{n: 5, path: v2, form: wrong, status: 401, code: 7000215},
			{path: v2, form: wrong, status: 401, code: 50053, retry: "12", text: locked},
			{path: v2, form: azForm(), status: 401, code: 50053, retry: "12", text: locked},
			// The lockout is the guesser's address's, not the client's
			// everywhere: the client's own pipeline elsewhere signs in.
			{path: "/adfs/oauth2/token", form: azForm(), addr: "198.51.100.7", status: 200},
			{after: 12 * time.Second, path: v2, form: azForm(), status: 200},
			{path: v2, form: azForm(), status: 200},
		}},
		{"OKRightSecretsNeverCount", nil, []limitStep{
			{n: 40, path: v2, form: azForm(), status: 200},
		}},
		{"OKExpiredSecretIsNoGuess", []galleon.ClientSecret{{ID: "old", Hash: HashClientSecret(secret), ExpiresAt: time.Unix(1, 0)}}, []limitStep{
			{n: 10, path: v2, form: azForm(), status: 401, code: 7000222},
		}},
		{"OKUnknownClientNotCounted", nil, []limitStep{
			// Nothing is checked: Entra says the application does not exist.
			{n: 25, path: v2, form: with(wrong, "client_id", "99999999-0000-0000-0000-000000000000"), status: 400, code: 700016},
			{path: v2, form: azForm(), status: 200},
		}},
		{"ErrAddressCountsBothGrants", nil, func() []limitStep {
			steps := []limitStep{{n: 5, path: v2, form: wrong, status: 401, code: 7000215}}
			for i := range 15 {
				steps = append(steps, limitStep{path: v2, form: sdkPasswordForm(fmt.Sprintf("user%d@galleon.local", i), "wrong"), status: 400, code: 50126})
			}
			return append(steps,
				limitStep{path: v2, form: with(azForm(), "client_id", "99999999-0000-0000-0000-000000000000"), status: 400, code: 700016},
				limitStep{path: v2, form: sdkPasswordForm("alice@galleon.local", userPass), status: 400, code: 50053, retry: "3", text: "IP address"},
			)
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss, now := limitedIssuer(t, newDirectory(tt.secrets...))
			runLimitSteps(t, iss, now, tt.steps)
		})
	}
}

// TestIssuer_DefaultLimits: an issuer without Limits is limited all the
// same.
func TestIssuer_DefaultLimits(t *testing.T) {
	iss, _ := limitedIssuer(t, userDirectory(t))
	iss.Limits = nil
	var codes []int
	for range 6 {
		w := tokenFrom(iss, "/adfs/oauth2/token", with(sdkPasswordForm("alice@galleon.local", "wrong"), "scope", "", "resource", armAud), "192.0.2.1")
		var body struct {
			Codes []int `json:"error_codes"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		codes = append(codes, body.Codes...)
	}
	if want := []int{50126, 50126, 50126, 50126, 50126, 50053}; !slices.Equal(codes, want) {
		t.Errorf("six wrong passwords answered %v, want %v", codes, want)
	}
}
