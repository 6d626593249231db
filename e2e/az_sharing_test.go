package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// LoginAs registers the server as a cloud and logs az in as another
// tenant's service principal, which must see exactly wantSubscription.
func (a *Az) LoginAs(clientID, secret, tenantID, wantSubscription string) {
	a.t.Helper()
	c := a.server.Creds
	rm := c.ResourceManagerEndpoint
	cloud := fmt.Sprintf(`{"profile":"latest","endpoints":{"resourceManager":%q,"management":%q,"activeDirectory":%q,"activeDirectoryResourceId":%q,"activeDirectoryGraphResourceId":%q,"microsoftGraphResourceId":%q,"gallery":%q},"suffixes":{"storageEndpoint":"core.windows.net","keyvaultDns":".vault.azure.net"}}`,
		rm, c.Audience, c.ADFSAuthority, c.Audience, rm+"graph/", c.GraphEndpoint, rm+"gallery/")
	a.MustJSON(nil, "cloud", "register", "-n", "Galleon", "--cloud-config", cloud)
	a.MustJSON(nil, "cloud", "set", "-n", "Galleon")
	var subs []map[string]any
	a.MustJSON(&subs, "login", "--service-principal", "-u", clientID, "-p", secret, "--tenant", tenantID)
	if len(subs) != 1 || subs[0]["id"] != wantSubscription || subs[0]["tenantId"] != tenantID {
		a.t.Fatalf("az login as %s listed %v, want subscription %s of tenant %s", clientID, subs, wantSubscription, tenantID)
	}
}

func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		n, _ := it["name"].(string)
		out = append(out, n)
	}
	return out
}

