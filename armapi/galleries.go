package armapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
)

type galleryJSON struct {
	ID         string                    `json:"id,omitempty"`
	Name       string                    `json:"name,omitempty"`
	Type       string                    `json:"type,omitempty"`
	Location   string                    `json:"location"`
	Tags       map[string]string         `json:"tags,omitempty"`
	Properties galleon.GalleryProperties `json:"properties"`
	SystemData *galleon.SystemData       `json:"systemData,omitempty"`
}

// toGalleryJSON shapes g as Azure shows it: the sharing groups only when
// asked for ($expand=SharingProfile/Groups, which getGallery adds back).
func toGalleryJSON(g *galleon.Gallery) galleryJSON {
	sd := g.SystemData
	p := g.WithoutGroups().Properties
	return galleryJSON{
		ID:         g.ID.String(),
		Name:       g.ID.Name,
		Type:       galleon.TypeGallery,
		Location:   g.Location,
		Tags:       g.Tags,
		Properties: p,
		SystemData: &sd,
	}
}

func galleryID(r *request) galleon.GalleryID {
	return galleon.GalleryID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Name: r.id.Name}
}

func (s *Server) getGallery(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	if sel := q.Get("$select"); sel != "" && !strings.EqualFold(sel, "Permissions") {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "$select",
			"The value '%s' of parameter '$select' is not allowed. Allowed values are: Permissions.", sel)
	}
	if exp := q.Get("$expand"); exp != "" && !strings.EqualFold(exp, "SharingProfile/Groups") {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "$expand",
			"The value '%s' of parameter '$expand' is not allowed. Allowed values are: SharingProfile/Groups.", exp)
	}
	g, err := s.Store.GetGallery(r.Context(), galleryID(r))
	if err != nil {
		return err
	}
	out := toGalleryJSON(g)
	if q.Get("$expand") != "" {
		out.Properties.SharingProfile = g.Properties.SharingProfile
	}
	writeResource(w, http.StatusOK, g.Properties.ProvisioningState, out)
	return nil
}

// listGalleries lists by resource group, or by subscription when the path
// has no resource group.
func (s *Server) listGalleries(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	var galleries []galleon.Gallery
	var next string
	if r.id.ResourceGroupName == "" {
		galleries, next, err = s.Store.ListGalleriesBySubscription(r.Context(), r.id.SubscriptionID, page)
	} else {
		galleries, next, err = s.Store.ListGalleriesByResourceGroup(r.Context(),
			galleon.ResourceGroupID{SubscriptionID: r.id.SubscriptionID, Name: r.id.ResourceGroupName}, page)
	}
	if err != nil {
		return err
	}
	out := make([]galleryJSON, len(galleries))
	for i := range galleries {
		out[i] = toGalleryJSON(&galleries[i])
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) putGallery(w http.ResponseWriter, r *request) error {
	var body galleryJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := galleryID(r)
	if err := galleon.ValidateGalleryName(id.Name); err != nil {
		return err
	}
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeGallery)
	if err != nil {
		return err
	}
	now := s.now()
	g, created, err := s.Store.PutGallery(r.Context(), id, func(old *galleon.Gallery) (*galleon.Gallery, error) {
		g := &galleon.Gallery{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
		return s.saveGallery(r, old, g, now)
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toGalleryJSON(g))
	return nil
}

func (s *Server) patchGallery(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := galleryID(r)
	now := s.now()
	g, _, err := s.Store.PutGallery(r.Context(), id, func(old *galleon.Gallery) (*galleon.Gallery, error) {
		if old == nil {
			return nil, notFound(galleon.TypeGallery, id.Name, id.ResourceGroup)
		}
		g := *old
		if body.Tags != nil {
			g.Tags = *body.Tags
		}
		if err := mergeProperties(&g.Properties, body.Properties); err != nil {
			return nil, err
		}
		return s.saveGallery(r, old, &g, now)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGalleryJSON(g))
	return nil
}

// saveGallery applies the rules shared by PUT and PATCH to g, the intended
// new state of old (nil on creation).
func (s *Server) saveGallery(r *request, old, g *galleon.Gallery, now time.Time) (*galleon.Gallery, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if old != nil {
		g.ID = old.ID
		if err := galleon.UpdateGallery(old, g); err != nil {
			return nil, err
		}
	}
	if err := galleon.UpdateGallerySharing(old, g); err != nil {
		return nil, err
	}
	g.ApplyDefaults()
	g.SystemData.Touch(r.principal, now)
	return g, nil
}

func (s *Server) deleteGallery(w http.ResponseWriter, r *request) error {
	deleted, err := s.Store.DeleteGallery(r.Context(), galleryID(r))
	if err != nil {
		return err
	}
	if !deleted {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// notFound is ARM's answer for a missing resource.
func notFound(resourceType, name, resourceGroup string) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		resourceType, name, resourceGroup)
}
