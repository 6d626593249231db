package armapi

import (
	"net/http"

	"github.com/galleon-project/galleon"
)

type subscriptionJSON struct {
	ID                   string            `json:"id"`
	SubscriptionID       string            `json:"subscriptionId"`
	TenantID             string            `json:"tenantId"`
	DisplayName          string            `json:"displayName"`
	State                string            `json:"state"`
	AuthorizationSource  string            `json:"authorizationSource"`
	ManagedByTenants     []string          `json:"managedByTenants"`
	SubscriptionPolicies map[string]string `json:"subscriptionPolicies"`
}

func toSubscriptionJSON(sub *galleon.Subscription) subscriptionJSON {
	return subscriptionJSON{
		ID:                  galleon.SubscriptionScope(sub.ID),
		SubscriptionID:      sub.ID,
		TenantID:            sub.TenantID,
		DisplayName:         sub.DisplayName,
		State:               sub.State,
		AuthorizationSource: "RoleBased",
		ManagedByTenants:    []string{},
		SubscriptionPolicies: map[string]string{
			"locationPlacementId": "Public_2014-09-01",
			"quotaId":             "Galleon_2024-01-01",
			"spendingLimit":       "Off",
		},
	}
}

// listSubscriptions lists the subscriptions of the caller's tenant that the
// caller may read; az's service-principal login needs at least one.
func (s *Server) listSubscriptions(w http.ResponseWriter, r *request) error {
	subs, err := s.Store.ListSubscriptions(r.Context(), r.principal.TenantID)
	if err != nil {
		return err
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	// A subscription is listed to whoever may read something in it, as
	// Azure lists it to a Reader of one gallery.
	out := []subscriptionJSON{}
	for i := range subs {
		if perms.AllowsBelow("Microsoft.Resources/subscriptions/read", galleon.SubscriptionScope(subs[i].ID)) {
			out = append(out, toSubscriptionJSON(&subs[i]))
		}
	}
	return s.writeList(w, r, out, "")
}

func (s *Server) getSubscription(w http.ResponseWriter, r *request) error {
	sub, err := s.Store.GetSubscription(r.Context(), r.id.SubscriptionID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSubscriptionJSON(sub))
	return nil
}

// listTenants lists the caller's home tenant.
func (s *Server) listTenants(w http.ResponseWriter, r *request) error {
	// The caller's home tenant: the installation's first, or a further
	// one (galleon tenant create).
	t, err := s.Store.GetTenant(r.Context(), r.principal.TenantID)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		t, err = &galleon.Tenant{}, nil
	}
	if err != nil {
		return err
	}
	out := []map[string]any{}
	if t.ID != "" && t.ID == r.principal.TenantID {
		out = append(out, map[string]any{
			"id":             "/tenants/" + t.ID,
			"tenantId":       t.ID,
			"tenantCategory": "Home",
			"displayName":    t.DisplayName,
			"defaultDomain":  t.Domain,
			"domains":        []string{t.Domain},
		})
	}
	return s.writeList(w, r, out, "")
}

func (s *Server) listLocations(w http.ResponseWriter, r *request) error {
	type location struct {
		ID                  string `json:"id"`
		Name                string `json:"name"`
		Type                string `json:"type"`
		DisplayName         string `json:"displayName"`
		RegionalDisplayName string `json:"regionalDisplayName"`
		Metadata            any    `json:"metadata"`
	}
	out := []location{}
	for _, reg := range s.Regions {
		out = append(out, location{
			ID:                  galleon.SubscriptionScope(r.id.SubscriptionID) + "/locations/" + reg.Name,
			Name:                reg.Name,
			Type:                "Region",
			DisplayName:         reg.DisplayName,
			RegionalDisplayName: reg.DisplayName,
			Metadata:            map[string]string{"regionType": "Physical", "regionCategory": "Recommended"},
		})
	}
	return s.writeList(w, r, out, "")
}
