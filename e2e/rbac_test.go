package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/google/uuid"
)

// graphToken gets a Microsoft Graph token (audience: the server's own
// origin, as az uses it) for the bootstrap service principal.
func graphToken(t testing.TB, s *Server) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Creds.ClientID}, "client_secret": {s.Creds.ClientSecret},
		"scope": {s.URL + "/.default"}}
	resp, err := s.Client.PostForm(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a Graph token: status %d, %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// graph sends a Microsoft Graph request and fails the test unless it
// answers 2xx.
func graph(t testing.TB, s *Server, token, method, path string, body any) map[string]any {
	t.Helper()
	status, _, out := s.Do(t, method, "/v1.0"+path, token, body)
	if status/100 != 2 {
		t.Fatalf("%s /v1.0%s: %d %v", method, path, status, out)
	}
	return out
}

// principals made in the directory for a test.
type testPrincipals struct {
	spAppID, spObjectID, spSecret string
	userUPN, userObjectID         string
	memberUPN, memberObjectID     string
	groupObjectID                 string
	password                      string
}

func newServicePrincipal(t testing.TB, s *Server, token, name string) (appID, objectID, secret string) {
	t.Helper()
	app := graph(t, s, token, "POST", "/applications", map[string]any{"displayName": name})
	sp := graph(t, s, token, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	pw := graph(t, s, token, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "test"}})
	return app["appId"].(string), sp["id"].(string), pw["secretText"].(string)
}

func newUser(t testing.TB, s *Server, token, upn, password string) string {
	t.Helper()
	u := graph(t, s, token, "POST", "/users", map[string]any{"accountEnabled": true, "displayName": upn, "mailNickname": strings.Split(upn, "@")[0],
		"userPrincipalName": upn, "passwordProfile": map[string]any{"forceChangePasswordNextSignIn": false, "password": password}})
	return u["id"].(string)
}

func makePrincipals(t testing.TB, s *Server) *testPrincipals {
	t.Helper()
	token := graphToken(t, s)
	p := &testPrincipals{password: "Correct-Horse-7-Battery"}
	p.spAppID, p.spObjectID, p.spSecret = newServicePrincipal(t, s, token, "reader-app")
	domain := strings.SplitN(s.Creds.AdminUserPrincipalName, "@", 2)[1]
	p.userUPN, p.memberUPN = "reader@"+domain, "member@"+domain
	p.userObjectID = newUser(t, s, token, p.userUPN, p.password)
	p.memberObjectID = newUser(t, s, token, p.memberUPN, p.password)
	g := graph(t, s, token, "POST", "/groups", map[string]any{"displayName": "gallery readers", "mailEnabled": false,
		"mailNickname": "galleryreaders", "securityEnabled": true})
	p.groupObjectID = g["id"].(string)
	graph(t, s, token, "POST", "/groups/"+p.groupObjectID+"/members/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + p.memberObjectID})
	return p
}

// userCredential returns an SDK credential for a user by username and
// password, as the public client az uses.
func userCredential(t testing.TB, s *Server, sdk *SDK, upn, password string) azcore.TokenCredential {
	t.Helper()
	//lint:ignore SA1019 the username/password flow is what a script without a browser has
	opts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: sdk.opts, DisableInstanceDiscovery: true}
	cred, err := azidentity.NewUsernamePasswordCredential(s.Creds.TenantID, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", upn, password, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func spCredential(t testing.TB, s *Server, sdk *SDK, appID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(s.Creds.TenantID, appID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: sdk.opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func assignRole(t testing.TB, ra *armauthorization.RoleAssignmentsClient, scope, role, principal string, typ armauthorization.PrincipalType) (string, error) {
	t.Helper()
	name := uuid.NewString()
	sub := strings.Split(strings.TrimPrefix(scope, "/subscriptions/"), "/")[0]
	_, err := ra.Create(context.Background(), scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role),
			PrincipalID:      to.Ptr(principal), PrincipalType: to.Ptr(typ)}}, nil)
	return name, err
}

