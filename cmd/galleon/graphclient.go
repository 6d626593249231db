package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"
)

// graphClient calls the server's Microsoft Graph subset as the
// connection's service principal, with a token for the Graph audience
// (the server's URL with a trailing slash, as az asks for it).
type graphClient struct {
	base  string // https://host:port, no trailing slash
	http  *http.Client
	cred  azcore.TokenCredential
	scope string
}

func (c *connection) graph() (*graphClient, error) {
	creds, err := c.credentials()
	if err != nil {
		return nil, err
	}
	cl, err := c.open()
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(creds.ResourceManagerEndpoint, "/")
	return &graphClient{base: base, http: cl.HTTP, cred: cl.Cred, scope: base + "//.default"}, nil
}

// graphError is Graph's error answer, printed as "<code>: <message>".
type graphError struct {
	Status  int
	Code    string
	Message string
}

func (e *graphError) Error() string { return e.Code + ": " + e.Message }

// do sends a request to path (below /v1.0, or a whole URL) and decodes the
// answer into out when it is not nil.
func (g *graphClient) do(ctx context.Context, method, path string, body, out any) error {
	tok, err := g.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{g.scope}})
	if err != nil {
		return err
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = g.base + "/v1.0" + path
	}
	var rdr io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rdr = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rdr)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return &graphError{resp.StatusCode, e.Error.Code, e.Error.Message}
		}
		return &graphError{resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode), strings.TrimSpace(string(data))}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

// list gets every page of a collection.
func (g *graphClient) list(ctx context.Context, path string) ([]map[string]any, error) {
	var all []map[string]any
	for path != "" {
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		if err := g.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		path = page.Next
	}
	return all, nil
}

// odataQuote quotes a $filter literal.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func filterPath(collection, filter string) string {
	return "/" + collection + "?$filter=" + url.QueryEscape(filter)
}

func isGUID(s string) bool { _, err := uuid.Parse(s); return err == nil && len(s) == 36 }

func notFoundStatus(err error) bool {
	ge, ok := err.(*graphError)
	return ok && ge.Status == http.StatusNotFound
}

// resolveGroup finds a group by object id or display name.
func (g *graphClient) resolveGroup(ctx context.Context, nameOrID string) (string, error) {
	if isGUID(nameOrID) {
		return nameOrID, nil
	}
	groups, err := g.list(ctx, filterPath("groups", "displayName eq "+odataQuote(nameOrID)))
	if err != nil {
		return "", err
	}
	switch len(groups) {
	case 0:
		return "", fmt.Errorf("no group is called %q", nameOrID)
	case 1:
		return str(groups[0]["id"]), nil
	}
	return "", fmt.Errorf("%d groups are called %q: give the object id", len(groups), nameOrID)
}

// resolveMember finds a user (by principal name or invited address), a
// service principal (by app id), a group (by display name), or any object
// by its id.
func (g *graphClient) resolveMember(ctx context.Context, s string) (string, error) {
	if strings.Contains(s, "@") {
		var u map[string]any
		err := g.do(ctx, http.MethodGet, "/users/"+url.PathEscape(s), nil, &u)
		if notFoundStatus(err) {
			users, lerr := g.list(ctx, filterPath("users", "mail eq "+odataQuote(s)))
			if lerr == nil && len(users) == 1 {
				return str(users[0]["id"]), nil
			}
		}
		if err != nil {
			return "", err
		}
		return str(u["id"]), nil
	}
	if isGUID(s) {
		sps, err := g.list(ctx, filterPath("servicePrincipals", "appId eq "+odataQuote(s)))
		if err != nil {
			return "", err
		}
		if len(sps) == 1 {
			return str(sps[0]["id"]), nil
		}
		return s, nil
	}
	return g.resolveGroup(ctx, s)
}

// resolveServicePrincipal finds a service principal's object id by app id
// or object id.
func (g *graphClient) resolveServicePrincipal(ctx context.Context, s string) (string, error) {
	sps, err := g.list(ctx, filterPath("servicePrincipals", "appId eq "+odataQuote(s)))
	if err != nil {
		return "", err
	}
	if len(sps) == 1 {
		return str(sps[0]["id"]), nil
	}
	return s, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
