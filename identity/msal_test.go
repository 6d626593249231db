package identity

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"net/http"
)

// TestAzureSDK_ClientSecretCredential logs in with the Azure SDK for Go
// (azidentity over MSAL-Go), configured as CLIENT-CONTRACT.md §6 tells
// users, against both authority styles.
func TestAzureSDK_ClientSecretCredential(t *testing.T) {
	for _, tt := range []struct {
		name, tenant, secret string
		wantErr              string
	}{
		{"TenantID", tenantID, secret, ""},
		{"TenantDomain", tenantDomain, secret, ""},
		// MSAL-Go treats the tenant "adfs" as the AD FS authority, as az does.
		{"ADFS", "adfs", secret, ""},
		{"ErrWrongSecret", tenantID, "wrong", "AADSTS7000215"},
		{"ErrWrongSecretADFS", "adfs", "wrong", "AADSTS7000215"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss, srv := MustIssuer(t, newDirectory())
			var tokenRequests atomic.Int32
			handler := srv.Config.Handler
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(strings.ToLower(r.URL.Path), "/token") {
					tokenRequests.Add(1)
				}
				handler.ServeHTTP(w, r)
			})
			opts := azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
				Transport: srv.Client(),
			}
			cred, err := azidentity.NewClientSecretCredential(tt.tenant, appID, tt.secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			scopes := policy.TokenRequestOptions{Scopes: []string{armScope}}
			tok, err := cred.GetToken(ctx, scopes)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GetToken err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := iss.VerifyToken(tok.Token)
			if err != nil {
				t.Fatalf("VerifyToken: %v", err)
			}
			if p != testPrincipalAsVerified() {
				t.Errorf("VerifyToken = %+v", p)
			}
			if left := time.Until(tok.ExpiresOn); left < 59*time.Minute || left > time.Hour {
				t.Errorf("token expires in %v, want just under an hour", left)
			}
			// A second call is served from MSAL's cache: our answer is one
			// MSAL accepts and stores (scope not declined, expiry parsed).
			if _, err := cred.GetToken(ctx, scopes); err != nil {
				t.Fatal(err)
			}
			if n := tokenRequests.Load(); n != 1 {
				t.Errorf("%d token requests, want 1 (the second from the cache)", n)
			}
		})
	}
}
