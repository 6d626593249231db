package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestAzCLI_RoleAssignments assigns, lists and removes a role through the
// real az CLI, with az rest as CLIENT-CONTRACT.md §5 prescribes (Debian's
// az 2.45 crashes in "az role assignment" before sending anything), and
// reads the audit log with "az monitor activity-log list".
func TestAzCLI_RoleAssignments(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	az := NewAz(t, s)
	az.Login()
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	az.MustJSON(nil, "group", "create", "-n", "azRoles", "-l", "eastus")
	az.MustJSON(nil, "sig", "create", "-g", "azRoles", "-r", "azGallery")
	gallery := sub + "/resourceGroups/azRoles/providers/Microsoft.Compute/galleries/azGallery"
	body := `{"properties":{"roleDefinitionId":"` + sub + `/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"` +
		s.Creds.ServicePrincipalObjectID + `","principalType":"ServicePrincipal"}}`
	name := uuid.NewString()
	var created map[string]any
	az.MustJSON(&created, "rest", "--method", "put", "--url", gallery+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01", "--body", body)
	props, _ := created["properties"].(map[string]any)
	if created["name"] != name || props["scope"] != gallery || props["principalType"] != "ServicePrincipal" {
		t.Fatalf("az rest put roleAssignments: %v", created)
	}
	_, stderr, err := az.Run("rest", "--method", "put", "--url", gallery+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01", "--body", body)
	if err == nil || !strings.Contains(stderr, "RoleAssignmentExists") || !strings.Contains(stderr, "role assignment already exists") {
		t.Errorf("a duplicate assignment: err %v, stderr %q", err, stderr)
	}
	var list struct {
		Value []map[string]any `json:"value"`
	}
	az.MustJSON(&list, "rest", "--method", "get", "--url", gallery+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()")
	scopes := map[string]bool{}
	for _, a := range list.Value {
		p, _ := a["properties"].(map[string]any)
		scopes[p["scope"].(string)] = true
	}
	// The bootstrap service principal and admin user own the subscription.
	if len(list.Value) != 3 || !scopes[sub] || !scopes[gallery] {
		t.Errorf("assignments at and above the gallery: %v", list.Value)
	}
	var defs struct {
		Value []map[string]any `json:"value"`
	}
	az.MustJSON(&defs, "rest", "--method", "get", "--url", sub+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=roleName eq 'Reader'")
	if len(defs.Value) != 1 || defs.Value[0]["name"] != "acdd72a7-3385-48ef-bd42-f606fba81ae7" {
		t.Errorf("role definitions named Reader: %v", defs.Value)
	}
	az.MustJSON(nil, "rest", "--method", "delete", "--url", gallery+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01")
	az.MustJSON(&list, "rest", "--method", "get", "--url", gallery+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()")
	if len(list.Value) != 2 {
		t.Errorf("assignments after the delete: %v", list.Value)
	}

	// The audit log, as az reads Azure's activity log.
	var events []map[string]any
	az.MustJSON(&events, "monitor", "activity-log", "list", "--max-events", "50")
	var writes []string
	for _, e := range events {
		op, _ := e["operationName"].(map[string]any)
		writes = append(writes, op["value"].(string))
	}
	joined := strings.Join(writes, " ")
	for _, want := range []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "Microsoft.Compute/galleries/write"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the activity log lacks %s: %v", want, writes)
		}
	}
	// And as galleon's own command prints it, newest first.
	out, err := exec.Command(binary, "audit", "--data", s.DataDir, "--max", "3").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 4 || !strings.Contains(lines[1], "Microsoft.Authorization/roleAssignments/delete") || !strings.Contains(lines[1], "Succeeded") {
		t.Errorf("galleon audit: %v\n%s", err, out)
	}
}
