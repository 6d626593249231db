package armapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/galleon-project/galleon"
)

// do sends method to path (api-version 2022-04-01 added when it has
// none) as the caller with token
// and returns the status and the body.
func (f *listFixture) do(t *testing.T, method, token, path string, body any) (int, string) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(data))
	} else {
		rd = strings.NewReader("")
	}
	if !strings.Contains(path, "api-version=") {
		path += "?api-version=2022-04-01"
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func roleDefinitionBody(name string, actions []string, scopes ...string) map[string]any {
	return map[string]any{"properties": map[string]any{
		"roleName": name, "type": "CustomRole", "assignableScopes": scopes,
		"permissions": []map[string]any{{"actions": actions}},
	}}
}

// TestServer_RoleDefinitionWrites is the attack on custom roles through a
// narrow scope, and what stays allowed. The publisher's service principal
// owns the subscription and its custom role "Gallery Readers", assignable
// at the whole subscription; "uaa" is User Access Administrator of one
// gallery; "consumer" owns a subscription of another tenant. Steps run in
// order on one store; after each refusal the stored role is unchanged.
func TestServer_RoleDefinitionWrites(t *testing.T) {
	f := newListFixture(t)
	sub := galleon.SubscriptionScope(f.Sub)
	gal1 := f.Gallery("rg", "gal1").String()
	consumerSub := galleon.SubscriptionScope(f.consumer)
	f.addPrincipal(t, "uaa", galleon.RoleUserAccessAdministrator, gal1)
	const (
		subRole     = "0b6f5c3e-1d2a-4c7b-9e8f-111111111111" // assignable at the subscription
		galleryRole = "0b6f5c3e-1d2a-4c7b-9e8f-222222222222" // uaa's own, at gal1
		tooWide     = "0b6f5c3e-1d2a-4c7b-9e8f-333333333333"
	)
	rdPath := func(scope, guid string) string {
		return scope + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	readActions := []string{"Microsoft.Compute/galleries/read"}
	if code, body := f.do(t, http.MethodPut, "publisher", rdPath(sub, subRole), roleDefinitionBody("Gallery Readers", readActions, sub)); code != http.StatusCreated {
		t.Fatalf("the Owner creating a subscription-wide role: %d %s", code, body)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		d, err := f.Store.GetRoleDefinition(context.Background(), subRole)
		if err != nil {
			t.Fatalf("the subscription-wide role is gone: %v", err)
		}
		if len(d.AssignableScopes) != 1 || d.AssignableScopes[0] != sub || len(d.Permissions) != 1 ||
			strings.Join(d.Permissions[0].Actions, ",") != readActions[0] {
			t.Fatalf("the subscription-wide role changed: scopes %v, permissions %+v", d.AssignableScopes, d.Permissions)
		}
	}

	for _, tt := range []struct {
		name     string
		method   string
		token    string
		path     string
		body     any
		wantCode int
		wantErr  string // the ARM error code, when refused
		after    func(t *testing.T)
	}{
		{"WidenSubscriptionRoleThroughGalleryPath", http.MethodPut, "uaa", rdPath(gal1, subRole),
			roleDefinitionBody("Gallery Readers", []string{"*"}, gal1), http.StatusForbidden, "AuthorizationFailed", unchanged},
		// Within what uaa holds, but the stored role is assignable at the
		// subscription, where uaa may not write roles.
		{"RescopeSubscriptionRoleThroughGalleryPath", http.MethodPut, "uaa", rdPath(gal1, subRole),
			roleDefinitionBody("Gallery Readers", []string{"*/read"}, gal1), http.StatusForbidden, "AuthorizationFailed", unchanged},
		{"DeleteSubscriptionRoleThroughGalleryPath", http.MethodDelete, "uaa", rdPath(gal1, subRole),
			nil, http.StatusForbidden, "AuthorizationFailed", unchanged},
		// The Owner of another tenant's subscription takes the id over at
		// its own scope.
		{"ReuseIDFromAnotherScope", http.MethodPut, "consumer", rdPath(consumerSub, subRole),
			roleDefinitionBody("Gallery Readers", []string{"*"}, consumerSub), http.StatusConflict, "RoleDefinitionWithSameIdExists", unchanged},
		{"DeleteThroughAnotherScopeIsNoOp", http.MethodDelete, "consumer", rdPath(consumerSub, subRole),
			nil, http.StatusNoContent, "", unchanged},
		{"GetThroughAnotherScope", http.MethodGet, "consumer", rdPath(consumerSub, subRole),
			nil, http.StatusNotFound, "RoleDefinitionDoesNotExist", nil},
		{"GrantMoreThanHeld", http.MethodPut, "uaa", rdPath(gal1, tooWide),
			roleDefinitionBody("Gallery Writers", []string{"Microsoft.Compute/galleries/*"}, gal1), http.StatusForbidden, "AuthorizationFailed",
			func(t *testing.T) {
				if _, err := f.Store.GetRoleDefinition(context.Background(), tooWide); galleon.ErrorCode(err) != galleon.CodeRoleDefinitionNotFound {
					t.Errorf("GetRoleDefinition(tooWide) = %v, want it never stored", err)
				}
			}},
		{"GrantEverything", http.MethodPut, "uaa", rdPath(gal1, tooWide),
			roleDefinitionBody("Everything", []string{"*"}, gal1), http.StatusForbidden, "AuthorizationFailed", nil},
		{"OK/GalleryUAACreatesGalleryRoleWithinHolding", http.MethodPut, "uaa", rdPath(gal1, galleryRole),
			roleDefinitionBody("Gallery 1 Readers", []string{"*/read"}, gal1), http.StatusCreated, "", nil},
		{"OK/GalleryUAAUpdatesItsRole", http.MethodPut, "uaa", rdPath(gal1, galleryRole),
			roleDefinitionBody("Gallery 1 Readers", readActions, gal1), http.StatusOK, "", nil},
		// Widening its own role past what it holds is refused too.
		{"GalleryUAAWidensItsRole", http.MethodPut, "uaa", rdPath(gal1, galleryRole),
			roleDefinitionBody("Gallery 1 Readers", []string{"*"}, gal1), http.StatusForbidden, "AuthorizationFailed", nil},
		{"OK/OwnerWidensSubscriptionRole", http.MethodPut, "publisher", rdPath(sub, subRole),
			roleDefinitionBody("Gallery Readers", []string{"*/read"}, sub), http.StatusOK, "", nil},
		{"OK/GalleryUAADeletesItsRole", http.MethodDelete, "uaa", rdPath(gal1, galleryRole),
			nil, http.StatusOK, "", nil},
		{"OK/OwnerDeletesSubscriptionRole", http.MethodDelete, "publisher", rdPath(sub, subRole),
			nil, http.StatusOK, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.method, tt.token, tt.path, tt.body)
			if code != tt.wantCode {
				t.Fatalf("%s %s as %s: %d %s, want %d", tt.method, tt.path, tt.token, code, body, tt.wantCode)
			}
			if tt.wantErr != "" {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != tt.wantErr {
					t.Errorf("error %s, want code %s", body, tt.wantErr)
				}
			}
			if tt.after != nil {
				tt.after(t)
			}
		})
	}
}

