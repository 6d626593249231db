package armapi

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// This file is the one place long-running operations meet the wire. Work
// that finishes within its request answers 200/201 with provisioningState
// Succeeded and never comes here. Work that cannot records a
// galleon.Operation and answers with:
//
//	Azure-AsyncOperation: {public}/subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/capsOperations/{id}?api-version=…
//	Location:             the same URL with &monitor=true (DELETE and POST)
//	Retry-After:          1
//
// The status URL answers {name,status,startTime,endTime,error}; the monitor
// URL answers 202 until the operation ends, then 200 (or its error). Every
// non-terminal answer carries Retry-After, or clients wait 30 s per poll.

func (s *Server) newOperation(sub, location, kind, target string) *galleon.Operation {
	return &galleon.Operation{
		ID:             uuid.NewString(),
		SubscriptionID: sub,
		Location:       location,
		Kind:           kind,
		Target:         target,
		Status:         galleon.OperationInProgress,
		StartTime:      s.now(),
	}
}

func (s *Server) operationStarted() {
	if s.OperationStarted != nil {
		s.OperationStarted()
	}
}

func (s *Server) operationURL(op *galleon.Operation, apiVersion string, monitor bool) string {
	q := url.Values{}
	q.Set("api-version", apiVersion)
	if monitor {
		q.Set("monitor", "true")
	}
	return s.PublicURL + OperationStatusPath(op.SubscriptionID, op.Location, op.ID) + "?" + q.Encode()
}

// writeAccepted answers the request that started op with status (201 for
// PUT, 202 for DELETE and POST) and body, which may be nil.
func (s *Server) writeAccepted(w http.ResponseWriter, r *request, op *galleon.Operation, status int, body any) {
	h := w.Header()
	h.Set("Azure-AsyncOperation", s.operationURL(op, r.apiVersion, false))
	if r.Method == http.MethodDelete || r.Method == http.MethodPost {
		h.Set("Location", s.operationURL(op, r.apiVersion, true))
	}
	h.Set("Retry-After", retryAfterSeconds)
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

type operationJSON struct {
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	StartTime time.Time    `json:"startTime"`
	EndTime   *time.Time   `json:"endTime,omitempty"`
	Error     *errorDetail `json:"error,omitempty"`
}

func (s *Server) getOperation(w http.ResponseWriter, r *request) error {
	op, err := s.Store.GetOperation(r.Context(), r.id.SubscriptionID, r.id.Name)
	if err != nil {
		return err
	}
	if err := s.authorizeOperation(r, op); err != nil {
		return err
	}
	if r.URL.Query().Get("monitor") == "true" {
		return s.writeMonitor(w, r, op)
	}
	if !op.Terminal() {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	out := operationJSON{Name: op.ID, Status: op.Status, StartTime: op.StartTime, EndTime: op.EndTime}
	if op.Error != nil {
		d := detailOf(op.Error)
		out.Error = &d
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeMonitor serves the Location form of an operation.
func (s *Server) writeMonitor(w http.ResponseWriter, r *request, op *galleon.Operation) error {
	switch op.Status {
	case galleon.OperationInProgress:
		w.Header().Set("Location", s.operationURL(op, r.apiVersion, true))
		w.Header().Set("Retry-After", retryAfterSeconds)
		w.WriteHeader(http.StatusAccepted)
		return nil
	case galleon.OperationSucceeded:
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if op.Error != nil {
		return op.Error
	}
	return galleon.Errorf(galleon.CodeInternal, "The operation ended with status %s.", op.Status)
}

// authorizeOperation lets whoever may read the resource an operation works
// on read its status (and no one else: an operation id alone reveals
// nothing).
func (s *Server) authorizeOperation(r *request, op *galleon.Operation) error {
	action := "Microsoft.Compute/locations/capsOperations/read"
	if id, err := arm.ParseResourceID(op.Target); err == nil {
		action = id.ResourceType.String() + "/read"
		if strings.EqualFold(id.ResourceType.String(), galleon.TypeResourceGroup) {
			action = "Microsoft.Resources/subscriptions/resourceGroups/read"
		}
	}
	if err := s.Authorizer.Authorize(r.Context(), r.principal, action, op.Target); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeAuthorizationFailed {
			return galleon.Denied(r.principal, "Microsoft.Compute/locations/capsOperations/read", r.URL.Path)
		}
		return err
	}
	return nil
}
