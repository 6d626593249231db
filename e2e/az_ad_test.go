package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// registerCloud registers and selects the server as az's cloud, without
// logging in.
func (a *Az) registerCloud() {
	a.t.Helper()
	c := a.server.Creds
	rm := c.ResourceManagerEndpoint
	cloud := fmt.Sprintf(`{"profile":"latest","endpoints":{"resourceManager":%q,"management":%q,"activeDirectory":%q,"activeDirectoryResourceId":%q,"activeDirectoryGraphResourceId":%q,"microsoftGraphResourceId":%q,"gallery":%q},"suffixes":{"storageEndpoint":"core.windows.net","keyvaultDns":".vault.azure.net"}}`,
		rm, c.Audience, c.ADFSAuthority, c.Audience, rm+"graph/", c.GraphEndpoint, rm+"gallery/")
	a.MustJSON(nil, "cloud", "register", "-n", "Galleon", "--cloud-config", cloud)
	a.MustJSON(nil, "cloud", "set", "-n", "Galleon")
}

// TestAzAD runs az 2.45's directory commands against the server's Graph:
// users, groups and members, and create-for-rbac, whose printed password
// then logs az in as the new service principal.
func TestAzAD(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	az := NewAz(t, s)
	az.Login()

	var user map[string]any
	az.MustJSON(&user, "ad", "user", "create", "--display-name", "Alice Liddell", "--user-principal-name", "alice@galleon.local",
		"--password", "Wonderl4nd-rabbit")
	if user["userPrincipalName"] != "alice@galleon.local" || user["id"] == nil || user["accountEnabled"] != true {
		t.Fatalf("ad user create: %v", user)
	}
	aliceID := user["id"].(string)
	az.MustJSON(&user, "ad", "user", "show", "--id", "alice@galleon.local")
	if user["id"] != aliceID || user["displayName"] != "Alice Liddell" {
		t.Errorf("ad user show: %v", user)
	}
	var users []map[string]any
	az.MustJSON(&users, "ad", "user", "list", "--upn", "ALICE@galleon.local")
	if len(users) != 1 || users[0]["id"] != aliceID {
		t.Errorf("ad user list --upn: %v", users)
	}
	az.MustJSON(&users, "ad", "user", "list", "--display-name", "Ali")
	if len(users) != 1 {
		t.Errorf("ad user list --display-name: %v", users)
	}
	_, stderr, err := az.Run("ad", "user", "create", "--display-name", "Mallory", "--user-principal-name", "mallory@evil.example", "--password", "Wonderl4nd-rabbit")
	if err == nil || !strings.Contains(stderr, "domain portion") {
		t.Errorf("a user outside the tenant's domain: err %v, stderr %q", err, stderr)
	}
	// The user signs in with the password az set, with az too (the AD FS
	// authority's password grant); az then gets its Graph token with the
	// refresh token.
	s.MustPasswordToken(t, "alice@galleon.local", "Wonderl4nd-rabbit", s.Creds.Audience)
	userAz := NewAz(t, s)
	userAz.registerCloud()
	var accounts []map[string]any
	userAz.MustJSON(&accounts, "login", "-u", "alice@galleon.local", "-p", "Wonderl4nd-rabbit", "--allow-no-subscriptions")
	if len(accounts) != 1 || accounts[0]["user"].(map[string]any)["type"] != "user" {
		t.Fatalf("az login -u: %v", accounts)
	}
	var me map[string]any
	userAz.MustJSON(&me, "ad", "signed-in-user", "show")
	if me["id"] != aliceID || me["userPrincipalName"] != "alice@galleon.local" {
		t.Errorf("ad signed-in-user show: %v", me)
	}
	if _, stderr, err := userAz.Run("ad", "group", "create", "--display-name", "not mine", "--mail-nickname", "x"); err == nil ||
		!strings.Contains(stderr, "Insufficient privileges") {
		t.Errorf("a member user creates a group with az: err %v, stderr %q", err, stderr)
	}

	var group map[string]any
	az.MustJSON(&group, "ad", "group", "create", "--display-name", "Gallery Readers", "--mail-nickname", "gallery-readers")
	if group["displayName"] != "Gallery Readers" || group["securityEnabled"] != true || group["id"] == nil {
		t.Fatalf("ad group create: %v", group)
	}
	groupID := group["id"].(string)
	// Creating it again returns the same group (az looks it up first).
	az.MustJSON(&group, "ad", "group", "create", "--display-name", "Gallery Readers", "--mail-nickname", "gallery-readers")
	if group["id"] != groupID {
		t.Errorf("a second ad group create made %v", group["id"])
	}
	az.MustJSON(nil, "ad", "group", "member", "add", "--group", "Gallery Readers", "--member-id", aliceID)
	var members []map[string]any
	az.MustJSON(&members, "ad", "group", "member", "list", "--group", groupID)
	if len(members) != 1 || members[0]["id"] != aliceID || members[0]["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("ad group member list: %v", members)
	}
	var check map[string]bool
	az.MustJSON(&check, "ad", "group", "member", "check", "--group", "Gallery Readers", "--member-id", aliceID)
	if !check["value"] {
		t.Errorf("ad group member check: %v", check)
	}
	var memberOf []map[string]any
	az.MustJSON(&memberOf, "ad", "user", "get-member-groups", "--id", "alice@galleon.local")
	if len(memberOf) != 1 || memberOf[0]["id"] != groupID || memberOf[0]["displayName"] != "Gallery Readers" {
		t.Errorf("ad user get-member-groups: %v", memberOf)
	}

	var sp map[string]any
	az.MustJSON(&sp, "ad", "sp", "create-for-rbac")
	appID, password, tenant := fmt.Sprint(sp["appId"]), fmt.Sprint(sp["password"]), fmt.Sprint(sp["tenant"])
	if len(appID) != 36 || len(password) < 32 || tenant != s.Creds.TenantID {
		t.Fatalf("ad sp create-for-rbac: %v", sp)
	}
	var shown map[string]any
	az.MustJSON(&shown, "ad", "sp", "show", "--id", appID)
	if shown["appId"] != appID || shown["id"] == nil {
		t.Errorf("ad sp show: %v", shown)
	}
	var apps []map[string]any
	az.MustJSON(&apps, "ad", "app", "list", "--app-id", appID)
	if len(apps) != 1 || apps[0]["appId"] != appID {
		t.Errorf("ad app list --app-id: %v", apps)
	}

	// The new service principal logs in with the printed password. It holds
	// no role, so it sees no subscription.
	spAz := NewAz(t, s)
	spAz.registerCloud()
	spAz.MustJSON(&accounts, "login", "--service-principal", "-u", appID, "-p", password, "--tenant", tenant, "--allow-no-subscriptions")
	if len(accounts) != 1 || accounts[0]["tenantId"] != s.Creds.TenantID {
		t.Fatalf("az login as the new service principal: %v", accounts)
	}
	var rgs []map[string]any
	_, stderr, err = spAz.Run("group", "list", "--subscription", s.Creds.SubscriptionID, "--output", "json")
	if err == nil {
		t.Errorf("a service principal without roles lists groups: %v", rgs)
	} else if !strings.Contains(stderr, "AuthorizationFailed") && !strings.Contains(stderr, "not found") && !strings.Contains(stderr, "doesn't exist") {
		t.Errorf("listing groups without a role: %s", stderr)
	}
	_, stderr, err = NewAzLoggedInAs(t, s, appID, "wrong-secret-value")
	if err == nil || !strings.Contains(stderr, "AADSTS7000215") {
		t.Errorf("az login with a wrong secret: err %v, stderr %q", err, stderr)
	}

	az.MustJSON(nil, "ad", "group", "member", "remove", "--group", groupID, "--member-id", aliceID)
	az.MustJSON(&members, "ad", "group", "member", "list", "--group", groupID)
	if len(members) != 0 {
		t.Errorf("members after remove: %v", members)
	}
	az.MustJSON(nil, "ad", "group", "delete", "--group", groupID)
	az.MustJSON(nil, "ad", "user", "delete", "--id", "alice@galleon.local")
	_, stderr, err = az.Run("ad", "user", "show", "--id", "alice@galleon.local")
	if err == nil || !strings.Contains(stderr, "does not exist") {
		t.Errorf("ad user show after delete: err %v, stderr %q", err, stderr)
	}
}

// NewAzLoggedInAs tries az login --service-principal in a fresh
// configuration and returns what az printed.
func NewAzLoggedInAs(t *testing.T, s *Server, appID, secret string) (string, string, error) {
	t.Helper()
	a := NewAz(t, s)
	a.registerCloud()
	return a.Run("login", "--service-principal", "-u", appID, "-p", secret, "--tenant", s.Creds.TenantID, "--allow-no-subscriptions", "--output", "json")
}
