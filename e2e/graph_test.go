package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/galleon-project/galleon/pgtest"
)

// graphAudience is the resource az and the CLI ask Graph tokens for.
func (s *Server) graphAudience() string { return s.URL + "/" }

// tokenFor posts a token request and returns the status and the body.
func (s *Server) tokenFor(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client.PostForm(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// GraphToken is a token of the bootstrap service principal for Graph.
func (s *Server) GraphToken(t testing.TB) string {
	t.Helper()
	status, body := s.tokenFor(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Creds.ClientID},
		"client_secret": {s.Creds.ClientSecret}, "scope": {s.graphAudience() + "/.default"}})
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("Graph token: %d %v", status, body)
	}
	return tok
}

// PasswordToken signs a user in with the password grant for resource
// and returns the status and body.
func (s *Server) PasswordToken(t testing.TB, username, password, resource string) (int, map[string]any) {
	t.Helper()
	return s.tokenFor(t, url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
		"username": {username}, "password": {password}, "scope": {resource + "/.default openid profile offline_access"}})
}

// MustPasswordToken is PasswordToken that fails the test unless it works.
func (s *Server) MustPasswordToken(t testing.TB, username, password, resource string) string {
	t.Helper()
	status, body := s.PasswordToken(t, username, password, resource)
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("password grant for %s: %d %v", username, status, body)
	}
	return tok
}

func graphErrorCode(body map[string]any) string { return errorCode(body) }

// values returns a Graph list's value array.
func values(body map[string]any) []map[string]any {
	var out []map[string]any
	vs, _ := body["value"].([]any)
	for _, v := range vs {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestGraph drives the Graph API with plain HTTP as az would, on both
// databases: users, groups and nested members, paging, getByIds, the
// error shape, and who may read and write.
func TestGraph(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) { graphFlow(t, StartServer(t)) })
	t.Run("Postgres", func(t *testing.T) { graphFlow(t, StartServer(t, "--database", pgtest.NewDatabase(t))) })
}

