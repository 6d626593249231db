package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/identity"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

func runTenantCreate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"tenant", "create"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTenantCreate(t *testing.T) {
	dir := t.TempDir()
	if _, err := runTenantCreate(t, "--data", dir, "--domain", "contoso.example"); err == nil || !strings.Contains(err.Error(), "galleon serve") {
		t.Fatalf("before the first start: %v, want a hint to run galleon serve", err)
	}
	db, err := sqlstore.Open(context.Background(), filepath.Join(dir, "galleon.db"))
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.NewBootstrap()
	b.Tenant.CreatedAt = time.Now().UTC().Add(-time.Hour)
	if _, err := db.Bootstrap(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, err := runTenantCreate(t, "--data", dir, "--domain", "Contoso.example", "--name", "Contoso", "-o", "json")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	var c NewTenantCredentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	db, err = sqlstore.Open(context.Background(), filepath.Join(dir, "galleon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, err := db.GetSubscription(context.Background(), c.SubscriptionID)
	if err != nil || sub.TenantID != c.TenantID {
		t.Fatalf("the new subscription: %+v, %v", sub, err)
	}
	p, secrets, err := db.ServicePrincipalByAppID(context.Background(), c.ClientID)
	if err != nil || p.TenantID != c.TenantID || p.ObjectID != c.ServicePrincipalObjectID || len(secrets) != 1 ||
		!identity.CheckClientSecret(secrets[0].Hash, c.ClientSecret) {
		t.Fatalf("the new service principal: %+v, %v, %v", p, secrets, err)
	}
	as, err := db.ListRoleAssignmentsAtScope(context.Background(), galleon.SubscriptionScope(c.SubscriptionID), false)
	if err != nil || len(as) != 1 || as[0].PrincipalID != p.ObjectID || as[0].RoleDefinitionGUID() != galleon.RoleOwner {
		t.Fatalf("assignments on the new subscription: %+v, %v", as, err)
	}

	if out, err := runTenantCreate(t, "--data", dir, "--domain", "contoso.EXAMPLE"); err == nil || !strings.Contains(err.Error(), "Conflict") {
		t.Fatalf("the same domain again: %v\n%s", err, out)
	}
	if _, err := runTenantCreate(t, "--data", dir, "--domain", "no_dots"); err == nil || !strings.Contains(err.Error(), "InvalidParameter") {
		t.Fatalf("a bad domain: %v", err)
	}
	out, err = runTenantCreate(t, "--data", dir, "--domain", "fabrikam.example")
	if err != nil || !strings.Contains(out, "client secret: ") || !strings.Contains(out, "az login --service-principal") {
		t.Fatalf("text output: %v\n%s", err, out)
	}
}