// TestServer_DeleteTakesAssignments: a role assignment at a deleted
// resource's scope does not come back with a new resource of the same
// name.
func TestServer_DeleteTakesAssignments(t *testing.T) {
	f := newListFixture(t)
	for _, tt := range []struct {
		name, path, body string
	}{
		{"Gallery", f.Gallery("rg", "gal2").String() + "?api-version=2025-03-03", `{"location":"eastus"}`},
		{"Disk", f.Disk("rg", galleon.TypeDisk, "disk2").String() + "?api-version=2023-04-02",
			`{"location":"eastus","properties":{"creationData":{"createOption":"Upload","uploadSizeBytes":20972032}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scope, _, _ := strings.Cut(tt.path, "?")
			token := "reader-of-" + tt.name
			f.addPrincipal(t, token, galleon.RoleReader, scope)
			if code, body := f.do(t, http.MethodGet, token, tt.path, nil); code != http.StatusOK {
				t.Fatalf("the reader reading %s: %d %s", scope, code, body)
			}
			if code, body := f.do(t, http.MethodDelete, "publisher", tt.path, nil); code != http.StatusOK && code != http.StatusNoContent && code != http.StatusAccepted {
				t.Fatalf("deleting %s: %d %s", scope, code, body)
			}
			if code, body := f.do(t, http.MethodPut, "publisher", tt.path, json.RawMessage(tt.body)); code != http.StatusCreated && code != http.StatusOK {
				t.Fatalf("recreating %s: %d %s", scope, code, body)
			}
			if code, body := f.do(t, http.MethodGet, token, tt.path, nil); code != http.StatusForbidden {
				t.Errorf("the old reader reading the new %s: %d %s, want 403", scope, code, body)
			}
		})
	}
}
