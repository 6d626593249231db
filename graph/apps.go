package graph

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// defaultSecretLifetime is Graph's for addPassword without endDateTime.
const defaultSecretLifetime = 2 * 365 * 24 * time.Hour

// maxSecretLifetime bounds endDateTime: secrets expire.
const maxSecretLifetime = 100 * 365 * 24 * time.Hour

func (s *Server) routeApplications(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		if err := requireReader(ctx); err != nil {
			return err
		}
		f, err := filter(r, applicationFilter)
		if err != nil {
			return err
		}
		items := []map[string]any{}
		next := ""
		// Applications have no identifier URIs here: such a filter
		// matches nothing.
		if !hasField(f, "identifierUris") {
			page, err := s.page(r)
			if err != nil {
				return err
			}
			apps, n, err := s.dir(ctx).ListApplications(ctx, f, page)
			if err != nil {
				return err
			}
			for i := range apps {
				items = append(items, applicationJSON(&apps[i]))
			}
			next = n
		}
		s.writeList(w, r, "applications", items, next)
		return nil
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.createApplication(w, r)
	case len(seg) == 0:
		return methodNotAllowed()
	}
	id := seg[0]
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		if err := requireReader(ctx); err != nil {
			return err
		}
		a, err := s.dir(ctx).GetApplication(ctx, id)
		if err != nil {
			return err
		}
		m := applicationJSON(a)
		m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#applications/$entity"
		writeJSON(w, http.StatusOK, m)
		return nil
	case len(seg) == 1 && r.Method == http.MethodPatch:
		// az patches an existing application of the same name; the display
		// name is all Galleon keeps.
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		if _, err := s.dir(ctx).GetApplication(ctx, id); err != nil {
			return err
		}
		var b map[string]any
		if err := decode(r, &b); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		ok, err := s.dir(ctx).DeleteApplication(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(id)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "addPassword"):
		a, err := s.dir(ctx).GetApplication(ctx, id)
		if err != nil {
			return err
		}
		return s.addPassword(w, r, a.ObjectID)
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "removePassword"):
		return s.removePassword(w, r, id)
	}
	return methodNotAllowed()
}

func hasField(f galleon.DirectoryFilter, field string) bool {
	for _, c := range f {
		if c.Field == field {
			return true
		}
	}
	return false
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b struct {
		DisplayName    string `json:"displayName"`
		KeyCredentials []any  `json:"keyCredentials"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := checkName("displayName", b.DisplayName, true); err != nil {
		return err
	}
	if len(b.KeyCredentials) > 0 {
		return badRequest("Certificate credentials (keyCredentials) are not supported; add a password with addPassword.")
	}
	t, err := s.dir(ctx).Tenant(ctx)
	if err != nil {
		return err
	}
	a := &galleon.Application{ObjectID: newID(), TenantID: t.ID, AppID: newID(), DisplayName: b.DisplayName}
	if err := s.dir(ctx).CreateApplication(ctx, a); err != nil {
		return err
	}
	m := applicationJSON(a)
	m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#applications/$entity"
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// addPassword makes a secret for owner (an application or service
// principal) and shows it once.
func (s *Server) addPassword(w http.ResponseWriter, r *http.Request, ownerID string) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b struct {
		PasswordCredential struct {
			DisplayName   string     `json:"displayName"`
			StartDateTime *time.Time `json:"startDateTime"`
			EndDateTime   *time.Time `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	pc := b.PasswordCredential
	if err := checkName("displayName", pc.DisplayName, false); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Second)
	start, end := now, now.Add(defaultSecretLifetime)
	if pc.StartDateTime != nil {
		start = pc.StartDateTime.UTC()
	}
	if pc.EndDateTime != nil {
		end = pc.EndDateTime.UTC()
	}
	if !end.After(now) || !end.After(start) || end.Sub(now) > maxSecretLifetime {
		return badRequest("Invalid endDateTime: it must be in the future, after startDateTime, and within 100 years.")
	}
	secret, err := s.NewSecret()
	if err != nil {
		return err
	}
	c := &galleon.PasswordCredential{KeyID: uuid.NewString(), OwnerID: ownerID, DisplayName: pc.DisplayName, Hint: secret[:3],
		Hash: s.HashSecret(secret), StartDateTime: start, EndDateTime: end}
	if err := s.dir(ctx).AddPasswordCredential(ctx, c); err != nil {
		return err
	}
	m := credentialJSON(c, secret)
	m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#microsoft.graph.passwordCredential"
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) removePassword(w http.ResponseWriter, r *http.Request, ownerID string) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b struct {
		KeyID string `json:"keyId"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if a, err := s.dir(ctx).GetApplication(ctx, ownerID); err == nil {
		ownerID = a.ObjectID
	}
	ok, err := s.dir(ctx).RemovePasswordCredential(ctx, ownerID, b.KeyID)
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("No password credential with keyId '%s' was found.", b.KeyID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) routeServicePrincipals(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		return serveList(s, w, r, "servicePrincipals", servicePrincipalFilter, s.dir(ctx).ListServicePrincipals, servicePrincipalJSON)
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.createServicePrincipal(w, r)
	case len(seg) == 0:
		return methodNotAllowed()
	}
	id := seg[0]
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		if err := requireReader(ctx); err != nil {
			return err
		}
		sp, err := s.dir(ctx).GetServicePrincipal(ctx, id)
		if err != nil {
			return err
		}
		m := servicePrincipalJSON(sp)
		m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#servicePrincipals/$entity"
		writeJSON(w, http.StatusOK, m)
		return nil
	case len(seg) == 1 && r.Method == http.MethodPatch:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		if _, err := s.dir(ctx).GetServicePrincipal(ctx, id); err != nil {
			return err
		}
		var b map[string]any
		if err := decode(r, &b); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		if id == callerOf(ctx).ObjectID {
			return badRequest("A service principal cannot delete itself.")
		}
		ok, err := s.dir(ctx).DeleteServicePrincipal(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(id)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "addPassword"):
		sp, err := s.dir(ctx).GetServicePrincipal(ctx, id)
		if err != nil {
			return err
		}
		return s.addPassword(w, r, sp.ObjectID)
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "removePassword"):
		return s.removePassword(w, r, id)
	}
	return methodNotAllowed()
}

func (s *Server) createServicePrincipal(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b struct {
		AppID          string `json:"appId"`
		AccountEnabled *bool  `json:"accountEnabled"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	a, err := s.dir(ctx).GetApplication(ctx, b.AppID)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && !strings.EqualFold(a.AppID, b.AppID) {
		return badRequest("The appId '%s' of the service principal does not reference a valid application object.", b.AppID)
	}
	if err != nil {
		return err
	}
	sp := &galleon.ServicePrincipal{Principal: galleon.Principal{ObjectID: newID(), TenantID: a.TenantID, AppID: a.AppID,
		DisplayName: a.DisplayName}, AccountEnabled: b.AccountEnabled == nil || *b.AccountEnabled}
	if err := s.dir(ctx).CreateServicePrincipal(ctx, sp); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeConflict {
			return &Error{http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be created, updated, or restored because the service principal name " + a.AppID + " is already in use."}
		}
		return err
	}
	m := servicePrincipalJSON(sp)
	m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#servicePrincipals/$entity"
	writeJSON(w, http.StatusCreated, m)
	return nil
}
