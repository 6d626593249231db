package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The portal is a client of the ARM and Graph handlers, called in process
// with a bearer token minted for the signed-in user: validation, RBAC,
// auditing and long-running operations are exactly the API's.

// API versions the portal speaks.
const (
	computeAPI   = "2025-03-03"
	resourcesAPI = "2022-09-01"
	subsAPI      = "2022-12-01"
	// diskAPI serves disks and snapshots, managedImageAPI managed images.
	diskAPI         = "2023-10-02"
	managedImageAPI = "2023-03-01"
)

// apiError is an ARM (or Graph) error answer.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
	Details []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
	} `json:"details"`
}

func (e *apiError) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Target)
	}
	return e.Code + ": " + e.Message
}

// notFound reports whether err is a 404 answer.
func notFound(err error) bool {
	e, ok := err.(*apiError)
	return ok && e.Status == http.StatusNotFound
}

// client calls one in-process handler as one user.
type client struct {
	handler http.Handler
	token   string
}

// response is a recorded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// recorder is a minimal http.ResponseWriter that keeps the answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// do sends method path (with its query) and body (JSON-encoded when not
// nil), decodes a 2xx body into out when out is not nil, and turns any
// other status into an *apiError.
func (c *client) do(ctx context.Context, method, path string, body, out any) (*response, error) {
	var rdr io.Reader = http.NoBody
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rdr = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rdr)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = "portal"
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.handler.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	resp := &response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
	if resp.Status < 200 || resp.Status > 299 {
		var e struct {
			Error apiError `json:"error"`
		}
		if err := json.Unmarshal(resp.Body, &e); err != nil || e.Error.Code == "" {
			return resp, &apiError{Status: resp.Status, Code: http.StatusText(resp.Status), Message: strings.TrimSpace(string(resp.Body))}
		}
		e.Error.Status = resp.Status
		return resp, &e.Error
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp, nil
}

// withAPI adds api-version to an ARM path.
func withAPI(path, version string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "api-version=" + url.QueryEscape(version)
}

// list follows nextLink pages of an ARM list and decodes every item.
func list[T any](ctx context.Context, c *client, path string) ([]T, error) {
	var all []T
	for path != "" {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if _, err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		path = ""
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil {
				return nil, err
			}
			path = u.RequestURI()
		}
	}
	return all, nil
}