// TestSDK_ReaderOnOneGallery is the sharing acceptance through the Azure
// SDK for Go: the bootstrap Owner gives Reader on one gallery to a user,
// to a group with a member, and to a service principal. Each reads the
// gallery, its definitions and versions, sees nothing else (not the other
// gallery in the group, only that gallery when listing the subscription),
// is refused every write and the version's bytes until a role grants the
// download data action; removing the assignment removes the access at
// once. The audit log records the refusals.
func TestSDK_ReaderOnOneGallery(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 21<<20)
	s := StartServer(t)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	const rg = "shared"
	sdk.createGroup(t, rg)
	snap := uploadSnapshot(t, s, sdk, rg, "os", vhdBytes)
	for _, g := range []string{"visible", "hidden"} {
		if _, err := sdk.createGallery(ctx, rg, g, armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.createImage(ctx, rg, g, "linux", linuxImage("p", "o", g)); err != nil {
			t.Fatal(err)
		}
	}
	ownerOpts := &arm.ClientOptions{ClientOptions: sdk.opts}
	versions, err := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, sdk.Cred, ownerOpts)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := versions.BeginCreateOrUpdate(ctx, rg, "visible", "linux", "1.0.0", armcompute.GalleryImageVersion{Location: to.Ptr("eastus"),
		Properties: &armcompute.GalleryImageVersionProperties{StorageProfile: &armcompute.GalleryImageVersionStorageProfile{
			Source: &armcompute.GalleryArtifactVersionFullSource{ID: snap.ID}}}}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(s.Creds.SubscriptionID, sdk.Cred, ownerOpts)
	if err != nil {
		t.Fatal(err)
	}
	p := makePrincipals(t, s)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	gallery := sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/galleries/visible"
	const reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	userAssignment, err := assignRole(t, ra, gallery, reader, p.userObjectID, armauthorization.PrincipalTypeUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		id  string
		typ armauthorization.PrincipalType
	}{{p.groupObjectID, armauthorization.PrincipalTypeGroup}, {p.spObjectID, armauthorization.PrincipalTypeServicePrincipal}} {
		if _, err := assignRole(t, ra, gallery, reader, who.id, who.typ); err != nil {
			t.Fatal(err)
		}
	}
	_, err = assignRole(t, ra, gallery, reader, p.spObjectID, armauthorization.PrincipalTypeServicePrincipal)
	wantResponseError(t, "the same assignment under a new name", err, 409, "RoleAssignmentExists")
	_, err = assignRole(t, ra, gallery, reader, uuid.NewString(), armauthorization.PrincipalTypeUser)
	wantResponseError(t, "an assignment to nobody", err, 400, "PrincipalNotFound")

	creds := map[string]azcore.TokenCredential{
		"user":              userCredential(t, s, sdk, p.userUPN, p.password),
		"group member":      userCredential(t, s, sdk, p.memberUPN, p.password),
		"service principal": spCredential(t, s, sdk, p.spAppID, p.spSecret),
	}
	for who, cred := range creds {
		t.Run(strings.ReplaceAll(who, " ", "_"), func(t *testing.T) {
			opts := &arm.ClientOptions{ClientOptions: sdk.opts}
			galleries, _ := armcompute.NewGalleriesClient(s.Creds.SubscriptionID, cred, opts)
			images, _ := armcompute.NewGalleryImagesClient(s.Creds.SubscriptionID, cred, opts)
			vers, _ := armcompute.NewGalleryImageVersionsClient(s.Creds.SubscriptionID, cred, opts)
			if _, err := galleries.Get(ctx, rg, "visible", nil); err != nil {
				t.Fatalf("reading the gallery: %v", err)
			}
			_, err := galleries.Get(ctx, rg, "hidden", nil)
			wantResponseError(t, "reading the other gallery", err, 403, "AuthorizationFailed")
			byGroup, err := pageNames(ctx, galleries.NewListByResourceGroupPager(rg, nil), func(r armcompute.GalleriesClientListByResourceGroupResponse) []*armcompute.Gallery { return r.Value })
			if err != nil || len(byGroup) != 1 || byGroup[0] != "visible" {
				t.Errorf("galleries listed by resource group: %v, %v", byGroup, err)
			}
			bySub, err := pageNames(ctx, galleries.NewListPager(nil), func(r armcompute.GalleriesClientListResponse) []*armcompute.Gallery { return r.Value })
			if err != nil || len(bySub) != 1 || bySub[0] != "visible" {
				t.Errorf("galleries listed by subscription: %v, %v", bySub, err)
			}
			ims, err := pageNames(ctx, images.NewListByGalleryPager(rg, "visible", nil), func(r armcompute.GalleryImagesClientListByGalleryResponse) []*armcompute.GalleryImage { return r.Value })
			if err != nil || len(ims) != 1 {
				t.Errorf("image definitions: %v, %v", ims, err)
			}
			vs, err := pageNames(ctx, vers.NewListByGalleryImagePager(rg, "visible", "linux", nil), func(r armcompute.GalleryImageVersionsClientListByGalleryImageResponse) []*armcompute.GalleryImageVersion {
				return r.Value
			})
			if err != nil || len(vs) != 1 || vs[0] != "1.0.0" {
				t.Errorf("versions: %v, %v", vs, err)
			}
			if _, err := vers.Get(ctx, rg, "visible", "linux", "1.0.0", nil); err != nil {
				t.Errorf("reading the version: %v", err)
			}
			_, err = galleries.BeginCreateOrUpdate(ctx, rg, "visible", armcompute.Gallery{Location: to.Ptr("eastus"),
				Properties: &armcompute.GalleryProperties{Description: to.Ptr("changed")}}, nil)
			wantResponseError(t, "updating the gallery", err, 403, "AuthorizationFailed")
			_, err = images.BeginCreateOrUpdate(ctx, rg, "visible", "another", linuxImage("p", "o", "x"), nil)
			wantResponseError(t, "adding an image definition", err, 403, "AuthorizationFailed")
			_, err = vers.BeginDelete(ctx, rg, "visible", "linux", "1.0.0", nil)
			wantResponseError(t, "deleting the version", err, 403, "AuthorizationFailed")
			theirRA, _ := armauthorization.NewRoleAssignmentsClient(s.Creds.SubscriptionID, cred, opts)
			_, err = assignRole(t, theirRA, gallery, reader, p.memberObjectID, armauthorization.PrincipalTypeUser)
			wantResponseError(t, "a Reader assigning a role", err, 403, "AuthorizationFailed")
			if status := versionAccess(t, s, cred, gallery+"/images/linux/versions/1.0.0"); status != http.StatusForbidden {
				t.Errorf("a Reader downloading the version: %d, want 403", status)
			}
		})
	}

	// A role with the download data action lets the service principal
	// fetch the version's bytes: here a custom one (Galleon's built-in
	// Compute Gallery Image Downloader would do as well).
	defs, err := armauthorization.NewRoleDefinitionsClient(sdk.Cred, ownerOpts)
	if err != nil {
		t.Fatal(err)
	}
	custom := uuid.NewString()
	if _, err := defs.CreateOrUpdate(ctx, sub, custom, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Version downloader"), RoleType: to.Ptr("CustomRole"), AssignableScopes: []*string{to.Ptr(sub)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Compute/galleries/*/read")},
			DataActions: []*string{to.Ptr("Microsoft.Compute/galleries/images/versions/download/action")}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := assignRole(t, ra, gallery, custom, p.spObjectID, armauthorization.PrincipalTypeServicePrincipal); err != nil {
		t.Fatal(err)
	}
	// A Contributor holds no data actions, so cannot pass this role on.
	contribApp, contribOID, contribSecret := newServicePrincipal(t, s, graphToken(t, s), "contributor")
	if _, err := assignRole(t, ra, sub, "b24988ac-6180-42a0-ab88-20f7382dd24c", contribOID, armauthorization.PrincipalTypeServicePrincipal); err != nil {
		t.Fatal(err)
	}
	contribRA, _ := armauthorization.NewRoleAssignmentsClient(s.Creds.SubscriptionID, spCredential(t, s, sdk, contribApp, contribSecret), ownerOpts)
	_, err = assignRole(t, contribRA, gallery, custom, p.userObjectID, armauthorization.PrincipalTypeUser)
	wantResponseError(t, "a Contributor assigning a role", err, 403, "AuthorizationFailed")
	spCred := creds["service principal"]
	status, sas := versionAccessSAS(t, s, spCred, gallery+"/images/linux/versions/1.0.0")
	if status != http.StatusOK {
		t.Fatalf("downloading with the data action: %d", status)
	}
	if got := fetchDigest(t, s, sas); got != sha256Hex(vhdBytes) {
		t.Errorf("the version's bytes through its read SAS: %s, want %s", got, sha256Hex(vhdBytes))
	}

	// Removing the user's assignment removes the user's access at once.
	if _, err := ra.Delete(ctx, gallery, userAssignment, nil); err != nil {
		t.Fatal(err)
	}
	userGalleries, _ := armcompute.NewGalleriesClient(s.Creds.SubscriptionID, creds["user"], ownerOpts)
	_, err = userGalleries.Get(ctx, rg, "visible", nil)
	wantResponseError(t, "reading after the assignment was removed", err, 403, "AuthorizationFailed")

	// The audit log holds the refusals, with who and what.
	status, _, body := s.Do(t, "GET", sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01", s.Token(t), nil)
	events, _ := body["value"].([]any)
	denied, directoryWrites := 0, 0
	for _, e := range events {
		ev, _ := e.(map[string]any)
		if st, _ := ev["status"].(map[string]any); st["value"] == "Denied" {
			denied++
		}
		if op, _ := ev["operationName"].(map[string]any); op["value"] == "Microsoft.Graph/users/write" {
			directoryWrites++
		}
	}
	if status != 200 || denied < 3*5 || directoryWrites != 2 {
		t.Errorf("audit log: status %d, %d denied events and %d user creations of %d, want at least 15 and 2", status, denied, directoryWrites, len(events))
	}
}

