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
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 24<<20)
	source := azuriteVHD(t, vhdBytes)
	s := StartServer(t, azuriteAllow(t, source)...)
	az := NewAz(t, s)
	az.Login()
	az.MustJSON(nil, "group", "create", "-n", "azImages", "-l", "eastus")
	var snap map[string]any
	az.MustJSON(&snap, "snapshot", "create", "-g", "azImages", "-n", "osSnap", "--source", source)
	if snap["diskState"] != "Unattached" || snap["diskSizeBytes"] != float64(24<<20) {
		t.Fatalf("az snapshot create --source <blob url>: %v", snap)
	}
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

	// The update sends the version back without its source (the client
	// drops it); the server keeps the version's own.
	az.MustJSON(&v, "sig", "image-version", "update", "-g", "azImages", "-r", "azGallery", "-i", "ubuntu", "-e", "1.0.0",
		"--set", "publishingProfile.excludeFromLatest=true")
	if pp, _ := v["publishingProfile"].(map[string]any); pp["excludeFromLatest"] != true {
		t.Fatalf("az sig image-version update: %v", v)
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
