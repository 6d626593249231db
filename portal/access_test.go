package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestPrincipalFilters(t *testing.T) {
	const guid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	for _, tt := range []struct {
		kind, q string
		want    []string
	}{
		{"user", "", nil},
		{"user", "  ", nil},
		{"user", "ali", []string{"startswith(displayName,'ali')", "startswith(userPrincipalName,'ali')", "startswith(mail,'ali')"}},
		{"user", "o'brien", []string{"startswith(displayName,'o''brien')", "startswith(userPrincipalName,'o''brien')", "startswith(mail,'o''brien')"}},
		{"group", "Gallery Rea", []string{"startswith(displayName,'Gallery Rea')"}},
		{"group", guid, []string{"id eq '" + guid + "'", "startswith(displayName,'" + guid + "')"}},
		{"servicePrincipal", guid, []string{"id eq '" + guid + "'", "appId eq '" + guid + "'", "startswith(displayName,'" + guid + "')"}},
		{"servicePrincipal", "ci-bot", []string{"startswith(displayName,'ci-bot')"}},
	} {
		got := principalFilters(tt.kind, tt.q)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("principalFilters(%s, %q) = %q, want %q", tt.kind, tt.q, got, tt.want)
		}
	}
}

func TestIsEmailAddress(t *testing.T) {
	for in, want := range map[string]bool{
		"guest@example.org":         true,
		"first.last+tag@sub.ex.org": true,
		"guest@example":             false,
		"guest":                     false,
		"Guest <guest@example.org>": false,
		"guest@example.org ":        false,
		"a b@example.org":           false,
		"":                          false,
		"@example.org":              false,
	} {
		if got := isEmailAddress(in); got != want {
			t.Errorf("isEmailAddress(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNeedsInvitation(t *testing.T) {
	alice := toPrincipalRow(directoryObjectJSON{ID: "oid-alice", DisplayName: "Alice", UserPrincipalName: "alice@galleon.local", Mail: "alice@galleon.local"}, "User")
	guest := toPrincipalRow(directoryObjectJSON{ID: "oid-guest", DisplayName: "guest@example.org", UserPrincipalName: "guest_example.org#EXT#@galleon.local",
		Mail: "guest@example.org", UserType: "Guest"}, "User")
	for _, tt := range []struct {
		name, kind, q string
		found         []principalRow
		want          bool
	}{
		{"OutsideAddress", "user", "someone@example.org", nil, true},
		{"OutsideAddressNearMatch", "user", "alice@galleon.lo", []principalRow{alice}, true},
		{"MemberAddress", "user", "ALICE@galleon.local", []principalRow{alice}, false},
		{"GuestAlreadyInvited", "user", "guest@example.org", []principalRow{guest}, false},
		{"NotAnAddress", "user", "Alice", nil, false},
		{"GroupKind", "group", "someone@example.org", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsInvitation(tt.kind, tt.q, tt.found); got != tt.want {
				t.Errorf("needsInvitation(%s, %q) = %v, want %v", tt.kind, tt.q, got, tt.want)
			}
		})
	}
	if got := exactMatches([]principalRow{alice, guest}, " Alice "); len(got) != 1 || got[0].ID != "oid-alice" {
		t.Errorf("exactMatches(Alice) = %v", got)
	}
	if guest.Type != "Guest" || guest.Detail != "guest@example.org" || alice.Type != "User" {
		t.Errorf("rows: %+v %+v", guest, alice)
	}
}

func TestCheckScope(t *testing.T) {
	for in, want := range map[string]bool{
		"/subscriptions/sub1":                      true,
		"/subscriptions/sub1/resourceGroups/rg1":   true,
		testGallery:                                true,
		testGallery + "/images/img/versions/1.0.0": true,
		"":  false,
		"/": false,
		"/providers/Microsoft.Management/managementGroups":                   false,
		testGallery + "?api-version=x":                                       false,
		testGallery + "/../../other":                                         false,
		testGallery + "/providers/Microsoft.Authorization/roleAssignments/x": false,
		"https://evil.example/subscriptions/sub1":                            false,
	} {
		if _, got := checkScope(in); got != want {
			t.Errorf("checkScope(%q) = %v, want %v", in, got, want)
		}
	}
	if !sameScope("/subscriptions/SUB1/resourceGroups/RG1/", "/subscriptions/sub1/resourcegroups/rg1") {
		t.Error("sameScope ignores case and a trailing slash")
	}
}

func TestSortRoles(t *testing.T) {
	roles := []roleOption{{Name: "User Access Administrator"}, {Name: "Owner"}, {Name: "Compute Gallery Sharing Admin"}, {Name: "Reader"}, {Name: "Contributor"}}
	sortRoles(roles)
	var got []string
	for _, r := range roles {
		got = append(got, r.Name)
	}
	if want := "Reader,Contributor,Owner,Compute Gallery Sharing Admin,User Access Administrator"; strings.Join(got, ",") != want {
		t.Errorf("sortRoles = %v, want %s", got, want)
	}
}

func TestFlash(t *testing.T) {
	s, _, _ := newTestServer(t)
	mine, other := &session{ID: "one"}, &session{ID: "two"}
	f := s.signFlash(mine, "Added Reader.")
	if got := s.readFlash(mine, f); got != "Added Reader." {
		t.Errorf("readFlash = %q", got)
	}
	payload, sig, _ := strings.Cut(f, ".")
	forged := encodeB64([]byte("Everyone is Owner now.")) + "." + sig
	for name, v := range map[string]string{"OtherSession": f, "Forged": forged, "NoSignature": payload, "Empty": ""} {
		sess := mine
		if name == "OtherSession" {
			sess = other
		}
		if got := s.readFlash(sess, v); got != "" {
			t.Errorf("%s: readFlash = %q, want nothing", name, got)
		}
	}
}

const (
	testSub     = "/subscriptions/sub1"
	testGallery = testSub + "/resourceGroups/rg1/providers/Microsoft.Compute/galleries/shared"
	readerGUID  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ownerGUID   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)

// fakeIAM is ARM's role assignments and definitions at one gallery and
// Graph's directory, enough for the IAM pages.
type fakeIAM struct {
	mu          sync.Mutex
	assignments []map[string]any
	writes      []string
	invitations []map[string]any
	// refusePut, when set, is ARM's answer to a role assignment PUT.
	refusePut string
	// guest makes Graph refuse everything, as it does a guest.
	guest bool
}

func (f *fakeIAM) assignment(name, scope, role, principal, typ string) map[string]any {
	return map[string]any{"id": scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, "name": name,
		"properties": map[string]any{"roleDefinitionId": testSub + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
			"principalId": principal, "principalType": typ, "scope": scope}}
}

var fakeDirectory = []map[string]any{
	{"@odata.type": "#microsoft.graph.user", "id": "oid-alice", "displayName": "Alice", "userPrincipalName": "alice@galleon.local", "mail": "alice@galleon.local", "userType": "Member"},
	{"@odata.type": "#microsoft.graph.user", "id": "oid-admin", "displayName": "Admin", "userPrincipalName": "admin@galleon.local", "userType": "Member"},
	{"@odata.type": "#microsoft.graph.group", "id": "oid-readers", "displayName": "Gallery Readers"},
	{"@odata.type": "#microsoft.graph.group", "id": "oid-readers2", "displayName": "Gallery Readers EU"},
}

var startsWith = regexp.MustCompile(`^startswith\((\w+),'(.*)'\)$`)

func (f *fakeIAM) arm(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	ra := testGallery + "/providers/Microsoft.Authorization/roleAssignments"
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && p == testGallery:
		_, _ = w.Write([]byte(`{"id":"` + testGallery + `","name":"shared","location":"eastus"}`))
	case r.Method == http.MethodGet && p == testSub:
		_, _ = w.Write([]byte(`{"subscriptionId":"sub1","displayName":"Galleon subscription"}`))
	case r.Method == http.MethodGet && p == "/subscriptions":
		_, _ = w.Write([]byte(`{"value":[{"subscriptionId":"sub1","displayName":"Galleon subscription"}]}`))
	case r.Method == http.MethodGet && p == ra:
		if r.URL.Query().Get("$filter") != "atScope()" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"Test","message":"the page must ask for atScope()"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": f.assignments})
	case r.Method == http.MethodGet && p == testGallery+"/providers/Microsoft.Authorization/roleDefinitions":
		_ = json.NewEncoder(w).Encode(map[string]any{"value": []map[string]any{
			{"id": testSub + "/providers/Microsoft.Authorization/roleDefinitions/" + ownerGUID, "name": ownerGUID,
				"properties": map[string]any{"roleName": "Owner", "type": "BuiltInRole", "description": "Grants full access."}},
			{"id": testSub + "/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID, "name": readerGUID,
				"properties": map[string]any{"roleName": "Reader", "type": "BuiltInRole", "description": "View all resources, but does not allow you to make any changes."}},
		}})
	case r.Method == http.MethodPut && strings.HasPrefix(p, ra+"/"):
		f.writes = append(f.writes, "PUT "+p)
		if f.refusePut != "" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"` + f.refusePut + `"}}`))
			return
		}
		var body struct {
			Properties struct{ RoleDefinitionID, PrincipalID, PrincipalType string }
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		name := p[strings.LastIndex(p, "/")+1:]
		f.assignments = append(f.assignments, f.assignment(name, testGallery, roleGUID(body.Properties.RoleDefinitionID), body.Properties.PrincipalID, body.Properties.PrincipalType))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	case r.Method == http.MethodDelete && strings.HasPrefix(p, ra+"/"):
		f.writes = append(f.writes, "DELETE "+p)
		name := p[strings.LastIndex(p, "/")+1:]
		for i, a := range f.assignments {
			if a["name"] == name {
				f.assignments = append(f.assignments[:i], f.assignments[i+1:]...)
				break
			}
		}
		_, _ = w.Write([]byte(`{}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not found: ` + r.Method + " " + p + `"}}`))
	}
}

