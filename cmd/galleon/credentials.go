package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// Credentials is <data>/credentials.json. Its field names are a public
// interface that scripts and tests read: extend, never rename.
type Credentials struct {
	TenantID                 string `json:"tenantId"`
	SubscriptionID           string `json:"subscriptionId"`
	ClientID                 string `json:"clientId"`
	ClientSecret             string `json:"clientSecret"`
	ServicePrincipalObjectID string `json:"servicePrincipalObjectId"`
	AdminUserPrincipalName   string `json:"adminUserPrincipalName"`
	AdminPassword            string `json:"adminPassword"`
	ResourceManagerEndpoint  string `json:"resourceManagerEndpoint"`
	AuthorityHost            string `json:"authorityHost"`
	ADFSAuthority            string `json:"adfsAuthority"`
	Audience                 string `json:"audience"`
	GraphEndpoint            string `json:"graphEndpoint"`
	CACertificate            string `json:"caCertificate"`
}

const credentialsFile = "credentials.json"

func readCredentials(dataDir string) (*Credentials, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, credentialsFile))
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", credentialsFile, err)
	}
	return &c, nil
}

// writeCredentials replaces credentials.json atomically, readable only by
// its owner.
func writeCredentials(dataDir string, c *Credentials) error {
	return writeCredentialsAs(dataDir, credentialsFile, c)
}

func writeCredentialsAs(dataDir, name string, c *Credentials) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, ".credentials-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dataDir, name))
}

func newCredentialsCommand() *cobra.Command {
	var dataDir string
	var az bool
	var field string
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print the bootstrap credentials and how to point the Azure SDK and az at this server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			c, err := readCredentials(dataDir)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no %s in %s: run `galleon serve --data %s` once first", credentialsFile, dataDir, dataDir)
			}
			if err != nil {
				return err
			}
			if abs, err := filepath.Abs(dataDir); err == nil {
				dataDir = abs
			}
			if field != "" {
				return printField(cmd.OutOrStdout(), c, field)
			}
			if az {
				printAzScript(cmd.OutOrStdout(), c, dataDir)
				return nil
			}
			printGettingStarted(cmd.OutOrStdout(), c, filepath.Join(dataDir, credentialsFile))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "./galleon-data", "data folder")
	cmd.Flags().BoolVar(&az, "az", false, "print only the shell lines that register the cloud and log az in")
	cmd.Flags().StringVar(&field, "field", "", "print only this field of credentials.json (e.g. clientSecret)")
	return cmd
}

// printGettingStarted is the block serve prints on start and credentials
// prints on demand.
func printGettingStarted(w io.Writer, c *Credentials, credentialsPath string) {
	fmt.Fprintf(w, `
Galleon is serving the Azure Resource Manager API at %s
  credentials: %s (mode 0600)
  CA certificate: %s
  tenant %s, subscription %s
  service principal (Owner on the subscription): client id %s
  portal admin: %s

Azure SDK for Go:
  export SSL_CERT_FILE=%s
  cloud.Configuration{ActiveDirectoryAuthorityHost: %q,
    Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: %q, Audience: %q}}}
  azidentity.NewClientSecretCredential(%q, %q, <clientSecret>, &azidentity.ClientSecretCredentialOptions{
    ClientOptions: azcore.ClientOptions{Cloud: cfg}, DisableInstanceDiscovery: true})

az CLI (print these lines with: galleon credentials --az):
`, c.ResourceManagerEndpoint, credentialsPath, c.CACertificate, c.TenantID, c.SubscriptionID,
		c.ClientID, c.AdminUserPrincipalName, c.CACertificate, c.AuthorityHost,
		strings.TrimSuffix(c.ResourceManagerEndpoint, "/"), c.Audience, c.TenantID, c.ClientID)
	printAzScript(indent{w}, c, filepath.Dir(credentialsPath))
	fmt.Fprintln(w)
}

// printAzScript prints the az lines of the client contract. The secret is
// read from credentials.json rather than printed, so the lines can be shown
// on a terminal safely.
func printAzScript(w io.Writer, c *Credentials, dataDir string) {
	rm := c.ResourceManagerEndpoint
	cloudConfig := fmt.Sprintf(`{"profile":"latest","endpoints":{"resourceManager":%q,"management":%q,"activeDirectory":%q,"activeDirectoryResourceId":%q,"activeDirectoryGraphResourceId":%q,"microsoftGraphResourceId":%q,"gallery":%q},"suffixes":{"storageEndpoint":"core.windows.net","keyvaultDns":".vault.azure.net"}}`,
		rm, c.Audience, c.ADFSAuthority, c.Audience, rm+"graph/", c.GraphEndpoint, rm+"gallery/")
	fmt.Fprintf(w, "export REQUESTS_CA_BUNDLE=%s\n", shellQuote(c.CACertificate))
	fmt.Fprintf(w, "az cloud register -n Galleon --cloud-config %s\n", shellQuote(cloudConfig))
	fmt.Fprintf(w, "az cloud set -n Galleon\n")
	fmt.Fprintf(w, "az login --service-principal -u %s -p \"$(galleon credentials --data %s --field clientSecret)\" --tenant %s\n",
		c.ClientID, shellQuote(dataDir), c.TenantID)
}

// printField prints one field of credentials.json, by its JSON name.
func printField(w io.Writer, c *Credentials, name string) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var fields map[string]string
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	v, ok := fields[name]
	if !ok {
		return fmt.Errorf("credentials.json has no field %q", name)
	}
	_, err = fmt.Fprintln(w, v)
	return err
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// indent prefixes every line written through it with two spaces.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(i.w, "  "+l); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
