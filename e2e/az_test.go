package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Az runs the real az CLI against a server, in a configuration folder of
// its own.
type Az struct {
	t      *testing.T
	path   string
	env    []string
	server *Server
}

func NewAz(t *testing.T, s *Server) *Az {
	t.Helper()
	path, err := exec.LookPath("az")
	requireService(t, "the az CLI (Debian package azure-cli)", err)
	config := t.TempDir()
	// Without a fresh version check on file, az's first call goes looking
	// for a newer release on the internet.
	seed := map[string]any{
		"versions":    map[string]any{"azure-cli": map[string]string{"local": azVersion(t, path), "pypi": azVersion(t, path)}},
		"update_time": time.Now().Format("2006-01-02 15:04:05.000000"),
	}
	data, _ := json.Marshal(seed)
	if err := os.WriteFile(filepath.Join(config, "versionCheck.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &Az{t: t, path: path, server: s, env: append(os.Environ(),
		"AZURE_CONFIG_DIR="+config,
		"REQUESTS_CA_BUNDLE="+s.Creds.CACertificate,
		"AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CORE_SURVEY_MESSAGE=false",
		"AZURE_CORE_ERROR_RECOMMENDATION=off",
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_ONLY_SHOW_ERRORS=true",
	)}
}

func azVersion(t *testing.T, path string) string {
	out, err := exec.Command(path, "version", "--output", "json").Output()
	if err != nil {
		// az version itself may try the network; the local version is enough.
		return "2.45.0"
	}
	var v map[string]any
	if json.Unmarshal(out, &v) == nil {
		if s, ok := v["azure-cli"].(string); ok {
			return s
		}
	}
	return "2.45.0"
}

// Run runs az with args and returns stdout, stderr and the error.
func (a *Az) Run(args ...string) (string, string, error) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.path, args...)
	cmd.Env = a.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// MustJSON runs az with --output json and decodes the result.
func (a *Az) MustJSON(out any, args ...string) {
	a.t.Helper()
	stdout, stderr, err := a.Run(append(args, "--output", "json")...)
	if err != nil {
		a.t.Fatalf("az %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		a.t.Fatalf("az %s: decoding %q: %v", strings.Join(args, " "), stdout, err)
	}
}

// Login registers the server as a cloud and logs in as the bootstrap
// service principal, exactly as the README tells users to.
func (a *Az) Login() {
	a.t.Helper()
	c := a.server.Creds
	rm := c.ResourceManagerEndpoint
	cloud := fmt.Sprintf(`{"profile":"latest","endpoints":{"resourceManager":%q,"management":%q,"activeDirectory":%q,"activeDirectoryResourceId":%q,"activeDirectoryGraphResourceId":%q,"microsoftGraphResourceId":%q,"gallery":%q},"suffixes":{"storageEndpoint":"core.windows.net","keyvaultDns":".vault.azure.net"}}`,
		rm, c.Audience, c.ADFSAuthority, c.Audience, rm+"graph/", c.GraphEndpoint, rm+"gallery/")
	a.MustJSON(nil, "cloud", "register", "-n", "Galleon", "--cloud-config", cloud)
	a.MustJSON(nil, "cloud", "set", "-n", "Galleon")
	var subs []map[string]any
	a.MustJSON(&subs, "login", "--service-principal", "-u", c.ClientID, "-p", c.ClientSecret, "--tenant", c.TenantID)
	if len(subs) != 1 || subs[0]["id"] != c.SubscriptionID {
		a.t.Fatalf("az login listed %v, want subscription %s", subs, c.SubscriptionID)
	}
}

func TestAzCLI(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	az := NewAz(t, s)
	az.Login()

	var rg map[string]any
	az.MustJSON(&rg, "group", "create", "-n", "azRG", "-l", "eastus")
	if rg["name"] != "azRG" || rg["properties"].(map[string]any)["provisioningState"] != "Succeeded" {
		t.Fatalf("group create: %v", rg)
	}

	var g map[string]any
	az.MustJSON(&g, "sig", "create", "-g", "azRG", "-r", "azGallery", "--description", "made by az")
	if g["name"] != "azGallery" || g["provisioningState"] != "Succeeded" || g["description"] != "made by az" {
		t.Fatalf("sig create: %v", g)
	}
	az.MustJSON(&g, "sig", "show", "-g", "azRG", "-r", "azGallery")
	wantID := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/azRG/providers/Microsoft.Compute/galleries/azGallery"
	if g["id"] != wantID {
		t.Errorf("sig show id = %v, want %s", g["id"], wantID)
	}
	if id, _ := g["identifier"].(map[string]any); id["uniqueName"] != s.Creds.SubscriptionID+"-AZGALLERY" {
		t.Errorf("sig show identifier = %v", g["identifier"])
	}
	var list []map[string]any
	az.MustJSON(&list, "sig", "list", "-g", "azRG")
	if len(list) != 1 || list[0]["name"] != "azGallery" {
		t.Errorf("sig list: %v", list)
	}

	_, stderr, err := az.Run("sig", "create", "-g", "azRG", "-r", "bad-name", "--output", "json")
	if err == nil || !strings.Contains(stderr, "cannot contain dashes") {
		t.Errorf("sig create with a dash: err %v, stderr %q; want the naming rule", err, stderr)
	}

	var img map[string]any
	az.MustJSON(&img, "sig", "image-definition", "create", "-g", "azRG", "-r", "azGallery", "-i", "azImage",
		"--publisher", "myPublisher", "--offer", "myOffer", "--sku", "mySKU", "--os-type", "Linux", "--os-state", "Generalized")
	if img["name"] != "azImage" || img["osType"] != "Linux" || img["hyperVGeneration"] != "V1" || img["provisioningState"] != "Succeeded" {
		t.Fatalf("image-definition create: %v", img)
	}
	az.MustJSON(&img, "sig", "image-definition", "show", "-g", "azRG", "-r", "azGallery", "-i", "azImage")
	if ident, _ := img["identifier"].(map[string]any); ident["publisher"] != "myPublisher" || ident["sku"] != "mySKU" {
		t.Errorf("image-definition show: %v", img)
	}
	az.MustJSON(&list, "sig", "image-definition", "list", "-g", "azRG", "-r", "azGallery")
	if len(list) != 1 || list[0]["name"] != "azImage" {
		t.Errorf("image-definition list: %v", list)
	}

	_, stderr, err = az.Run("sig", "delete", "-g", "azRG", "-r", "azGallery")
	if err == nil || !strings.Contains(stderr, "CannotDeleteResource") && !strings.Contains(stderr, "image definitions") {
		t.Errorf("deleting a gallery with an image definition: err %v, stderr %q", err, stderr)
	}
	az.MustJSON(nil, "sig", "image-definition", "delete", "-g", "azRG", "-r", "azGallery", "-i", "azImage")
	az.MustJSON(nil, "sig", "delete", "-g", "azRG", "-r", "azGallery")
	_, stderr, err = az.Run("sig", "show", "-g", "azRG", "-r", "azGallery")
	if err == nil || !strings.Contains(stderr, "ResourceNotFound") && !strings.Contains(stderr, "was not found") {
		t.Errorf("sig show after delete: err %v, stderr %q", err, stderr)
	}
	az.MustJSON(nil, "group", "delete", "-n", "azRG", "--yes")
	var exists bool
	az.MustJSON(&exists, "group", "exists", "-n", "azRG")
	if exists {
		t.Error("the group still exists after az group delete")
	}
}
