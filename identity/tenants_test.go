package identity

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// multiTenantDirectory adds a further tenant, with its own service
// principal, to newDirectory's.
type multiTenantDirectory struct {
	*fakeDirectory
	other galleon.Tenant
}

func (d *multiTenantDirectory) GetTenant(_ context.Context, key string) (*galleon.Tenant, error) {
	if strings.EqualFold(key, d.other.ID) || strings.EqualFold(key, d.other.Domain) {
		t := d.other
		return &t, nil
	}
	return nil, galleon.Errorf(galleon.CodeResourceNotFound, "no tenant %s", key)
}

func TestIssuer_FurtherTenants(t *testing.T) {
	const otherTenant, otherApp, otherObject = "44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555", "77777777-7777-7777-7777-777777777777"
	base := newDirectory()
	defaultSP := base.ServicePrincipalByAppIDFn
	base.ServicePrincipalByAppIDFn = func(ctx context.Context, id string) (*galleon.Principal, []galleon.ClientSecret, error) {
		if id == otherApp {
			return &galleon.Principal{ObjectID: otherObject, TenantID: otherTenant, Type: galleon.PrincipalServicePrincipal, AppID: otherApp},
				[]galleon.ClientSecret{{ID: "s2", Hash: HashClientSecret(secret), ExpiresAt: time.Now().Add(time.Hour)}}, nil
		}
		return defaultSP(ctx, id)
	}
	dir := &multiTenantDirectory{fakeDirectory: base, other: galleon.Tenant{ID: otherTenant, Domain: "contoso.example"}}
	iss, srv := MustIssuer(t, dir)

	for _, segment := range []string{otherTenant, "contoso.example"} {
		if r := get(t, srv, "/"+segment+"/v2.0/.well-known/openid-configuration"); r.status != http.StatusOK ||
			r.body["issuer"] != iss.PublicURL+"/"+otherTenant+"/v2.0" {
			t.Fatalf("discovery of the further tenant by %s: %d %v", segment, r.status, r.body)
		}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {otherApp}, "client_secret": {secret}, "scope": {armScope}}
	for _, path := range []string{"/" + otherTenant + "/oauth2/v2.0/token", "/adfs/oauth2/token"} {
		r := postForm(t, srv, path, form, false)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		p, err := iss.VerifyToken(r.body["access_token"].(string))
		if err != nil || p.TenantID != otherTenant || p.ObjectID != otherObject || p.AppID != otherApp {
			t.Fatalf("%s: the further tenant's token verifies as %+v, %v", path, p, err)
		}
	}
	// A principal of the further tenant is no client of the default
	// tenant's authority, nor the default's of the further one.
	if r := postForm(t, srv, "/"+tenantID+"/oauth2/v2.0/token", form, false); r.status == http.StatusOK {
		t.Fatal("the further tenant's principal got a token from the default tenant's authority")
	}
	form.Set("client_id", appID)
	if r := postForm(t, srv, "/"+otherTenant+"/oauth2/v2.0/token", form, false); r.status == http.StatusOK {
		t.Fatal("the default tenant's principal got a token from the further tenant's authority")
	}
	// A token naming a tenant the directory does not know is refused.
	tok, _, err := iss.IssueToken(galleon.Principal{ObjectID: otherObject, TenantID: "99999999-9999-9999-9999-999999999999",
		Type: galleon.PrincipalServicePrincipal, AppID: otherApp}, armAud)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.VerifyToken(tok); galleon.ErrorCode(err) != galleon.CodeAuthenticationFailed {
		t.Fatalf("a token of an unknown tenant: %v, want refused", err)
	}
	if r := get(t, srv, "/nowhere.example/v2.0/.well-known/openid-configuration"); r.status != http.StatusBadRequest {
		t.Fatalf("discovery of an unknown tenant: %d", r.status)
	}
}