// tokenOptions asks for an ARM token.
func tokenOptions(s *Server) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{s.Creds.Audience + ".default"}}
}

// versionAccess asks for a version's read SAS as cred and returns the status.
func versionAccess(t testing.TB, s *Server, cred azcore.TokenCredential, version string) int {
	status, _ := versionAccessSAS(t, s, cred, version)
	return status
}

func versionAccessSAS(t testing.TB, s *Server, cred azcore.TokenCredential, version string) (int, string) {
	t.Helper()
	tok, err := cred.GetToken(context.Background(), tokenOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := s.Do(t, "POST", version+"/beginGetAccess?api-version=2025-03-03", tok.Token, map[string]any{"durationInSeconds": 600})
	sas, _ := body["accessSAS"].(string)
	return status, sas
}

// fetchDigest downloads a SAS URL (sent to this server whatever origin it
// names) and returns the hex sha256 of the body.
func fetchDigest(t testing.TB, s *Server, sas string) string {
	t.Helper()
	u, err := url.Parse(sas)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client.Get(s.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET the read SAS: %s", resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pageNames reads every page of a list and returns the items' names.
func pageNames[T any, V any](ctx context.Context, p *runtime.Pager[T], items func(T) []*V) ([]string, error) {
	var out []string
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range items(page) {
			out = append(out, nameOf(v))
		}
	}
	return out, nil
}

// nameOf reads the Name field every ARM model has.
func nameOf(v any) string {
	switch x := v.(type) {
	case *armcompute.Gallery:
		return *x.Name
	case *armcompute.GalleryImage:
		return *x.Name
	case *armcompute.GalleryImageVersion:
		return *x.Name
	}
	return ""
}