// TestAzSharing shares a gallery with another tenant's subscription and
// with the community through the real az CLI, and lists what is shared as
// that tenant's service principal.
func TestAzSharing(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	owner := NewAz(t, s)
	owner.Login()
	c := s.CreateTenant(t, "fabrikam.example")
	consumer := NewAz(t, s)
	consumer.LoginAs(c.ClientID, c.ClientSecret, c.TenantID, c.SubscriptionID)
	unique := s.Creds.SubscriptionID + "-AZSHARED"

	owner.MustJSON(nil, "group", "create", "-n", "azShare", "-l", "eastus")
	owner.MustJSON(nil, "sig", "create", "-g", "azShare", "-r", "azShared")
	owner.MustJSON(nil, "sig", "image-definition", "create", "-g", "azShare", "-r", "azShared", "-i", "azImage",
		"--publisher", "myPublisher", "--offer", "myOffer", "--sku", "mySKU", "--os-type", "Linux", "--os-state", "Generalized")

	var list []map[string]any
	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus")
	if len(list) != 0 {
		t.Fatalf("az sig list-shared before sharing: %v", list)
	}

	owner.MustJSON(nil, "sig", "share", "add", "--gallery-name", "azShared", "-g", "azShare", "--subscription-ids", c.SubscriptionID)
	var g map[string]any
	owner.MustJSON(&g, "sig", "show", "-g", "azShare", "-r", "azShared", "--sharing-groups")
	sp, _ := g["sharingProfile"].(map[string]any)
	groups, _ := sp["groups"].([]any)
	if sp["permissions"] != "Groups" || len(groups) != 1 || !strings.Contains(fmt.Sprint(groups[0]), c.SubscriptionID) {
		t.Errorf("az sig show --sharing-groups: %v", sp)
	}
	// az sig update sends the gallery back: the share stays.
	owner.MustJSON(&g, "sig", "update", "-g", "azShare", "-r", "azShared", "--set", "description=shared with fabrikam")
	owner.MustJSON(&g, "sig", "show", "-g", "azShare", "-r", "azShared", "--sharing-groups")
	if sp, _ := g["sharingProfile"].(map[string]any); sp["permissions"] != "Groups" || len(sp["groups"].([]any)) != 1 || g["description"] != "shared with fabrikam" {
		t.Errorf("after az sig update: %v", g)
	}

	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus")
	if got := names(list); !slices.Equal(got, []string{unique}) {
		t.Fatalf("az sig list-shared as the other tenant: %v, want %s", list, unique)
	}
	if id, _ := list[0]["uniqueId"].(string); id != "/SharedGalleries/"+unique {
		t.Errorf("az sig list-shared item: %v", list[0])
	}
	consumer.MustJSON(&list, "sig", "image-definition", "list-shared", "--gallery-unique-name", unique, "--location", "eastus")
	if got := names(list); !slices.Equal(got, []string{"azImage"}) {
		t.Errorf("az sig image-definition list-shared: %v", list)
	}
	var img map[string]any
	consumer.MustJSON(&img, "sig", "image-definition", "show-shared", "--gallery-unique-name", unique, "--gallery-image-definition", "azImage", "--location", "eastus")
	if img["osType"] != "Linux" {
		t.Errorf("az sig image-definition show-shared: %v", img)
	}
	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus", "--shared-to", "tenant")
	if len(list) != 0 {
		t.Errorf("az sig list-shared --shared-to tenant: %v, want none (shared with the subscription)", list)
	}

	owner.MustJSON(nil, "sig", "share", "reset", "--gallery-name", "azShared", "-g", "azShare")
	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus")
	if len(list) != 0 {
		t.Fatalf("az sig list-shared after az sig share reset: %v", list)
	}

	owner.MustJSON(nil, "sig", "share", "add", "--gallery-name", "azShared", "-g", "azShare", "--tenant-ids", c.TenantID)
	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus", "--shared-to", "tenant")
	if got := names(list); !slices.Equal(got, []string{unique}) {
		t.Errorf("az sig list-shared --shared-to tenant after sharing with the tenant: %v", list)
	}
	owner.MustJSON(nil, "sig", "share", "remove", "--gallery-name", "azShared", "-g", "azShare", "--tenant-ids", c.TenantID)
	consumer.MustJSON(&list, "sig", "list-shared", "--location", "eastus", "--shared-to", "tenant")
	if len(list) != 0 {
		t.Errorf("az sig list-shared after az sig share remove: %v", list)
	}

	// (A share by a caller without a role on the gallery is refused with
	// 403 AuthorizationFailed: TestSharing shows it through the SDK. az
	// cannot send it as the other tenant: it refuses a subscription its
	// login does not list, in --subscription and in az rest URLs alike.)

	// Community: az sig create --permissions community, then enable-community.
	owner.MustJSON(nil, "sig", "create", "-g", "azShare", "-r", "azCommunity", "--permissions", "Community",
		"--publisher-uri", "https://images.contoso.example", "--publisher-email", "images@contoso.example",
		"--eula", "https://images.contoso.example/eula", "--public-name-prefix", "ContosoImages")
	owner.MustJSON(nil, "sig", "share", "enable-community", "--gallery-name", "azCommunity", "-g", "azShare")
	owner.MustJSON(&g, "sig", "show", "-g", "azShare", "-r", "azCommunity")
	ci, _ := g["sharingProfile"].(map[string]any)["communityGalleryInfo"].(map[string]any)
	publicNames, _ := ci["publicNames"].([]any)
	if ci["communityGalleryEnabled"] != true || len(publicNames) != 1 {
		t.Fatalf("the community gallery after enable-community: %v", g)
	}
	public := publicNames[0].(string)
	var cg map[string]any
	consumer.MustJSON(&cg, "sig", "show-community", "--location", "eastus", "--public-gallery-name", public)
	// az 2.45's model (api-version 2022-01-03) predates communityMetadata
	// and shows it under properties.
	md, _ := cg["communityMetadata"].(map[string]any)
	if props, ok := cg["properties"].(map[string]any); ok && md == nil {
		md, _ = props["communityMetadata"].(map[string]any)
	}
	if cg["name"] != public || md["eula"] != "https://images.contoso.example/eula" || md["publisherContact"] != "images@contoso.example" {
		t.Errorf("az sig show-community as the other tenant: %v", cg)
	}
}