func graphFlow(t *testing.T, s *Server) {
	admin := s.GraphToken(t)
	const pw = "Corr3ct horse battery"

	mkUser := func(upn, name string) map[string]any {
		t.Helper()
		status, _, u := s.Do(t, "POST", "/v1.0/users", admin, map[string]any{"accountEnabled": true, "displayName": name,
			"mailNickname": strings.Split(upn, "@")[0], "userPrincipalName": upn,
			"passwordProfile": map[string]any{"password": pw, "forceChangePasswordNextSignIn": false}})
		if status != 201 || u["id"] == nil || u["userPrincipalName"] != upn || u["userType"] != "Member" {
			t.Fatalf("POST /v1.0/users %s: %d %v", upn, status, u)
		}
		return u
	}
	alice := mkUser("alice@galleon.local", "Alice")
	mkUser("albert@galleon.local", "Albert")
	mkUser("bob@galleon.local", "Bob")

	t.Run("Users", func(t *testing.T) {
		status, _, body := s.Do(t, "GET", "/v1.0/users?$filter="+url.QueryEscape("userPrincipalName eq 'ALICE@galleon.local'"), admin, nil)
		if us := values(body); status != 200 || len(us) != 1 || us[0]["id"] != alice["id"] || body["@odata.context"] != s.URL+"/v1.0/$metadata#users" {
			t.Fatalf("filter by UPN: %d %v", status, body)
		}
		status, _, body = s.Do(t, "GET", "/v1.0/users?$filter="+url.QueryEscape("startswith(displayName,'al')"), admin, nil)
		if status != 200 || len(values(body)) != 2 {
			t.Fatalf("startswith: %d %v", status, body)
		}
		// Paging: four users (with the admin), two a page.
		var seen []string
		next := "/v1.0/users?$top=2"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			status, _, body = s.Do(t, "GET", next, admin, nil)
			if status != 200 {
				t.Fatalf("page: %d %v", status, body)
			}
			for _, u := range values(body) {
				seen = append(seen, u["userPrincipalName"].(string))
			}
			next, _ = body["@odata.nextLink"].(string)
			next = strings.TrimPrefix(next, s.URL)
		}
		if len(seen) != 4 {
			t.Errorf("pages of two listed %v", seen)
		}
		status, _, body = s.Do(t, "GET", "/v1.0/users/alice@galleon.local", admin, nil)
		if status != 200 || body["id"] != alice["id"] {
			t.Fatalf("GET by UPN: %d %v", status, body)
		}
		status, _, body = s.Do(t, "PATCH", "/v1.0/users/"+alice["id"].(string), admin, map[string]any{"displayName": "Alice Liddell"})
		if status != 204 {
			t.Fatalf("PATCH: %d %v", status, body)
		}
		status, _, body = s.Do(t, "GET", "/v1.0/users/nobody@galleon.local", admin, nil)
		if status != 404 || graphErrorCode(body) != "Request_ResourceNotFound" {
			t.Fatalf("missing user: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/users", admin, map[string]any{"displayName": "x", "mailNickname": "x",
			"userPrincipalName": "x@elsewhere.com", "passwordProfile": map[string]any{"password": pw}})
		if status != 400 || graphErrorCode(body) != "Request_BadRequest" {
			t.Fatalf("a foreign domain: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/users", admin, map[string]any{"displayName": "x", "mailNickname": "x",
			"userPrincipalName": "Alice@galleon.local", "passwordProfile": map[string]any{"password": pw}})
		if status != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "already exists") {
			t.Fatalf("a taken name: %d %v", status, body)
		}
		status, _, body = s.Do(t, "GET", "/v1.0/users?$filter="+url.QueryEscape("jobTitle eq 'x'"), admin, nil)
		if status != 400 || graphErrorCode(body) != "Request_UnsupportedQuery" {
			t.Fatalf("an unsupported filter: %d %v", status, body)
		}
	})

	t.Run("Groups", func(t *testing.T) {
		mkGroup := func(name string) string {
			status, _, g := s.Do(t, "POST", "/v1.0/groups", admin, map[string]any{"displayName": name, "mailNickname": name, "mailEnabled": false, "securityEnabled": true})
			if status != 201 {
				t.Fatalf("POST /v1.0/groups: %d %v", status, g)
			}
			return g["id"].(string)
		}
		inner, outer := mkGroup("inner"), mkGroup("outer")
		add := func(group, member string) {
			status, _, body := s.Do(t, "POST", "/v1.0/groups/"+group+"/members/$ref", admin,
				map[string]string{"@odata.id": s.URL + "/v1.0/directoryObjects/" + member})
			if status != 204 {
				t.Fatalf("members/$ref: %d %v", status, body)
			}
		}
		add(inner, alice["id"].(string))
		add(outer, inner)
		add(inner, s.Creds.ServicePrincipalObjectID)
		status, _, body := s.Do(t, "GET", "/v1.0/groups/"+inner+"/members", admin, nil)
		types := map[any]bool{}
		for _, m := range values(body) {
			types[m["@odata.type"]] = true
		}
		if status != 200 || len(values(body)) != 2 || !types["#microsoft.graph.user"] || !types["#microsoft.graph.servicePrincipal"] {
			t.Fatalf("members: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/users/"+alice["id"].(string)+"/getMemberGroups", admin, map[string]any{"securityEnabledOnly": false})
		if got := body["value"].([]any); status != 200 || len(got) != 2 {
			t.Fatalf("getMemberGroups (nested): %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/directoryObjects/"+alice["id"].(string)+"/checkMemberGroups", admin, map[string]any{"groupIds": []string{outer, "00000000-0000-0000-0000-000000000000"}})
		if got := body["value"].([]any); status != 200 || len(got) != 1 || got[0] != outer {
			t.Fatalf("checkMemberGroups: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/groups/"+inner+"/members/$ref", admin,
			map[string]string{"@odata.id": s.URL + "/v1.0/directoryObjects/" + alice["id"].(string)})
		if status != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "already exist") {
			t.Fatalf("a member twice: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/directoryObjects/getByIds", admin, map[string]any{
			"ids":   []string{alice["id"].(string), inner, s.Creds.ServicePrincipalObjectID, "00000000-0000-0000-0000-000000000000"},
			"types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}})
		if vs := values(body); status != 200 || len(vs) != 3 || vs[0]["@odata.type"] != "#microsoft.graph.user" ||
			vs[1]["@odata.type"] != "#microsoft.graph.group" || vs[2]["@odata.type"] != "#microsoft.graph.servicePrincipal" {
			t.Fatalf("getByIds: %d %v", status, body)
		}
		status, _, _ = s.Do(t, "DELETE", "/v1.0/groups/"+inner+"/members/"+alice["id"].(string)+"/$ref", admin, nil)
		if status != 204 {
			t.Fatalf("remove member: %d", status)
		}
		status, _, body = s.Do(t, "GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName eq 'outer' and mailNickname eq 'outer'"), admin, nil)
		if status != 200 || len(values(body)) != 1 {
			t.Fatalf("az's group look-up: %d %v", status, body)
		}
	})

	t.Run("Access", func(t *testing.T) {
		// A member user reads the directory, but writes nothing.
		userGraph := s.MustPasswordToken(t, "bob@galleon.local", pw, s.graphAudience())
		status, _, body := s.Do(t, "GET", "/v1.0/me", userGraph, nil)
		if status != 200 || body["userPrincipalName"] != "bob@galleon.local" {
			t.Fatalf("/me: %d %v", status, body)
		}
		if status, _, body = s.Do(t, "GET", "/v1.0/users", userGraph, nil); status != 200 || len(values(body)) != 4 {
			t.Fatalf("a member lists users: %d %v", status, body)
		}
		status, _, body = s.Do(t, "POST", "/v1.0/groups", userGraph, map[string]any{"displayName": "mine", "mailNickname": "mine", "securityEnabled": true})
		if status != 403 || graphErrorCode(body) != "Authorization_RequestDenied" {
			t.Fatalf("a member creates a group: %d %v", status, body)
		}
		// The bootstrap admin user administers the directory without a role.
		adminUser := s.MustPasswordToken(t, s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword, s.graphAudience())
		status, _, body = s.Do(t, "POST", "/v1.0/groups", adminUser, map[string]any{"displayName": "admins", "mailNickname": "admins", "securityEnabled": true})
		if status != 201 {
			t.Fatalf("the admin user creates a group: %d %v", status, body)
		}
		// Tokens for ARM are not Graph tokens.
		armUser := s.MustPasswordToken(t, "bob@galleon.local", pw, s.Creds.Audience)
		if status, _, body = s.Do(t, "GET", "/v1.0/me", armUser, nil); status != 401 || graphErrorCode(body) != "InvalidAuthenticationToken" {
			t.Fatalf("an ARM token on Graph: %d %v", status, body)
		}
		if status, _, _ = s.Do(t, "GET", "/v1.0/users", "", nil); status != 401 {
			t.Fatalf("no token: %d", status)
		}
		// A disabled user's live token stops working on Graph.
		if status, _, _ := s.Do(t, "PATCH", "/v1.0/users/bob@galleon.local", admin, map[string]any{"accountEnabled": false}); status != 204 {
			t.Fatalf("disabling: %d", status)
		}
		if status, _, _ = s.Do(t, "GET", "/v1.0/me", userGraph, nil); status != 401 {
			t.Fatalf("a disabled user's token: %d", status)
		}
		if status, body := s.PasswordToken(t, "bob@galleon.local", pw, s.Creds.Audience); status != 400 || body["error"] != "invalid_grant" ||
			!strings.HasPrefix(body["error_description"].(string), "AADSTS50057") {
			t.Fatalf("a disabled user signs in: %d %v", status, body)
		}
		if status, body := s.PasswordToken(t, "alice@galleon.local", "wrong password", s.Creds.Audience); status != 400 || body["error"] != "invalid_grant" ||
			!strings.HasPrefix(body["error_description"].(string), "AADSTS50126") {
			t.Fatalf("a wrong password: %d %v", status, body)
		}
	})
}

// TestGraph_UsernamePasswordCredential signs a user created through Graph
// in with the Azure SDK's UsernamePasswordCredential (AAD v2 authority,
// instance discovery off) and calls ARM with it: a user without roles is
// authenticated, lists no subscription and is refused a resource group.
func TestGraph_UsernamePasswordCredential(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	admin := s.GraphToken(t)
	const pw = "An0ther good password"
	status, _, u := s.Do(t, "POST", "/v1.0/users", admin, map[string]any{"accountEnabled": true, "displayName": "Carol",
		"mailNickname": "carol", "userPrincipalName": "carol@galleon.local", "passwordProfile": map[string]any{"password": pw}})
	if status != 201 {
		t.Fatalf("creating the user: %d %v", status, u)
	}
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.Creds.AuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimSuffix(s.Creds.ResourceManagerEndpoint, "/"), Audience: s.Creds.Audience}}},
		Transport: s.Client,
		Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond},
	}
	//lint:ignore SA1019 deprecated, still shipped, and what users' scripts with a password use
	upOpts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true}
	cred, err := azidentity.NewUsernamePasswordCredential(s.Creds.TenantID, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "carol@galleon.local", pw, upOpts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.Creds.Audience + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	claims := decodeClaims(t, tok.Token)
	if claims["idtyp"] != "user" || claims["oid"] != u["id"] || claims["upn"] != "carol@galleon.local" || claims["tid"] != s.Creds.TenantID {
		t.Errorf("claims %v", claims)
	}
	subs, err := armresources.NewClient(s.Creds.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := s.Do(t, "GET", "/subscriptions?api-version=2020-01-01", tok.Token, nil)
	if status != 200 || len(values(body)) != 0 {
		t.Errorf("GET /subscriptions as a user without roles: %d %v; want 200 and none", status, body)
	}
	_, err = subs.GetByID(ctx, "/subscriptions/"+s.Creds.SubscriptionID+"/resourceGroups/nosuch", "2021-04-01", nil)
	wantResponseError(t, "a user without roles reads a group", err, 403, "AuthorizationFailed")

	badCred, err := azidentity.NewUsernamePasswordCredential(s.Creds.TenantID, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "carol@galleon.local", "wrong", upOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := badCred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.Creds.Audience + "/.default"}}); err == nil ||
		!strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("a wrong password: %v", err)
	}
}

