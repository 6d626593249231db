package armapi

import (
	"encoding/json"
	"net/http/httptest"
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
