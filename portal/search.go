package portal

import (
	"context"
	"net/http"
	"strings"

	"github.com/galleon-project/galleon"
)

// service is a page the search box offers by name.
type service struct {
	Name string
	// AlsoKnownAs is shown under the name: what the seed calls it.
	AlsoKnownAs string
	URL         string
	// keywords are matched with the name; every word of the query must
	// occur in one of them.
	keywords string
}

var services = []service{
	{Name: "Azure compute galleries", AlsoKnownAs: "Shared image galleries", URL: "/portal/galleries",
		keywords: "azure compute galleries gallery shared image galleries gallery sig"},
	{Name: "All resources", URL: "/portal/resources", keywords: "all resources"},
	{Name: "VM image definitions", AlsoKnownAs: "Image definitions in a gallery", URL: "/portal/resources",
		keywords: "vm image definitions definition"},
	{Name: "Upload a disk image", AlsoKnownAs: "A VHD or raw image to a new snapshot", URL: "/portal/upload",
		keywords: "upload disk image vhd raw snapshot snapshots disks"},
}

// matchServices returns the services every word of q matches, word by
// word, ignoring a plural s.
func matchServices(q string) []service {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	var out []service
	for _, svc := range services {
		hay := strings.ToLower(svc.Name + " " + svc.AlsoKnownAs + " " + svc.keywords)
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, strings.TrimSuffix(w, "s")) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, svc)
		}
	}
	return out
}

// matchResources returns the readable resources whose name contains q.
func matchResources(ctx context.Context, v *visit, q string) ([]resourceRow, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil, nil
	}
	c, err := v.arm()
	if err != nil {
		return nil, err
	}
	rows, err := listAllResources(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []resourceRow
	for _, r := range rows {
		if strings.Contains(strings.ToLower(r.Name), q) {
			out = append(out, r)
		}
		if len(out) == 20 {
			break
		}
	}
	return out, nil
}

type searchPage struct {
	Query     string
	Services  []service
	Resources []resourceRow
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := r.URL.Query().Get("q")
	res, err := matchResources(r.Context(), v, q)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "search", "Search", searchPage{Query: q, Services: matchServices(q), Resources: res})
	return nil
}

// suggestion is one entry of the search box's list.
type suggestion struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
	URL    string `json:"url"`
	Kind   string `json:"kind"` // "service" or "resource"
}

// suggest answers the search box's script with services and resources.
func (s *Server) suggest(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := r.URL.Query().Get("q")
	out := []suggestion{}
	for _, svc := range matchServices(q) {
		out = append(out, suggestion{Name: svc.Name, Detail: svc.AlsoKnownAs, URL: svc.URL, Kind: "service"})
	}
	res, err := matchResources(r.Context(), v, q)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, out)
		return nil
	}
	for _, row := range res {
		out = append(out, suggestion{Name: row.Name, Detail: row.Type + " · " + row.ResourceGroup, URL: resourceURL(row.ID), Kind: "resource"})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// nameCheck is the live check of a name as the user types.
type nameCheck struct {
	Valid   bool   `json:"valid"`
	Message string `json:"message,omitempty"`
}

// nameRules are the domain's name rules by the kind a form asks about:
// the same functions the ARM handlers call.
var nameRules = map[string]func(string) error{
	"gallery":       galleon.ValidateGalleryName,
	"image":         galleon.ValidateImageDefinitionName,
	"resourcegroup": galleon.ValidateResourceGroupName,
	"snapshot":      galleon.ValidateDiskName,
	"version":       galleon.ValidateVersionName,
}

// validateName checks a name against the rule of its kind.
func (s *Server) validateName(w http.ResponseWriter, r *http.Request, v *visit) error {
	rule := nameRules[r.URL.Query().Get("kind")]
	if rule == nil {
		writeJSON(w, http.StatusBadRequest, nameCheck{Message: "unknown kind"})
		return nil
	}
	if err := rule(r.URL.Query().Get("name")); err != nil {
		writeJSON(w, http.StatusOK, nameCheck{Message: messageOf(err)})
		return nil
	}
	writeJSON(w, http.StatusOK, nameCheck{Valid: true})
	return nil
}

// messageOf is the message of a domain error.
func messageOf(err error) string {
	if e, ok := err.(*galleon.Error); ok {
		return e.Message
	}
	return err.Error()
}
