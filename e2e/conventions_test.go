package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func TestARMConventions(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	tok := s.Token(t)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	if code, _, body := s.Do(t, "PUT", sub+"/resourcegroups/rg1?api-version=2021-04-01", tok, `{"location":"eastus"}`); code != 201 {
		t.Fatalf("creating rg1: %d %v", code, body)
	}
	gallery := sub + "/resourceGroups/rg1/providers/Microsoft.Compute/galleries/g1"

	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"MissingAPIVersion", "GET", gallery, "", 400, "MissingApiVersionParameter"},
		{"UnsupportedGalleryAPIVersion", "GET", gallery + "?api-version=2099-01-01", "", 400, "NoRegisteredProviderFound"},
		{"MalformedAPIVersion", "GET", gallery + "?api-version=banana", "", 400, "InvalidApiVersionParameter"},
		{"UnsupportedGroupAPIVersion", "GET", sub + "/resourcegroups/rg1?api-version=2099-01-01", "", 400, "InvalidApiVersionParameter"},
		{"UnknownProvider", "GET", sub + "/providers/Microsoft.Nothing/things?api-version=2021-04-01", "", 400, "NoRegisteredProviderFound"},
		{"UnknownType", "GET", sub + "/resourceGroups/rg1/providers/Microsoft.Compute/widgets/w?api-version=2025-03-03", "", 404, "InvalidResourceType"},
		{"MalformedJSON", "PUT", gallery + "?api-version=2025-03-03", `{"location": "eastus",`, 400, "InvalidRequestContent"},
		{"EmptyBody", "PUT", gallery + "?api-version=2025-03-03", ``, 400, "InvalidRequestContent"},
		{"WrongType", "PUT", gallery + "?api-version=2025-03-03", `{"location": 42}`, 400, "InvalidRequestContent"},
		{"TooLarge", "PUT", gallery + "?api-version=2025-03-03", `{"location":"eastus","tags":{"t":"` + strings.Repeat("x", 5<<20) + `"}}`, 413, "RequestEntityTooLarge"},
		{"UnknownSubscription", "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2021-04-01", "", 404, "SubscriptionNotFound"},
		{"MethodNotAllowed", "POST", gallery + "?api-version=2025-03-03", "{}", 405, "MethodNotAllowed"},
		{"UnknownOperation", "GET", sub + "/providers/Microsoft.Compute/locations/eastus/capsOperations/nope?api-version=2025-03-03", "", 404, "OperationNotFound"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			code, h, resp := s.Do(t, tt.method, tt.path, tok, body)
			if code != tt.status || errorCode(resp) != tt.code {
				t.Fatalf("got %d %v, want %d %s", code, resp, tt.status, tt.code)
			}
			if msg, _ := resp["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("no error message: %v", resp)
			}
			if h.Get("x-ms-request-id") == "" || h.Get("x-ms-correlation-request-id") == "" {
				t.Errorf("missing request id headers: %v", h)
			}
		})
	}

	t.Run("CaseInsensitivePaths", func(t *testing.T) {
		if code, _, body := s.Do(t, "PUT", gallery+"?api-version=2021-10-01", tok, `{"location":"eastus"}`); code != 201 {
			t.Fatalf("creating g1: %d %v", code, body)
		}
		upper := strings.ToUpper(sub) + "/RESOURCEGROUPS/RG1/PROVIDERS/microsoft.compute/GALLERIES/G1?api-version=2021-10-01"
		code, _, body := s.Do(t, "GET", upper, tok, nil)
		if code != 200 || body["id"] != gallery || body["name"] != "g1" {
			t.Fatalf("got %d %v, want the canonical id %s", code, body, gallery)
		}
	})

	t.Run("RequestIDs", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+gallery+"?api-version=2025-03-03", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("x-ms-correlation-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("x-ms-correlation-request-id") != "0f8fad5b-d9cb-469f-a165-70867728950e" {
			t.Errorf("the correlation id should be echoed, got %q", resp.Header.Get("x-ms-correlation-request-id"))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
	})

	t.Run("MetadataEndpoints", func(t *testing.T) {
		for _, path := range []string{"/metadata/endpoints?api-version=2015-01-01", "//metadata/endpoints?api-version=2015-01-01"} {
			code, _, body := s.Do(t, "GET", path, "", nil)
			auth, _ := body["authentication"].(map[string]any)
			if code != 200 || auth["loginEndpoint"] != s.URL+"/adfs" {
				t.Errorf("%s: %d %v", path, code, body)
			}
		}
		resp, err := s.Client.Get(s.URL + "/metadata/endpoints?api-version=2022-09-01")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var clouds []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&clouds); err != nil || len(clouds) != 1 || clouds[0]["resourceManager"] != s.URL+"/" {
			t.Errorf("new-style metadata: %v %v", clouds, err)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		resp, err := s.Client.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// rg1 was created once, at the start of this test, with a 201.
		want := `galleon_arm_requests_total{code="201",method="PUT",type="microsoft.resources/resourcegroups"} 1`
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("/metrics: %d, want a line %s", resp.StatusCode, want)
		}
		if !strings.Contains(string(body), `galleon_arm_requests_total{code="400",method="GET",type="microsoft.compute/galleries"}`) {
			t.Error("/metrics should count the refused requests by status")
		}
	})

	t.Run("SubscriptionsAndLocations", func(t *testing.T) {
		code, _, body := s.Do(t, "GET", "/subscriptions?api-version=2019-11-01", tok, nil)
		subs, _ := body["value"].([]any)
		if code != 200 || len(subs) != 1 {
			t.Fatalf("subscriptions: %d %v", code, body)
		}
		first := subs[0].(map[string]any)
		if first["subscriptionId"] != s.Creds.SubscriptionID || first["state"] != "Enabled" || first["tenantId"] != s.Creds.TenantID {
			t.Errorf("subscription: %v", first)
		}
		code, _, body = s.Do(t, "GET", sub+"/locations?api-version=2022-12-01", tok, nil)
		locs, _ := body["value"].([]any)
		if code != 200 || len(locs) != 3 {
			t.Fatalf("locations: %d %v", code, body)
		}
	})

	t.Run("ResourceGroupDeletionLRO", func(t *testing.T) {
		if code, _, body := s.Do(t, "PUT", sub+"/resourcegroups/doomed?api-version=2021-04-01", tok, `{"location":"eastus"}`); code != 201 {
			t.Fatalf("%d %v", code, body)
		}
		code, h, _ := s.Do(t, "DELETE", sub+"/resourcegroups/doomed?api-version=2021-04-01", tok, nil)
		async, loc := h.Get("Azure-AsyncOperation"), h.Get("Location")
		if code != 202 || h.Get("Retry-After") == "" || !strings.Contains(async, "/providers/Microsoft.Compute/locations/eastus/capsOperations/") ||
			!strings.Contains(loc, "monitor=true") {
			t.Fatalf("delete: %d headers %v", code, h)
		}
		status := ""
		for range 100 {
			code, h, body := s.Do(t, "GET", strings.TrimPrefix(async, s.URL), tok, nil)
			status, _ = body["status"].(string)
			if code != 200 || body["name"] == nil || body["startTime"] == nil {
				t.Fatalf("operation status: %d %v", code, body)
			}
			if status != "InProgress" {
				if body["endTime"] == nil {
					t.Errorf("a finished operation needs an endTime: %v", body)
				}
				break
			}
			if h.Get("Retry-After") == "" {
				t.Errorf("an in-progress operation needs Retry-After")
			}
		}
		if status != "Succeeded" {
			t.Fatalf("operation ended %q", status)
		}
		if code, _, _ := s.Do(t, "GET", strings.TrimPrefix(loc, s.URL), tok, nil); code != 200 {
			t.Errorf("monitor URL after completion: %d, want 200", code)
		}
		if code, _, _ := s.Do(t, "DELETE", sub+"/resourcegroups/doomed?api-version=2021-04-01", tok, nil); code != 204 {
			t.Errorf("deleting a deleted group: %d, want 204", code)
		}
	})
}

