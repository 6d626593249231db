package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/spf13/pflag"
)

// defaultAudience is the token audience of Azure Resource Manager, which
// Galleon accepts.
const defaultAudience = "https://management.core.windows.net/"

// connection is how the client commands (upload, download, watch) find
// and log in to a Galleon server: <data>/credentials.json, with
// --endpoint and the Azure SDK's AZURE_* variables overriding it.
type connection struct {
	DataDir  string
	Endpoint string
	CACert   string
}

func (c *connection) addFlags(f *pflag.FlagSet) {
	f.StringVar(&c.DataDir, "data", "./galleon-data", "data folder whose credentials.json says where the server is and how to log in")
	f.StringVar(&c.Endpoint, "endpoint", "", "server URL, e.g. https://127.0.0.1:8443 (default: resourceManagerEndpoint of credentials.json)")
	f.StringVar(&c.CACert, "ca-cert", "", "PEM file of the CA to trust (default: caCertificate of credentials.json)")
}

// credentials merges credentials.json (if there is one) with --endpoint,
// --ca-cert and AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and
// AZURE_SUBSCRIPTION_ID, which win over the file.
func (c *connection) credentials() (*Credentials, error) {
	creds, err := readCredentials(c.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		creds = &Credentials{}
	case err != nil:
		return nil, err
	}
	for env, field := range map[string]*string{
		"AZURE_TENANT_ID":       &creds.TenantID,
		"AZURE_CLIENT_ID":       &creds.ClientID,
		"AZURE_CLIENT_SECRET":   &creds.ClientSecret,
		"AZURE_SUBSCRIPTION_ID": &creds.SubscriptionID,
	} {
		if v := os.Getenv(env); v != "" {
			*field = v
		}
	}
	if c.Endpoint != "" {
		e := strings.TrimSuffix(c.Endpoint, "/") + "/"
		creds.ResourceManagerEndpoint, creds.AuthorityHost = e, e
	}
	if c.CACert != "" {
		creds.CACertificate = c.CACert
	}
	if creds.Audience == "" {
		creds.Audience = defaultAudience
	}
	if creds.AuthorityHost == "" {
		creds.AuthorityHost = creds.ResourceManagerEndpoint
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"the endpoint (--endpoint)", creds.ResourceManagerEndpoint},
		{"the tenant (AZURE_TENANT_ID)", creds.TenantID},
		{"the client id (AZURE_CLIENT_ID)", creds.ClientID},
		{"the client secret (AZURE_CLIENT_SECRET)", creds.ClientSecret},
		{"the subscription (AZURE_SUBSCRIPTION_ID)", creds.SubscriptionID},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s in %s, and missing %s: point --data at a Galleon data folder or set them",
			credentialsFile, c.DataDir, strings.Join(missing, ", "))
	}
	return creds, nil
}

// Client holds what every Azure SDK client of the commands shares: the
// credential and options, built as e2e/sdk_test.go builds them.
type Client struct {
	SubscriptionID string
	// HTTP trusts the server's CA; the data plane (SAS URLs) uses it too.
	HTTP *http.Client
	Cred azcore.TokenCredential
	Opts azcore.ClientOptions
}

func (c *connection) open() (*Client, error) {
	creds, err := c.credentials()
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if creds.CACertificate != "" {
		pem, err := os.ReadFile(creds.CACertificate)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate: no certificates in %s", creds.CACertificate)
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	transport.MaxIdleConnsPerHost = 32
	httpClient := &http.Client{Transport: transport}
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: creds.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: strings.TrimSuffix(creds.ResourceManagerEndpoint, "/"), Audience: creds.Audience},
			},
		},
		Transport: httpClient,
	}
	cred, err := azidentity.NewClientSecretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, err
	}
	return &Client{SubscriptionID: creds.SubscriptionID, HTTP: httpClient, Cred: cred, Opts: opts}, nil
}

