package armapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// deletedBytes stands in for the data plane so a test can see whose
// version bytes were deleted; every other DiskData method is the nil
// interface's and panics if called.
type deletedBytes struct {
	galleon.DiskData
	mu       sync.Mutex
	versions []string
}

func (d *deletedBytes) DeleteVersionContent(_ context.Context, v *galleon.ImageVersion) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.versions = append(d.versions, v.ID.Version+"@"+v.ID.Image+"@"+v.ID.Name)
	return nil
}

func (d *deletedBytes) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.versions)
}

// TestServer_SoftDelete drives soft delete through the real handler and a
// real SQLite store, step by step: a gallery with the policy on keeps a
// deleted version (and its bytes), lists it in Azure's shape, never
// resolves "latest" to it, restores it by PATCH or PUT (restore, or the
// documented PUT with only a location), deletes it for good on request,
// and holds its definition until it is purged; RBAC for each.
func TestServer_SoftDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, f := mustOpenTestStore(t)
	principals := map[string]galleon.Principal{"owner": f.Bootstrap.ServicePrincipal}
	data := &deletedBytes{}
	now := time.Now().UTC()
	newServer := func(clock func() time.Time) http.Handler {
		s := newTestServer(db, principals)
		s.DiskData, s.Now = data, clock
		return s.Handler()
	}
	handler := newServer(nil)
	// A server whose clock is past the retention sees nothing restorable.
	later := newServer(func() time.Time { return now.Add(DefaultSoftDeleteRetention + time.Hour) })

	rg := "/subscriptions/" + f.Sub + "/resourceGroups/rg"
	gal := rg + "/providers/Microsoft.Compute/galleries/soft"
	plain := rg + "/providers/Microsoft.Compute/galleries/plain"
	img := gal + "/images/img"
	softList := gal + "/softDeletedArtifactTypes/Images/artifacts/img/versions"
	f.MustPutResourceGroup(t, "rg")
	f.MustPutResourceGroup(t, "other")
	f.MustPutSoftDeleteGallery(t, "rg", "soft")
	f.MustPutGallery(t, "rg", "plain")
	for _, d := range []struct{ gallery, image string }{{"soft", "img"}, {"soft", "only"}, {"plain", "img"}} {
		f.MustPutImage(t, "rg", d.gallery, d.image)
	}
	for _, v := range []galleon.ImageVersionID{f.Version("rg", "soft", "img", "1.0.0"), f.Version("rg", "soft", "img", "2.0.0"),
		f.Version("rg", "soft", "only", "1.0.0"), f.Version("rg", "plain", "img", "1.0.0")} {
		if _, _, err := db.PutImageVersion(ctx, v, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
			return &galleon.ImageVersion{ID: v, Location: "eastus", Properties: galleon.ImageVersionProperties{
				PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}}},
				StorageProfile:    galleon.VersionStorageProfile{Source: &galleon.VersionSource{ID: "/snap"}},
				ProvisioningState: galleon.ProvisioningSucceeded}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	assign := func(token, role, scope string) {
		p := galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
			UserPrincipalName: token + "@example.test", DisplayName: token}
		principals[token] = p
		if _, err := db.CreateRoleAssignment(ctx, &galleon.RoleAssignment{Name: uuid.NewString(), Scope: scope,
			RoleDefinitionID: galleon.RoleDefinitionID(f.Sub, role), PrincipalID: p.ObjectID, PrincipalType: galleon.PrincipalUser,
			CreatedOn: now, CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	assign("reader", galleon.RoleReader, gal)
	assign("defwriter", galleon.RoleContributor, img)
	assign("outsider", galleon.RoleContributor, "/subscriptions/"+f.Sub+"/resourceGroups/other")

	type step struct {
		name, token, method, path, body string
		h                               http.Handler // handler when not the default
		status                          int
		code                            string // the error code, for failures
		check                           func(t *testing.T, body map[string]any)
	}
	listNames := func(want ...string) func(t *testing.T, body map[string]any) {
		return func(t *testing.T, body map[string]any) {
			t.Helper()
			var got []string
			items, _ := body["value"].([]any)
			for _, it := range items {
				got = append(got, it.(map[string]any)["name"].(string))
			}
			if !slices.Equal(got, want) {
				t.Errorf("names %v, want %v", got, want)
			}
		}
	}
	bytesDeleted := func(want ...string) func(t *testing.T, _ map[string]any) {
		return func(t *testing.T, _ map[string]any) {
			t.Helper()
			if got := data.list(); !slices.Equal(got, want) {
				t.Errorf("version bytes deleted %v, want %v", got, want)
			}
		}
	}
	latest := func(want string) func(t *testing.T, _ map[string]any) {
		return func(t *testing.T, _ map[string]any) {
			t.Helper()
			s := &Server{Store: db}
			v, err := s.latestVersion(&request{Request: httptest.NewRequest(http.MethodGet, "/", nil)}, f.Image("rg", "soft", "img"), "eastus")
			if got := ""; err == nil {
				got = v.ID.Version
				if got != want {
					t.Errorf("latest = %s, want %s", got, want)
				}
			} else if want != "" {
				t.Errorf("latest: %v, want %s", err, want)
			}
		}
	}
	restoreBody := `{"location":"eastus","properties":{"restore":true,"storageProfile":{}}}`
	for _, s := range []step{
		{name: "GalleryAnswersItsPolicy", token: "owner", method: "GET", path: gal, status: 200, check: func(t *testing.T, b map[string]any) {
			p := b["properties"].(map[string]any)["softDeletePolicy"].(map[string]any)
			if p["isSoftDeleteEnabled"] != true {
				t.Errorf("softDeletePolicy = %v", p)
			}
		}},
		{name: "DeleteKeeps", token: "owner", method: "DELETE", path: img + "/versions/2.0.0", status: 200, check: bytesDeleted()},
		{name: "GetIsGone", token: "owner", method: "GET", path: img + "/versions/2.0.0", status: 404, code: galleon.CodeResourceNotFound},
		{name: "ListOmits", token: "owner", method: "GET", path: img + "/versions", status: 200, check: listNames("1.0.0")},
		{name: "LatestSkips", token: "owner", method: "GET", path: img, status: 200, check: latest("1.0.0")},
		{name: "ListSoftDeleted", token: "owner", method: "GET", path: softList, status: 200, check: func(t *testing.T, b map[string]any) {
			items := b["value"].([]any)
			if len(items) != 1 {
				t.Fatalf("value = %v", items)
			}
			it := items[0].(map[string]any)
			props := it["properties"].(map[string]any)
			if it["id"] != gal+"/softDeletedArtifactTypes/Images/artifacts/img/versions/2.0.0" || it["name"] != "2.0.0" ||
				it["type"] != "Microsoft.Compute/galleries/softDeletedArtifactTypes/artifacts/versions" || it["location"] != "eastus" ||
				props["resourceArmId"] != img+"/versions/2.0.0" || props["softDeletedArtifactType"] != "Images" {
				t.Errorf("item = %v", it)
			}
			at, err := time.Parse(time.RFC3339, fmt.Sprint(props["softDeletedTime"]))
			if err != nil || at.Before(now.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
				t.Errorf("softDeletedTime = %v (%v)", props["softDeletedTime"], err)
			}
		}},
		{name: "ListSoftDeletedCaseInsensitive", token: "owner", method: "GET", path: strings.ToLower(softList), status: 200, check: listNames("2.0.0")},
		{name: "ListSoftDeletedExpired", token: "owner", method: "GET", path: softList, h: later, status: 200, check: listNames()},
		{name: "ListSoftDeletedReaderOfGallery", token: "reader", method: "GET", path: softList, status: 200, check: listNames("2.0.0")},
		{name: "ErrListSoftDeletedBelowGallery", token: "defwriter", method: "GET", path: softList, status: 403, code: galleon.CodeAuthorizationFailed},
		{name: "ErrListSoftDeletedOutsider", token: "outsider", method: "GET", path: softList, status: 403, code: galleon.CodeAuthorizationFailed},
		{name: "ErrArtifactType", token: "owner", method: "GET", path: gal + "/softDeletedArtifactTypes/Applications/artifacts/img/versions", status: 400, code: galleon.CodeInvalidParameter},
		{name: "ErrListMissingDefinition", token: "owner", method: "GET", path: gal + "/softDeletedArtifactTypes/Images/artifacts/nope/versions", status: 404, code: galleon.CodeParentResourceNotFound},
		{name: "ErrRestoreReader", token: "reader", method: "PATCH", path: img + "/versions/2.0.0", body: restoreBody, status: 403, code: galleon.CodeAuthorizationFailed},
		{name: "ErrRestoreNothing", token: "owner", method: "PUT", path: img + "/versions/9.9.9", body: restoreBody, status: 404, code: galleon.CodeResourceNotFound},
		{name: "RestoreByPatchAsAzureSends", token: "owner", method: "PATCH", path: img + "/versions/2.0.0", body: restoreBody, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["name"] != "2.0.0" {
				t.Errorf("restored %v", b)
			}
		}},
		{name: "DeleteAgain", token: "owner", method: "DELETE", path: img + "/versions/2.0.0", status: 200},
		{name: "RestoreByPatch", token: "defwriter", method: "PATCH", path: img + "/versions/2.0.0", body: `{"properties":{"restore":true}}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				p := b["properties"].(map[string]any)
				if b["name"] != "2.0.0" || p["provisioningState"] != galleon.ProvisioningSucceeded || p["restore"] != nil {
					t.Errorf("restored = %v", b)
				}
			}},
		{name: "RestoredIsBack", token: "owner", method: "GET", path: img + "/versions", status: 200, check: listNames("1.0.0", "2.0.0")},
		{name: "LatestIsRestored", token: "owner", method: "GET", path: img, status: 200, check: latest("2.0.0")},
		{name: "NoneLeft", token: "owner", method: "GET", path: softList, status: 200, check: listNames()},
		{name: "DeleteForRecovery", token: "owner", method: "DELETE", path: img + "/versions/2.0.0", status: 200},
		{name: "RestoreByPutWithLocation", token: "owner", method: "PUT", path: img + "/versions/2.0.0", body: `{"location":"eastus"}`, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["name"] != "2.0.0" {
				t.Errorf("restored = %v", b)
			}
		}},
		{name: "RestoreOfLiveIsUpdate", token: "owner", method: "PATCH", path: img + "/versions/2.0.0", body: `{"tags":{"k":"v"},"properties":{"restore":true}}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["tags"].(map[string]any)["k"] != "v" || b["properties"].(map[string]any)["restore"] != nil {
					t.Errorf("updated = %v", b)
				}
			}},
		{name: "DeleteForPurge", token: "owner", method: "DELETE", path: img + "/versions/1.0.0", status: 200},
		{name: "ErrPurgeReader", token: "reader", method: "DELETE", path: softList + "/1.0.0", status: 403, code: galleon.CodeAuthorizationFailed},
		{name: "ErrPurgeBelowGallery", token: "defwriter", method: "DELETE", path: softList + "/1.0.0", status: 403, code: galleon.CodeAuthorizationFailed},
		{name: "Purge", token: "owner", method: "DELETE", path: softList + "/1.0.0", status: 200, check: bytesDeleted("1.0.0@img@soft")},
		{name: "PurgeAgain", token: "owner", method: "DELETE", path: softList + "/1.0.0", status: 204},
		{name: "ErrRestorePurged", token: "owner", method: "PATCH", path: img + "/versions/1.0.0", body: restoreBody, status: 404, code: galleon.CodeResourceNotFound},
		{name: "DeleteOnly", token: "owner", method: "DELETE", path: gal + "/images/only/versions/1.0.0", status: 200},
		{name: "ErrDefinitionHoldsSoftDeleted", token: "owner", method: "DELETE", path: gal + "/images/only", status: 409, code: galleon.CodeCannotDeleteResource,
			check: func(t *testing.T, b map[string]any) {
				if msg := fmt.Sprint(b["error"].(map[string]any)["message"]); !strings.Contains(msg, "soft-deleted") {
					t.Errorf("message %q does not say why", msg)
				}
			}},
		{name: "ErrGalleryHoldsDefinitions", token: "owner", method: "DELETE", path: gal, status: 409, code: galleon.CodeCannotDeleteResource},
		{name: "PolicyOff", token: "owner", method: "PATCH", path: gal, body: `{"properties":{"softDeletePolicy":{"isSoftDeleteEnabled":false}}}`, status: 200},
		{name: "DefinitionDeletePurges", token: "owner", method: "DELETE", path: gal + "/images/only", status: 200, check: bytesDeleted("1.0.0@img@soft", "1.0.0@only@soft")},
		{name: "PolicyOffDeletesAtOnce", token: "owner", method: "DELETE", path: img + "/versions/2.0.0", status: 200,
			check: bytesDeleted("1.0.0@img@soft", "1.0.0@only@soft", "2.0.0@img@soft")},
		{name: "PlainGalleryDeletesAtOnce", token: "owner", method: "DELETE", path: plain + "/images/img/versions/1.0.0", status: 200,
			check: bytesDeleted("1.0.0@img@soft", "1.0.0@only@soft", "2.0.0@img@soft", "1.0.0@img@plain")},
		{name: "PlainGalleryKeepsNothing", token: "owner", method: "GET", path: plain + "/softDeletedArtifactTypes/Images/artifacts/img/versions", status: 200, check: listNames()},
	} {
		// The steps build on each other, so they run in order and the
		// first failure stops the rest.
		ok := t.Run(s.name, func(t *testing.T) {
			h := s.h
			if h == nil {
				h = handler
			}
			var body io.Reader
			if s.body != "" {
				body = strings.NewReader(s.body)
			}
			req := httptest.NewRequest(s.method, s.path+"?api-version=2025-03-03", body)
			req.Header.Set("Authorization", "Bearer "+s.token)
			if s.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var got map[string]any
			if rec.Body.Len() > 0 {
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("body %q: %v", rec.Body.String(), err)
				}
			}
			if rec.Code != s.status {
				t.Fatalf("%s %s: status %d, want %d: %s", s.method, s.path, rec.Code, s.status, rec.Body.String())
			}
			if s.code != "" {
				if e, _ := got["error"].(map[string]any); e == nil || e["code"] != s.code {
					t.Errorf("error %v, want code %s", got, s.code)
				}
			}
			if s.check != nil {
				s.check(t, got)
			}
		})
		if !ok {
			break
		}
	}
}
