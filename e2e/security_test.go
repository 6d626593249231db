package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// TestSecurity refuses, each with its status and code, what a caller must
// not get away with: tokens from elsewhere, role assignments beyond the
// caller's rights, a custom role's excluded action, an unredeemed guest,
// tampered and expired SAS and invitation links, and hostile names and
// bodies. (Missing, expired, forged, alg:none and wrong-audience tokens are
// TestAuthentication's.)
func TestSecurity(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 21<<20)
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	const rg = "sec"
	sdk.createGroup(t, rg)
	if _, err := sdk.createGallery(ctx, rg, "gal", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	snap := uploadSnapshot(t, s, sdk, rg, "os", vhdBytes)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	group := sub + "/resourceGroups/" + rg
	gallery := group + "/providers/Microsoft.Compute/galleries/gal"
	ownerOpts := &arm.ClientOptions{ClientOptions: sdk.opts}
	ra, err := armauthorization.NewRoleAssignmentsClient(s.Creds.SubscriptionID, sdk.Cred, ownerOpts)
	if err != nil {
		t.Fatal(err)
	}
	gt := graphToken(t, s)
	principal := func(name, role, scope string) (objectID, token string) {
		appID, oid, secret := newServicePrincipal(t, s, gt, name)
		if role != "" {
			if _, err := assignRole(t, ra, scope, role, oid, armauthorization.PrincipalTypeServicePrincipal); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := spCredential(t, s, sdk, appID, secret).GetToken(ctx, tokenOptions(s))
		if err != nil {
			t.Fatal(err)
		}
		return oid, tok.Token
	}
	const (
		owner       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
		contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
		reader      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
		uaa         = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	)
	victim, _ := principal("victim", "", "")
	_, readerTok := principal("reader", reader, gallery)
	_, contribTok := principal("contributor", contributor, group)
	_, uaaTok := principal("access-admin", uaa, group)
	noDelete := uuid.NewString()
	defs, err := armauthorization.NewRoleDefinitionsClient(sdk.Cred, ownerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := defs.CreateOrUpdate(ctx, sub, noDelete, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Gallery editor without delete"), RoleType: to.Ptr("CustomRole"), AssignableScopes: []*string{to.Ptr(sub)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Compute/galleries/*")},
			NotActions: []*string{to.Ptr("Microsoft.Compute/galleries/delete")}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	_, editorTok := principal("editor", noDelete, gallery)

	// A token for a tenant this server does not have, signed with its key.
	good := s.Token(t)
	header, claims := claimsOf(t, good)
	otherTenant := uuid.NewString()
	claims["tid"] = otherTenant
	claims["iss"] = strings.Replace(claims["iss"].(string), s.Creds.TenantID, otherTenant, 1)
	foreign := sign(t, signingKey(t, s), header["kid"].(string), jwt.MapClaims(claims))

	assignment := func(role, principal string) map[string]any {
		return map[string]any{"properties": map[string]any{"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
			"principalId": principal}}
	}
	raPath := func(scope string) string {
		return scope + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString() + "?api-version=2022-04-01"
	}
	galleryBody := map[string]any{"location": "eastus", "properties": map[string]any{"description": "x"}}
	for _, tt := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"OtherTenantToken", "GET", gallery + "?api-version=2025-03-03", foreign, nil, 401, "InvalidAuthenticationToken"},
		{"ReaderAssignsReader", "PUT", raPath(gallery), readerTok, assignment(reader, victim), 403, "AuthorizationFailed"},
		{"ContributorAssignsOwner", "PUT", raPath(group), contribTok, assignment(owner, victim), 403, "AuthorizationFailed"},
		{"AccessAdminAssignsOwner", "PUT", raPath(group), uaaTok, assignment(owner, victim), 403, "AuthorizationFailed"},
		{"AccessAdminAssignsOwnerAbove", "PUT", raPath(sub), uaaTok, assignment(reader, victim), 403, "AuthorizationFailed"},
		{"CustomRoleExcludedAction", "DELETE", gallery + "?api-version=2025-03-03", editorTok, nil, 403, "AuthorizationFailed"},
		{"CustomRoleOutsideScope", "PUT", group + "/providers/Microsoft.Compute/galleries/other?api-version=2025-03-03", editorTok, galleryBody, 403, "AuthorizationFailed"},
		{"ReaderReadsElsewhere", "GET", sub + "/resourceGroups/sec2/providers/Microsoft.Compute/galleries/x?api-version=2025-03-03", readerTok, nil, 403, "AuthorizationFailed"},
		{"TraversalInName", "PUT", group + "/providers/Microsoft.Compute/galleries/..%2F..%2Fx?api-version=2025-03-03", good, galleryBody, 0, ""},
		// ".." is no path operator in ARM: it names nothing, so climbing out
		// of the reader's gallery is a 4xx, never another resource.
		{"TraversalInPath", "GET", gallery + "/../other?api-version=2025-03-03", readerTok, nil, 0, ""},
		{"TraversalInPathOwner", "GET", sub + "/resourceGroups/" + rg + "/../../providers/Microsoft.Compute/galleries/gal/..?api-version=2025-03-03", good, nil, 0, ""},
		{"OversizedName", "PUT", group + "/providers/Microsoft.Compute/galleries/" + strings.Repeat("a", 81) + "?api-version=2025-03-03", good, galleryBody, 400, "InvalidParameter"},
		{"OversizedBody", "PUT", gallery + "?api-version=2025-03-03", good, `{"location":"eastus","tags":{"t":"` + strings.Repeat("x", 5<<20) + `"}}`, 413, "RequestEntityTooLarge"},
		{"OversizedRoleName", "PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + uuid.NewString() + "?api-version=2022-04-01", good,
			map[string]any{"properties": map[string]any{"roleName": strings.Repeat("r", 600), "assignableScopes": []string{sub},
				"permissions": []any{map[string]any{"actions": []string{"*/read"}}}}}, 400, "InvalidParameter"},
		{"AssignmentNameNotGUID", "PUT", gallery + "/providers/Microsoft.Authorization/roleAssignments/..%2F..?api-version=2022-04-01", good, assignment(reader, victim), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := s.Do(t, tt.method, tt.path, tt.token, tt.body)
			if tt.status == 0 { // any clean refusal: never a 2xx for a mangled path, never a 5xx
				if status < 400 || status >= 500 || errorCode(body) == "" {
					t.Fatalf("got %d %v, want a 4xx with an ARM error", status, body)
				}
				return
			}
			if status != tt.status || errorCode(body) != tt.code {
				t.Fatalf("got %d %s (%v), want %d %s", status, errorCode(body), body, tt.status, tt.code)
			}
		})
	}

	// The custom role's other actions still work: the refusal above is
	// down to notActions.
	if status, _, body := s.Do(t, "PATCH", gallery+"?api-version=2025-03-03", editorTok, map[string]any{"properties": map[string]any{"description": "edited"}}); status != 200 {
		t.Errorf("the custom role's allowed write: %d %v", status, body)
	}

	t.Run("SAS", func(t *testing.T) {
		path := group + "/providers/Microsoft.Compute/snapshots/os/beginGetAccess?api-version=2025-01-02"
		status, _, body := s.Do(t, "POST", path, good, map[string]any{"access": "Read", "durationInSeconds": 1})
		sas, _ := body["accessSAS"].(string)
		if status != 200 || sas == "" {
			t.Fatalf("beginGetAccess: %d %v", status, body)
		}
		u, _ := url.Parse(sas)
		q := u.Query()
		q.Set("sig", strings.Repeat("A", len(q.Get("sig"))))
		tampered := s.URL + u.Path + "?" + q.Encode()
		if resp, err := s.Client.Get(tampered); err != nil || resp.StatusCode != 403 {
			t.Errorf("a tampered SAS: %v %v, want 403", resp, err)
		}
		time.Sleep(2 * time.Second)
		if resp, err := s.Client.Get(s.URL + u.RequestURI()); err != nil || resp.StatusCode != 403 {
			t.Errorf("an expired SAS: %v %v, want 403", resp, err)
		}
		_ = snap
	})

	t.Run("Invitation", func(t *testing.T) {
		inv := graph(t, s, gt, "POST", "/invitations", map[string]any{"invitedUserEmailAddress": "guest@example.org",
			"inviteRedirectUrl": s.URL + "/", "sendInvitationMessage": false})
		redeem, _ := inv["inviteRedeemUrl"].(string)
		if redeem == "" {
			t.Fatalf("invitation: %v", inv)
		}
		// Unredeemed, the guest cannot sign in.
		form := url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "username": {"guest@example.org"},
			"password": {"anything-at-all-1"}, "scope": {s.Creds.Audience + ".default"}}
		resp, err := s.Client.PostForm(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("an unredeemed guest signing in: %s, want 400", resp.Status)
		}
		u, _ := url.Parse(redeem)
		q := u.Query()
		tok := q.Get("token")
		q.Set("token", tok[:len(tok)-4]+"AAAA")
		u.RawQuery = q.Encode()
		resp, err = s.Client.Get(s.URL + u.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusGone {
			t.Errorf("a tampered invitation link: %s, want 400 or 410", resp.Status)
		}
	})

	t.Run("ExpiredInvitation", func(t *testing.T) {
		short := StartServer(t, "--invitation-lifetime", "1s")
		inv := graph(t, short, graphToken(t, short), "POST", "/invitations", map[string]any{"invitedUserEmailAddress": "late@example.org",
			"inviteRedirectUrl": short.URL + "/", "sendInvitationMessage": false})
		u, err := url.Parse(inv["inviteRedeemUrl"].(string))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond) // token expiry has one-second resolution
		resp, err := short.Client.Get(short.URL + u.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone {
			t.Errorf("an expired invitation link: %s, want 410", resp.Status)
		}
	})
}
