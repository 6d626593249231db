package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// signInLockout is the window TestSignIn_Lockout runs the server with:
// short enough to wait out, and long enough that the seven sign-ins before
// the wait (well under a second in the race-built binary) all fall in it.
const signInLockout = 6 * time.Second

// createUser makes a member user with password through Graph.
func createUser(t *testing.T, s *Server, upn, password string) {
	t.Helper()
	name, _, _ := strings.Cut(upn, "@")
	status, _, u := s.Do(t, "POST", "/v1.0/users", s.GraphToken(t), map[string]any{"accountEnabled": true, "displayName": name,
		"mailNickname": name, "userPrincipalName": upn, "passwordProfile": map[string]any{"password": password}})
	if status != 201 {
		t.Fatalf("creating %s: %d %v", upn, status, u)
	}
}

// lockedOut checks that err is the token endpoint's lockout as the Azure
// SDK reports it, naming it, and returns the wait the server asked for.
func lockedOut(t *testing.T, what string, err error, status int) time.Duration {
	t.Helper()
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		t.Fatalf("%s: %v, want an AuthenticationFailedError with the response", what, err)
	}
	msg := err.Error()
	if afe.RawResponse.StatusCode != status || !strings.Contains(msg, "AADSTS50053") || !strings.Contains(msg, "is locked") ||
		!strings.Contains(msg, "Try again in ") {
		t.Fatalf("%s: %d\n%s\nwant %d and AADSTS50053 naming the lockout", what, afe.RawResponse.StatusCode, msg, status)
	}
	secs, err := strconv.Atoi(afe.RawResponse.Header.Get("Retry-After"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > signInLockout {
		t.Fatalf("%s: Retry-After %q, want whole seconds up to %v", what, afe.RawResponse.Header.Get("Retry-After"), signInLockout)
	}
	return time.Duration(secs) * time.Second
}

// TestSignIn_Lockout drives the token endpoint's sign-in limits with the
// Azure SDK for Go, on a server with a short window (--signin-lockout):
// after five wrong passwords UsernamePasswordCredential gets an error
// naming the lockout (AADSTS50053, with Retry-After), the right password
// is refused too until the wait is over, and then works; the same for
// ClientSecretCredential and a service principal's secret.
func TestSignIn_Lockout(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "--signin-lockout", signInLockout.String())
	const upn, password = "dave@galleon.local", "Th1s is dave's password"
	createUser(t, s, upn, password)
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.Creds.AuthorityHost},
		Transport: s.Client,
		Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond},
	}
	ctx := context.Background()
	scope := policy.TokenRequestOptions{Scopes: []string{s.Creds.Audience + "/.default"}}
	//lint:ignore SA1019 deprecated, still shipped, and what users' scripts with a password use
	upOpts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true}
	signIn := func(pw string) error {
		cred, err := azidentity.NewUsernamePasswordCredential(s.Creds.TenantID, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", upn, pw, upOpts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.GetToken(ctx, scope)
		return err
	}
	appSignIn := func(secret string) error {
		cred, err := azidentity.NewClientSecretCredential(s.Creds.TenantID, s.Creds.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.GetToken(ctx, scope)
		return err
	}

	start := time.Now()
	for i := range 5 {
		if err := signIn("not the password"); err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
			t.Fatalf("wrong password %d: %v, want AADSTS50126", i+1, err)
		}
	}
	lockedOut(t, "a sixth wrong password", signIn("not the password"), 400)
	wait := lockedOut(t, "the right password while locked", signIn(password), 400)
	userUnlocks := time.Now().Add(wait)
	if took := time.Since(start); took >= signInLockout {
		t.Fatalf("seven sign-ins took %v, longer than the window %v: the test cannot tell the lockout from its end", took, signInLockout)
	}

	for i := range 5 {
		if err := appSignIn("not-the-secret"); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Fatalf("wrong secret %d: %v, want AADSTS7000215", i+1, err)
		}
	}
	lockedOut(t, "a sixth wrong secret", appSignIn("not-the-secret"), 401)
	appUnlocks := time.Now().Add(lockedOut(t, "the right secret while locked", appSignIn(s.Creds.ClientSecret), 401))

	time.Sleep(time.Until(userUnlocks))
	if err := signIn(password); err != nil {
		t.Errorf("the right password after the wait: %v", err)
	}
	time.Sleep(time.Until(appUnlocks))
	if err := appSignIn(s.Creds.ClientSecret); err != nil {
		t.Errorf("the right secret after the wait: %v", err)
	}
	// A success does not count: the next wrong password is the one try
	// the wait gave back, and the one after it is refused again.
	if err := signIn("not the password"); err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("a wrong password after the wait: %v, want AADSTS50126", err)
	}
	lockedOut(t, "the next wrong password", signIn("not the password"), 400)
}

// TestSignIn_LockoutAzCLI: az 2.45 prints the lockout's description, for a
// user (az login -u) and a service principal (az login
// --service-principal), on a server with a long window.
func TestSignIn_LockoutAzCLI(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "--signin-lockout", "1m")
	const upn, password = "erin@galleon.local", "Th1s is erin's password"
	createUser(t, s, upn, password)
	az := NewAz(t, s)
	az.registerCloud()
	for i := range 6 {
		status, body := s.PasswordToken(t, upn, "not the password", s.Creds.Audience)
		if want := map[bool]string{true: "AADSTS50053", false: "AADSTS50126"}[i == 5]; status != 400 ||
			!strings.HasPrefix(fmt.Sprint(body["error_description"]), want) {
			t.Fatalf("wrong password %d: %d %v, want %s", i+1, status, body, want)
		}
	}
	_, stderr, err := az.Run("login", "-u", upn, "-p", password, "--allow-no-subscriptions", "--output", "json")
	if err == nil || !strings.Contains(stderr, "AADSTS50053: The account is locked") || !strings.Contains(stderr, "Try again in ") {
		t.Errorf("az login -u while locked: err %v\nstderr: %s", err, stderr)
	}

	for i := range 5 {
		status, _ := s.tokenFor(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Creds.ClientID},
			"client_secret": {"not-the-secret"}, "scope": {s.Creds.Audience + "/.default"}})
		if status != 401 {
			t.Fatalf("wrong secret %d: %d, want 401", i+1, status)
		}
	}
	_, stderr, err = NewAzLoggedInAs(t, s, s.Creds.ClientID, s.Creds.ClientSecret)
	if err == nil || !strings.Contains(stderr, "AADSTS50053: The application is locked") {
		t.Errorf("az login --service-principal while locked: err %v\nstderr: %s", err, stderr)
	}
}
