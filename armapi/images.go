package armapi

import (
	"net/http"
	"time"

	"github.com/galleon-project/galleon"
)

type imageDefinitionJSON struct {
	ID         string                            `json:"id,omitempty"`
	Name       string                            `json:"name,omitempty"`
	Type       string                            `json:"type,omitempty"`
	Location   string                            `json:"location"`
	Tags       map[string]string                 `json:"tags,omitempty"`
	Properties galleon.ImageDefinitionProperties `json:"properties"`
	SystemData *galleon.SystemData               `json:"systemData,omitempty"`
}

// toImageDefinitionJSON shapes d for api-version v: properties that version
// does not define are left out, as Azure does.
func toImageDefinitionJSON(d *galleon.ImageDefinition, v string) imageDefinitionJSON {
	p := d.Properties
	if !atLeast(v, "2019-03-01") {
		p.HyperVGeneration = ""
	}
	if !atLeast(v, "2021-10-01") {
		p.Architecture = ""
	}
	sd := d.SystemData
	return imageDefinitionJSON{
		ID:         d.ID.String(),
		Name:       d.ID.Image,
		Type:       galleon.TypeImageDefinition,
		Location:   d.Location,
		Tags:       d.Tags,
		Properties: p,
		SystemData: &sd,
	}
}

func imageDefinitionID(r *request) galleon.ImageDefinitionID {
	return galleon.ImageDefinitionID{
		GalleryID: galleon.GalleryID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Name: r.id.Parent.Name},
		Image:     r.id.Name,
	}
}

func (s *Server) getImageDefinition(w http.ResponseWriter, r *request) error {
	d, err := s.Store.GetImageDefinition(r.Context(), imageDefinitionID(r))
	if err != nil {
		return err
	}
	writeResource(w, http.StatusOK, d.Properties.ProvisioningState, toImageDefinitionJSON(d, r.apiVersion))
	return nil
}

func (s *Server) listImageDefinitions(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	gid := galleon.GalleryID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Name: r.id.Parent.Name}
	defs, next, err := s.Store.ListImageDefinitions(r.Context(), gid, page)
	if err != nil {
		return err
	}
	out := make([]imageDefinitionJSON, len(defs))
	for i := range defs {
		out[i] = toImageDefinitionJSON(&defs[i], r.apiVersion)
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) putImageDefinition(w http.ResponseWriter, r *request) error {
	var body imageDefinitionJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := imageDefinitionID(r)
	if err := galleon.ValidateImageDefinitionName(id.Image); err != nil {
		return err
	}
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeImageDefinition)
	if err != nil {
		return err
	}
	now := s.now()
	d, created, err := s.Store.PutImageDefinition(r.Context(), id, func(old *galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
		d := &galleon.ImageDefinition{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
		return s.saveImageDefinition(r, old, d, now)
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toImageDefinitionJSON(d, r.apiVersion))
	return nil
}

func (s *Server) patchImageDefinition(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := imageDefinitionID(r)
	now := s.now()
	d, _, err := s.Store.PutImageDefinition(r.Context(), id, func(old *galleon.ImageDefinition) (*galleon.ImageDefinition, error) {
		if old == nil {
			return nil, notFound(galleon.TypeImageDefinition, id.Name+"/"+id.Image, id.ResourceGroup)
		}
		d := *old
		if body.Tags != nil {
			d.Tags = *body.Tags
		}
		if err := mergeProperties(&d.Properties, body.Properties); err != nil {
			return nil, err
		}
		return s.saveImageDefinition(r, old, &d, now)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toImageDefinitionJSON(d, r.apiVersion))
	return nil
}

// saveImageDefinition applies the rules shared by PUT and PATCH.
func (s *Server) saveImageDefinition(r *request, old, d *galleon.ImageDefinition, now time.Time) (*galleon.ImageDefinition, error) {
	// Validate first: it puts enumerations into canonical spelling, so that
	// "linux" is not mistaken for a change of "Linux".
	if err := d.Validate(now); err != nil {
		return nil, err
	}
	if old != nil {
		d.ID = old.ID
		if err := galleon.UpdateImageDefinition(old, d); err != nil {
			return nil, err
		}
	}
	d.ApplyDefaults()
	d.SystemData.Touch(r.principal, now)
	return d, nil
}

func (s *Server) deleteImageDefinition(w http.ResponseWriter, r *request) error {
	// Azure's answer to a definition with soft-deleted versions: delete
	// them, or turn the gallery's soft delete off and delete the
	// definition, which then takes them. With the policy on, the store
	// refuses (CannotDeleteResource).
	id := imageDefinitionID(r)
	if g, err := s.Store.GetGallery(r.Context(), id.GalleryID); err == nil && !g.SoftDeleteEnabled() {
		if err := s.purgeSoftDeletedOf(r, id); err != nil && galleon.ErrorCode(err) != galleon.CodeParentResourceNotFound {
			return err
		}
	}
	deleted, err := s.Store.DeleteImageDefinition(r.Context(), id)
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
