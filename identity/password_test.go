package identity

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/galleon-project/galleon"
)

const (
	userOID   = "44444444-4444-4444-4444-444444444444"
	guestOID  = "55555555-5555-5555-5555-555555555555"
	userPass  = "correct horse battery staple"
	guestMail = "someone@example.org"
)

// userDirectory knows, beside newDirectory's service principal, a member
// (alice), a disabled member (dis), a guest who redeemed (by UPN and by
// mail), a guest still pending, and a member of another tenant.
func userDirectory(t *testing.T) *fakeDirectory {
	t.Helper()
	hash, err := HashPassword(userPass)
	if err != nil {
		t.Fatal(err)
	}
	member := func(oid, upn string) *galleon.DirectoryUser {
		return &galleon.DirectoryUser{Principal: galleon.Principal{ObjectID: oid, TenantID: tenantID, Type: galleon.PrincipalUser,
			UserPrincipalName: upn, DisplayName: upn}, PasswordHash: hash, UserType: galleon.UserTypeMember, AccountEnabled: true}
	}
	users := map[string]*galleon.DirectoryUser{}
	users["alice@galleon.local"] = member(userOID, "alice@galleon.local")
	dis := member("66666666-6666-6666-6666-666666666666", "dis@galleon.local")
	dis.AccountEnabled = false
	users["dis@galleon.local"] = dis
	guest := member(guestOID, galleon.GuestPrincipalName(guestMail, tenantDomain))
	guest.UserType, guest.ExternalUserState, guest.Mail = galleon.UserTypeGuest, galleon.ExternalStateAccepted, guestMail
	users[strings.ToLower(guest.UserPrincipalName)], users[guestMail] = guest, guest
	pending := member("77777777-7777-7777-7777-777777777777", "pending_example.org#EXT#@galleon.local")
	pending.UserType, pending.ExternalUserState, pending.PasswordHash = galleon.UserTypeGuest, galleon.ExternalStatePending, ""
	users["pending@example.org"] = pending
	foreign := member("88888888-8888-8888-8888-888888888888", "foreign@galleon.local")
	foreign.TenantID = "99999999-9999-9999-9999-999999999999"
	users["foreign@galleon.local"] = foreign

	d := newDirectory()
	d.UserForSignInFn = func(_ context.Context, name string) (*galleon.DirectoryUser, error) {
		if u, ok := users[strings.ToLower(name)]; ok {
			c := *u
			return &c, nil
		}
		return nil, galleon.Errorf(galleon.CodeResourceNotFound, "no user %s", name)
	}
	return d
}

