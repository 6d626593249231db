package armapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

func TestParseResourceFilter(t *testing.T) {
	gallery, versions := galleon.TypeGallery, galleon.TypeImageVersion
	for _, tt := range []struct {
		name    string
		filter  string
		want    galleon.ResourceFilter
		none    bool
		wantErr string // part of the message of an InvalidFilterInQueryString
	}{
		{name: "Empty", filter: "  "},
		// What az resource list sends: -g, --resource-type, --name, --location.
		{name: "AzGroupAndType", filter: "resourceGroup eq 'myRG' and resourceType eq 'Microsoft.Compute/galleries'",
			want: galleon.ResourceFilter{ResourceGroup: "myRG", Types: []string{gallery}}},
		{name: "AzEverything", filter: "resourceGroup eq 'rg' and name eq 'g' and location eq 'eastus' and resourceType eq 'microsoft.compute/GALLERIES'",
			want: galleon.ResourceFilter{ResourceGroup: "rg", Name: "g", Location: "eastus", Types: []string{gallery}}},
		{name: "CaseOfProperties", filter: "RESOURCETYPE EQ 'Microsoft.Compute/galleries/images/versions' AND Name eq 'g/i/1.0.0'",
			want: galleon.ResourceFilter{Types: []string{versions}, Name: "g/i/1.0.0"}},
		{name: "LocationDisplayName", filter: "location eq 'East US'", want: galleon.ResourceFilter{Location: "EastUS"}},
		{name: "Substringof", filter: "substringof('demo', name)", want: galleon.ResourceFilter{NameContains: []string{"demo"}}},
		{name: "SubstringofTwiceAndType", filter: "substringof( 'a' ,name ) and substringof('b', resourceGroup) and resourceType eq 'Microsoft.Compute/galleries'",
			want: galleon.ResourceFilter{NameContains: []string{"a"}, ResourceGroupContains: []string{"b"}, Types: []string{gallery}}},
		{name: "QuotesAndKeywordsInValues", filter: "name eq 'it''s and or eq' and substringof(''')', name)",
			want: galleon.ResourceFilter{Name: "it's and or eq", NameContains: []string{"')"}}},
		{name: "UnknownTypeMatchesNothing", filter: "resourceType eq 'Microsoft.Network/virtualNetworks'",
			want: galleon.ResourceFilter{Types: []string{"Microsoft.Network/virtualNetworks"}}, none: true},
		{name: "TwoTypesMatchNothing", filter: "resourceType eq 'Microsoft.Compute/disks' and resourceType eq 'Microsoft.Compute/snapshots'",
			want: galleon.ResourceFilter{Types: []string{galleon.TypeSnapshot}}, none: true},
		{name: "TwoNamesMatchNothing", filter: "name eq 'a' and name eq 'b'", want: galleon.ResourceFilter{Name: "b"}, none: true},
		{name: "SameNameTwice", filter: "name eq 'a' and name eq 'A'", want: galleon.ResourceFilter{Name: "A"}},

		{name: "ErrTag", filter: "tagname eq 'env' and tagvalue eq 'prod'", wantErr: "filtering by tag is not supported"},
		{name: "ErrNe", filter: "name ne 'x'", wantErr: "the operator 'ne' is not supported"},
		{name: "ErrOr", filter: "name eq 'a' or name eq 'b'", wantErr: "'or' is not supported"},
		{name: "ErrMissingAnd", filter: "name eq 'a' name eq 'b'", wantErr: "'and' is expected at position 13"},
		{name: "ErrTrailingAnd", filter: "name eq 'a' and", wantErr: "a property or substringof(…) is expected"},
		{name: "ErrUnquoted", filter: "name eq a", wantErr: "'name eq' is not followed by a quoted value"},
		{name: "ErrUnterminated", filter: "name eq 'a", wantErr: "'name eq' is not followed by a quoted value"},
		{name: "ErrProperty", filter: "plan eq 'x'", wantErr: "'plan' is not a property the list filters on"},
		{name: "ErrStartswith", filter: "startswith(name, 'a')", wantErr: "'startswith' is not followed by eq"},
		{name: "ErrSubstringofProperty", filter: "substringof('a', location)", wantErr: "substringof applies to name and resourceGroup, not to 'location'"},
		{name: "ErrSubstringofOpen", filter: "substringof('a', name", wantErr: "substringof(…) is not closed"},
		{name: "ErrSubstringofArguments", filter: "substringof(name, 'a')", wantErr: "substringof takes a quoted value and a property"},
		{name: "ErrTooManyTerms", filter: strings.Repeat("substringof('a', name) and ", 16) + "name eq 'a'", wantErr: "more than 16 terms"},
		{name: "ErrSDKPrefix", filter: "$filter=resourceType eq 'Microsoft.Compute/galleries'", wantErr: "a property or substringof(…) is expected at position 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseResourceFilter(tt.filter)
			if tt.wantErr != "" {
				var e *galleon.Error
				if !errors.As(err, &e) || e.Code != galleon.CodeInvalidFilter || e.Target != "$filter" || !strings.Contains(e.Message, tt.wantErr) ||
					!strings.HasPrefix(e.Message, "Invalid $filter '"+tt.filter+"' specified in the query string: ") {
					t.Fatalf("parseResourceFilter(%q) = %+v, %v; want InvalidFilterInQueryString saying %q", tt.filter, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got.ResourceFilter, tt.want) || got.none != tt.none {
				t.Fatalf("parseResourceFilter(%q) = %+v (none %v), %v; want %+v (none %v)", tt.filter, got.ResourceFilter, got.none, err, tt.want, tt.none)
			}
		})
	}
}

// resourceNames follows a generic resource list from target to its last
// page as the caller with token, checking that every nextLink keeps the
// query, and returns the items' names and the number of pages.
func (f *listFixture) resourceNames(t *testing.T, token, target string) ([]string, int) {
	t.Helper()
	names := []string{}
	pages := 0
	first, _ := url.Parse(target)
	for target != "" {
		if pages++; pages > 100 {
			t.Fatalf("still paging after 100 pages: %s", target)
		}
		p := f.getPage(t, token, target)
		for _, item := range p.Value {
			names = append(names, item["name"].(string))
		}
		if target = p.NextLink; target != "" {
			u, err := url.Parse(target)
			if err != nil || !strings.EqualFold(u.Path, first.Path) {
				t.Fatalf("nextLink %q (%v), want one to %s", target, err, first.Path)
			}
			q := u.Query()
			q.Del("$skiptoken")
			if want := first.Query(); !reflect.DeepEqual(q, want) {
				t.Fatalf("nextLink %q keeps the query %v, want %v", target, q, want)
			}
		}
	}
	return names, pages
}

// addPrincipal adds a caller with token, holding role at scope.
func (f *listFixture) addPrincipal(t *testing.T, token, role, scope string) galleon.Principal {
	t.Helper()
	p := galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
		UserPrincipalName: token + "@example.test", DisplayName: token}
	f.principals[token] = p
	a := &galleon.RoleAssignment{Name: uuid.NewString(), Scope: scope, RoleDefinitionID: galleon.RoleDefinitionID(f.Sub, role),
		PrincipalID: p.ObjectID, PrincipalType: galleon.PrincipalUser, CreatedOn: time.Now().UTC(), CreatedBy: "test"}
	if _, err := f.Store.CreateRoleAssignment(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServer_ListResources is the generic resource list as clients send
// it: both paths, az's filters and their combinations, $top with
// nextLinks, RBAC item by item (a Reader of one gallery sees that gallery
// and what it holds, a custom role that reads snapshots sees snapshots),
// and the refusals.
func TestServer_ListResources(t *testing.T) {
	f := newListFixture(t)
	pub := "/subscriptions/" + f.Sub
	rg := pub + "/resourceGroups/rg"
	gal1 := rg + "/providers/Microsoft.Compute/galleries/gal1"
	f.addPrincipal(t, "reader", galleon.RoleReader, gal1)
	custom := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "Snapshot reader", RoleType: galleon.CustomRole,
		Permissions:      []galleon.RolePermission{{Actions: []string{"Microsoft.Compute/snapshots/read"}}},
		AssignableScopes: []string{pub}}
	if _, err := f.Store.PutRoleDefinition(context.Background(), custom, f.Sub, nil); err != nil {
		t.Fatal(err)
	}
	f.addPrincipal(t, "snapshots", custom.ID, pub)

	seq := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprint(prefix, i))
		}
		return out
	}
	versions := func(def string) []string { return seq(def+"/1.0.", 1, 5) }
	gallery1 := append(append([]string{"gal1", "gal1/img1"}, versions("gal1/img1")...), seq("gal1/img", 2, 5)...)
	var all []string
	all = append(all, seq("disk", 1, 5)...)
	all = append(all, gallery1...)
	all = append(all, seq("gal", 2, 6)...)
	all = append(all, seq("image", 1, 5)...)
	all = append(all, "pub", "pub/img1")
	all = append(all, versions("pub/img1")...)
	all = append(all, seq("pub/img", 2, 5)...)
	all = append(all, seq("snap", 1, 5)...)

	for _, tt := range []struct {
		name, token, path string
		query             url.Values // api-version added
		want              []string
	}{
		{"All", "publisher", pub + "/resources", nil, all},
		{"AllInPages", "publisher", pub + "/resources", url.Values{"$top": {"7"}}, all},
		{"AzGroupAndType", "publisher", pub + "/resources",
			url.Values{"$filter": {"resourceGroup eq 'RG' and resourceType eq 'Microsoft.Compute/galleries'"}}, seq("gal", 1, 5)},
		{"ByResourceGroup", "publisher", pub + "/resourcegroups/RG2/resources", nil, []string{"gal6"}},
		{"ByResourceGroupAndType", "publisher", rg + "/resources",
			url.Values{"$filter": {"resourceType eq 'Microsoft.Compute/snapshots'"}, "$top": {"2"}}, seq("snap", 1, 5)},
		{"ByResourceGroupAndAnotherGroup", "publisher", rg + "/resources", url.Values{"$filter": {"resourceGroup eq 'rg2'"}}, []string{}},
		{"Name", "publisher", pub + "/resources", url.Values{"$filter": {"name eq 'GAL3'"}}, []string{"gal3"}},
		{"NestedName", "publisher", pub + "/resources", url.Values{"$filter": {"name eq 'gal1/IMG2'"}}, []string{"gal1/img2"}},
		{"Substringof", "publisher", pub + "/resources", url.Values{"$filter": {"substringof('img1', name)"}, "$top": {"2"}},
			append(append([]string{"gal1/img1"}, versions("gal1/img1")...), append([]string{"pub/img1"}, versions("pub/img1")...)...)},
		{"SubstringofAndType", "publisher", pub + "/resources",
			url.Values{"$filter": {"substringof('1.0.3', name) and resourceType eq 'Microsoft.Compute/galleries/images/versions'"}},
			[]string{"gal1/img1/1.0.3", "pub/img1/1.0.3"}},
		{"SubstringofGroup", "publisher", pub + "/resources", url.Values{"$filter": {"substringof('commun', resourceGroup)"}},
			append(append([]string{"pub", "pub/img1"}, versions("pub/img1")...), seq("pub/img", 2, 5)...)},
		{"Location", "publisher", pub + "/resources", url.Values{"$filter": {"location eq 'westus2'"}}, []string{}},
		{"UnknownType", "publisher", pub + "/resources", url.Values{"$filter": {"resourceType eq 'Microsoft.Network/virtualNetworks'"}}, []string{}},
		// A Reader of one gallery: that gallery, its definitions and
		// versions, page by page however little of each page it may see.
		{"ReaderOfOneGallery", "reader", pub + "/resources", nil, gallery1},
		{"ReaderOfOneGalleryInPagesOfOne", "reader", pub + "/resources", url.Values{"$top": {"1"}}, gallery1},
		{"ReaderOfOneGalleryByGroup", "reader", rg + "/resources", url.Values{"$top": {"3"}}, gallery1},
		{"ReaderOfOneGalleryFiltered", "reader", pub + "/resources",
			url.Values{"$filter": {"resourceType eq 'Microsoft.Compute/galleries'"}}, []string{"gal1"}},
		{"CustomRole", "snapshots", pub + "/resources", nil, seq("snap", 1, 5)},
		{"CustomRoleOtherType", "snapshots", pub + "/resources", url.Values{"$filter": {"resourceType eq 'Microsoft.Compute/disks'"}}, []string{}},
		{"OwnSubscription", "consumer", "/subscriptions/" + f.consumer + "/resources", nil, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"api-version": {"2021-04-01"}}
			for k, v := range tt.query {
				q[k] = v
			}
			got, pages := f.resourceNames(t, tt.token, tt.path+"?"+q.Encode())
			if !slices.Equal(got, tt.want) {
				t.Errorf("items over %d pages = %v\nwant %v", pages, got, tt.want)
			}
		})
	}

	t.Run("ReaderPagesAreFull", func(t *testing.T) {
		// The store is asked for what the reader may see, so every page
		// but the last is full: one item a page at $top=1.
		got, pages := f.resourceNames(t, "reader", pub+"/resources?api-version=2021-04-01&$top=1")
		if !slices.Equal(got, gallery1) || pages != len(gallery1) {
			t.Errorf("%d pages of %v, want %d pages of %v", pages, got, len(gallery1), gallery1)
		}
	})

	t.Run("Shape", func(t *testing.T) {
		f.MustPutResourceGroup(t, "times")
		stamped := f.Gallery("times", "stamped")
		created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		_, _, err := f.Store.PutGallery(context.Background(), stamped, func(*galleon.Gallery) (*galleon.Gallery, error) {
			g := &galleon.Gallery{ID: stamped, Location: "eastus", Tags: map[string]string{"env": "test"},
				SystemData: galleon.SystemData{CreatedAt: created, LastModifiedAt: created.Add(time.Hour)}}
			g.ApplyDefaults()
			return g, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		get := func(query, name string) map[string]any {
			t.Helper()
			p := f.getPage(t, "publisher", pub+"/resources?api-version=2021-04-01&$filter="+url.QueryEscape("name eq '"+name+"'")+query)
			if len(p.Value) != 1 {
				t.Fatalf("%s: %v, want one item", name, p.Value)
			}
			return p.Value[0]
		}
		const expand = "&$expand=createdTime,changedTime,provisioningState"
		for _, tt := range []struct {
			name, query string
			want        map[string]any
		}{
			{"stamped", "", map[string]any{"id": stamped.String(), "name": "stamped", "type": "Microsoft.Compute/galleries",
				"location": "eastus", "tags": map[string]any{"env": "test"}}},
			{"stamped", expand, map[string]any{"id": stamped.String(), "name": "stamped", "type": "Microsoft.Compute/galleries",
				"location": "eastus", "tags": map[string]any{"env": "test"}, "createdTime": "2026-01-02T03:04:05Z",
				"changedTime": "2026-01-02T04:04:05Z", "provisioningState": "Succeeded"}},
			{"gal1/img1/1.0.1", expand, map[string]any{"id": gal1 + "/images/img1/versions/1.0.1", "name": "gal1/img1/1.0.1",
				"type": "Microsoft.Compute/galleries/images/versions", "location": "eastus", "provisioningState": "Succeeded"}},
			{"disk1", "", map[string]any{"id": rg + "/providers/Microsoft.Compute/disks/disk1", "name": "disk1",
				"type": "Microsoft.Compute/disks", "location": "eastus", "sku": map[string]any{"name": "Standard_LRS", "tier": "Standard"}}},
		} {
			if got := get(tt.query, tt.name); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s%s:\n got  %v\n want %v", tt.name, tt.query, got, tt.want)
			}
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tt := range []struct {
			name, token, target string
			status              int
			code, message       string
		}{
			{"BadFilter", "publisher", pub + "/resources?api-version=2021-04-01&$filter=" + url.QueryEscape("tagName eq 'env'"),
				http.StatusBadRequest, galleon.CodeInvalidFilter, "Invalid $filter 'tagName eq 'env'' specified in the query string: filtering by tag is not supported."},
			{"BadExpand", "publisher", pub + "/resources?api-version=2021-04-01&$expand=properties",
				http.StatusBadRequest, galleon.CodeInvalidParameter, "The value 'properties' of parameter '$expand' is not allowed."},
			{"BadTop", "publisher", rg + "/resources?api-version=2021-04-01&$top=0", http.StatusBadRequest, galleon.CodeInvalidParameter, "$top"},
			{"BadAPIVersion", "publisher", pub + "/resources?api-version=2099-01-01", http.StatusBadRequest, galleon.CodeInvalidAPIVersion, ""},
			{"NoRoleInSubscription", "consumer", pub + "/resources?api-version=2021-04-01", http.StatusForbidden, galleon.CodeAuthorizationFailed,
				"'Microsoft.Resources/subscriptions/resources/read' over scope '" + pub + "'"},
			// The refusal comes before the filter is read.
			{"NoRoleAndBadFilter", "consumer", pub + "/resources?api-version=2021-04-01&$filter=x", http.StatusForbidden, galleon.CodeAuthorizationFailed, ""},
			{"ReaderOfAnotherGroup", "reader", pub + "/resourceGroups/rg2/resources?api-version=2021-04-01", http.StatusForbidden,
				galleon.CodeAuthorizationFailed, "'Microsoft.Resources/subscriptions/resourceGroups/resources/read' over scope '" + pub + "/resourceGroups/rg2'"},
			{"MissingGroup", "publisher", pub + "/resourceGroups/nope/resources?api-version=2021-04-01", http.StatusNotFound, galleon.CodeResourceGroupNotFound, ""},
			{"NoToken", "", pub + "/resources?api-version=2021-04-01", http.StatusUnauthorized, galleon.CodeAuthenticationMissing, ""},
			{"Write", "publisher", pub + "/resources?api-version=2021-04-01", http.StatusMethodNotAllowed, galleon.CodeMethodNotAllowed, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				method := http.MethodGet
				if tt.name == "Write" {
					method = http.MethodPut
				}
				req := httptest.NewRequest(method, tt.target, nil)
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				w := httptest.NewRecorder()
				f.handler.ServeHTTP(w, req)
				var body errorBody
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != tt.status || body.Error.Code != tt.code || !strings.Contains(body.Error.Message, tt.message) {
					t.Errorf("%s %s = %d %s, want %d %s with %q", method, tt.target, w.Code, w.Body.String(), tt.status, tt.code, tt.message)
				}
			})
		}
	})
}

// FuzzParseResourceFilter: any $filter is read or refused with
// InvalidFilterInQueryString, never anything else, and never a panic.
func FuzzParseResourceFilter(f *testing.F) {
	for _, s := range []string{"resourceGroup eq 'rg' and resourceType eq 'Microsoft.Compute/galleries'", "substringof('a''b', name)",
		"name eq 'a' and", "substringof(", "name eq '", "location eq 'East US' or x", "tagname eq 'a'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := parseResourceFilter(s)
		if err != nil && galleon.ErrorCode(err) != galleon.CodeInvalidFilter {
			t.Fatalf("parseResourceFilter(%q): %v", s, err)
		}
	})
}
