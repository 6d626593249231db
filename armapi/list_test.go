package armapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/storetest"
)

const testPublicURL = "https://galleon.example:8443"

func TestServer_NextLink(t *testing.T) {
	const path = "/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values"
	s := &Server{PublicURL: testPublicURL}
	for _, tt := range []struct {
		name   string
		target string     // the request's path and query
		path   string     // the link's path; path when empty
		want   url.Values // the link's query but for $skiptoken
	}{
		{"OK", path + "?api-version=2015-04-01",
			"", url.Values{"api-version": {"2015-04-01"}}},
		{"Filter", path + "?api-version=2015-04-01&$filter=" + url.QueryEscape("caller eq 'a@b.example' and eventTimestamp ge '2026-01-01T00:00:00Z'"),
			"", url.Values{"api-version": {"2015-04-01"}, "$filter": {"caller eq 'a@b.example' and eventTimestamp ge '2026-01-01T00:00:00Z'"}}},
		{"SharedTo", "/subscriptions/s/providers/Microsoft.Compute/locations/eastus/sharedGalleries?api-version=2022-03-03&sharedTo=tenant",
			"/subscriptions/s/providers/Microsoft.Compute/locations/eastus/sharedGalleries",
			url.Values{"api-version": {"2022-03-03"}, "sharedTo": {"tenant"}}},
		{"ExpandAndTop", path + "?$expand=ReplicationStatus&api-version=2015-04-01&$top=5",
			"", url.Values{"api-version": {"2015-04-01"}, "$expand": {"ReplicationStatus"}, "$top": {"5"}}},
		{"RepeatedParameter", path + "?api-version=2015-04-01&x=1&x=2",
			"", url.Values{"api-version": {"2015-04-01"}, "x": {"1", "2"}}},
		{"ReplacesSkiptoken", path + "?api-version=2015-04-01&$skiptoken=b2xk",
			"", url.Values{"api-version": {"2015-04-01"}}},
		{"ReplacesEverySkiptoken", path + "?api-version=2015-04-01&$skiptoken=b2xk&$skiptoken=eA&$skipToken=eQ&%24SKIPTOKEN=eg",
			"", url.Values{"api-version": {"2015-04-01"}}},
		// A value that would add a parameter, a fragment or a path if it were
		// echoed unencoded stays one value of one parameter.
		{"EncodedValue", path + "?api-version=2015-04-01&$filter=" + url.QueryEscape("a'&api-version=1999-01-01&$skiptoken=x#/../../tenants?q=1\r\nX-Evil: 1"),
			"", url.Values{"api-version": {"2015-04-01"}, "$filter": {"a'&api-version=1999-01-01&$skiptoken=x#/../../tenants?q=1\r\nX-Evil: 1"}}},
		{"EncodedKey", path + "?api-version=2015-04-01&" + url.QueryEscape("k&api-version=1999-01-01") + "=v",
			"", url.Values{"api-version": {"2015-04-01"}, "k&api-version=1999-01-01": {"v"}}},
		// What the handler could not parse, it did not read: the next page
		// does not get it either.
		{"UnparsablePairsDropped", path + "?api-version=2015-04-01&bad=%zz&a=1;b=2&ok=1",
			"", url.Values{"api-version": {"2015-04-01"}, "ok": {"1"}}},
		{"PathStaysOnOrigin", "//evil.example/subscriptions/s/resourcegroups/?api-version=2021-04-01",
			"/evil.example/subscriptions/s/resourcegroups", url.Values{"api-version": {"2021-04-01"}}},
		{"PathEscaped", "/subscriptions/s/resourceGroups/a%20b%3Fc/providers/Microsoft.Compute/galleries?api-version=2025-03-03",
			"/subscriptions/s/resourceGroups/a b?c/providers/Microsoft.Compute/galleries", url.Values{"api-version": {"2025-03-03"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const next = "key/after?&=#"
			r := &request{Request: httptest.NewRequest(http.MethodGet, tt.target, nil)}
			link := s.nextLink(r, next)
			if !strings.HasPrefix(link, testPublicURL+"/") || strings.ContainsAny(link, "#\r\n ") {
				t.Fatalf("nextLink = %q, want a URL on %s without a fragment or whitespace", link, testPublicURL)
			}
			u, err := url.Parse(link)
			if err != nil {
				t.Fatalf("nextLink = %q: %v", link, err)
			}
			wantPath := tt.path
			if wantPath == "" {
				wantPath = path
			}
			if u.Scheme+"://"+u.Host != testPublicURL || u.Path != wantPath {
				t.Errorf("nextLink = %q: origin %s://%s path %q, want %s and %q", link, u.Scheme, u.Host, u.Path, testPublicURL, wantPath)
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				t.Fatalf("nextLink = %q: query: %v", link, err)
			}
			if got := q["$skiptoken"]; len(got) != 1 || got[0] != base64.RawURLEncoding.EncodeToString([]byte(next)) {
				t.Errorf("nextLink = %q: $skiptoken %q, want one token for %q", link, got, next)
			}
			delete(q, "$skiptoken")
			if !reflect.DeepEqual(q, tt.want) {
				t.Errorf("nextLink = %q: query %v, want %v", link, q, tt.want)
			}
			// The link is what the next request reads.
			p, err := s.page(&request{Request: httptest.NewRequest(http.MethodGet, link, nil)})
			if err != nil || p.After != next {
				t.Errorf("page(nextLink) = %+v, %v; want After %q", p, err, next)
			}
		})
	}
}

// listFixture is a Server over HTTP on a fresh SQLite store: a publisher
// (the bootstrapped subscription, whose service principal owns it) with
// galleries, definitions, versions, disks, snapshots, managed images and
// an activity log, and a consumer in another tenant with galleries shared
// with its tenant, its subscription and the community.
type listFixture struct {
	*storetest.Fixture
	handler  http.Handler
	consumer string // the consumer's subscription
	// principals are the callers by token; a test may add its own before
	// its first request.
	principals map[string]galleon.Principal
	// sharedToTenant and sharedToSubscription are the unique names of the
	// galleries shared with the consumer's tenant and with its
	// subscription; publicName is the community gallery's.
	sharedToTenant, sharedToSubscription []string
	publicName                           string
	// events is the activity log, alice's and bob's writes, newest first.
	events []galleon.AuditEvent
}

const (
	alice = "alice@example.test"
	bob   = "bob@example.test"
	// activityStart is when the first event of the activity log happened;
	// one event follows each second.
	activityStart = "2026-03-01T10:00:00Z"
)

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	ctx := context.Background()
	db, fx := mustOpenTestStore(t)
	f := &listFixture{Fixture: fx}
	consumer := f.MustCreateTenant(t, "consumer.example")
	f.consumer = consumer.Subscription.ID
	f.principals = map[string]galleon.Principal{
		"publisher": f.Bootstrap.ServicePrincipal,
		"consumer":  consumer.ServicePrincipal,
	}
	s := newTestServer(db, f.principals)
	f.handler = s.Handler()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for _, rg := range []string{"rg", "rg2", "community"} {
		f.MustPutResourceGroup(t, rg)
	}
	// Galleries gal1…gal6: the odd ones shared with the consumer's tenant,
	// the even ones with its subscription.
	for i := 1; i <= 6; i++ {
		rg := "rg"
		if i == 6 {
			rg = "rg2"
		}
		g := f.MustPutGallery(t, rg, fmt.Sprintf("gal%d", i))
		share := galleon.SharingProfileGroup{Type: galleon.SharingGroupSubscriptions, IDs: []string{f.consumer}}
		names := &f.sharedToSubscription
		if i%2 == 1 {
			share = galleon.SharingProfileGroup{Type: galleon.SharingGroupAADTenants, IDs: []string{consumer.Tenant.ID}}
			names = &f.sharedToTenant
		}
		_, err := f.Share(g.ID, galleon.SharingUpdate{OperationType: galleon.SharingAdd, Groups: []galleon.SharingProfileGroup{share}}, "")
		must("sharing "+g.ID.Name, err)
		*names = append(*names, g.UniqueName())
	}
	// A community gallery.
	cid := f.Gallery("community", "pub")
	_, _, err := db.PutGallery(ctx, cid, func(*galleon.Gallery) (*galleon.Gallery, error) {
		g := &galleon.Gallery{ID: cid, Location: "eastus", Properties: galleon.GalleryProperties{SharingProfile: &galleon.SharingProfile{
			CommunityGalleryInfo: &galleon.CommunityGalleryInfo{PublisherURI: "https://publisher.example", PublisherContact: "images@publisher.example",
				Eula: "https://publisher.example/eula", PublicNamePrefix: "Contoso"}}}}
		g.ApplyDefaults()
		return g, nil
	})
	must("putting the community gallery", err)
	f.publicName = "Contoso-0b5e1c52-4a1f-4c55-9c0e-2a7c2f0b7e11"
	_, err = f.Share(cid, galleon.SharingUpdate{OperationType: galleon.SharingEnableCommunity}, f.publicName)
	must("sharing the community gallery", err)

	// Five definitions in gal1 and in the community gallery, five versions
	// of img1 in each, offered in eastus.
	for _, gal := range []galleon.GalleryID{f.Gallery("rg", "gal1"), cid} {
		for i := 1; i <= 5; i++ {
			_, _, err := f.PutImage(galleon.ImageDefinitionID{GalleryID: gal, Image: fmt.Sprintf("img%d", i)}, "pub", "offer", fmt.Sprintf("sku%d", i))
			must("putting a definition", err)
		}
		for i := 1; i <= 5; i++ {
			id := galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: gal, Image: "img1"}, Version: fmt.Sprintf("1.0.%d", i)}
			_, _, err := db.PutImageVersion(ctx, id, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
				return &galleon.ImageVersion{ID: id, Location: "eastus", Properties: galleon.ImageVersionProperties{
					PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}}},
					StorageProfile:    galleon.VersionStorageProfile{Source: &galleon.VersionSource{ID: "/snap"}},
					ProvisioningState: galleon.ProvisioningSucceeded,
				}}, nil
			})
			must("putting a version", err)
		}
	}
	for i := 1; i <= 5; i++ {
		_, _, err := f.PutDisk(f.Disk("rg", galleon.TypeDisk, fmt.Sprintf("disk%d", i)), 1)
		must("putting a disk", err)
		_, _, err = f.PutDisk(f.Disk("rg", galleon.TypeSnapshot, fmt.Sprintf("snap%d", i)), 1)
		must("putting a snapshot", err)
		id := f.Disk("rg", galleon.TypeManagedImage, fmt.Sprintf("image%d", i))
		_, _, err = db.PutManagedImage(ctx, id, func(*galleon.ManagedImage) (*galleon.ManagedImage, error) {
			return &galleon.ManagedImage{ID: id, Location: "eastus",
				Properties: galleon.ManagedImageProperties{ProvisioningState: galleon.ProvisioningSucceeded}}, nil
		})
		must("putting a managed image", err)
	}

	// The activity log: alice and bob take turns, one write a second.
	start, err := time.Parse(time.RFC3339, activityStart)
	must("parsing the start", err)
	for i := range 10 {
		caller := alice
		if i%2 == 1 {
			caller = bob
		}
		e := galleon.AuditEvent{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), At: start.Add(time.Duration(i) * time.Second),
			SubscriptionID: f.Sub, PrincipalID: caller, PrincipalName: caller, Action: "Microsoft.Compute/galleries/write",
			Scope: "/subscriptions/" + f.Sub + "/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal1", Method: http.MethodPut,
			Status: http.StatusOK, Result: "Succeeded"}
		must("appending an event", db.AppendAudit(ctx, &e))
		f.events = append([]galleon.AuditEvent{e}, f.events...)
	}
	return f
}

