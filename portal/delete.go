package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// Delete with confirmation: every resource page's Delete leads to a page
// that says what deleting does and asks for the resource's name; the
// delete is ARM's (the API decides what is blocked, and its message says
// why), and a resource group's, which ARM runs as a long-running
// operation, is followed on a page of its own.

// deleteKind is what the portal knows about deleting one resource type.
type deleteKind struct {
	Label string // "snapshot", in sentences
	// Explain says what deleting it does and what blocks it.
	Explain string
	// parent is the page to go to once it is gone.
	parent func(id *arm.ResourceID) string
}

func groupPage(id *arm.ResourceID) string {
	return resourceURL("/subscriptions/" + id.SubscriptionID + "/resourceGroups/" + id.ResourceGroupName)
}

func parentPage(id *arm.ResourceID) string { return resourceURL(id.Parent.String()) }

// deleteKinds are the types the portal deletes, by folded ARM type.
var deleteKinds = map[string]*deleteKind{
	"microsoft.resources/resourcegroups": {Label: "resource group",
		Explain: "Deleting a resource group deletes everything in it: its galleries with their image definitions and versions, its disks, snapshots and images, and the role assignments on them. It runs in the background and cannot be undone.",
		parent:  func(*arm.ResourceID) string { return "/portal/resources" }},
	strings.ToLower(galleon.TypeGallery): {Label: "Azure compute gallery",
		Explain: "A gallery can be deleted only when it holds no image definitions: delete those first. Role assignments on the gallery are removed with it. Deleting cannot be undone.",
		parent:  func(*arm.ResourceID) string { return "/portal/galleries" }},
	strings.ToLower(galleon.TypeImageDefinition): {Label: "VM image definition",
		Explain: "An image definition can be deleted only when it has no versions: delete those first. Role assignments on it are removed with it. Deleting cannot be undone.",
		parent:  parentPage},
	strings.ToLower(galleon.TypeImageVersion): {Label: "VM image version",
		Explain: "Deleting an image version removes its replicas in every target region. Disks already created from it keep their bytes. A version whose safety profile blocks deletion before its end of life cannot be deleted until then.",
		parent:  parentPage},
	strings.ToLower(galleon.TypeDisk): {Label: "disk",
		Explain: "Deleting a disk deletes its bytes. Image versions and images made from it keep their own copies. Deleting cannot be undone.",
		parent:  groupPage},
	strings.ToLower(galleon.TypeSnapshot): {Label: "snapshot",
		Explain: "Deleting a snapshot deletes its bytes. Image versions, disks and images made from it keep their own copies. Deleting cannot be undone.",
		parent:  groupPage},
	strings.ToLower(galleon.TypeManagedImage): {Label: "image",
		Explain: "Deleting a managed image deletes its copy of the bytes. Image versions made from it keep their own. Deleting cannot be undone.",
		parent:  groupPage},
}

// deletableKind is how the portal deletes id's type, or nil when it does
// not.
func deletableKind(id *arm.ResourceID) *deleteKind {
	if id == nil || id.SubscriptionID == "" || id.Name == "" {
		return nil
	}
	return deleteKinds[strings.ToLower(id.ResourceType.String())]
}

// parseDeletable parses the id a delete form names, if the portal deletes
// its type.
func parseDeletable(s string) (*arm.ResourceID, *deleteKind) {
	if !strings.HasPrefix(s, "/subscriptions/") {
		return nil, nil
	}
	id, err := arm.ParseResourceID(s)
	if err != nil {
		return nil, nil
	}
	k := deletableKind(id)
	if k == nil {
		return nil, nil
	}
	return id, k
}

// deletedURL is page with the notice that the resource id was deleted.
func deletedURL(page, id string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + "deleted=" + url.QueryEscape(id)
}

// noticeName is what a deleted notice may name: ARM names, no spaces or
// markup, so that a crafted link cannot put a sentence of its own on the
// page.
var noticeName = regexp.MustCompile(`^[A-Za-z0-9._()-]{1,90}$`)

// deletedNotice is the banner a page shows after a delete, from its
// ?deleted= query: "The snapshot 'mySnap' was deleted.", or "".
func deletedNotice(q url.Values) string {
	s := q.Get("deleted")
	if s == "" {
		return ""
	}
	id, k := parseDeletable(s)
	if id == nil || !noticeName.MatchString(id.Name) {
		return ""
	}
	return "The " + k.Label + " '" + id.Name + "' was deleted."
}

type deletePage struct {
	ID, Name, Label, Explain string
	// ResourceURL is the resource's page, for Cancel.
	ResourceURL string
	Typed       string
	// NameError is a confirmation that does not match; Error the API's
	// refusal.
	NameError, Error string
	Crumbs           []crumb
}

func (p deletePage) crumbs() []crumb { return p.Crumbs }

