package armapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

func TestSharingRoutes(t *testing.T) {
	const loc = "/subscriptions/s/providers/Microsoft.Compute/locations/eastus"
	for _, tt := range []struct {
		path, method, action string
		scope                string
	}{
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/share", http.MethodPost,
			"Microsoft.Compute/galleries/share/action", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"},
		{loc + "/sharedGalleries", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/read", loc},
		{loc + "/SHAREDGALLERIES/u", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/read", loc + "/SHAREDGALLERIES/u"},
		{loc + "/sharedGalleries/u/images", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/images/read", loc + "/sharedGalleries/u"},
		{loc + "/sharedGalleries/u/images/i", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/images/read", loc + "/sharedGalleries/u/images/i"},
		{loc + "/sharedGalleries/u/images/i/versions", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/images/versions/read", loc + "/sharedGalleries/u/images/i"},
		{loc + "/sharedGalleries/u/images/i/versions/1.0.0", http.MethodGet, "Microsoft.Compute/locations/sharedGalleries/images/versions/read", loc + "/sharedGalleries/u/images/i/versions/1.0.0"},
		{loc + "/communityGalleries/p", http.MethodGet, "Microsoft.Compute/locations/communityGalleries/read", loc + "/communityGalleries/p"},
		{loc + "/communityGalleries/p/images", http.MethodGet, "Microsoft.Compute/locations/communityGalleries/images/read", loc + "/communityGalleries/p"},
		{loc + "/communityGalleries/p/images/i/versions/1.0.0", http.MethodGet, "Microsoft.Compute/locations/communityGalleries/images/versions/read", loc + "/communityGalleries/p/images/i/versions/1.0.0"},
		{loc + "/sharedGallerySubscriptions/p/sharedGalleries/g/accept", http.MethodPost,
			"Microsoft.Compute/locations/sharedGallerySubscriptions/sharedGalleries/accept/action", loc + "/sharedGallerySubscriptions/p/sharedGalleries/g"},
		{loc + "/sharedGallerySubscriptions/p/sharedGalleries/g/reject", http.MethodPost,
			"Microsoft.Compute/locations/sharedGallerySubscriptions/sharedGalleries/reject/action", loc + "/sharedGallerySubscriptions/p/sharedGalleries/g"},
	} {
		id, collection, err := parsePath(tt.path)
		if err != nil {
			t.Fatalf("parsePath(%q): %v", tt.path, err)
		}
		rt, ok := routes[routeKey{strings.ToLower(id.ResourceType.String()), collection}]
		if !ok {
			t.Errorf("%s: no route for %s collection=%v", tt.path, id.ResourceType, collection)
			continue
		}
		ep, ok := rt.methods[tt.method]
		if !ok || ep.action != tt.action || ep.selfAuthorized {
			t.Errorf("%s %s: endpoint %+v, want action %s authorized by the dispatcher", tt.method, tt.path, ep, tt.action)
		}
		if got := scopeOf(tt.path, collection); got != tt.scope {
			t.Errorf("scopeOf(%s) = %s, want %s", tt.path, got, tt.scope)
		}
	}
	for _, v := range []string{"2020-09-30", "2022-01-03", "2025-03-03"} {
		if _, err := sharedGalleryAPI.check(v, "eastus"); err != nil {
			t.Errorf("shared galleries at %s: %v", v, err)
		}
	}
	if _, err := communityGalleryAPI.check("2020-09-30", "eastus"); err == nil {
		t.Error("community galleries answer an api-version older than 2021-07-01")
	}
	if _, err := sharedGalleryInviteAPI.check("2025-12-03", "eastus"); err != nil {
		t.Errorf("accept and reject at Azure's 2025-12-03: %v", err)
	}
}

func TestSharedToTenant(t *testing.T) {
	for _, tt := range []struct {
		query  string
		tenant bool
		code   string
	}{
		{"", false, ""}, {"sharedTo=tenant", true, ""}, {"sharedTo=Tenant", true, ""},
		{"sharedTo=subscription", false, ""}, {"sharedTo=everyone", false, galleon.CodeInvalidParameter},
	} {
		r := &request{Request: httptest.NewRequest(http.MethodGet, "/x?"+tt.query, nil)}
		got, err := sharedToTenant(r)
		if got != tt.tenant || galleon.ErrorCode(err) != tt.code {
			t.Errorf("sharedToTenant(%q) = %v, %v; want %v, %q", tt.query, got, err, tt.tenant, tt.code)
		}
	}
}

func TestViewJSON(t *testing.T) {
	tr, f := true, false
	size := int32(30)
	published := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := &galleon.ImageVersion{ID: galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{Image: "img"}, Version: "1.0.0"},
		Properties: galleon.ImageVersionProperties{
			PublishingProfile: &galleon.PublishingProfile{PublishedDate: &published, ExcludeFromLatest: &f,
				TargetRegions: []galleon.TargetRegion{{Name: "eastus"}, {Name: "westus2", ExcludeFromLatest: &tr}}},
			StorageProfile: galleon.VersionStorageProfile{OSDiskImage: &galleon.DiskImage{SizeInGB: &size, HostCaching: "ReadOnly", SHA256: "abc"},
				DataDiskImages: []galleon.DataDiskImage{{Lun: 0}}},
		}}
	decode := func(x any) map[string]any {
		data, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	got := decode(sharedView.versionJSON("SUB-GAL", v, "eastus"))
	if got["name"] != "1.0.0" || got["location"] != "eastus" || got["type"] != nil ||
		got["identifier"].(map[string]any)["uniqueId"] != "/SharedGalleries/SUB-GAL/Images/img/Versions/1.0.0" {
		t.Errorf("shared version: %v", got)
	}
	props := got["properties"].(map[string]any)
	sp := props["storageProfile"].(map[string]any)
	if props["excludeFromLatest"] != false || props["publishedDate"] != "2026-01-02T03:04:05Z" ||
		sp["osDiskImage"].(map[string]any)["diskSizeGB"] != 30.0 || sp["osDiskImage"].(map[string]any)["galleonSha256"] != nil ||
		sp["dataDiskImages"].([]any)[0].(map[string]any)["lun"] != 0.0 {
		t.Errorf("shared version properties: %v", props)
	}
	if got := decode(sharedView.versionJSON("SUB-GAL", v, "westus2")); got["properties"].(map[string]any)["excludeFromLatest"] != true {
		t.Errorf("a version excluded from latest in westus2 shows %v there", got["properties"])
	}
	c := decode(communityView.versionJSON("Contoso-1", v, "eastus"))
	if c["type"] != "Microsoft.Compute/locations/communityGalleryImageVersion" ||
		c["identifier"].(map[string]any)["uniqueId"] != "/CommunityGalleries/Contoso-1/Images/img/Versions/1.0.0" {
		t.Errorf("community version: %v", c)
	}
}
