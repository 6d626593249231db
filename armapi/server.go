// Package armapi serves the Azure Resource Manager REST API for the
// resources Galleon keeps: subscriptions, resource groups, galleries and
// image definitions, with ARM's conventions for ids, api-versions, errors,
// paging and long-running operations.
package armapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
)

const (
	headerRequestID     = "x-ms-request-id"
	headerCorrelationID = "x-ms-correlation-request-id"
	headerClientRequest = "x-ms-client-request-id"

	// maxBodyBytes bounds request bodies; ARM itself refuses bodies over 4 MiB.
	maxBodyBytes = 4 << 20
	// DefaultPageSize is how many items a list returns before a nextLink.
	DefaultPageSize = 100
	// retryAfterSeconds is what non-terminal responses ask clients to wait;
	// without it both the SDK and az wait 30 seconds between polls.
	retryAfterSeconds = "1"
)

// Server serves ARM. Its fields are assigned by cmd/galleon; the zero values
// of optional ones are usable.
type Server struct {
	Store      galleon.Store
	Authorizer galleon.Authorizer
	// Groups resolves group membership for assignedTo() filters; nil
	// means no groups.
	Groups authz.GroupResolver
	// VerifyToken authenticates a bearer token.
	VerifyToken func(token string) (galleon.Principal, error)
	Regions     galleon.Regions
	// PublicURL is the externally visible origin, e.g. https://127.0.0.1:8443.
	PublicURL string
	// AuthorityURL is advertised in WWW-Authenticate on 401 answers.
	AuthorityURL string
	// Metadata describes the cloud for GET /metadata/endpoints.
	Metadata CloudMetadata
	PageSize int
	Now      func() time.Time
	Logger   *slog.Logger
	// DiskData signs SAS URLs and seals uploads (the data plane).
	DiskData galleon.DiskData
	// Metrics records requests; nil records nothing.
	Metrics *Metrics
	// OperationStarted is called after a long-running operation was
	// recorded, so the runner can start on it without waiting for its poll.
	OperationStarted func()
	// SoftDeleteRetention is how long a version deleted from a gallery
	// whose softDeletePolicy is on stays restorable; zero means Azure's
	// seven days.
	SoftDeleteRetention time.Duration
}

// DefaultSoftDeleteRetention is Azure's retention of soft-deleted image
// versions.
const DefaultSoftDeleteRetention = 7 * 24 * time.Hour

func (s *Server) softDeleteRetention() time.Duration {
	if s.SoftDeleteRetention <= 0 {
		return DefaultSoftDeleteRetention
	}
	return s.SoftDeleteRetention
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Server) pageSize() int {
	if s.PageSize <= 0 {
		return DefaultPageSize
	}
	return s.PageSize
}

// Handler returns the ARM handler. It owns /subscriptions, /providers,
// /tenants and /metadata/endpoints; cmd/galleon routes those prefixes here.
func (s *Server) Handler() http.Handler {
	return s.withRequestIDs(s.withRecover(http.HandlerFunc(s.serveARM)))
}

// Owns reports whether path belongs to the ARM API.
func Owns(path string) bool {
	p := strings.ToLower(strings.TrimLeft(path, "/"))
	for _, prefix := range []string{"subscriptions", "providers", "tenants", "metadata/endpoints"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

func (s *Server) withRequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		corr := r.Header.Get(headerCorrelationID)
		if _, err := uuid.Parse(corr); err != nil {
			corr = id
		}
		h := w.Header()
		h.Set(headerRequestID, id)
		h.Set(headerCorrelationID, corr)
		if c := r.Header.Get(headerClientRequest); c != "" && len(c) <= 128 {
			h.Set(headerClientRequest, c)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger().ErrorContext(r.Context(), "panic serving request", slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				s.writeError(w, r, galleon.Errorf(galleon.CodeInternal, "The server encountered an internal error."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	if v != nil && status != http.StatusNoContent {
		_ = json.NewEncoder(w).Encode(v)
	}
}