func (f *fakeIAM) graph(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f.guest {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))
		return
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && p == "/v1.0/directoryObjects/getByIds":
		var body struct{ IDs []string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		out := []map[string]any{}
		for _, o := range f.directory() {
			for _, id := range body.IDs {
				if o["id"] == id {
					out = append(out, o)
				}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": out})
	case r.Method == http.MethodGet && (p == "/v1.0/users" || p == "/v1.0/groups"):
		m := startsWith.FindStringSubmatch(r.URL.Query().Get("$filter"))
		out := []map[string]any{}
		for _, o := range f.directory() {
			kind := strings.TrimPrefix(o["@odata.type"].(string), "#microsoft.graph.")
			if m != nil && kind+"s" == strings.TrimPrefix(p, "/v1.0/") {
				if v, _ := o[m[1]].(string); strings.HasPrefix(strings.ToLower(v), strings.ToLower(strings.ReplaceAll(m[2], "''", "'"))) {
					out = append(out, o)
				}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": out})
	case r.Method == http.MethodPost && p == "/v1.0/invitations":
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.invitations = append(f.invitations, body)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"status":"PendingAcceptance","invitedUser":{"id":"oid-guest"},"galleonMessageStatus":"Sent: sent through 127.0.0.1"}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"Request_ResourceNotFound","message":"not found"}}`))
	}
}

// directory is fakeDirectory plus the guests invited.
func (f *fakeIAM) directory() []map[string]any {
	out := append([]map[string]any(nil), fakeDirectory...)
	for range f.invitations {
		out = append(out, map[string]any{"@odata.type": "#microsoft.graph.user", "id": "oid-guest", "displayName": "guest@example.org",
			"userPrincipalName": "guest_example.org#EXT#@galleon.local", "mail": "guest@example.org", "userType": "Guest"})
	}
	return out
}

func (f *fakeIAM) Writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// newIAMServer is the test portal, signed in as alice, over fakeIAM with
// an inherited Owner (the admin, at the subscription) and Reader for
// alice at the gallery.
func newIAMServer(t *testing.T) (*testBrowser, *fakeIAM) {
	t.Helper()
	s, _, _ := newTestServer(t)
	f := &fakeIAM{}
	f.assignments = []map[string]any{
		f.assignment("a-owner", testSub, ownerGUID, "oid-admin", "User"),
		f.assignment("a-reader", testGallery, readerGUID, "oid-alice", "User"),
	}
	s.ARM, s.Graph = http.HandlerFunc(f.arm), http.HandlerFunc(f.graph)
	s.GraphAudience, s.PublicURL = "https://galleon.test/", "https://galleon.test"
	b := &testBrowser{t: t, h: s.Handler()}
	if w := b.signIn(alicePassword); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", w.Code)
	}
	return b, f
}

// rowsOf returns the IAM page's table rows as text, tags stripped.
func rowsOf(body string) []string {
	tags := regexp.MustCompile(`<[^>]*>`)
	var out []string
	for _, tr := range regexp.MustCompile(`(?s)<tr data-assignment=.*?</tr>`).FindAllString(body, -1) {
		out = append(out, strings.Join(strings.Fields(tags.ReplaceAllString(tr, " ")), " "))
	}
	return out
}

func TestAccess_Page(t *testing.T) {
	b, _ := newIAMServer(t)
	w := b.do(http.MethodGet, "/portal/access?scope="+url.QueryEscape(testGallery), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("IAM page = %d\n%s", w.Code, w.Body)
	}
	got := rowsOf(w.Body.String())
	want := []string{
		"Owner Admin admin@galleon.local User Inherited from Subscription Galleon subscription",
		"Reader Alice alice@galleon.local User This resource Remove",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(w.Body.String(), `name="assignment"`); n != 1 {
		t.Errorf("%d Remove forms, want one (the inherited Owner cannot be removed here)", n)
	}
	t.Run("DirectoryRefused", func(t *testing.T) {
		b, f := newIAMServer(t)
		f.guest = true
		w := b.do(http.MethodGet, "/portal/access?scope="+url.QueryEscape(testGallery), nil)
		want := []string{
			"Owner oid-admin User Inherited from Subscription Galleon subscription",
			"Reader Alice (you) alice@galleon.local User This resource Remove",
		}
		if got := rowsOf(w.Body.String()); w.Code != http.StatusOK || strings.Join(got, "\n") != strings.Join(want, "\n") ||
			!strings.Contains(w.Body.String(), "Names are not shown: the directory answered Authorization_RequestDenied") {
			t.Errorf("IAM page = %d, rows:\n%s\nwant:\n%s\n%s", w.Code, strings.Join(got, "\n"), strings.Join(want, "\n"), w.Body)
		}
	})
	for _, bad := range []string{"", "/", "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/shared?x=y"} {
		if w := b.do(http.MethodGet, "/portal/access?scope="+url.QueryEscape(bad), nil); w.Code != http.StatusNotFound {
			t.Errorf("scope %q = %d, want 404", bad, w.Code)
		}
	}
}

func TestAccess_Add(t *testing.T) {
	t.Run("OKInvite", func(t *testing.T) {
		b, f := newIAMServer(t)
		page := b.do(http.MethodGet, "/portal/access/add?role=reader&scope="+url.QueryEscape(testGallery), nil)
		if !strings.Contains(page.Body.String(), `value="`+readerGUID+`" checked`) ||
			!strings.Contains(page.Body.String(), "View all resources, but does not allow you to make any changes.") {
			t.Fatalf("?role=reader does not preselect Reader with its description:\n%s", page.Body)
		}
		// Without the script: the typed address is resolved on Save.
		w := b.do(http.MethodPost, "/portal/access/add", url.Values{"csrf_token": {b.csrf("/portal/access/add?scope=" + url.QueryEscape(testGallery))},
			"scope": {testGallery}, "role": {readerGUID}, "kind": {"user"}, "member": {"guest@example.org"}, "principal_id": {""}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("save = %d\n%s", w.Code, w.Body)
		}
		if len(f.invitations) != 1 {
			t.Fatalf("invitations = %v, want one", f.invitations)
		}
		inv := f.invitations[0]
		if inv["invitedUserEmailAddress"] != "guest@example.org" || inv["sendInvitationMessage"] != true ||
			inv["inviteRedirectUrl"] != "https://galleon.test/portal/resource"+testGallery || inv["galleonResourceId"] != testGallery {
			t.Errorf("invitation = %v", inv)
		}
		last := f.assignments[len(f.assignments)-1]["properties"].(map[string]any)
		if last["principalId"] != "oid-guest" || last["principalType"] != "User" || last["roleDefinitionId"] != testSub+"/providers/Microsoft.Authorization/roleDefinitions/"+readerGUID {
			t.Errorf("assignment = %v", last)
		}
		page = b.do(http.MethodGet, w.Header().Get("Location"), nil)
		body := page.Body.String()
		for _, want := range []string{"Added the role assignment: Reader for guest guest@example.org at this resource.", "An invitation was sent to guest@example.org."} {
			if !strings.Contains(body, want) {
				t.Errorf("the IAM page after saving lacks %q:\n%s", want, body)
			}
		}
		if rows := rowsOf(body); len(rows) != 3 || !strings.Contains(strings.Join(rows, "\n"), "Reader guest@example.org guest@example.org Guest This resource Remove") {
			t.Errorf("rows after saving: %q", rows)
		}
	})
	t.Run("OKPicked", func(t *testing.T) {
		b, f := newIAMServer(t)
		w := b.do(http.MethodPost, "/portal/access/add", url.Values{"csrf_token": {b.csrf("/portal/access?scope=" + url.QueryEscape(testGallery))},
			"scope": {testGallery}, "role": {readerGUID}, "kind": {"group"}, "member": {"Gallery Readers"}, "principal_id": {"", "oid-readers2"}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("save = %d\n%s", w.Code, w.Body)
		}
		last := f.assignments[len(f.assignments)-1]["properties"].(map[string]any)
		if last["principalId"] != "oid-readers2" || last["principalType"] != "Group" || len(f.invitations) != 0 {
			t.Errorf("assignment = %v, invitations %v", last, f.invitations)
		}
	})
	t.Run("ErrAmbiguous", func(t *testing.T) {
		b, f := newIAMServer(t)
		w := b.do(http.MethodPost, "/portal/access/add", url.Values{"csrf_token": {b.csrf("/portal/access?scope=" + url.QueryEscape(testGallery))},
			"scope": {testGallery}, "role": {readerGUID}, "kind": {"group"}, "member": {"Gallery"}})
		body := w.Body.String()
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "Several groups match &#39;Gallery&#39;: select one.") ||
			!strings.Contains(body, `id="candidate-oid-readers"`) || !strings.Contains(body, `id="candidate-oid-readers2"`) {
			t.Errorf("ambiguous = %d\n%s", w.Code, body)
		}
		if got := f.Writes(); len(got) != 0 {
			t.Errorf("writes = %v", got)
		}
	})
	t.Run("ErrRefused", func(t *testing.T) {
		b, f := newIAMServer(t)
		f.refusePut = "The client 'alice@galleon.local' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write'."
		w := b.do(http.MethodPost, "/portal/access/add", url.Values{"csrf_token": {b.csrf("/portal/access?scope=" + url.QueryEscape(testGallery))},
			"scope": {testGallery}, "role": {readerGUID}, "kind": {"user"}, "member": {"alice@galleon.local"}})
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "AuthorizationFailed: The client &#39;alice@galleon.local&#39; does not have authorization") {
			t.Errorf("refused = %d\n%s", w.Code, w.Body)
		}
	})
	t.Run("ErrNoRole", func(t *testing.T) {
		b, f := newIAMServer(t)
		w := b.do(http.MethodPost, "/portal/access/add", url.Values{"csrf_token": {b.csrf("/portal/access?scope=" + url.QueryEscape(testGallery))},
			"scope": {testGallery}, "kind": {"user"}, "member": {"alice@galleon.local"}})
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Select a role.") || len(f.Writes()) != 0 {
			t.Errorf("no role = %d, writes %v\n%s", w.Code, f.Writes(), w.Body)
		}
	})
	t.Run("ErrCSRF", func(t *testing.T) {
		b, f := newIAMServer(t)
		for _, path := range []string{"/portal/access/add", "/portal/access/remove"} {
			w := b.do(http.MethodPost, path, url.Values{"scope": {testGallery}, "role": {readerGUID}, "member": {"guest@example.org"},
				"assignment": {"a-reader"}, "step": {"confirm"}})
			if w.Code != http.StatusForbidden {
				t.Errorf("POST %s without a CSRF token = %d, want 403", path, w.Code)
			}
		}
		if len(f.Writes()) != 0 || len(f.invitations) != 0 {
			t.Errorf("writes %v, invitations %v without a CSRF token", f.Writes(), f.invitations)
		}
	})
}

func TestAccess_Remove(t *testing.T) {
	b, f := newIAMServer(t)
	tok := b.csrf("/portal/access?scope=" + url.QueryEscape(testGallery))
	form := func(assignment, step string) url.Values {
		return url.Values{"csrf_token": {tok}, "scope": {testGallery}, "assignment": {assignment}, "step": {step}}
	}
	w := b.do(http.MethodPost, "/portal/access/remove", form("a-reader", ""))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="confirm-remove"`) || len(f.Writes()) != 0 {
		t.Fatalf("remove asks to confirm = %d, writes %v\n%s", w.Code, f.Writes(), w.Body)
	}
	if w := b.do(http.MethodPost, "/portal/access/remove", form("a-owner", "confirm")); w.Code != http.StatusConflict ||
		!strings.Contains(w.Body.String(), "inherited from Subscription Galleon subscription: remove it there.") {
		t.Errorf("removing an inherited assignment = %d\n%s", w.Code, w.Body)
	}
	w = b.do(http.MethodPost, "/portal/access/remove", form("a-reader", "confirm"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("confirmed remove = %d\n%s", w.Code, w.Body)
	}
	if got := f.Writes(); len(got) != 1 || got[0] != "DELETE "+testGallery+"/providers/Microsoft.Authorization/roleAssignments/a-reader" {
		t.Errorf("writes = %v", got)
	}
	page := b.do(http.MethodGet, w.Header().Get("Location"), nil).Body.String()
	if !strings.Contains(page, "Removed the role assignment: Reader for Alice (User).") || len(rowsOf(page)) != 1 {
		t.Errorf("after removing:\n%s", page)
	}
}

func TestAccess_PrincipalsJSON(t *testing.T) {
	b, _ := newIAMServer(t)
	for _, tt := range []struct {
		kind, q string
		ids     []string
		invite  bool
	}{
		{"user", "al", []string{"oid-alice"}, false},
		{"user", "alice@galleon.local", []string{"oid-alice"}, false},
		{"user", "someone@example.org", nil, true},
		{"group", "gallery r", []string{"oid-readers", "oid-readers2"}, false},
		{"group", "someone@example.org", nil, false},
		{"user", "", nil, false},
	} {
		w := b.do(http.MethodGet, "/portal/access/principals?kind="+tt.kind+"&q="+url.QueryEscape(tt.q), nil)
		var got struct {
			Principals []struct{ ID, Name, Type string }
			Invite     bool
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s %q = %d %v\n%s", tt.kind, tt.q, w.Code, err, w.Body)
		}
		var ids []string
		for _, p := range got.Principals {
			ids = append(ids, p.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.ids, ",") || got.Invite != tt.invite {
			t.Errorf("%s %q = %v invite %v, want %v invite %v", tt.kind, tt.q, ids, got.Invite, tt.ids, tt.invite)
		}
	}
	anon := &testBrowser{t: t, h: b.h}
	if w := anon.do(http.MethodGet, "/portal/access/principals?q=al", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("signed out = %d, want 401", w.Code)
	}
}
