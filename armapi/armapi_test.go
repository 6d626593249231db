package armapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/galleon-project/galleon"
)

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		path       string
		typ        string
		collection bool
		name       string
	}{
		{"/subscriptions/s1", "microsoft.resources/subscriptions", false, "s1"},
		{"/subscriptions/s1/resourcegroups", "microsoft.resources/resourcegroups", true, ""},
		{"/subscriptions/s1/resourceGroups/rg/", "microsoft.resources/resourcegroups", false, "rg"},
		{"/subscriptions/s1/locations", "microsoft.resources/subscriptions/locations", true, ""},
		{"/subscriptions/s1/providers/Microsoft.Compute/galleries", "microsoft.compute/galleries", true, ""},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries", "microsoft.compute/galleries", true, ""},
		{"/SUBSCRIPTIONS/s1/RESOURCEGROUPS/rg/PROVIDERS/MICROSOFT.COMPUTE/GALLERIES/g", "microsoft.compute/galleries", false, "g"},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images", "microsoft.compute/galleries/images", true, ""},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i", "microsoft.compute/galleries/images", false, "i"},
		{"/subscriptions/s1/providers/Microsoft.Compute/locations/eastus/capsOperations/op", "microsoft.compute/locations/capsoperations", false, "op"},
		{"/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a", "microsoft.authorization/roleassignments", false, "a"},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/providers/Microsoft.Authorization/roleAssignments", "microsoft.authorization/roleassignments", true, ""},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0/providers/Microsoft.Authorization/roleAssignments/a", "microsoft.authorization/roleassignments", false, "a"},
		{"/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions", "microsoft.authorization/roledefinitions", true, ""},
		{"/subscriptions/s1/providers/Microsoft.Insights/eventtypes/management/values", "microsoft.insights/eventtypes/values", true, ""},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/d", "microsoft.authorization/roledefinitions", false, "d"},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0/beginGetAccess", "microsoft.compute/galleries/images/versions/begingetaccess", true, ""},
	} {
		id, collection, err := parsePath(tt.path)
		if err != nil {
			t.Errorf("parsePath(%q): %v", tt.path, err)
			continue
		}
		if got := strings.ToLower(id.ResourceType.String()); got != tt.typ || collection != tt.collection || id.Name != tt.name {
			t.Errorf("parsePath(%q) = %s collection=%v name=%q; want %s %v %q", tt.path, got, collection, id.Name, tt.typ, tt.collection, tt.name)
		}
		if _, ok := routes[routeKey{strings.ToLower(id.ResourceType.String()), collection}]; !ok {
			t.Errorf("parsePath(%q): no route for %s collection=%v", tt.path, id.ResourceType, collection)
		}
	}
	if _, _, err := parsePath("/nonsense"); err == nil {
		t.Error("parsePath(/nonsense) should fail")
	}
}

