package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func TestErrorFromBody(t *testing.T) {
	tests := []struct {
		name, body, code, message string
	}{
		{"ARM", `{"error":{"code":"InvalidParameter","message":"The upload size is invalid."}}`, "InvalidParameter", "The upload size is invalid."},
		{"Storage", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>InvalidPageRange</Code><Message>The page range 0-1 is not aligned.` + "\nRequestId:abc</Message></Error>",
			"InvalidPageRange", "The page range 0-1 is not aligned."},
		{"Neither", `not an error body`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := errorFromBody([]byte(tt.body))
			if code != tt.code || msg != tt.message {
				t.Errorf("got %q, %q; want %q, %q", code, msg, tt.code, tt.message)
			}
		})
	}
}

func TestServerError(t *testing.T) {
	respErr := func(status int, header http.Header, body string) error {
		req, _ := http.NewRequest(http.MethodPut, "https://galleon.test/x", nil)
		if header == nil {
			header = http.Header{}
		}
		return runtime.NewResponseError(&http.Response{StatusCode: status, Status: http.StatusText(status), Header: header,
			Body: io.NopCloser(strings.NewReader(body)), Request: req})
	}
	arm := respErr(404, nil, `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found."}}`)
	storage := respErr(416, http.Header{"X-Ms-Error-Code": {"InvalidPageRange"}},
		"<?xml version=\"1.0\"?><Error><Code>InvalidPageRange</Code><Message>Not aligned.\nRequestId:1</Message></Error>")
	plain := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ARM", arm, "ResourceGroupNotFound: Resource group 'x' could not be found."},
		{"Wrapped", fmt.Errorf("creating snapshot rg/s: %w", arm), "creating snapshot rg/s: ResourceGroupNotFound: Resource group 'x' could not be found."},
		{"Storage", storage, "InvalidPageRange: Not aligned."},
		{"Twice", fmt.Errorf("outer: %w", serverError(fmt.Errorf("inner: %w", storage))), "outer: inner: InvalidPageRange: Not aligned."},
		{"NoBody", respErr(503, nil, ""), "HTTP 503: Service Unavailable"},
		{"NotAServerError", plain, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serverError(tt.err)
			if got.Error() != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Error("the original error is lost")
			}
		})
	}
}

func TestConnection_Credentials(t *testing.T) {
	dir := t.TempDir()
	file := &Credentials{TenantID: "file-tenant", SubscriptionID: "file-sub", ClientID: "file-client", ClientSecret: "file-secret",
		ResourceManagerEndpoint: "https://127.0.0.1:8443/", AuthorityHost: "https://127.0.0.1:8443/", CACertificate: "/data/tls/ca.pem"}
	if err := writeCredentials(dir, file); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID"} {
		t.Setenv(v, "")
	}

	t.Run("File", func(t *testing.T) {
		c, err := (&connection{DataDir: dir}).credentials()
		if err != nil {
			t.Fatal(err)
		}
		if c.TenantID != "file-tenant" || c.ClientSecret != "file-secret" || c.Audience != defaultAudience || c.CACertificate != "/data/tls/ca.pem" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("Overrides", func(t *testing.T) {
		t.Setenv("AZURE_CLIENT_ID", "env-client")
		t.Setenv("AZURE_CLIENT_SECRET", "env-secret")
		c, err := (&connection{DataDir: dir, Endpoint: "https://galleon.example:9443", CACert: "/etc/ca.pem"}).credentials()
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientID != "env-client" || c.ClientSecret != "env-secret" || c.TenantID != "file-tenant" ||
			c.ResourceManagerEndpoint != "https://galleon.example:9443/" || c.AuthorityHost != "https://galleon.example:9443/" || c.CACertificate != "/etc/ca.pem" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("EnvOnly", func(t *testing.T) {
		t.Setenv("AZURE_TENANT_ID", "t")
		t.Setenv("AZURE_CLIENT_ID", "c")
		t.Setenv("AZURE_CLIENT_SECRET", "s")
		t.Setenv("AZURE_SUBSCRIPTION_ID", "sub")
		c, err := (&connection{DataDir: t.TempDir(), Endpoint: "https://h:1"}).credentials()
		if err != nil || c.AuthorityHost != "https://h:1/" || c.SubscriptionID != "sub" {
			t.Errorf("got %+v, %v", c, err)
		}
	})
	t.Run("ErrMissing", func(t *testing.T) {
		t.Setenv("AZURE_TENANT_ID", "t")
		_, err := (&connection{DataDir: t.TempDir()}).credentials()
		if err == nil || !strings.Contains(err.Error(), "--endpoint") || !strings.Contains(err.Error(), "AZURE_CLIENT_SECRET") || strings.Contains(err.Error(), "AZURE_TENANT_ID") {
			t.Errorf("got %v, want an error naming what is missing", err)
		}
	})
}