func (c *Client) armOptions() *arm.ClientOptions { return &arm.ClientOptions{ClientOptions: c.Opts} }

// subscription is sub, or the client's own subscription when sub is empty.
func (c *Client) subscription(sub string) string {
	if sub == "" {
		return c.SubscriptionID
	}
	return sub
}

func (c *Client) snapshots(sub string) (*armcompute.SnapshotsClient, error) {
	return armcompute.NewSnapshotsClient(c.subscription(sub), c.Cred, c.armOptions())
}

func (c *Client) disks(sub string) (*armcompute.DisksClient, error) {
	return armcompute.NewDisksClient(c.subscription(sub), c.Cred, c.armOptions())
}

func (c *Client) versions(sub string) (*armcompute.GalleryImageVersionsClient, error) {
	return armcompute.NewGalleryImageVersionsClient(c.subscription(sub), c.Cred, c.armOptions())
}

func (c *Client) groups(sub string) (*armresources.ResourceGroupsClient, error) {
	return armresources.NewResourceGroupsClient(c.subscription(sub), c.Cred, c.armOptions())
}

// pollOptions polls long-running operations briskly: Galleon finishes most
// within a request.
var pollOptions = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// galleonSha256 is the digest Galleon reports for a disk or snapshot's
// bytes ("sha256:<hex>", the extension property galleonSha256), read from
// the raw answer because the SDK's models have no field for it; "" when
// the server reports none.
func galleonSha256(resp *http.Response) (string, error) {
	if resp == nil {
		return "", errors.New("no response was captured")
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return "", err
	}
	var d struct {
		Properties struct {
			SHA256 string `json:"galleonSha256"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return "", fmt.Errorf("decoding %s: %w", resp.Request.URL.Path, err)
	}
	return d.Properties.SHA256, nil
}

// withCapture returns a context that captures the raw response of the one
// SDK call it is given to.
func withCapture(ctx context.Context) (context.Context, **http.Response) {
	var resp *http.Response
	return policy.WithCaptureResponse(ctx, &resp), &resp
}

// serverError turns an error answer of ARM or of the blob data plane into
// "<code>: <message>"; other errors pass unchanged.
func serverError(err error) error {
	var re *azcore.ResponseError
	var done *cliError
	if err == nil || !errors.As(err, &re) || errors.As(err, &done) {
		return err
	}
	code, msg := re.ErrorCode, ""
	if re.RawResponse != nil {
		if body, perr := runtime.Payload(re.RawResponse); perr == nil {
			c, m := errorFromBody(body)
			if code == "" {
				code = c
			}
			msg = m
		}
	}
	if code == "" {
		code = fmt.Sprintf("HTTP %d", re.StatusCode)
	}
	if msg == "" {
		if re.RawResponse != nil {
			msg = re.RawResponse.Status
		} else {
			msg = fmt.Sprintf("status %d", re.StatusCode)
		}
	}
	short := code + ": " + msg
	// Keep the context wrapped around the SDK's error, replacing only its
	// multi-line dump of the response.
	if full := err.Error(); re.Error() != full && strings.Contains(full, re.Error()) {
		short = strings.Replace(full, re.Error(), short, 1)
	}
	return &cliError{msg: short, err: err}
}

// errorFromBody reads an ARM error ({"error":{"code","message"}}) or an
// Azure Storage error (<Error><Code/><Message/></Error>).
func errorFromBody(body []byte) (code, message string) {
	var j struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil && (j.Error.Code != "" || j.Error.Message != "") {
		return j.Error.Code, j.Error.Message
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		// Storage messages end with "\nRequestId:…"; the first line says it.
		m, _, _ := strings.Cut(strings.TrimSpace(x.Message), "\n")
		return x.Code, m
	}
	return "", ""
}

// cliError is a server error as the commands print it, still unwrapping
// to the *azcore.ResponseError behind it.
type cliError struct {
	msg string
	err error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// notFound reports whether err is ARM's answer for a missing resource.
func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
