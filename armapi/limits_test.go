package armapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/galleon-project/galleon"
)

// tagsJSON is a tags object with n tags.
func tagsJSON(n int) string {
	tags := map[string]string{}
	for i := range n {
		tags[fmt.Sprintf("tag%02d", i)] = "v"
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// TestServer_TagLimits sends tags over Azure's limits in the PUT or PATCH
// of every resource type that has tags, and the most the limits allow.
func TestServer_TagLimits(t *testing.T) {
	f := newListFixture(t)
	rg := "/subscriptions/" + f.Sub + "/resourceGroups/rg"
	compute := rg + "/providers/Microsoft.Compute/"
	gallery := "?api-version=" + galleryVersions[len(galleryVersions)-1]
	disk := "?api-version=" + diskVersions[len(diskVersions)-1]
	targets := []struct {
		method, path, body string // body holds %s for the tags
	}{
		{"PUT", rg + "?api-version=2021-04-01", `{"location":"eastus","tags":%s}`},
		{"PATCH", rg + "?api-version=2021-04-01", `{"tags":%s}`},
		{"PUT", compute + "galleries/gal1" + gallery, `{"location":"eastus","tags":%s}`},
		{"PATCH", compute + "galleries/gal1" + gallery, `{"tags":%s}`},
		{"PUT", compute + "galleries/gal1/images/img1" + gallery, `{"location":"eastus","tags":%s,"properties":{"osType":"Linux","osState":"Generalized","identifier":{"publisher":"pub","offer":"offer","sku":"sku1"}}}`},
		{"PATCH", compute + "galleries/gal1/images/img1" + gallery, `{"tags":%s}`},
		{"PATCH", compute + "galleries/gal1/images/img1/versions/1.0.1" + gallery, `{"tags":%s}`},
		{"PATCH", compute + "disks/disk1" + disk, `{"tags":%s}`},
		{"PATCH", compute + "snapshots/snap1" + disk, `{"tags":%s}`},
		{"PATCH", compute + "images/image1?api-version=" + computeVersions[len(computeVersions)-1], `{"tags":%s}`},
	}
	for _, tt := range []struct {
		name, tags, code string
	}{
		{"ErrTooManyTags", tagsJSON(galleon.MaxTags + 1), galleon.CodeTooManyTags},
		{"ErrNameTooLong", `{"` + strings.Repeat("k", galleon.MaxTagNameLength+1) + `":"v"}`, galleon.CodeInvalidTagNameLength},
		{"ErrValueTooLong", `{"k":"` + strings.Repeat("v", galleon.MaxTagValueLength+1) + `"}`, galleon.CodeInvalidTagValueLength},
		{"OKAtTheLimits", tagsJSON(galleon.MaxTags), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range targets {
				req := httptest.NewRequest(target.method, target.path, strings.NewReader(fmt.Sprintf(target.body, tt.tags)))
				req.Header.Set("Authorization", "Bearer publisher")
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				f.handler.ServeHTTP(w, req)
				var body errorBody
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if tt.code == "" {
					if w.Code >= 300 {
						t.Errorf("%s %s: %d %s", target.method, target.path, w.Code, w.Body)
					}
					continue
				}
				if w.Code != http.StatusBadRequest || body.Error.Code != tt.code || body.Error.Target != "tags" {
					t.Errorf("%s %s: %d %s, want 400 %s", target.method, target.path, w.Code, w.Body, tt.code)
				}
			}
		})
	}
}