// decodeClaims reads a token's claims without verifying it.
func decodeClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDirectoryCLI drives galleon user, group and sp against a server,
// checking each result through sign-in or Graph.
func TestDirectoryCLI(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	out := mustRunCLI(t, s, "user", "create", "dana@galleon.local", "--display-name", "Dana Scully")
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.Stdout)
	if pw == nil {
		t.Fatalf("user create printed no password:\n%s", out.Stdout)
	}
	s.MustPasswordToken(t, "dana@galleon.local", pw[1], s.Creds.Audience)
	if out = mustRunCLI(t, s, "user", "list"); !strings.Contains(out.Stdout, "dana@galleon.local") || !strings.Contains(out.Stdout, "Dana Scully") {
		t.Errorf("user list:\n%s", out.Stdout)
	}
	passFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(passFile, []byte("The truth is 0ut there\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRunCLI(t, s, "user", "set-password", "dana@galleon.local", "--password-file", passFile)
	s.MustPasswordToken(t, "dana@galleon.local", "The truth is 0ut there", s.Creds.Audience)
	if status, _ := s.PasswordToken(t, "dana@galleon.local", pw[1], s.Creds.Audience); status != 400 {
		t.Errorf("the old password still works: %d", status)
	}
	if r := runCLI(t, s, "user", "create", "x@galleon.local", "--password", "short"); r.Err == nil || !strings.Contains(r.Stderr, "Request_BadRequest") {
		t.Errorf("a short password: %v %s", r.Err, r.Stderr)
	}

	mustRunCLI(t, s, "group", "create", "x-files", "--description", "agents")
	mustRunCLI(t, s, "group", "create", "fbi")
	mustRunCLI(t, s, "group", "add-member", "x-files", "dana@galleon.local")
	mustRunCLI(t, s, "group", "add-member", "fbi", "x-files")
	out = mustRunCLI(t, s, "sp", "create", "ci-bot")
	appID := regexp.MustCompile(`client id \(appId\): (\S+)`).FindStringSubmatch(out.Stdout)
	secret := regexp.MustCompile(`secret: +(\S+)`).FindStringSubmatch(out.Stdout)
	if appID == nil || secret == nil {
		t.Fatalf("sp create printed:\n%s", out.Stdout)
	}
	mustRunCLI(t, s, "group", "add-member", "x-files", appID[1])
	if out = mustRunCLI(t, s, "group", "members", "x-files"); !strings.Contains(out.Stdout, "dana@galleon.local") || !strings.Contains(out.Stdout, "ci-bot") {
		t.Errorf("group members:\n%s", out.Stdout)
	}
	admin := s.GraphToken(t)
	_, _, dana := s.Do(t, "GET", "/v1.0/users/dana@galleon.local", admin, nil)
	_, _, groups := s.Do(t, "POST", "/v1.0/users/dana@galleon.local/getMemberGroups", admin, map[string]any{"securityEnabledOnly": true})
	if got, _ := groups["value"].([]any); len(got) != 2 {
		t.Errorf("dana's groups through nesting: %v (dana %v)", groups, dana["id"])
	}
	clientToken := func(secret string) int {
		status, _ := s.tokenFor(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {appID[1]}, "client_secret": {secret},
			"scope": {s.Creds.Audience + "/.default"}})
		return status
	}
	if status := clientToken(secret[1]); status != 200 {
		t.Errorf("the created service principal signs in: %d", status)
	}
	out = mustRunCLI(t, s, "sp", "add-secret", appID[1], "--years", "2")
	second := regexp.MustCompile(`secret: (\S+)`).FindStringSubmatch(out.Stdout)
	if second == nil || second[1] == secret[1] || clientToken(second[1]) != 200 {
		t.Errorf("sp add-secret printed:\n%s", out.Stdout)
	}
	if out = mustRunCLI(t, s, "sp", "list"); !strings.Contains(out.Stdout, appID[1]) || !strings.Contains(out.Stdout, "galleon-bootstrap") {
		t.Errorf("sp list:\n%s", out.Stdout)
	}
	mustRunCLI(t, s, "group", "remove-member", "x-files", "dana@galleon.local")
	mustRunCLI(t, s, "group", "delete", "fbi")
	if out = mustRunCLI(t, s, "group", "list"); strings.Contains(out.Stdout, "fbi") || !strings.Contains(out.Stdout, "x-files") {
		t.Errorf("group list:\n%s", out.Stdout)
	}
	mustRunCLI(t, s, "user", "delete", "dana@galleon.local")
	if status, _ := s.PasswordToken(t, "dana@galleon.local", "The truth is 0ut there", s.Creds.Audience); status != 400 {
		t.Errorf("a deleted user signs in: %d", status)
	}
	if r := runCLI(t, s, "group", "add-member", "nosuchgroup", "x@galleon.local"); r.Err == nil || !strings.Contains(r.Stderr, "no group") {
		t.Errorf("a missing group: %v %s", r.Err, r.Stderr)
	}
}
