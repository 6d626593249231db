package portal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// A deployment is what a Create started: the resources it created and,
// when ARM answered with a long-running operation, its status URL. The
// portal keeps no record of it: the page's URL names them all, and the
// page reads their state through ARM as the user, so the URL grants
// nothing the user could not read anyway.
type deployment struct {
	Name      string
	Resources []string // ARM ids, in creation order; the last is "the" resource
	Operation string   // path and query of the Azure-AsyncOperation URL, or ""
	Started   time.Time
}

func newDeployment(kind string, now time.Time) *deployment {
	return &deployment{Name: kind + "-" + now.UTC().Format("20060102150405"), Started: now}
}

// URL is the deployment page's address.
func (d *deployment) URL() string {
	return "/portal/deployment?" + d.query().Encode()
}

func (d *deployment) query() url.Values {
	q := url.Values{"name": {d.Name}, "started": {strconv.FormatInt(d.Started.Unix(), 10)}}
	for _, r := range d.Resources {
		q.Add("resource", r)
	}
	if d.Operation != "" {
		q.Set("operation", d.Operation)
	}
	return q
}

// parseDeployment reads a deployment from the page's query, keeping only
// ARM resource ids and operation status paths.
func parseDeployment(q url.Values) *deployment {
	d := &deployment{Name: q.Get("name")}
	if sec, err := strconv.ParseInt(q.Get("started"), 10, 64); err == nil {
		d.Started = time.Unix(sec, 0)
	}
	for _, r := range q["resource"] {
		if _, err := arm.ParseResourceID(r); err == nil && strings.HasPrefix(r, "/subscriptions/") {
			d.Resources = append(d.Resources, r)
		}
	}
	if op := q.Get("operation"); strings.HasPrefix(op, "/subscriptions/") && strings.Contains(strings.ToLower(op), "/capsoperations/") {
		d.Operation = op
	}
	return d
}

// operationPath is the path of the long-running operation an ARM answer
// started, or "".
func operationPath(resp *response) string {
	if resp == nil {
		return ""
	}
	u, err := url.Parse(resp.Header.Get("Azure-AsyncOperation"))
	if err != nil || u.Path == "" {
		return ""
	}
	return u.RequestURI()
}

// Deployment states.
const (
	stateInProgress = "InProgress"
	stateSucceeded  = "Succeeded"
	stateFailed     = "Failed"
)

type deploymentResource struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

type deploymentPage struct {
	Name          string               `json:"name"`
	State         string               `json:"state"`
	Error         string               `json:"error,omitempty"`
	Started       time.Time            `json:"started"`
	Subscription  string               `json:"-"`
	ResourceGroup string               `json:"-"`
	Resources     []deploymentResource `json:"resources"`
	GoTo          string               `json:"goTo,omitempty"`
	StatusURL     string               `json:"-"`
	Query         string               `json:"-"`
	Operation     *operationStatusJSON `json:"-"`
}

type operationStatusJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (p deploymentPage) crumbs() []crumb { return []crumb{{"Home", Prefix}} }

// apiVersionFor picks the api-version for a resource id's type.
func apiVersionFor(id *arm.ResourceID) string {
	switch typ := strings.ToLower(id.ResourceType.String()); {
	case strings.EqualFold(id.ResourceType.Namespace, "Microsoft.Resources"):
		return resourcesAPI
	case typ == "microsoft.compute/disks" || typ == "microsoft.compute/snapshots":
		return diskAPI
	case typ == "microsoft.compute/images":
		return managedImageAPI
	}
	return computeAPI
}

// readDeployment reads the state of every resource and the operation.
func readDeployment(ctx context.Context, c *client, d *deployment) (deploymentPage, error) {
	p := deploymentPage{Name: d.Name, Started: d.Started, State: stateSucceeded, Query: d.query().Encode()}
	for _, idStr := range d.Resources {
		id, _ := arm.ParseResourceID(idStr)
		p.Subscription, p.ResourceGroup = id.SubscriptionID, id.ResourceGroupName
		var body struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
			} `json:"properties"`
		}
		res := deploymentResource{ID: idStr, Name: id.Name, Type: id.ResourceType.String()}
		_, err := c.do(ctx, http.MethodGet, withAPI(idStr, apiVersionFor(id)), nil, &body)
		switch {
		case notFound(err) && d.Operation != "":
			res.Status = "Creating" // the operation has not made it yet
		case err != nil:
			res.Status = stateFailed
			p.State, p.Error = stateFailed, apiMessage(err)
		default:
			res.Status = body.Properties.ProvisioningState
			if res.Status == "" {
				res.Status = stateSucceeded
			}
		}
		switch res.Status {
		case stateSucceeded:
		case stateFailed:
			p.State = stateFailed
		default:
			if p.State != stateFailed {
				p.State = stateInProgress
			}
		}
		p.Resources = append(p.Resources, res)
	}
	if d.Operation != "" {
		var op operationStatusJSON
		if _, err := c.do(ctx, http.MethodGet, d.Operation, nil, &op); err != nil {
			return p, err
		}
		p.Operation = &op
		switch op.Status {
		case stateSucceeded:
		case stateFailed, "Canceled":
			p.State = stateFailed
			if op.Error != nil {
				p.Error = op.Error.Code + ": " + op.Error.Message
			}
		default:
			if p.State != stateFailed {
				p.State = stateInProgress
			}
		}
	}
	if len(d.Resources) > 0 && p.State == stateSucceeded {
		p.GoTo = resourceURL(d.Resources[len(d.Resources)-1])
	}
	return p, nil
}

// deployment shows a deployment's progress; the page's script polls
// deploymentStatus while it is in progress and reloads when it ends.
func (s *Server) deployment(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	d := parseDeployment(r.URL.Query())
	if len(d.Resources) == 0 {
		s.fail(w, r, v, http.StatusBadRequest, "This deployment link names no resource.")
		return nil
	}
	p, err := readDeployment(r.Context(), c, d)
	if err != nil {
		return err
	}
	p.StatusURL = "/portal/deployment/status?" + p.Query
	s.render(w, r, v, http.StatusOK, "deployment", p.Name, p)
	return nil
}

// deploymentStatus is the deployment's state as JSON, for the page's script.
func (s *Server) deploymentStatus(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	p, err := readDeployment(r.Context(), c, parseDeployment(r.URL.Query()))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": apiMessage(err)})
		return nil
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