// sdkPasswordForm is what MSAL-Go's UsernamePasswordCredential posts.
func sdkPasswordForm(username, password string) url.Values {
	return url.Values{
		"grant_type":  {"password"},
		"client_id":   {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
		"username":    {username},
		"password":    {password},
		"client_info": {"1"},
		"scope":       {armScope + " openid offline_access profile"},
	}
}

func TestPasswordGrant(t *testing.T) {
	iss, srv := MustIssuer(t, userDirectory(t))
	v2 := "/" + tenantID + "/oauth2/v2.0/token"
	for _, tt := range []struct {
		name     string
		path     string
		form     url.Values
		status   int
		err      string
		aadsts   string
		wantOID  string
		wantUPN  string
		wantIssu string
	}{
		{"Member", v2, sdkPasswordForm("Alice@Galleon.Local", userPass), 200, "", "", userOID, "alice@galleon.local", iss.TenantIssuer(tenantID)},
		{"MemberADFS", "/adfs/oauth2/token", with(sdkPasswordForm("alice@galleon.local", userPass), "scope", "", "resource", armAud), 200, "", "", userOID, "alice@galleon.local", iss.ADFSIssuer()},
		{"GuestByMail", v2, sdkPasswordForm(guestMail, userPass), 200, "", "", guestOID, "someone_example.org#EXT#@galleon.local", iss.TenantIssuer(tenantID)},
		{"GuestByUPN", v2, sdkPasswordForm("someone_example.org#EXT#@galleon.local", userPass), 200, "", "", guestOID, "someone_example.org#EXT#@galleon.local", iss.TenantIssuer(tenantID)},
		{"ErrWrongPassword", v2, sdkPasswordForm("alice@galleon.local", "wrong"), 400, "invalid_grant", "AADSTS50126", "", "", ""},
		{"ErrUnknownUser", v2, sdkPasswordForm("nobody@galleon.local", userPass), 400, "invalid_grant", "AADSTS50126", "", "", ""},
		{"ErrDisabled", v2, sdkPasswordForm("dis@galleon.local", userPass), 400, "invalid_grant", "AADSTS50057", "", "", ""},
		{"ErrDisabledWrongPassword", v2, sdkPasswordForm("dis@galleon.local", "wrong"), 400, "invalid_grant", "AADSTS50126", "", "", ""},
		{"ErrPendingGuest", v2, sdkPasswordForm("pending@example.org", userPass), 400, "invalid_grant", "AADSTS50126", "", "", ""},
		{"ErrPendingGuestEmptyPassword", v2, sdkPasswordForm("pending@example.org", ""), 400, "invalid_request", "AADSTS900144", "", "", ""},
		{"ErrOtherTenant", v2, sdkPasswordForm("foreign@galleon.local", userPass), 400, "invalid_grant", "AADSTS50126", "", "", ""},
		{"ErrNoUsername", v2, with(sdkPasswordForm("", userPass), "username", ""), 400, "invalid_request", "AADSTS900144", "", "", ""},
		{"ErrUnknownResource", v2, with(sdkPasswordForm("alice@galleon.local", userPass), "scope", "https://vault.azure.net/.default"), 400, "invalid_resource", "AADSTS500011", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := postForm(t, srv, tt.path, tt.form, false)
			if resp.status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.status, resp.raw, tt.status)
			}
			if tt.status != 200 {
				desc, _ := resp.body["error_description"].(string)
				if resp.body["error"] != tt.err || !strings.HasPrefix(desc, tt.aadsts) {
					t.Fatalf("error %v %q, want %s %s", resp.body["error"], desc, tt.err, tt.aadsts)
				}
				if strings.Contains(string(resp.raw), userPass) {
					t.Errorf("the answer leaks the password: %s", resp.raw)
				}
				return
			}
			tok, _ := resp.body["access_token"].(string)
			c, _ := unverifiedClaims(t, tok)
			if c["idtyp"] != "user" || c["oid"] != tt.wantOID || c["sub"] != tt.wantOID || c["upn"] != tt.wantUPN ||
				c["tid"] != tenantID || c["iss"] != tt.wantIssu || c["aud"] != armAud || c["appid"] != nil {
				t.Errorf("claims %v", c)
			}
			if _, ok := resp.body["expires_in"].(float64); !ok {
				t.Errorf("expires_in %v is not a number", resp.body["expires_in"])
			}
			p, err := iss.VerifyToken(tok)
			if err != nil || p.Type != galleon.PrincipalUser || p.ObjectID != tt.wantOID || p.UserPrincipalName != tt.wantUPN {
				t.Errorf("VerifyToken = %+v, %v", p, err)
			}
		})
	}
}

func TestUserRealm(t *testing.T) {
	_, srv := MustIssuer(t, userDirectory(t))
	for _, path := range []string{"/common/UserRealm/alice@galleon.local?api-version=1.0", "/common/userrealm/nobody%40example.org?api-version=1.0"} {
		resp := get(t, srv, path)
		if resp.status != 200 || resp.body["account_type"] != "Managed" || resp.body["domain_name"] == "" ||
			resp.body["cloud_instance_name"] == "" || resp.body["cloud_audience_urn"] == "" {
			t.Errorf("GET %s = %d %s", path, resp.status, resp.raw)
		}
	}
	if resp := get(t, srv, "/common/UserRealm/"); resp.status != 404 {
		t.Errorf("a realm without a name: %d", resp.status)
	}
}

// TestAzureSDK_UsernamePasswordCredential signs users in with the Azure
// SDK for Go's (deprecated, still shipped) UsernamePasswordCredential on
// the AAD v2 authority with instance discovery off, and on AD FS.
func TestAzureSDK_UsernamePasswordCredential(t *testing.T) {
	for _, tt := range []struct {
		name, tenant, user, password string
		wantOID, wantErr             string
	}{
		{"Member", tenantID, "alice@galleon.local", userPass, userOID, ""},
		{"MemberADFS", "adfs", "alice@galleon.local", userPass, userOID, ""},
		{"Guest", tenantID, guestMail, userPass, guestOID, ""},
		{"ErrWrongPassword", tenantID, "alice@galleon.local", "nope", "", "AADSTS50126"},
		{"ErrPendingGuest", tenantID, "pending@example.org", userPass, "", "AADSTS50126"},
		{"ErrDisabled", tenantID, "dis@galleon.local", userPass, "", "AADSTS50057"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss, srv := MustIssuer(t, userDirectory(t))
			opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client()}
			//lint:ignore SA1019 the credential is deprecated but shipped, and users' scripts use it
			upOpts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true}
			cred, err := azidentity.NewUsernamePasswordCredential(tt.tenant, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", tt.user, tt.password, upOpts)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GetToken err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := iss.VerifyToken(tok.Token)
			if err != nil || p.ObjectID != tt.wantOID || p.Type != galleon.PrincipalUser {
				t.Fatalf("VerifyToken = %+v, %v", p, err)
			}
		})
	}
}