// deleteResource serves the confirmation page (GET) and the delete (POST).
func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	idStr := r.URL.Query().Get("id")
	if r.Method == http.MethodPost {
		idStr = r.PostForm.Get("id")
	}
	id, kind := parseDeletable(idStr)
	if id == nil {
		s.fail(w, r, v, http.StatusBadRequest, "The portal cannot delete this: it is not the id of a resource group, gallery, image definition, image version, disk, snapshot or image.")
		return nil
	}
	c, err := v.arm()
	if err != nil {
		return err
	}
	// The resource must be there and readable: a stale or foreign link
	// shows the API's answer instead of a form.
	if _, err := c.do(ctx, http.MethodGet, withAPI(idStr, apiVersionFor(id)), nil, nil); err != nil {
		return err
	}
	p := deletePage{ID: idStr, Name: id.Name, Label: kind.Label, Explain: kind.Explain, ResourceURL: resourceURL(idStr),
		Crumbs: []crumb{{"Home", Prefix}, {id.Name, resourceURL(idStr)}}}
	if r.Method != http.MethodPost {
		s.render(w, r, v, http.StatusOK, "delete", "Delete "+id.Name, p)
		return nil
	}
	p.Typed = strings.TrimSpace(r.PostForm.Get("confirm_name"))
	if msg := confirmMismatch(id.Name, p.Typed); msg != "" {
		p.NameError = msg
		s.render(w, r, v, http.StatusUnprocessableEntity, "delete", "Delete "+id.Name, p)
		return nil
	}
	resp, err := c.do(ctx, http.MethodDelete, withAPI(idStr, apiVersionFor(id)), nil, nil)
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			return err
		}
		p.Error = apiMessage(err)
		status := ae.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		s.render(w, r, v, status, "delete", "Delete "+id.Name, p)
		return nil
	}
	if op := operationPath(resp); op != "" {
		http.Redirect(w, r, "/portal/deletion?"+url.Values{"id": {idStr}, "operation": {op}}.Encode(), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, deletedURL(kind.parent(id), idStr), http.StatusSeeOther)
	return nil
}

// confirmMismatch says why typed does not confirm deleting name, or "".
// The name must be typed exactly: it is what the person is about to lose.
func confirmMismatch(name, typed string) string {
	switch {
	case typed == name:
		return ""
	case typed == "":
		return "Type the name '" + name + "' to confirm."
	case strings.EqualFold(typed, name):
		return "Type the name exactly as shown, '" + name + "', with the same capitals."
	}
	return "'" + typed + "' is not the name of this resource. Type '" + name + "' to confirm."
}

// deletion is a delete ARM runs in the background (a resource group's):
// the page follows its operation, as the deployment page follows a create.
type deletion struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Label     string `json:"label"`
	State     string `json:"state"`
	Error     string `json:"error,omitempty"`
	Next      string `json:"next,omitempty"`
	StatusURL string `json:"-"`
}

func (d deletion) crumbs() []crumb { return []crumb{{"Home", Prefix}} }

// readDeletion reads the operation of a deletion the query names.
func readDeletion(ctx context.Context, c *client, q url.Values) (*deletion, error) {
	idStr, op := q.Get("id"), q.Get("operation")
	id, kind := parseDeletable(idStr)
	if id == nil || !strings.HasPrefix(op, "/subscriptions/") || !strings.Contains(strings.ToLower(op), "/capsoperations/") {
		return nil, nil
	}
	d := &deletion{ID: idStr, Name: id.Name, Label: kind.Label, State: stateInProgress,
		StatusURL: "/portal/deletion/status?" + url.Values{"id": {idStr}, "operation": {op}}.Encode()}
	var st operationStatusJSON
	if _, err := c.do(ctx, http.MethodGet, op, nil, &st); err != nil {
		return nil, err
	}
	switch st.Status {
	case stateSucceeded:
		d.State, d.Next = stateSucceeded, deletedURL(kind.parent(id), idStr)
	case stateFailed, "Canceled":
		d.State, d.Error = stateFailed, "The deletion "+strings.ToLower(st.Status)+"."
		if st.Error != nil {
			d.Error = st.Error.Code + ": " + st.Error.Message
		}
	}
	return d, nil
}

// deletionPage shows a deletion in progress; its script polls
// deletionStatus and goes to the parent page when it is done.
func (s *Server) deletionPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	d, err := readDeletion(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	if d == nil {
		s.fail(w, r, v, http.StatusBadRequest, "This link names no deletion.")
		return nil
	}
	if d.State == stateSucceeded {
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
		return nil
	}
	s.render(w, r, v, http.StatusOK, "deletion", "Deleting "+d.Name, d)
	return nil
}

// deletionStatus is a deletion's state as JSON, for its page's script.
func (s *Server) deletionStatus(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	d, err := readDeletion(r.Context(), c, r.URL.Query())
	switch {
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": apiMessage(err)})
	case d == nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "This link names no deletion."})
	default:
		writeJSON(w, http.StatusOK, d)
	}
	return nil
}
