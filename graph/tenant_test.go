package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

const testPublicURL = "https://galleon.example:8443"

// graphFixture is Graph over a fresh SQLite store with two tenants: the
// bootstrapped home tenant and "other.example", each with a service
// principal owning its subscription (so administering its directory) and
// a user; home also has a group and an application.
type graphFixture struct {
	*storetest.Fixture
	handler    http.Handler
	other      *galleon.NewTenant
	principals map[string]galleon.Principal // by token
	carol      *galleon.DirectoryUser       // home
	dave       *galleon.DirectoryUser       // other
	group      *galleon.Group               // home
	app        *galleon.Application         // home
	appSP      *galleon.ServicePrincipal    // home
}

// token makes a token-shaped string for name whose payload carries aud;
// the fixture's VerifyToken stands in for the issuer's signature check
// and maps the token to its principal.
func token(name, aud string) string {
	payload, _ := json.Marshal(map[string]any{"aud": aud, "name": name})
	return "e30." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
}

func newGraphFixture(t *testing.T) *graphFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "galleon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &graphFixture{Fixture: storetest.MustFixture(t, func(*testing.T) galleon.Store { return db })}
	f.other = f.MustCreateTenant(t, "other.example")
	f.principals = map[string]galleon.Principal{
		token("home", testPublicURL+"/"):  f.Bootstrap.ServicePrincipal,
		token("other", testPublicURL+"/"): f.other.ServicePrincipal,
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(tenant, upn string) *galleon.DirectoryUser {
		u := &galleon.DirectoryUser{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tenant, Type: galleon.PrincipalUser,
			UserPrincipalName: upn, DisplayName: upn}, Mail: upn, MailNickname: strings.Split(upn, "@")[0], UserType: galleon.UserTypeMember, AccountEnabled: true}
		must(db.CreateUser(ctx, u))
		return u
	}
	f.carol = user(f.Bootstrap.Tenant.ID, "carol@"+f.Bootstrap.Tenant.Domain)
	f.dave = user(f.other.Tenant.ID, "dave@other.example")
	f.group = &galleon.Group{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, DisplayName: "Publishers", MailNickname: "publishers", SecurityEnabled: true}
	must(db.CreateGroup(ctx, f.group))
	must(db.AddGroupMember(ctx, f.group.ObjectID, f.carol.ObjectID))
	f.app = &galleon.Application{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, AppID: uuid.NewString(), DisplayName: "pipeline"}
	must(db.CreateApplication(ctx, f.app))
	f.appSP = &galleon.ServicePrincipal{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID,
		AppID: f.app.AppID, DisplayName: "pipeline"}, AccountEnabled: true}
	must(db.CreateServicePrincipal(ctx, f.appSP))

	s := &Server{
		Store: db,
		VerifyToken: func(tok string) (galleon.Principal, error) {
			if p, ok := f.principals[tok]; ok {
				return p, nil
			}
			return galleon.Principal{}, galleon.Errorf(galleon.CodeAuthenticationFailed, "unknown token")
		},
		Authorizer:     &authz.Authorizer{Assignments: db, Roles: db, Groups: db},
		SubscriptionID: f.Sub,
		PublicURL:      testPublicURL,
		HashPassword:   func(p string) (string, error) { return "hash:" + p, nil },
		NewSecret:      func() (string, error) { return "secret-" + uuid.NewString(), nil },
		HashSecret:     func(s string) string { return "hash:" + s },
		InvitationKey:  []byte("0123456789abcdef0123456789abcdef"),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	f.handler = s.Handler()
	return f
}