// TestRefreshGrant: an OpenID password sign-in answers an ID token and a
// refresh token; the refresh token gets tokens for another resource while
// the user is unchanged, and nothing after a password change, a disabling
// or a tampering.
func TestRefreshGrant(t *testing.T) {
	dir := userDirectory(t)
	iss, srv := MustIssuer(t, dir)
	iss.Audiences = append(iss.Audiences, "https://graph.example/")
	v2 := "/" + tenantID + "/oauth2/v2.0/token"
	resp := postForm(t, srv, v2, sdkPasswordForm("alice@galleon.local", userPass), false)
	idTok, _ := resp.body["id_token"].(string)
	rt, _ := resp.body["refresh_token"].(string)
	ci, _ := resp.body["client_info"].(string)
	if resp.status != 200 || idTok == "" || rt == "" || ci == "" {
		t.Fatalf("password grant: %d %s", resp.status, resp.raw)
	}
	c, _ := unverifiedClaims(t, idTok)
	if c["aud"] != "04b07795-8ddb-461a-bbee-02f9e1bf7b46" || c["iss"] != iss.TenantIssuer(tenantID) || c["sub"] != userOID ||
		c["preferred_username"] != "alice@galleon.local" || c["tid"] != tenantID {
		t.Errorf("id_token claims %v", c)
	}
	if _, err := iss.VerifyToken(rt); err == nil {
		t.Error("a refresh token is accepted as an access token")
	}
	refresh := func(rt, clientID string) response {
		return postForm(t, srv, v2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID},
			"scope": {"https://graph.example//.default openid offline_access profile"}}, false)
	}
	resp = refresh(rt, "04b07795-8ddb-461a-bbee-02f9e1bf7b46")
	at, _ := resp.body["access_token"].(string)
	if resp.status != 200 || at == "" || resp.body["refresh_token"] == nil {
		t.Fatalf("refresh grant: %d %s", resp.status, resp.raw)
	}
	if ac, _ := unverifiedClaims(t, at); ac["aud"] != "https://graph.example/" || ac["oid"] != userOID || ac["idtyp"] != "user" {
		t.Errorf("refreshed access token claims %v", ac)
	}
	flipped := []byte(rt)
	flipped[len(flipped)-5] ^= 1
	for _, tt := range []struct {
		name, rt, clientID string
		edit               func(u *galleon.DirectoryUser)
		aadsts             string
	}{
		{"ErrOtherClient", rt, "another-client", nil, "AADSTS50173"},
		{"ErrTampered", string(flipped), "04b07795-8ddb-461a-bbee-02f9e1bf7b46", nil, "AADSTS50173"},
		{"ErrAccessTokenAsRefresh", at, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", nil, "AADSTS50173"},
		{"ErrPasswordChanged", rt, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", func(u *galleon.DirectoryUser) { u.PasswordHash = "$argon2id$other" }, "AADSTS50173"},
		{"ErrDisabled", rt, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", func(u *galleon.DirectoryUser) { u.AccountEnabled = false }, "AADSTS50057"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				orig := dir.UserForSignInFn
				dir.UserForSignInFn = func(ctx context.Context, name string) (*galleon.DirectoryUser, error) {
					u, err := orig(ctx, name)
					if err == nil {
						tt.edit(u)
					}
					return u, err
				}
				defer func() { dir.UserForSignInFn = orig }()
			}
			resp := refresh(tt.rt, tt.clientID)
			desc, _ := resp.body["error_description"].(string)
			if resp.status != 400 || resp.body["error"] != "invalid_grant" || !strings.HasPrefix(desc, tt.aadsts) {
				t.Fatalf("%d %s, want invalid_grant %s", resp.status, resp.raw, tt.aadsts)
			}
		})
	}
}