func TestScopeOf(t *testing.T) {
	for _, tt := range []struct {
		path       string
		collection bool
		want       string
	}{
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g", false, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries", true, "/subscriptions/s/resourceGroups/rg"},
		{"/subscriptions/s/providers/Microsoft.Compute/galleries", true, "/subscriptions/s"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images", true, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"},
		{"/subscriptions/s/resourcegroups", true, "/subscriptions/s"},
	} {
		if got := scopeOf(tt.path, tt.collection); got != tt.want {
			t.Errorf("scopeOf(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestAPIVersions_Check(t *testing.T) {
	for _, tt := range []struct {
		api  apiVersions
		in   string
		code string
	}{
		{galleryAPI, "2025-03-03", ""},
		{galleryAPI, "2018-06-01", ""},
		{galleryAPI, "2021-10-01", ""},
		{galleryAPI, "", galleon.CodeMissingAPIVersion},
		{galleryAPI, "2099-01-01", galleon.CodeNoRegisteredProvider},
		{galleryAPI, "latest", galleon.CodeInvalidAPIVersion},
		{resourceGroupAPI, "2021-04-01", ""},
		{resourceGroupAPI, "2099-01-01", galleon.CodeInvalidAPIVersion},
		{operationAPI, "2021-04-01", ""},
		{operationAPI, "2025-03-03", ""},
	} {
		got, err := tt.api.check(tt.in, "eastus")
		if galleon.ErrorCode(err) != tt.code || (err == nil && got != tt.in) {
			t.Errorf("%s.check(%q) = %q, %v; want code %q", tt.api.resourceType, tt.in, got, err, tt.code)
		}
	}
	_, err := galleryAPI.check("2099-01-01", "eastus")
	if !strings.Contains(err.Error(), "2025-03-03") || !strings.Contains(err.Error(), "No registered resource provider found for location 'eastus'") {
		t.Errorf("message should name the location and the supported versions: %v", err)
	}
}

func TestMergeProperties(t *testing.T) {
	props := galleon.ImageDefinitionProperties{
		Description: "old", OSType: "Linux",
		Identifier:  galleon.ImageIdentifier{Publisher: "p", Offer: "o", SKU: "s"},
		Recommended: &galleon.Recommended{VCPUs: &galleon.ResourceRange{}},
	}
	patch := `{"description":"new","recommended":{"memory":{"min":1,"max":4}},"identifier":{"sku":"t"},"releaseNoteUri":null}`
	if err := mergeProperties(&props, json.RawMessage(patch)); err != nil {
		t.Fatal(err)
	}
	if props.Description != "new" || props.OSType != "Linux" || props.Identifier.SKU != "t" || props.Identifier.Offer != "o" ||
		props.Recommended.Memory == nil || *props.Recommended.Memory.Max != 4 || props.Recommended.VCPUs == nil {
		t.Errorf("merged = %+v", props)
	}
	if err := mergeProperties(&props, json.RawMessage(`{"osType":7}`)); galleon.ErrorCode(err) != galleon.CodeInvalidRequestContent {
		t.Errorf("a wrongly typed property: %v, want InvalidRequestContent", err)
	}
	if err := mergeProperties(&props, json.RawMessage(`[1]`)); galleon.ErrorCode(err) != galleon.CodeInvalidRequestContent {
		t.Errorf("properties that are not an object: %v, want InvalidRequestContent", err)
	}
}

func TestDecodeBody(t *testing.T) {
	for _, tt := range []struct {
		name, body, code string
	}{
		{"OK", `{"location":"eastus"}`, ""},
		{"ErrEmpty", ``, galleon.CodeInvalidRequestContent},
		{"ErrMalformed", `{"location":`, galleon.CodeInvalidRequestContent},
		{"ErrSyntax", `{location:1}`, galleon.CodeInvalidRequestContent},
		{"ErrType", `{"location":5}`, galleon.CodeInvalidRequestContent},
		{"ErrTrailing", `{"location":"eastus"} {}`, galleon.CodeInvalidRequestContent},
		{"ErrInvalidUTF8", "{\"location\":\"east\xffus\"}", galleon.CodeInvalidRequestContent},
		{"ErrTooLarge", `{"location":"` + strings.Repeat("x", maxBodyBytes) + `"}`, galleon.CodeRequestTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hr := httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(tt.body))
			var v struct {
				Location string `json:"location"`
			}
			err := decodeBody(httptest.NewRecorder(), &request{Request: hr}, &v)
			if galleon.ErrorCode(err) != tt.code {
				t.Fatalf("decodeBody = %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestStatusByCode_CoversEveryCode(t *testing.T) {
	// Every code the domain defines must have a status, or it would be
	// answered as a 500.
	for _, code := range []string{
		galleon.CodeInvalidParameter, galleon.CodeInvalidRequestContent, galleon.CodeLocationNotAvailable,
		galleon.CodeMissingAPIVersion, galleon.CodeInvalidAPIVersion, galleon.CodeNoRegisteredProvider,
		galleon.CodeInvalidResourceType, galleon.CodePropertyChangeNotAllowed, galleon.CodeResourceNotFound,
		galleon.CodeResourceGroupNotFound, galleon.CodeParentResourceNotFound, galleon.CodeSubscriptionNotFound,
		galleon.CodeOperationNotFound, galleon.CodeConflict, galleon.CodeCannotDeleteResource,
		galleon.CodeResourceGroupBeingDeleted, galleon.CodeInvalidResourceGroupLocation, galleon.CodeAuthenticationFailed,
		galleon.CodeAuthenticationMissing, galleon.CodeAuthorizationFailed, galleon.CodeLinkedAuthorizationFailed, galleon.CodeRequestTooLarge,
		galleon.CodeMethodNotAllowed, galleon.CodeInternal, galleon.CodeLeaseLost, galleon.CodeOperationNotAllowed, galleon.CodeInvalidResourceName,
		galleon.CodeTooManyTags, galleon.CodeInvalidTagName, galleon.CodeInvalidTagNameLength, galleon.CodeInvalidTagNameCharacters,
		galleon.CodeInvalidTagValueLength, galleon.CodeInvalidFilter, galleon.CodeInvalidRoleDefinitionID, galleon.CodePrincipalNotFound,
		galleon.CodeRoleAssignmentExists, galleon.CodeRoleAssignmentNotFound, galleon.CodeRoleDefinitionExists,
		galleon.CodeRoleDefinitionHasAssignments, galleon.CodeRoleDefinitionIDExists, galleon.CodeRoleDefinitionNotFound,
	} {
		if _, ok := statusByCode[code]; !ok {
			t.Errorf("no HTTP status for %s", code)
		}
	}
}

func TestWriteError_Unauthorized(t *testing.T) {
	s := &Server{AuthorityURL: "https://h/adfs"}
	w := httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest("GET", "/", nil), galleon.Errorf(galleon.CodeAuthenticationFailed, "bad"))
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Bearer authorization_uri="https://h/adfs"`) ||
		strings.Contains(w.Header().Get("WWW-Authenticate"), "insufficient_claims") {
		t.Errorf("got %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != galleon.CodeAuthenticationFailed {
		t.Errorf("body %s: %v", w.Body.String(), err)
	}
}

func TestParentScope(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a", "/subscriptions/s1"},
		{"/SUBSCRIPTIONS/s1/RESOURCEGROUPS/Rg/providers/Microsoft.Authorization/roleAssignments/a", "/subscriptions/s1/resourceGroups/Rg"},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/providers/Microsoft.Authorization/roleAssignments", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"},
	} {
		id, _, err := parsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := parentScope(id); got != tt.want {
			t.Errorf("parentScope(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestParseRoleAssignmentFilter(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want roleAssignmentFilter
		err  bool
	}{
		{"", roleAssignmentFilter{}, false},
		{"atScope()", roleAssignmentFilter{atScope: true}, false},
		{"principalId eq 'ABC'", roleAssignmentFilter{principalID: "abc"}, false},
		{"atScope() and assignedTo('x')", roleAssignmentFilter{atScope: true, assignedTo: "x"}, false},
		{"roleName eq 'Reader'", roleAssignmentFilter{}, true},
		{"principalId eq 'a' or 1 eq 1", roleAssignmentFilter{}, true},
	} {
		got, err := parseRoleAssignmentFilter(tt.in)
		if (err != nil) != tt.err || !tt.err && got != tt.want {
			t.Errorf("parseRoleAssignmentFilter(%q) = %+v, %v", tt.in, got, err)
		}
		if tt.err && galleon.ErrorCode(err) != galleon.CodeInvalidParameter {
			t.Errorf("parseRoleAssignmentFilter(%q): %v, want InvalidParameter", tt.in, err)
		}
	}
}

func TestVisibleItems(t *testing.T) {
	items := []galleryJSON{{ID: "/a"}, {ID: "/b"}, {ID: "/c"}}
	got := visibleItems(items, func(id string) bool { return id != "/b" }).([]galleryJSON)
	if len(got) != 2 || got[0].ID != "/a" || got[1].ID != "/c" {
		t.Errorf("visibleItems() = %+v", got)
	}
}