// do sends a Graph request as who ("home" or "other").
func (f *graphFixture) do(t *testing.T, who, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = strings.NewReader(string(data))
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token(who, testPublicURL+"/"))
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// ids returns the ids of a collection's items.
func ids(body map[string]any) []string {
	var out []string
	items, _ := body["value"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestGraph_TenantsSeeOwnDirectory: a token of one tenant reads and
// writes only that tenant's directory; the other tenant's objects are
// absent from lists and 404 by id, and what it creates is its own.
func TestGraph_TenantsSeeOwnDirectory(t *testing.T) {
	t.Parallel()
	f := newGraphFixture(t)
	home, other := f.Bootstrap, f.other
	q := func(filter string) string { return "?$filter=" + strings.ReplaceAll(filter, " ", "%20") }

	for _, tt := range []struct {
		name, who, path string
		want            []string
	}{
		{"Users/Home", "home", "/v1.0/users", sorted(home.Admin.ObjectID, f.carol.ObjectID)},
		{"Users/Other", "other", "/v1.0/users", []string{f.dave.ObjectID}},
		{"UsersFilter/OtherAsksForHomeUPN", "other", "/v1.0/users" + q("userPrincipalName eq '"+f.carol.UserPrincipalName+"'"), nil},
		{"UsersFilter/Home", "home", "/v1.0/users" + q("userPrincipalName eq '"+f.carol.UserPrincipalName+"'"), []string{f.carol.ObjectID}},
		{"ServicePrincipals/Home", "home", "/v1.0/servicePrincipals", sorted(home.ServicePrincipal.ObjectID, f.appSP.ObjectID)},
		{"ServicePrincipals/Other", "other", "/v1.0/servicePrincipals", []string{other.ServicePrincipal.ObjectID}},
		{"ServicePrincipalsFilter/OtherAsksForHomeApp", "other", "/v1.0/servicePrincipals" + q("servicePrincipalNames/any(c:c eq '"+f.app.AppID+"')"), nil},
		{"ServicePrincipalsFilter/Home", "home", "/v1.0/servicePrincipals" + q("servicePrincipalNames/any(c:c eq '"+f.app.AppID+"')"), []string{f.appSP.ObjectID}},
		{"Groups/Other", "other", "/v1.0/groups", nil},
		{"Groups/Home", "home", "/v1.0/groups", []string{f.group.ObjectID}},
		{"Applications/Other", "other", "/v1.0/applications", nil},
		{"Applications/Home", "home", "/v1.0/applications", []string{f.app.ObjectID}},
	} {
		t.Run("List/"+tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.who, http.MethodGet, tt.path, nil)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %v", tt.path, code, body)
			}
			if got := ids(body); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s as %s = %v, want %v", tt.path, tt.who, got, tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name, who, path string
		want            int
	}{
		{"HomeUserByID", "other", "/v1.0/users/" + f.carol.ObjectID, http.StatusNotFound},
		{"HomeUserByUPN", "other", "/v1.0/users/" + f.carol.UserPrincipalName, http.StatusNotFound},
		{"HomeAdmin", "other", "/v1.0/users/" + home.Admin.ObjectID, http.StatusNotFound},
		{"HomeSP", "other", "/v1.0/servicePrincipals/" + home.ServicePrincipal.ObjectID, http.StatusNotFound},
		{"HomeApp", "other", "/v1.0/applications/" + f.app.AppID, http.StatusNotFound},
		{"HomeGroup", "other", "/v1.0/groups/" + f.group.ObjectID, http.StatusNotFound},
		{"HomeGroupMembers", "other", "/v1.0/groups/" + f.group.ObjectID + "/members", http.StatusNotFound},
		{"HomeDirectoryObject", "other", "/v1.0/directoryObjects/" + f.carol.ObjectID, http.StatusNotFound},
		{"OtherUserFromHome", "home", "/v1.0/users/" + f.dave.ObjectID, http.StatusNotFound},
		{"OwnUser", "other", "/v1.0/users/" + f.dave.ObjectID, http.StatusOK},
		{"OwnGroupMembers", "home", "/v1.0/groups/" + f.group.ObjectID + "/members", http.StatusOK},
	} {
		t.Run("Get/"+tt.name, func(t *testing.T) {
			if code, body := f.do(t, tt.who, http.MethodGet, tt.path, nil); code != tt.want {
				t.Errorf("GET %s as %s: %d %v, want %d", tt.path, tt.who, code, body, tt.want)
			}
		})
	}

	t.Run("GetByIds", func(t *testing.T) {
		all := []string{f.carol.ObjectID, f.dave.ObjectID, home.ServicePrincipal.ObjectID, other.ServicePrincipal.ObjectID, f.group.ObjectID, f.app.ObjectID}
		for who, want := range map[string][]string{
			"other": sorted(f.dave.ObjectID, other.ServicePrincipal.ObjectID),
			"home":  sorted(f.carol.ObjectID, home.ServicePrincipal.ObjectID, f.group.ObjectID, f.app.ObjectID),
		} {
			code, body := f.do(t, who, http.MethodPost, "/v1.0/directoryObjects/getByIds", map[string]any{"ids": all})
			if got := ids(body); code != http.StatusOK || !slices.Equal(got, want) {
				t.Errorf("getByIds as %s = %d %v, want %v", who, code, got, want)
			}
		}
	})

	t.Run("Writes", func(t *testing.T) {
		for _, tt := range []struct {
			name, method, path string
			body               any
		}{
			{"DeleteHomeUser", http.MethodDelete, "/v1.0/users/" + f.carol.ObjectID, nil},
			{"PatchHomeUser", http.MethodPatch, "/v1.0/users/" + f.carol.ObjectID, map[string]any{"accountEnabled": false}},
			{"AddToHomeGroup", http.MethodPost, "/v1.0/groups/" + f.group.ObjectID + "/members/$ref",
				map[string]any{"@odata.id": testPublicURL + "/v1.0/directoryObjects/" + f.dave.ObjectID}},
			{"RemoveFromHomeGroup", http.MethodDelete, "/v1.0/groups/" + f.group.ObjectID + "/members/" + f.carol.ObjectID + "/$ref", nil},
			{"DeleteHomeGroup", http.MethodDelete, "/v1.0/groups/" + f.group.ObjectID, nil},
			{"HomeAppPassword", http.MethodPost, "/v1.0/applications/" + f.app.ObjectID + "/addPassword", map[string]any{}},
			{"HomeSPPassword", http.MethodPost, "/v1.0/servicePrincipals/" + f.appSP.ObjectID + "/addPassword", map[string]any{}},
			{"DeleteHomeSP", http.MethodDelete, "/v1.0/servicePrincipals/" + f.appSP.ObjectID, nil},
			{"DeleteHomeApp", http.MethodDelete, "/v1.0/applications/" + f.app.ObjectID, nil},
			{"HomeUserMemberGroups", http.MethodPost, "/v1.0/directoryObjects/" + f.carol.ObjectID + "/getMemberGroups", map[string]any{"securityEnabledOnly": false}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if code, body := f.do(t, "other", tt.method, tt.path, tt.body); code != http.StatusNotFound && code != http.StatusBadRequest {
					t.Errorf("%s %s as other: %d %v, want 404", tt.method, tt.path, code, body)
				}
			})
		}
		// Everything of home is still there, as it was.
		ctx := context.Background()
		if u, err := f.Store.GetUser(ctx, f.carol.ObjectID); err != nil || !u.AccountEnabled {
			t.Errorf("carol after other's writes: %+v, %v", u, err)
		}
		if groups, err := f.Store.TransitiveGroupsOf(ctx, f.carol.ObjectID); err != nil || !slices.Equal(groups, []string{f.group.ObjectID}) {
			t.Errorf("carol's groups after other's writes: %v, %v", groups, err)
		}
		if groups, _ := f.Store.TransitiveGroupsOf(ctx, f.dave.ObjectID); len(groups) != 0 {
			t.Errorf("dave was added to home's group: %v", groups)
		}
		if sp, err := f.Store.GetServicePrincipal(ctx, f.appSP.ObjectID); err != nil || len(sp.PasswordCredentials) != 0 {
			t.Errorf("home's service principal after other's writes: %+v, %v", sp, err)
		}
		if a, err := f.Store.GetApplication(ctx, f.app.ObjectID); err != nil || len(a.PasswordCredentials) != 0 {
			t.Errorf("home's application after other's writes: %+v, %v", a, err)
		}
	})

	t.Run("CreateAndInviteInOwnTenant", func(t *testing.T) {
		// The other tenant's owner administers its own directory.
		code, body := f.do(t, "other", http.MethodPost, "/v1.0/users", map[string]any{"accountEnabled": true, "displayName": "Erin",
			"mailNickname": "erin", "userPrincipalName": "erin@other.example", "passwordProfile": map[string]any{"password": "Secret-Passw0rd!"}})
		if code != http.StatusCreated {
			t.Fatalf("creating a user in its own tenant: %d %v", code, body)
		}
		erin, _ := body["id"].(string)
		if u, err := f.Store.GetUser(context.Background(), erin); err != nil || u.TenantID != other.Tenant.ID {
			t.Fatalf("erin = %+v, %v; want a user of the other tenant", u, err)
		}
		code, body = f.do(t, "other", http.MethodPost, "/v1.0/users", map[string]any{"accountEnabled": true, "displayName": "Mallory",
			"mailNickname": "mallory", "userPrincipalName": "mallory@" + home.Tenant.Domain, "passwordProfile": map[string]any{"password": "Secret-Passw0rd!"}})
		if code != http.StatusBadRequest {
			t.Errorf("creating a user in home's domain from other: %d %v, want 400", code, body)
		}
		code, body = f.do(t, "other", http.MethodPost, "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "guest@elsewhere.example",
			"inviteRedirectUrl": testPublicURL + "/", "sendInvitationMessage": false})
		if code != http.StatusCreated {
			t.Fatalf("inviting a guest: %d %v", code, body)
		}
		inv, _ := body["id"].(string)
		invited, _ := body["invitedUser"].(map[string]any)
		guestID, _ := invited["id"].(string)
		if u, err := f.Store.GetUser(context.Background(), guestID); err != nil || u.TenantID != other.Tenant.ID || !u.IsGuest() {
			t.Fatalf("guest = %+v, %v; want a guest of the inviting tenant", u, err)
		}
		if code, body := f.do(t, "home", http.MethodGet, "/v1.0/invitations", nil); code != http.StatusOK || len(ids(body)) != 0 {
			t.Errorf("home's invitations: %d %v, want none", code, ids(body))
		}
		for _, path := range []string{"/v1.0/invitations/" + inv, "/v1.0/users/" + guestID} {
			if code, _ := f.do(t, "home", http.MethodGet, path, nil); code != http.StatusNotFound {
				t.Errorf("GET %s as home: %d, want 404", path, code)
			}
		}
		if code, _ := f.do(t, "home", http.MethodPost, "/v1.0/invitations/"+inv+"/revoke", nil); code != http.StatusNotFound {
			t.Errorf("home revoking other's invitation: %d, want 404", code)
		}
		if code, body := f.do(t, "other", http.MethodGet, "/v1.0/invitations", nil); code != http.StatusOK || !slices.Equal(ids(body), []string{inv}) {
			t.Errorf("other's invitations: %d %v, want [%s]", code, ids(body), inv)
		}
		// The same address invited by home is another guest, of home.
		code, body = f.do(t, "home", http.MethodPost, "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "guest@elsewhere.example",
			"inviteRedirectUrl": testPublicURL + "/", "sendInvitationMessage": false})
		invited, _ = body["invitedUser"].(map[string]any)
		if id, _ := invited["id"].(string); code != http.StatusCreated || id == guestID || id == "" {
			t.Errorf("home inviting the same address: %d %v, want a guest of its own", code, body)
		}
	})
}
