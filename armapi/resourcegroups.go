package armapi

import (
	"net/http"

	"github.com/galleon-project/galleon"
)

type resourceGroupJSON struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState,omitempty"`
	} `json:"properties"`
}

func toResourceGroupJSON(rg *galleon.ResourceGroup) resourceGroupJSON {
	out := resourceGroupJSON{
		ID:        rg.ID.String(),
		Name:      rg.ID.Name,
		Type:      galleon.TypeResourceGroup,
		Location:  rg.Location,
		ManagedBy: rg.ManagedBy,
		Tags:      rg.Tags,
	}
	out.Properties.ProvisioningState = rg.ProvisioningState
	return out
}

func resourceGroupID(r *request) galleon.ResourceGroupID {
	return galleon.ResourceGroupID{SubscriptionID: r.id.SubscriptionID, Name: r.id.ResourceGroupName}
}

// writeResource answers a resource, asking pollers to come back soon while it
// is still changing.
func writeResource(w http.ResponseWriter, status int, provisioningState string, v any) {
	switch provisioningState {
	case galleon.ProvisioningCreating, galleon.ProvisioningUpdating, galleon.ProvisioningDeleting:
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, status, v)
}

func (s *Server) getResourceGroup(w http.ResponseWriter, r *request) error {
	rg, err := s.Store.GetResourceGroup(r.Context(), resourceGroupID(r))
	if err != nil {
		return err
	}
	writeResource(w, http.StatusOK, rg.ProvisioningState, toResourceGroupJSON(rg))
	return nil
}

// checkResourceGroup answers HEAD: 204 when the group exists, 404 when not.
func (s *Server) checkResourceGroup(w http.ResponseWriter, r *request) error {
	_, err := s.Store.GetResourceGroup(r.Context(), resourceGroupID(r))
	if galleon.ErrorCode(err) == galleon.CodeResourceGroupNotFound {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listResourceGroups(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	groups, next, err := s.Store.ListResourceGroups(r.Context(), r.id.SubscriptionID, page)
	if err != nil {
		return err
	}
	out := make([]resourceGroupJSON, len(groups))
	for i := range groups {
		out[i] = toResourceGroupJSON(&groups[i])
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) putResourceGroup(w http.ResponseWriter, r *request) error {
	var body resourceGroupJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := resourceGroupID(r)
	if err := galleon.ValidateResourceGroupName(id.Name); err != nil {
		return err
	}
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeResourceGroup)
	if err != nil {
		return err
	}
	now := s.now()
	rg, created, err := s.Store.PutResourceGroup(r.Context(), id, func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
		rg := &galleon.ResourceGroup{ID: id, Location: loc, Tags: body.Tags, ManagedBy: body.ManagedBy,
			ProvisioningState: galleon.ProvisioningSucceeded}
		if err := rg.Validate(); err != nil {
			return nil, err
		}
		if old != nil {
			rg.ID = old.ID
			if err := galleon.UpdateResourceGroup(old, rg); err != nil {
				return nil, err
			}
		}
		rg.SystemData.Touch(r.principal, now)
		return rg, nil
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toResourceGroupJSON(rg))
	return nil
}

func (s *Server) patchResourceGroup(w http.ResponseWriter, r *request) error {
	var body struct {
		Tags      *map[string]string `json:"tags"`
		ManagedBy *string            `json:"managedBy"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := resourceGroupID(r)
	now := s.now()
	rg, _, err := s.Store.PutResourceGroup(r.Context(), id, func(old *galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceGroupNotFound, "Resource group '%s' could not be found.", id.Name)
		}
		rg := *old
		if body.Tags != nil {
			rg.Tags = *body.Tags
		}
		if body.ManagedBy != nil {
			rg.ManagedBy = *body.ManagedBy
		}
		if err := rg.Validate(); err != nil {
			return nil, err
		}
		rg.SystemData.Touch(r.principal, now)
		return &rg, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toResourceGroupJSON(rg))
	return nil
}

// deleteResourceGroup starts the cascading deletion as a long-running
// operation: the group and everything in it go away in the background.
func (s *Server) deleteResourceGroup(w http.ResponseWriter, r *request) error {
	id := resourceGroupID(r)
	rg, err := s.Store.GetResourceGroup(r.Context(), id)
	if galleon.ErrorCode(err) == galleon.CodeResourceGroupNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	op, err := s.Store.BeginDeleteResourceGroup(r.Context(), rg.ID, s.newOperation(id.SubscriptionID, rg.Location,
		galleon.OperationDeleteResourceGroup, rg.ID.String()))
	if err != nil {
		return err
	}
	s.operationStarted()
	s.writeAccepted(w, r, op, http.StatusAccepted, nil)
	return nil
}
