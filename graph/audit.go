package graph

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// auditStore records audit events; the store behind Graph may implement
// it, as the installation's store does.
type auditStore interface {
	AppendAudit(ctx context.Context, e *galleon.AuditEvent) error
}

// audit records a directory write, or a refused call, in the audit log
// of the installation's subscription, as ARM's are: the action is
// "Microsoft.Graph/{collection}/{verb}" and the scope the Graph path.
func (s *Server) audit(r *http.Request, c *caller, status int) {
	st, ok := s.Store.(auditStore)
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if !ok || c == nil || read && status != http.StatusForbidden {
		return
	}
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, PathPrefix), "/"), "/")
	verb := map[string]string{http.MethodPost: "write", http.MethodPatch: "write", http.MethodPut: "write", http.MethodDelete: "delete"}[r.Method]
	if verb == "" {
		verb = "read"
	}
	if len(segs) > 2 { // users/{id}/…, groups/{id}/members/$ref, applications/{id}/addPassword
		verb = strings.TrimPrefix(segs[len(segs)-1], "$") + "/action"
	}
	result := "Succeeded"
	switch {
	case status == http.StatusForbidden:
		result = "Denied"
	case status >= 400:
		result = "Failed"
	}
	e := &galleon.AuditEvent{ID: uuid.NewString(), At: s.now(), SubscriptionID: s.auditSubscription(r.Context(), c), PrincipalID: c.ObjectID,
		PrincipalName: c.DisplayIdentity(), Action: "Microsoft.Graph/" + segs[0] + "/" + verb, Scope: PathPrefix + strings.Join(segs, "/"),
		Method: r.Method, Status: status, Result: result, CorrelationID: r.Header.Get("client-request-id")}
	if err := st.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.logger().Error("recording an audit event", slog.Any("err", err), slog.String("action", e.Action))
	}
}

// auditSubscription is where a caller's directory calls are logged: the
// installation's subscription for its own tenant, a subscription of the
// caller's tenant otherwise, so that one tenant's log does not show
// another's directory.
func (s *Server) auditSubscription(ctx context.Context, c *caller) string {
	subs, err := s.Store.ListSubscriptions(ctx, c.TenantID)
	if err != nil || len(subs) == 0 {
		return s.SubscriptionID
	}
	for _, sub := range subs {
		if strings.EqualFold(sub.ID, s.SubscriptionID) {
			return s.SubscriptionID
		}
	}
	return subs[0].ID
}
