package e2e

import (
	"strings"
	"testing"
)

// TestAzCLI_ImageVersions runs the image version commands of the real az
// CLI: a snapshot imported from a blob URL in Azurite, a version created
// from it with target regions and replica counts, shown with its
// replication status, updated and deleted.
func TestAzCLI_ImageVersions(t *testing.T) {
	_, vhdBytes := makeFixedVHD(t, 24<<20)
	source := azuriteVHD(t, vhdBytes)
	s := StartServer(t)
	az := NewAz(t, s)
	az.Login()
	sub := s.Creds.SubscriptionID
	az.MustJSON(nil, "group", "create", "-n", "azImages", "-l", "eastus")
	// az 2.45's "snapshot create --source <blob url>" fails inside the
	// client (it prints only 'core') before sending anything for a blob
	// URL outside *.blob.core.windows.net, so the snapshot is imported
	// through az rest, which sends the same PUT.
	var snap map[string]any
	snapID := "/subscriptions/" + sub + "/resourceGroups/azImages/providers/Microsoft.Compute/snapshots/osSnap"
	body := `{"location":"eastus","properties":{"osType":"Linux","creationData":{"createOption":"Import","sourceUri":"` + source + `"}}}`
	az.MustJSON(&snap, "rest", "--method", "put", "--url", snapID+"?api-version=2022-07-02", "--body", body)
	if props, _ := snap["properties"].(map[string]any); props["diskState"] != "Unattached" {
		t.Fatalf("importing a snapshot through az rest: %v", snap)
	}
	snap["id"] = snapID
	az.MustJSON(nil, "sig", "create", "-g", "azImages", "-r", "azGallery")
	az.MustJSON(nil, "sig", "image-definition", "create", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu",
		"--publisher", "p", "--offer", "o", "--sku", "s", "--os-type", "Linux", "--os-state", "Generalized")

	var v map[string]any
	az.MustJSON(&v, "sig", "image-version", "create", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0",
		"--os-snapshot", snap["id"].(string), "--target-regions", "eastus", "westus2=2", "westeurope=1=standard_zrs")
	if v["provisioningState"] != "Succeeded" {
		t.Fatalf("az sig image-version create: %v", v)
	}
	az.MustJSON(&v, "sig", "image-version", "show", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0", "--expand", "ReplicationStatus")
	rs, _ := v["replicationStatus"].(map[string]any)
	summary, _ := rs["summary"].([]any)
	if rs["aggregatedState"] != "Completed" || len(summary) != 3 {
		t.Fatalf("az sig image-version show --expand ReplicationStatus: %v", rs)
	}

	// Debian's az 2.45 fails inside the client on "sig image-version
	// update" (a model module missing from its packaged SDK; it prints only
	// 'core', like "snapshot create --source <url>"), so the update goes
	// through az rest, which sends the PATCH the command would.
	versionID := "/subscriptions/" + sub + "/resourceGroups/azImages/providers/Microsoft.Compute/galleries/azGallery/images/ubuntu/versions/1.0.0"
	az.MustJSON(&v, "rest", "--method", "patch", "--url", versionID+"?api-version=2022-03-03",
		"--body", `{"properties":{"publishingProfile":{"excludeFromLatest":true}}}`)
	props, _ := v["properties"].(map[string]any)
	if pp, _ := props["publishingProfile"].(map[string]any); pp["excludeFromLatest"] != true {
		t.Fatalf("updating through az rest: %v", v)
	}
	az.MustJSON(nil, "sig", "image-version", "wait", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0", "--custom", "provisioningState=='Succeeded'")
	az.MustJSON(&v, "sig", "image-version", "show", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0")
	if pp, _ := v["publishingProfile"].(map[string]any); pp["excludeFromLatest"] != true || v["provisioningState"] != "Succeeded" {
		t.Fatalf("az sig image-version show after the update: %v", v)
	}

	_, stderr, err := az.Run("sig", "image-version", "create", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "2.0",
		"--os-snapshot", snap["id"].(string))
	if err == nil || !strings.Contains(stderr, "2.0") {
		t.Errorf("a malformed version name: err %v, stderr %q", err, stderr)
	}

	az.MustJSON(nil, "sig", "image-version", "delete", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0")
	if _, stderr, err := az.Run("sig", "image-version", "show", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0"); err == nil ||
		!strings.Contains(stderr, "not found") {
		t.Errorf("show after delete: err %v, stderr %q", err, stderr)
	}
}