// Fifty concurrent PUTs of one gallery name into fifty resource groups end
// with exactly one gallery and 409s for the rest.
func TestConcurrentGalleryPuts(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	const n = 50
	for i := range n {
		sdk.createGroup(t, fmt.Sprintf("race%02d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sdk.createGallery(ctx, fmt.Sprintf("race%02d", i), "contested", armcompute.Gallery{})
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range errs {
		var re *azcore.ResponseError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &re) && re.StatusCode == 409 && re.ErrorCode == "Conflict":
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflicts != n-1 {
		t.Fatalf("%d succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
	}
	count := 0
	pager := sdk.Galleries.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Value)
	}
	if count != 1 {
		t.Fatalf("the subscription holds %d galleries, want 1", count)
	}
}

// Restarting on the same data folder keeps resources, credentials, the
// signing key and the CA; a token issued before the restart still works.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "keep")
	if _, err := sdk.createGallery(ctx, "keep", "kept", armcompute.Gallery{}); err != nil {
		t.Fatal(err)
	}
	oldToken := s.Token(t)
	before := s.Creds
	caBefore := readFile(t, s.Creds.CACertificate)

	s.Stop(t)
	s.Start(t)

	if s.Creds != before {
		t.Errorf("credentials changed across a restart:\n%+v\n%+v", before, s.Creds)
	}
	if readFile(t, s.Creds.CACertificate) != caBefore {
		t.Error("the CA certificate changed across a restart")
	}
	// s.Client was rebuilt from the CA file; that it connects proves the
	// server certificate still chains to the same CA.
	path := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/keep/providers/Microsoft.Compute/galleries/kept?api-version=2025-03-03"
	if code, _, body := s.Do(t, "GET", path, oldToken, nil); code != 200 || body["name"] != "kept" {
		t.Fatalf("a pre-restart token and gallery: %d %v", code, body)
	}
	sdk = NewSDK(t, s)
	if _, err := sdk.Groups.CreateOrUpdate(ctx, "keep", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatalf("the bootstrap secret after a restart: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
