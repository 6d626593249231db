package identity

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// oauthError is an error answer of the identity endpoints in Entra's shape:
// an OAuth error code, and a description that starts with Entra's AADSTS
// number, which az prints and people search for.
type oauthError struct {
	status int
	code   string // invalid_client, invalid_request, …
	aadsts int    // 0 when Entra has no number for the case
	text   string // the description after "AADSTSnnn: "
}

func (e *oauthError) description() string {
	if e.aadsts == 0 {
		return e.text
	}
	return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.text)
}

// oauthErrorBody is what Entra answers; trace and correlation ids let a
// user's error message be matched with the server's log line.
type oauthErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// writeOAuthError answers e and logs it with attrs (never a secret).
func (i *Issuer) writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError, attrs ...slog.Attr) {
	now := i.now().UTC().Format("2006-01-02 15:04:05Z")
	trace := uuid.NewString()
	// MSAL sends client-request-id; Entra answers it as the correlation id.
	corr := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	body := oauthErrorBody{
		Error:         e.code,
		Description:   fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.description(), trace, corr, now),
		Timestamp:     now,
		TraceID:       trace,
		CorrelationID: corr,
	}
	if e.aadsts != 0 {
		body.ErrorCodes = []int{e.aadsts}
	}
	if e.status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
		w.Header().Set("WWW-Authenticate", `Basic realm="galleon"`)
	}
	level := slog.LevelInfo
	if e.status >= 500 {
		level = slog.LevelError
	}
	attrs = append(attrs,
		slog.String("path", r.URL.Path),
		slog.String("error", e.code),
		slog.String("description", e.description()),
		slog.String("trace_id", trace),
		slog.String("correlation_id", corr))
	i.logger().LogAttrs(r.Context(), level, "identity request refused", attrs...)
	writeJSON(w, e.status, body)
}

// requireTenant resolves an authority's {tenant} segment, or answers an
// AADSTS90002 error with code (Entra's discovery says invalid_tenant, its
// token endpoint invalid_request) and reports false.
func (i *Issuer) requireTenant(w http.ResponseWriter, r *http.Request, segment, code string) (*galleon.Tenant, bool) {
	t, err := i.resolveTenant(r.Context(), segment)
	if err != nil {
		i.writeOAuthError(w, r, errDirectoryUnavailable(), slog.Any("err", err))
		return nil, false
	}
	if t == nil {
		e := errUnknownTenant(segment)
		e.code = code
		i.writeOAuthError(w, r, e)
		return nil, false
	}
	return t, true
}

// The errors below carry Entra's codes and wording, so that what az prints
// can be looked up in Microsoft's documentation.

func errDirectoryUnavailable() *oauthError {
	return &oauthError{http.StatusInternalServerError, "server_error", 0,
		"The directory is unavailable. Try again later."}
}

func errUnknownTenant(segment string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", segment)}
}

func errMethod(method string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", 900561, fmt.Sprintf(
		"The endpoint only accepts POST requests. Received a %s request.", method)}
}

func errBadBody() *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", 900144,
		"The request body must be form-encoded (application/x-www-form-urlencoded) and at most 8 KiB."}
}

func errMissingParameter(name string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf(
		"The request body must contain the following parameter: '%s'.", name)}
}

func errUnsupportedGrant(grant string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf(
		"The app requested an unsupported grant type '%s'. Supported: %s.", grant, strings.Join(grantTypes, ", "))}
}

func errUnknownClient(clientID string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant. You may have sent your authentication request to the wrong tenant.", clientID)}
}

func errMissingSecret() *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

func errInvalidSecret(clientID string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}
}

func errExpiredSecret(clientID string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf(
		"The provided client secret keys for app '%s' are expired. Create a new client secret for the app.", clientID)}
}

func errScopeNotDefault(scope string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
		"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
}

func errScopeResources(scope string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", 28000, fmt.Sprintf(
		"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope)}
}

func errUnknownResource(resource string, audiences []string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
		"The resource principal named %s was not found in the tenant. This server issues tokens for: %s.", resource, strings.Join(audiences, ", "))}
}
