package armapi

import (
	"net/http"
)

// CloudMetadata describes this installation as a cloud, for
// `az cloud register` and other tools that read /metadata/endpoints.
type CloudMetadata struct {
	Name                     string   // "Galleon"
	ResourceManager          string   // https://host:port/
	LoginEndpoint            string   // https://host:port/adfs
	Audiences                []string // first is the ARM audience
	GraphEndpoint            string   // AAD Graph (unused, but az requires one)
	MicrosoftGraphResourceID string   // https://host:port/
	Gallery                  string
	Portal                   string
}

// getMetadataEndpoints answers in the old single-cloud shape for
// api-versions before 2019-05-01 (what az sends) and as a list of clouds
// after, as Azure Stack Hub does. It needs no authentication.
func (s *Server) getMetadataEndpoints(w http.ResponseWriter, r *http.Request) error {
	m := s.Metadata
	v := r.URL.Query().Get("api-version")
	if v == "" {
		v = "2015-01-01"
	}
	if _, err := metadataAPI.check(v, ""); err != nil {
		return err
	}
	if !atLeast(v, "2019-05-01") {
		writeJSON(w, http.StatusOK, map[string]any{
			"galleryEndpoint": m.Gallery,
			"graphEndpoint":   m.GraphEndpoint,
			"portalEndpoint":  m.Portal,
			"authentication": map[string]any{
				"loginEndpoint": m.LoginEndpoint,
				"audiences":     m.Audiences,
			},
		})
		return nil
	}
	writeJSON(w, http.StatusOK, []map[string]any{{
		"name":            m.Name,
		"resourceManager": m.ResourceManager,
		"portal":          m.Portal,
		"gallery":         m.Gallery,
		"graph":           m.GraphEndpoint,
		"authentication": map[string]any{
			"loginEndpoint":    m.LoginEndpoint,
			"audiences":        m.Audiences,
			"tenant":           "adfs",
			"identityProvider": "ADFS",
		},
		"microsoftGraphResourceId": m.MicrosoftGraphResourceID,
		"suffixes": map[string]any{
			"storage":     "core.windows.net",
			"keyVaultDns": "vault.azure.net",
		},
	}})
	return nil
}
