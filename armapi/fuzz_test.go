package armapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/galleon-project/galleon"
)

// FuzzParsePath checks that no path makes the router panic and that every
// parsed path yields a subscription-rooted id.
func FuzzParsePath(f *testing.F) {
	for _, seed := range []string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i",
		"/subscriptions/s/providers/Microsoft.Compute/galleries",
		"/subscriptions/s/resourcegroups",
		"//subscriptions//s",
		"/subscriptions/s/providers/Microsoft.Compute/locations/eastus/capsOperations/x",
		"/subscriptions/%2e%2e/resourceGroups/..",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		id, collection, err := parsePath(path)
		if err != nil {
			return
		}
		_ = scopeOf("/"+strings.Trim(path, "/"), collection)
		_ = locationForMessages(id)
	})
}

// FuzzDecodeBody checks that any body is either decoded or refused with an
// ARM error, never a panic or an internal error.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{`{"location":"eastus","properties":{"osType":"Linux"}}`, `{`, ``, `null`, `[]`, `{"properties":{"recommended":{"vCPUs":{"min":-1}}}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v imageDefinitionJSON
		hr := httptest.NewRequest("PUT", "/x", strings.NewReader(body))
		err := decodeBody(httptest.NewRecorder(), &request{Request: hr}, &v)
		if err != nil {
			if code := galleon.ErrorCode(err); code != galleon.CodeInvalidRequestContent && code != galleon.CodeRequestTooLarge {
				t.Fatalf("decodeBody(%q) = %v", body, err)
			}
			return
		}
		var patch patchBody
		if json.Unmarshal([]byte(body), &patch) == nil {
			p := v.Properties
			if err := mergeProperties(&p, patch.Properties); err != nil && galleon.ErrorCode(err) == galleon.CodeInternal {
				t.Fatalf("mergeProperties(%q) = %v", body, err)
			}
		}
	})
}

// FuzzNextLink checks that whatever path and query a list request has, its
// nextLink stays on PublicURL, has no fragment, carries exactly the query
// the request's handler read but with one $skiptoken, and hands the next
// request the page key.
func FuzzNextLink(f *testing.F) {
	for _, seed := range [][2]string{
		{"/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values", "api-version=2015-04-01&$filter=caller+eq+%27a%27"},
		{"/subscriptions/s/resourcegroups/", "api-version=2021-04-01&$skiptoken=eA&$SkipToken=eQ&$top=2"},
		{"//evil.example/x", "a=%26b%3D1%23f&bad=%zz&c=1;d=2"},
		{"/a b/?c", "sharedTo=tenant&x=\r\n"},
	} {
		f.Add(seed[0], seed[1], "key")
	}
	s := &Server{PublicURL: testPublicURL}
	f.Fuzz(func(t *testing.T, path, rawQuery, next string) {
		r := &request{Request: &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: rawQuery}}}
		link := s.nextLink(r, next)
		u, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(link, testPublicURL+"/") || u.Scheme+"://"+u.Host != testPublicURL || u.Fragment != "" {
			t.Fatalf("nextLink(%q, %q) = %q (%v): not a URL on %s without a fragment", path, rawQuery, link, err, testPublicURL)
		}
		want := r.URL.Query()
		maps.DeleteFunc(want, func(k string, _ []string) bool { return strings.EqualFold(k, "$skiptoken") })
		got := u.Query()
		if len(got["$skiptoken"]) != 1 {
			t.Fatalf("nextLink(%q, %q) = %q: $skiptoken %q, want one", path, rawQuery, link, got["$skiptoken"])
		}
		delete(got, "$skiptoken")
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("nextLink(%q, %q) = %q: query %v, want %v", path, rawQuery, link, got, want)
		}
		if p, err := s.page(&request{Request: &http.Request{URL: u}}); err != nil || p.After != next {
			t.Fatalf("page(%q) = %+v, %v; want After %q", link, p, err, next)
		}
	})
}
