package armapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/galleon-project/galleon"
)

// statusByCode is the one table mapping domain error codes to HTTP status.
// A code missing here is a programming error and answers 500.
var statusByCode = map[string]int{
	galleon.CodeInvalidParameter:             http.StatusBadRequest,
	galleon.CodeInvalidFilter:                http.StatusBadRequest,
	galleon.CodeInvalidRequestContent:        http.StatusBadRequest,
	galleon.CodeInvalidResourceName:          http.StatusBadRequest,
	galleon.CodeLocationNotAvailable:         http.StatusBadRequest,
	galleon.CodeMissingAPIVersion:            http.StatusBadRequest,
	galleon.CodeInvalidAPIVersion:            http.StatusBadRequest,
	galleon.CodeNoRegisteredProvider:         http.StatusBadRequest,
	galleon.CodePropertyChangeNotAllowed:     http.StatusConflict,
	galleon.CodeInvalidResourceType:          http.StatusNotFound,
	galleon.CodeResourceNotFound:             http.StatusNotFound,
	galleon.CodeResourceGroupNotFound:        http.StatusNotFound,
	galleon.CodeParentResourceNotFound:       http.StatusNotFound,
	galleon.CodeSubscriptionNotFound:         http.StatusNotFound,
	galleon.CodeOperationNotFound:            http.StatusNotFound,
	galleon.CodeConflict:                     http.StatusConflict,
	galleon.CodeCannotDeleteResource:         http.StatusConflict,
	galleon.CodeResourceGroupBeingDeleted:    http.StatusConflict,
	galleon.CodeInvalidResourceGroupLocation: http.StatusConflict,
	galleon.CodeAuthenticationFailed:         http.StatusUnauthorized,
	galleon.CodeAuthenticationMissing:        http.StatusUnauthorized,
	galleon.CodeAuthorizationFailed:          http.StatusForbidden,
	galleon.CodeLinkedAuthorizationFailed:    http.StatusForbidden,
	galleon.CodeRequestTooLarge:              http.StatusRequestEntityTooLarge,
	galleon.CodeMethodNotAllowed:             http.StatusMethodNotAllowed,
	galleon.CodeOperationNotAllowed:          http.StatusConflict,
	galleon.CodeLeaseLost:                    http.StatusConflict,
	galleon.CodeRoleAssignmentExists:         http.StatusConflict,
	galleon.CodeRoleAssignmentNotFound:       http.StatusNotFound,
	galleon.CodeRoleDefinitionNotFound:       http.StatusNotFound,
	galleon.CodeRoleDefinitionHasAssignments: http.StatusConflict,
	galleon.CodeRoleDefinitionExists:         http.StatusConflict,
	galleon.CodeRoleDefinitionIDExists:       http.StatusConflict,
	galleon.CodeInvalidRoleDefinitionID:      http.StatusBadRequest,
	galleon.CodePrincipalNotFound:            http.StatusBadRequest,
	galleon.CodeInternal:                     http.StatusInternalServerError,
	galleon.CodeTooManyTags:                  http.StatusBadRequest,
	galleon.CodeInvalidTagName:               http.StatusBadRequest,
	galleon.CodeInvalidTagNameLength:         http.StatusBadRequest,
	galleon.CodeInvalidTagNameCharacters:     http.StatusBadRequest,
	galleon.CodeInvalidTagValueLength:        http.StatusBadRequest,
}

// errorBody is ARM's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  string        `json:"target,omitempty"`
	Details []errorDetail `json:"details,omitempty"`
}

func detailOf(e *galleon.Error) errorDetail {
	return errorDetail{Code: e.Code, Message: e.Message, Target: e.Target}
}

// writeError answers err in ARM's shape. Errors that are not domain errors
// are logged and hidden behind a generic internal error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *galleon.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.logger().ErrorContext(r.Context(), "internal error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
		e = galleon.Errorf(galleon.CodeInternal,
			"The server encountered an internal error. Please retry the request. (x-ms-request-id: %s)", w.Header().Get(headerRequestID))
	}
	status, ok := statusByCode[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.wwwAuthenticate())
	}
	w.Header().Set("x-ms-error-code", e.Code)
	writeJSON(w, status, errorBody{Error: detailOf(e)})
}

func (s *Server) wwwAuthenticate() string {
	return `Bearer authorization_uri="` + s.AuthorityURL + `", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header or an invalid token."`
}
