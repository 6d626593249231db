package armapi

import (
	"net/http"
	"strings"

	"github.com/galleon-project/galleon"
)

// The audit log is served in the shape of Azure's activity log
// (Microsoft.Insights eventtypes/management/values), so `az monitor
// activity-log list` and the SDKs' activity log clients read it.
var auditAPI = apiVersions{provider: true, resourceType: "eventtypes/values", versions: []string{"2015-04-01", "2017-03-01-preview"}}

func auditRoutes() map[routeKey]route {
	return map[routeKey]route{
		{"microsoft.insights/eventtypes/values", true}: {auditAPI, map[string]endpoint{
			http.MethodGet: {action: "Microsoft.Insights/eventtypes/values/read", handle: (*Server).listAudit},
		}},
	}
}

type localizable struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

type eventDataJSON struct {
	ID            string `json:"id"`
	EventDataID   string `json:"eventDataId"`
	Authorization struct {
		Action string `json:"action"`
		Scope  string `json:"scope"`
	} `json:"authorization"`
	Caller string `json:"caller"`
	Claims struct {
		ObjectID string `json:"http://schemas.microsoft.com/identity/claims/objectidentifier"`
	} `json:"claims"`
	CorrelationID string      `json:"correlationId"`
	Category      localizable `json:"category"`
	Level         string      `json:"level"`
	OperationName localizable `json:"operationName"`
	ResourceID    string      `json:"resourceId"`
	Status        localizable `json:"status"`
	SubStatus     localizable `json:"subStatus"`
	HTTPRequest   struct {
		Method string `json:"method"`
	} `json:"httpRequest"`
	EventTimestamp      string `json:"eventTimestamp"`
	SubmissionTimestamp string `json:"submissionTimestamp"`
	SubscriptionID      string `json:"subscriptionId"`
}

func toEventDataJSON(e *galleon.AuditEvent) eventDataJSON {
	var out eventDataJSON
	out.ID = e.Scope + "/events/" + e.ID
	out.EventDataID = e.ID
	out.Authorization.Action, out.Authorization.Scope = e.Action, e.Scope
	out.Caller = e.PrincipalName
	out.Claims.ObjectID = e.PrincipalID
	out.CorrelationID = e.CorrelationID
	out.Category = localizable{"Administrative", "Administrative"}
	out.Level = "Informational"
	if e.Result != "Succeeded" {
		out.Level = "Error"
	}
	out.OperationName = localizable{e.Action, e.Action}
	out.ResourceID = e.Scope
	out.Status = localizable{e.Result, e.Result}
	out.SubStatus = localizable{http.StatusText(e.Status), http.StatusText(e.Status)}
	out.HTTPRequest.Method = e.Method
	out.EventTimestamp = e.At.UTC().Format("2006-01-02T15:04:05.0000000Z")
	out.SubmissionTimestamp = out.EventTimestamp
	out.SubscriptionID = e.SubscriptionID
	return out
}

// listAudit pages through the subscription's audit events, newest first.
// A caller who may read only part of the subscription sees the events on
// that part.
func (s *Server) listAudit(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	events, next, err := s.Store.ListAudit(r.Context(), r.id.SubscriptionID, page)
	if err != nil {
		return err
	}
	out := []eventDataJSON{}
	for i := range events {
		if r.visible != nil && !r.visible(events[i].Scope) {
			continue
		}
		if f := r.URL.Query().Get("$filter"); f != "" && !matchesEventFilter(f, &events[i]) {
			continue
		}
		out = append(out, toEventDataJSON(&events[i]))
	}
	r.visible = nil // filtered above, by each event's scope
	return s.writeList(w, r, out, next)
}

// odataString reads an OData string literal: single quotes around it, and
// each quote inside written as two quotes. Anything else is taken as it is.
func odataString(lit string) string {
	if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' {
		return strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
	}
	return lit
}

// matchesEventFilter applies the parts of an activity log $filter that
// name a time range or a caller ("eventTimestamp ge '…' and eventTimestamp
// le '…'", "caller eq '…'"); other parts are ignored.
func matchesEventFilter(filter string, e *galleon.AuditEvent) bool {
	for _, term := range strings.Split(filter, " and ") {
		fields := strings.Fields(strings.TrimSpace(term))
		if len(fields) < 3 {
			continue
		}
		value := odataString(strings.Join(fields[2:], " "))
		switch strings.ToLower(fields[0]) + " " + strings.ToLower(fields[1]) {
		case "eventtimestamp ge":
			if e.At.Format("2006-01-02T15:04:05Z") < value {
				return false
			}
		case "eventtimestamp le":
			if e.At.Format("2006-01-02T15:04:05Z") > value {
				return false
			}
		case "caller eq":
			if !strings.EqualFold(e.PrincipalName, value) {
				return false
			}
		}
	}
	return true
}
