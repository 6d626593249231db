package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/spf13/cobra"
)

type auditConfig struct {
	conn   connection
	Max    int
	Caller string
}

func newAuditCommand() *cobra.Command {
	var c auditConfig
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log: every write and every denied call, newest first",
		Long: `Print the subscription's audit log, newest first: when, the result
(Succeeded, Failed or Denied), the HTTP status and method, the action, the
scope and the caller. It is served as Azure's activity log, so
"az monitor activity-log list" reads the same events. Callers see the events
on what they may read; an Owner of the subscription sees them all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			return runAudit(cmd.Context(), cmd.OutOrStdout(), &c)
		},
	}
	f := cmd.Flags()
	c.conn.addFlags(f)
	f.IntVar(&c.Max, "max", 50, "how many events to print at most")
	f.StringVar(&c.Caller, "caller", "", "only events of this caller (client id or user principal name)")
	return cmd
}

type auditEvent struct {
	EventTimestamp string `json:"eventTimestamp"`
	Caller         string `json:"caller"`
	Authorization  struct {
		Action string `json:"action"`
		Scope  string `json:"scope"`
	} `json:"authorization"`
	Status      struct{ Value string }  `json:"status"`
	SubStatus   struct{ Value string }  `json:"subStatus"`
	HTTPRequest struct{ Method string } `json:"httpRequest"`
}

func runAudit(ctx context.Context, out io.Writer, c *auditConfig) error {
	client, err := c.conn.open()
	if err != nil {
		return err
	}
	creds, err := c.conn.credentials()
	if err != nil {
		return err
	}
	tok, err := client.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{creds.Audience + ".default"}})
	if err != nil {
		return err
	}
	q := url.Values{"api-version": {"2015-04-01"}}
	if c.Caller != "" {
		q.Set("$filter", "caller eq '"+strings.ReplaceAll(c.Caller, "'", "''")+"'")
	}
	next := strings.TrimSuffix(creds.ResourceManagerEndpoint, "/") + "/subscriptions/" + client.SubscriptionID +
		"/providers/Microsoft.Insights/eventtypes/management/values?" + q.Encode()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tRESULT\tSTATUS\tMETHOD\tACTION\tSCOPE\tCALLER")
	printed := 0
	for next != "" && printed < c.Max {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := client.HTTP.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			code, msg := errorFromBody(body)
			return fmt.Errorf("%s: %s", code, msg)
		}
		var page struct {
			Value    []auditEvent `json:"value"`
			NextLink string       `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		for _, e := range page.Value {
			if printed == c.Max {
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.EventTimestamp, e.Status.Value, e.SubStatus.Value, e.HTTPRequest.Method,
				e.Authorization.Action, e.Authorization.Scope, e.Caller)
			printed++
		}
		next = page.NextLink
	}
	return tw.Flush()
}