// eventIDs returns the ids of the events keep selects, newest first.
func (f *listFixture) eventIDs(keep func(e *galleon.AuditEvent) bool) []string {
	var ids []string
	for i := range f.events {
		if keep(&f.events[i]) {
			ids = append(ids, f.events[i].ID)
		}
	}
	return ids
}

// listPage is one page of an ARM list.
type listPage struct {
	Value    []map[string]any `json:"value"`
	NextLink string           `json:"nextLink"`
}

// getPage GETs target, a path and query or a nextLink, as the caller with
// token.
func (f *listFixture) getPage(t *testing.T, token, target string) listPage {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body.String())
	}
	var p listPage
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("GET %s: %v in %s", target, err, w.Body.String())
	}
	return p
}

// TestServer_ListPaging follows the nextLinks of every list that pages,
// $top=2 items at a time, and checks that the pages together hold exactly
// what the first request asked for: each nextLink keeps the request's
// query ($filter, sharedTo, $expand, $top, …) and replaces only its
// $skiptoken.
func TestServer_ListPaging(t *testing.T) {
	f := newListFixture(t)
	pub := "/subscriptions/" + f.Sub
	rg := pub + "/resourceGroups/rg"
	gal1 := rg + "/providers/Microsoft.Compute/galleries/gal1"
	loc := "/subscriptions/" + f.consumer + "/providers/Microsoft.Compute/locations/eastus"
	sharedGal1 := loc + "/sharedGalleries/" + f.sharedToTenant[0]
	community := loc + "/communityGalleries/" + f.publicName
	seq := func(prefix string, n int) []string {
		var out []string
		for i := 1; i <= n; i++ {
			out = append(out, fmt.Sprint(prefix, i))
		}
		return out
	}
	versions := []string{"1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5"}
	start, _ := time.Parse(time.RFC3339, activityStart)
	at := func(sec int) string { return start.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }

	for _, tt := range []struct {
		name  string
		token string
		path  string
		query url.Values // the first request's, with $top=2 added
		key   string     // the property naming an item
		want  []string   // the items of every page, in order
	}{
		{"ActivityLogByCaller", "publisher", pub + "/providers/Microsoft.Insights/eventtypes/management/values",
			url.Values{"api-version": {"2015-04-01"}, "$filter": {"caller eq '" + alice + "'"}}, "eventDataId",
			f.eventIDs(func(e *galleon.AuditEvent) bool { return e.PrincipalName == alice })},
		{"ActivityLogByTimeAndCaller", "publisher", pub + "/providers/Microsoft.Insights/eventtypes/management/values",
			url.Values{"api-version": {"2017-03-01-preview"},
				"$filter": {fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s' and caller eq '%s'", at(2), at(8), bob)}}, "eventDataId",
			f.eventIDs(func(e *galleon.AuditEvent) bool {
				return e.PrincipalName == bob && !e.At.Before(start.Add(2*time.Second)) && !e.At.After(start.Add(8*time.Second))
			})},
		{"SharedGalleriesToTenant", "consumer", loc + "/sharedGalleries",
			url.Values{"api-version": {"2022-03-03"}, "sharedTo": {"tenant"}}, "name", f.sharedToTenant},
		{"SharedGalleriesToSubscription", "consumer", loc + "/sharedGalleries",
			url.Values{"api-version": {"2022-03-03"}}, "name", f.sharedToSubscription},
		{"SharedImages", "consumer", sharedGal1 + "/images",
			url.Values{"api-version": {"2025-03-03"}, "sharedTo": {"tenant"}}, "name", seq("img", 5)},
		{"SharedVersions", "consumer", sharedGal1 + "/images/img1/versions",
			url.Values{"api-version": {"2025-03-03"}, "sharedTo": {"tenant"}}, "name", versions},
		{"CommunityImages", "consumer", community + "/images",
			url.Values{"api-version": {"2025-03-03"}}, "name", seq("img", 5)},
		{"CommunityVersions", "consumer", community + "/images/img1/versions",
			url.Values{"api-version": {"2025-03-03"}}, "name", versions},
		{"ResourceGroups", "publisher", pub + "/resourcegroups",
			url.Values{"api-version": {"2021-04-01"}}, "name", []string{"community", "rg", "rg2"}},
		{"GalleriesBySubscription", "publisher", pub + "/providers/Microsoft.Compute/galleries",
			url.Values{"api-version": {"2025-03-03"}}, "name", append(seq("gal", 6), "pub")},
		{"GalleriesByResourceGroup", "publisher", rg + "/providers/Microsoft.Compute/galleries",
			url.Values{"api-version": {"2025-03-03"}}, "name", seq("gal", 5)},
		{"ImageDefinitions", "publisher", gal1 + "/images",
			url.Values{"api-version": {"2025-03-03"}}, "name", seq("img", 5)},
		// The list reads no $expand (Azure's takes none); it is carried all
		// the same.
		{"ImageVersions", "publisher", gal1 + "/images/img1/versions",
			url.Values{"api-version": {"2025-03-03"}, "$expand": {"ReplicationStatus"}}, "name", versions},
		{"Disks", "publisher", rg + "/providers/Microsoft.Compute/disks",
			url.Values{"api-version": {"2025-01-02"}}, "name", seq("disk", 5)},
		{"Snapshots", "publisher", rg + "/providers/Microsoft.Compute/snapshots",
			url.Values{"api-version": {"2025-01-02"}}, "name", seq("snap", 5)},
		{"ManagedImages", "publisher", rg + "/providers/Microsoft.Compute/images",
			url.Values{"api-version": {"2023-03-01"}}, "name", seq("image", 5)},
		{"Resources", "publisher", pub + "/resources",
			url.Values{"api-version": {"2021-04-01"}, "$filter": {"resourceType eq 'Microsoft.Compute/galleries'"}, "$expand": {"createdTime"}},
			"name", append(seq("gal", 6), "pub")},
		{"ResourcesByResourceGroup", "publisher", rg + "/resources",
			url.Values{"api-version": {"2022-09-01"}, "$filter": {"substringof('1', name)"}},
			"name", []string{"disk1", "gal1", "gal1/img1", "gal1/img1/1.0.1", "gal1/img1/1.0.2", "gal1/img1/1.0.3", "gal1/img1/1.0.4",
				"gal1/img1/1.0.5", "gal1/img2", "gal1/img3", "gal1/img4", "gal1/img5", "image1", "snap1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			query := url.Values{"$top": {"2"}}
			for k, v := range tt.query {
				query[k] = v
			}
			var got []string
			pages := 0
			for target := tt.path + "?" + query.Encode(); target != ""; {
				if pages++; pages > len(tt.want)+2 {
					t.Fatalf("still paging after %d pages: %s", pages, target)
				}
				p := f.getPage(t, tt.token, target)
				for _, item := range p.Value {
					k, _ := item[tt.key].(string)
					got = append(got, k)
				}
				if target = p.NextLink; target == "" {
					break
				}
				u, err := url.Parse(target)
				if err != nil || u.Scheme+"://"+u.Host != testPublicURL || !strings.EqualFold(u.Path, tt.path) {
					t.Fatalf("page %d: nextLink %q (%v), want %s%s", pages, target, err, testPublicURL, tt.path)
				}
				q := u.Query()
				if len(q["$skiptoken"]) != 1 {
					t.Errorf("page %d: nextLink %q has $skiptoken %q, want one", pages, target, q["$skiptoken"])
				}
				q.Del("$skiptoken")
				if !reflect.DeepEqual(q, query) {
					t.Errorf("page %d: nextLink %q keeps the query %v, want %v", pages, target, q, query)
				}
			}
			if pages < 2 {
				t.Errorf("%d page(s) for %d items at $top=2, want several", pages, len(tt.want))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items over %d pages = %v, want %v", pages, got, tt.want)
			}
		})
	}
}
