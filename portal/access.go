package portal

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Access control (IAM): the role assignments at and above a scope, adding
// one (for a user, group or service principal of the directory, or for an
// e-mail address outside it, who is invited as a guest first) and removing
// those made at the scope itself. Every read and write is the API's:
// role assignments and definitions through ARM, principals and
// invitations through Graph, both as the signed-in user.

// authorizationAPI is the api-version of role assignments and definitions.
const authorizationAPI = "2022-04-01"

// Principal kinds the add form offers, by the form's value: the ARM
// principalType and Graph collection of each.
var principalKinds = map[string]struct{ armType, collection, label string }{
	"user":             {galleon.PrincipalUser, "users", "user"},
	"group":            {galleon.PrincipalGroup, "groups", "group"},
	"servicePrincipal": {galleon.PrincipalServicePrincipal, "servicePrincipals", "service principal"},
}

// kindOf is the form's kind, user when missing or unknown.
func kindOf(v string) string {
	if _, ok := principalKinds[v]; ok {
		return v
	}
	return "user"
}

type roleAssignmentJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
	} `json:"properties"`
}

type roleDefinitionJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleName    string `json:"roleName"`
		Type        string `json:"type"`
		Description string `json:"description"`
	} `json:"properties"`
}

// directoryObjectJSON is a user, group or service principal as Graph
// answers it (getByIds carries @odata.type).
type directoryObjectJSON struct {
	ID                string `json:"id"`
	ODataType         string `json:"@odata.type"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	AppID             string `json:"appId"`
	UserType          string `json:"userType"`
}

// principalRow is a principal as the pages and the picker show it.
type principalRow struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Detail string `json:"detail,omitempty"`
	// Type is the kind shown: User, Guest, Group, Service principal.
	Type string `json:"type"`
	// keys are what an exact match of typed text compares (names, UPN,
	// mail, app id), folded.
	keys []string
}

func toPrincipalRow(o directoryObjectJSON, armType string) principalRow {
	typ := armType
	switch {
	case strings.HasSuffix(o.ODataType, ".group"):
		typ = galleon.PrincipalGroup
	case strings.HasSuffix(o.ODataType, ".servicePrincipal"):
		typ = galleon.PrincipalServicePrincipal
	case strings.HasSuffix(o.ODataType, ".user"):
		typ = galleon.PrincipalUser
	}
	p := principalRow{ID: o.ID, Name: o.DisplayName, Type: principalTypeLabel(typ, o.UserType)}
	switch typ {
	case galleon.PrincipalUser:
		p.Detail = o.Mail
		if p.Detail == "" {
			p.Detail = o.UserPrincipalName
		}
	case galleon.PrincipalServicePrincipal:
		if o.AppID != "" {
			p.Detail = "Application ID " + o.AppID
		}
	}
	if p.Name == "" {
		p.Name = p.Detail
	}
	for _, k := range []string{o.ID, o.DisplayName, o.UserPrincipalName, o.Mail, o.AppID} {
		if k != "" {
			p.keys = append(p.keys, strings.ToLower(k))
		}
	}
	return p
}

// principalTypeLabel names an ARM principal type for people.
func principalTypeLabel(armType, userType string) string {
	switch armType {
	case galleon.PrincipalUser:
		if strings.EqualFold(userType, galleon.UserTypeGuest) {
			return "Guest"
		}
		return "User"
	case galleon.PrincipalServicePrincipal:
		return "Service principal"
	case "":
		return "Unknown"
	}
	return armType
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// principalFilters are the Graph $filters whose answers, together, are
// the principals of kind that typed text q finds: names, principal names
// and addresses starting with it, or an object (or app) id equal to it.
// Graph's $filter has no "or", so each is its own request.
func principalFilters(kind, q string) []string {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	lit := odataString(q)
	var fs []string
	if guidRE.MatchString(q) {
		fs = append(fs, "id eq "+lit)
		if kind == "servicePrincipal" {
			fs = append(fs, "appId eq "+lit)
		}
	}
	fs = append(fs, "startswith(displayName,"+lit+")")
	if kind == "user" {
		fs = append(fs, "startswith(userPrincipalName,"+lit+")", "startswith(mail,"+lit+")")
	}
	return fs
}

// maxSuggestions bounds the principals one search shows.
const maxSuggestions = 10

// searchPrincipals asks Graph, as the user, for the principals of kind
// that q finds.
func searchPrincipals(ctx context.Context, g *client, kind, q string) ([]principalRow, error) {
	k := principalKinds[kindOf(kind)]
	var out []principalRow
	seen := map[string]bool{}
	for _, f := range principalFilters(kindOf(kind), q) {
		var page struct {
			Value []directoryObjectJSON `json:"value"`
		}
		path := "/v1.0/" + k.collection + "?$filter=" + url.QueryEscape(f) + fmt.Sprintf("&$top=%d", maxSuggestions)
		if _, err := g.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, o := range page.Value {
			if !seen[o.ID] && len(out) < maxSuggestions {
				seen[o.ID] = true
				out = append(out, toPrincipalRow(o, k.armType))
			}
		}
	}
	return out, nil
}

// isEmailAddress reports whether s is a bare e-mail address.
func isEmailAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t")
}

// exactMatches are the principals whose name, principal name, address or
// id is q, ignoring case.
func exactMatches(rows []principalRow, q string) []principalRow {
	q = strings.ToLower(strings.TrimSpace(q))
	var out []principalRow
	for _, r := range rows {
		for _, k := range r.keys {
			if k == q {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// needsInvitation reports whether typed text is an e-mail address that
// names no user among found: someone outside the directory, who is
// invited.
func needsInvitation(kind, q string, found []principalRow) bool {
	q = strings.TrimSpace(q)
	return kindOf(kind) == "user" && isEmailAddress(q) && len(exactMatches(found, q)) == 0
}

// checkScope accepts an ARM id under a subscription that can be put in an
// API path as it is.
func checkScope(scope string) (*arm.ResourceID, bool) {
	if !strings.HasPrefix(strings.ToLower(scope), "/subscriptions/") || len(scope) > 1024 ||
		strings.ContainsAny(scope, "?#%\\ \t\r\n\"<>") || strings.Contains(strings.ToLower(scope), "/providers/microsoft.authorization/") {
		return nil, false
	}
	for _, seg := range strings.Split(strings.Trim(scope, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return nil, false
		}
	}
	id, err := arm.ParseResourceID(strings.TrimRight(scope, "/"))
	if err != nil || id.SubscriptionID == "" {
		return nil, false
	}
	return id, true
}

// sameScope compares two scopes as ARM does: case-insensitively, without
// a trailing slash.
func sameScope(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// scopeKind names the kind of resource an ARM id is.
func scopeKind(id *arm.ResourceID) string {
	switch strings.ToLower(id.ResourceType.String()) {
	case "microsoft.resources/subscriptions":
		return "Subscription"
	case "microsoft.resources/resourcegroups":
		return "Resource group"
	case strings.ToLower(galleon.TypeGallery):
		return "Azure compute gallery"
	case strings.ToLower(galleon.TypeImageDefinition):
		return "VM image definition"
	case strings.ToLower(galleon.TypeImageVersion):
		return "VM image version"
	case "microsoft.compute/disks":
		return "Disk"
	case "microsoft.compute/snapshots":
		return "Snapshot"
	}
	return id.ResourceType.String()
}

// roleGUID is the GUID a role definition id ends with, lower-case.
func roleGUID(id string) string {
	return strings.ToLower(id[strings.LastIndex(id, "/")+1:])
}

// Flash messages say, on the page a form redirects to, what it did. They
// travel in the query, signed for the session, so a link cannot put words
// in the portal's mouth.

func (s *Server) signFlash(sess *session, msg string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(msg))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("flash", sess.ID+"\x00"+payload)[:16])
}

func (s *Server) readFlash(sess *session, v string) string {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || sess == nil {
		return ""
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("flash", sess.ID+"\x00"+payload)[:16]) {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	return string(msg)
}

// publicURL is the portal's origin, for links in e-mail.
func (s *Server) publicURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	return "https://" + r.Host
}

// accessURL is the IAM page of scope, with a flash message when not empty.
func accessURL(scope, flash string) string {
	q := url.Values{"scope": {scope}}
	if flash != "" {
		q.Set("done", flash)
	}
	return "/portal/access?" + q.Encode()
}

// scopeInfo is the resource a scope names, as a page heads it.
type scopeInfo struct {
	Scope     string
	ScopeName string
	ScopeType string
}

// readScope reads the resource scope names (so that a scope the user may
// not read is refused, as its page would be) and names it.
func readScope(ctx context.Context, c *client, scope string, id *arm.ResourceID) (scopeInfo, error) {
	info := scopeInfo{Scope: scope, ScopeName: id.Name, ScopeType: scopeKind(id)}
	if strings.EqualFold(id.ResourceType.String(), "Microsoft.Resources/subscriptions") {
		var sub subscriptionJSON
		if _, err := c.do(ctx, http.MethodGet, withAPI(scope, subsAPI), nil, &sub); err != nil {
			return info, err
		}
		if sub.DisplayName != "" {
			info.ScopeName = sub.DisplayName
		}
		return info, nil
	}
	_, err := c.do(ctx, http.MethodGet, withAPI(scope, apiVersionFor(id)), nil, nil)
	return info, err
}

// assignmentRow is a role assignment on the IAM page.
type assignmentRow struct {
	Name            string // the assignment's GUID
	RoleName        string
	RoleDescription string
	Principal       principalRow
	// Here is true for an assignment at the page's scope, which can be
	// removed there; others are inherited from ScopeLabel.
	Here       bool
	ScopeID    string
	ScopeLabel string
	ScopeURL   string
}

type accessPage struct {
	scopeInfo
	Assignments []assignmentRow
	Banner      string
	Error       string
	// Notice says why names could not be shown (Graph refused).
	Notice string
	// Confirm is the assignment a Remove asks to confirm.
	Confirm *assignmentRow
}

func (p accessPage) crumbs() []crumb {
	return []crumb{{"Home", Prefix}, {p.ScopeName, resourceURL(p.Scope)}}
}

// roleDefinitions lists the roles assignable at scope.
func roleDefinitions(ctx context.Context, c *client, scope string) ([]roleDefinitionJSON, error) {
	return list[roleDefinitionJSON](ctx, c, withAPI(scope+"/providers/Microsoft.Authorization/roleDefinitions", authorizationAPI))
}

// resolvePrincipals asks Graph for the principals ids name. A refusal
// (a guest reads only itself) is not an error: the page shows ids.
func resolvePrincipals(ctx context.Context, g *client, ids []string) (map[string]directoryObjectJSON, error) {
	out := map[string]directoryObjectJSON{}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		var page struct {
			Value []directoryObjectJSON `json:"value"`
		}
		if _, err := g.do(ctx, http.MethodPost, "/v1.0/directoryObjects/getByIds", map[string]any{"ids": ids[:n]}, &page); err != nil {
			return out, err
		}
		for _, o := range page.Value {
			out[strings.ToLower(o.ID)] = o
		}
		ids = ids[n:]
	}
	return out, nil
}

// loadAccess reads the role assignments at and above scope (ARM's
// atScope() filter: without it the list includes those below), with
// their roles and principals.
func (s *Server) loadAccess(ctx context.Context, v *visit, scope string, id *arm.ResourceID) (*accessPage, error) {
	c, err := v.arm()
	if err != nil {
		return nil, err
	}
	info, err := readScope(ctx, c, scope, id)
	if err != nil {
		return nil, err
	}
	p := &accessPage{scopeInfo: info}
	as, err := list[roleAssignmentJSON](ctx, c, withAPI(scope+"/providers/Microsoft.Authorization/roleAssignments", authorizationAPI)+
		"&$filter="+url.QueryEscape("atScope()"))
	if err != nil {
		return nil, err
	}
	defs, err := roleDefinitions(ctx, c, scope)
	if err != nil {
		return nil, err
	}
	roles := map[string]roleDefinitionJSON{}
	for _, d := range defs {
		roles[strings.ToLower(d.Name)] = d
	}
	var ids []string
	for _, a := range as {
		ids = append(ids, a.Properties.PrincipalID)
	}
	var objs map[string]directoryObjectJSON
	if len(ids) > 0 {
		g, err := v.graph()
		if err != nil {
			return nil, err
		}
		if objs, err = resolvePrincipals(ctx, g, ids); err != nil {
			if _, ok := err.(*apiError); !ok {
				return nil, err
			}
			p.Notice = "Names are not shown: the directory answered " + apiMessage(err)
		}
	}
	subNames := map[string]string{}
	for _, a := range as {
		row := assignmentRow{Name: a.Name, ScopeID: a.Properties.Scope, Here: sameScope(a.Properties.Scope, scope)}
		guid := roleGUID(a.Properties.RoleDefinitionID)
		row.RoleName = guid
		if d, ok := roles[guid]; ok {
			row.RoleName, row.RoleDescription = d.Properties.RoleName, d.Properties.Description
		}
		if o, ok := objs[strings.ToLower(a.Properties.PrincipalID)]; ok {
			row.Principal = toPrincipalRow(o, a.Properties.PrincipalType)
		} else {
			row.Principal = principalRow{ID: a.Properties.PrincipalID, Name: a.Properties.PrincipalID,
				Type: principalTypeLabel(a.Properties.PrincipalType, "")}
			if strings.EqualFold(a.Properties.PrincipalID, v.sess.ObjectID) {
				// Whom the directory will not name, the session still can.
				name := v.sess.DisplayName
				if name == "" {
					name = v.sess.UPN
				}
				row.Principal.Name, row.Principal.Detail = name+" (you)", v.sess.UPN
			}
		}
		if row.Here {
			row.ScopeLabel = "This resource"
		} else {
			row.ScopeLabel, row.ScopeURL = s.inheritedFrom(ctx, c, a.Properties.Scope, subNames)
		}
		p.Assignments = append(p.Assignments, row)
	}
	sortAssignments(p.Assignments)
	return p, nil
}

// inheritedFrom names the scope an inherited assignment was made at, and
// the page to see it on (none for a subscription); subNames caches the
// subscriptions' names.
func (s *Server) inheritedFrom(ctx context.Context, c *client, scope string, subNames map[string]string) (label, link string) {
	id, ok := checkScope(scope)
	if !ok {
		return "Inherited from " + scope, ""
	}
	kind := scopeKind(id)
	if strings.EqualFold(id.ResourceType.String(), "Microsoft.Resources/subscriptions") {
		if _, ok := subNames[""]; !ok {
			// The list, not a GET: it names every subscription the user
			// may read something in, as a Reader of one gallery may.
			subNames[""] = ""
			if subs, err := subscriptions(ctx, c); err == nil {
				for _, sub := range subs {
					subNames[strings.ToLower(sub.SubscriptionID)] = sub.DisplayName
				}
			}
		}
		name := subNames[strings.ToLower(id.SubscriptionID)]
		if name == "" {
			name = id.SubscriptionID
		}
		return "Inherited from " + kind + " " + name, ""
	}
	return "Inherited from " + kind + " " + id.Name, resourceURL(scope)
}

// sortAssignments orders by role, then principal name, then the
// assignments here before inherited ones.
func sortAssignments(rows []assignmentRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !strings.EqualFold(a.RoleName, b.RoleName) {
			return strings.ToLower(a.RoleName) < strings.ToLower(b.RoleName)
		}
		if !strings.EqualFold(a.Principal.Name, b.Principal.Name) {
			return strings.ToLower(a.Principal.Name) < strings.ToLower(b.Principal.Name)
		}
		return a.Here && !b.Here
	})
}

// scopeParam reads and checks the scope a page is about.
func (s *Server) scopeParam(w http.ResponseWriter, r *http.Request, v *visit) (string, *arm.ResourceID, bool) {
	scope := strings.TrimRight(r.FormValue("scope"), "/")
	id, ok := checkScope(scope)
	if !ok {
		s.fail(w, r, v, http.StatusNotFound, "There is no resource at this address: access control needs the resource's ID, /subscriptions/….")
		return "", nil, false
	}
	return scope, id, true
}

// access serves the IAM page.
func (s *Server) access(w http.ResponseWriter, r *http.Request, v *visit) error {
	scope, id, ok := s.scopeParam(w, r, v)
	if !ok {
		return nil
	}
	p, err := s.loadAccess(r.Context(), v, scope, id)
	if err != nil {
		return err
	}
	p.Banner = s.readFlash(v.sess, r.URL.Query().Get("done"))
	s.render(w, r, v, http.StatusOK, "access", p.ScopeName+" | Access control (IAM)", p)
	return nil
}

// removeAccess asks to confirm removing an assignment at the scope, and
// removes it (ARM DELETE) when confirmed. Inherited assignments are
// removed where they were made.
func (s *Server) removeAccess(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	scope, id, ok := s.scopeParam(w, r, v)
	if !ok {
		return nil
	}
	p, err := s.loadAccess(ctx, v, scope, id)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("assignment")
	var target *assignmentRow
	for i := range p.Assignments {
		if strings.EqualFold(p.Assignments[i].Name, name) {
			target = &p.Assignments[i]
		}
	}
	status := http.StatusOK
	switch {
	case target == nil:
		p.Error, status = "That role assignment is not at this resource any more.", http.StatusNotFound
	case !target.Here:
		p.Error, status = "That role assignment is inherited from "+strings.TrimPrefix(target.ScopeLabel, "Inherited from ")+
			": remove it there.", http.StatusConflict
	case r.PostForm.Get("step") != "confirm":
		p.Confirm = target
	default:
		c, err := v.arm()
		if err != nil {
			return err
		}
		path := withAPI(scope+"/providers/Microsoft.Authorization/roleAssignments/"+url.PathEscape(target.Name), authorizationAPI)
		if _, err := c.do(ctx, http.MethodDelete, path, nil, nil); err != nil {
			if _, ok := err.(*apiError); !ok {
				return err
			}
			p.Error, status = apiMessage(err), err.(*apiError).Status
			break
		}
		msg := fmt.Sprintf("Removed the role assignment: %s for %s (%s).", target.RoleName, target.Principal.Name, target.Principal.Type)
		http.Redirect(w, r, accessURL(scope, s.signFlash(v.sess, msg)), http.StatusSeeOther)
		return nil
	}
	s.render(w, r, v, status, "access", p.ScopeName+" | Access control (IAM)", p)
	return nil
}

// roleOption is a role on the add form.
type roleOption struct {
	ID          string // the role definition's GUID
	FullID      string
	Name        string
	Description string
	Type        string
}

// addForm is what the add form sends.
type addForm struct {
	Role   string // role definition GUID
	Kind   string // user, group, servicePrincipal
	Member string // typed text
	// PrincipalID is the picked principal: filled by the script's
	// suggestions, or by a choice among Candidates without it.
	PrincipalID string
}

type accessAddPage struct {
	scopeInfo
	Roles      []roleOption
	Form       addForm
	Errors     formErrors
	Candidates []principalRow
	// Invite says the typed address is outside the directory.
	Invite bool
	Kinds  []kindOption
}

type kindOption struct{ Value, Label string }

var kindOptions = []kindOption{{"user", "User"}, {"group", "Group"}, {"servicePrincipal", "Service principal"}}

func (p accessAddPage) crumbs() []crumb {
	return []crumb{{"Home", Prefix}, {p.ScopeName, resourceURL(p.Scope)}, {"Access control (IAM)", accessURL(p.Scope, "")}}
}

// KindLabel is the chosen kind for people.
func (p accessAddPage) KindLabel() string { return principalKinds[kindOf(p.Form.Kind)].label }

// sortRoles puts the roles by name; the common ones first, as Azure lists
// job functions, so that Reader is easy to find.
func sortRoles(roles []roleOption) {
	rank := func(name string) int {
		switch name {
		case "Reader":
			return 0
		case "Contributor":
			return 1
		case "Owner":
			return 2
		}
		return 3
	}
	sort.SliceStable(roles, func(i, j int) bool {
		if ri, rj := rank(roles[i].Name), rank(roles[j].Name); ri != rj {
			return ri < rj
		}
		return strings.ToLower(roles[i].Name) < strings.ToLower(roles[j].Name)
	})
}

// firstNonEmpty is the first non-empty value of a form field sent more
// than once (the hidden picked principal and a choice among candidates).
func firstNonEmpty(vs []string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// addAccess serves the add role assignment form and saves it.
func (s *Server) addAccess(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	scope, id, ok := s.scopeParam(w, r, v)
	if !ok {
		return nil
	}
	c, err := v.arm()
	if err != nil {
		return err
	}
	info, err := readScope(ctx, c, scope, id)
	if err != nil {
		return err
	}
	p := accessAddPage{scopeInfo: info, Errors: formErrors{}, Kinds: kindOptions}
	defs, err := roleDefinitions(ctx, c, scope)
	if err != nil {
		return err
	}
	for _, d := range defs {
		p.Roles = append(p.Roles, roleOption{ID: strings.ToLower(d.Name), FullID: d.ID, Name: d.Properties.RoleName,
			Description: d.Properties.Description, Type: d.Properties.Type})
	}
	sortRoles(p.Roles)
	if r.Method == http.MethodGet {
		p.Form = addForm{Kind: "user"}
		if want := r.URL.Query().Get("role"); want != "" {
			for _, ro := range p.Roles {
				if strings.EqualFold(ro.Name, want) || strings.EqualFold(ro.ID, want) {
					p.Form.Role = ro.ID
				}
			}
		}
		s.render(w, r, v, http.StatusOK, "access_add", "Add role assignment", p)
		return nil
	}
	p.Form = addForm{Role: strings.ToLower(r.PostForm.Get("role")), Kind: kindOf(r.PostForm.Get("kind")),
		Member: strings.TrimSpace(r.PostForm.Get("member")), PrincipalID: firstNonEmpty(r.PostForm["principal_id"])}
	redirect, status := s.saveAccess(ctx, r, v, &p)
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return nil
	}
	s.render(w, r, v, status, "access_add", "Add role assignment", p)
	return nil
}

// saveAccess checks the form, finds (or invites) the principal and puts
// the role assignment; it returns the IAM page to go to, or the status to
// show the form again with its errors.
func (s *Server) saveAccess(ctx context.Context, r *http.Request, v *visit, p *accessAddPage) (string, int) {
	f := &p.Form
	var role *roleOption
	for i := range p.Roles {
		if p.Roles[i].ID == f.Role {
			role = &p.Roles[i]
		}
	}
	if role == nil {
		p.Errors.add("role", "Select a role.")
	}
	kind := principalKinds[f.Kind]
	if f.PrincipalID == "" && f.Member == "" {
		p.Errors.add("member", fmt.Sprintf("Select a %s: type a name or e-mail address and pick one of the matches.", kind.label))
	}
	if p.Errors.Any() {
		return "", http.StatusUnprocessableEntity
	}
	g, err := v.graph()
	if err != nil {
		p.Errors.add("", err.Error())
		return "", http.StatusInternalServerError
	}
	var principal principalRow
	invite := false
	if f.PrincipalID != "" {
		objs, err := resolvePrincipals(ctx, g, []string{f.PrincipalID})
		if o, ok := objs[strings.ToLower(f.PrincipalID)]; ok {
			principal = toPrincipalRow(o, kind.armType)
		} else if err == nil {
			p.Errors.add("member", fmt.Sprintf("There is no %s with the ID %s in the directory.", kind.label, f.PrincipalID))
			return "", http.StatusUnprocessableEntity
		} else {
			// Graph refused to describe it: ARM still checks it exists.
			principal = principalRow{ID: f.PrincipalID, Name: f.Member, Type: principalTypeLabel(kind.armType, "")}
		}
	} else {
		// No script picked one: resolve what was typed, as the
		// suggestions would.
		found, err := searchPrincipals(ctx, g, f.Kind, f.Member)
		if err != nil {
			p.Errors.add("member", apiMessage(err))
			return "", statusOf(err)
		}
		exact := exactMatches(found, f.Member)
		switch {
		case len(exact) == 1:
			principal = exact[0]
		case needsInvitation(f.Kind, f.Member, found):
			invite = true
		case len(found) == 0:
			p.Errors.add("member", fmt.Sprintf("No %s in the directory matches '%s'. To invite someone from outside the organisation, type their e-mail address.",
				kind.label, f.Member))
			return "", http.StatusUnprocessableEntity
		default:
			p.Candidates = found
			p.Errors.add("member", fmt.Sprintf("Several %ss match '%s': select one.", kind.label, f.Member))
			return "", http.StatusUnprocessableEntity
		}
	}
	invited := ""
	if invite {
		var inv struct {
			Status      string `json:"status"`
			InvitedUser struct {
				ID string `json:"id"`
			} `json:"invitedUser"`
			MessageStatus string `json:"galleonMessageStatus"`
		}
		body := map[string]any{"invitedUserEmailAddress": f.Member, "inviteRedirectUrl": s.publicURL(r) + resourceURL(p.Scope),
			"sendInvitationMessage": true, "galleonResourceId": p.Scope}
		if _, err := g.do(ctx, http.MethodPost, "/v1.0/invitations", body, &inv); err != nil {
			p.Invite = true
			p.Errors.add("member", "The invitation to "+f.Member+" was refused: "+apiMessage(err))
			return "", statusOf(err)
		}
		principal = principalRow{ID: inv.InvitedUser.ID, Name: f.Member, Type: "Guest"}
		switch {
		case strings.HasPrefix(inv.MessageStatus, "Failed"):
			invited = fmt.Sprintf(" The invitation e-mail to %s could not be sent (%s); the invitation stands and can be sent again with galleon invite resend.",
				f.Member, strings.TrimPrefix(inv.MessageStatus, "Failed: "))
		case inv.Status != "Completed":
			invited = " An invitation was sent to " + f.Member + "."
		}
	}
	c, err := v.arm()
	if err != nil {
		p.Errors.add("", err.Error())
		return "", http.StatusInternalServerError
	}
	body := map[string]any{"properties": map[string]any{"roleDefinitionId": role.FullID, "principalId": principal.ID, "principalType": kind.armType}}
	path := withAPI(p.Scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString(), authorizationAPI)
	if _, err := c.do(ctx, http.MethodPut, path, body, nil); err != nil {
		msg := apiMessage(err)
		if invited != "" {
			msg = strings.TrimSpace(invited) + " But the role was not assigned: " + msg
		}
		p.Errors.add("", msg)
		return "", statusOf(err)
	}
	who := principal.Name
	if principal.Detail != "" && principal.Detail != who {
		who += " (" + principal.Detail + ")"
	}
	msg := fmt.Sprintf("Added the role assignment: %s for %s %s at this resource.%s", role.Name, strings.ToLower(principal.Type), who, invited)
	return accessURL(p.Scope, s.signFlash(v.sess, msg)), 0
}

// statusOf is the status to answer a form refused by the API with.
func statusOf(err error) int {
	if ae, ok := err.(*apiError); ok && ae.Status >= 400 {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// principalsJSON answers the member picker: the principals of kind that
// q finds, and whether q is an address outside the directory, to invite.
func (s *Server) principalsJSON(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	kind := kindOf(r.URL.Query().Get("kind"))
	out := struct {
		Principals []principalRow `json:"principals"`
		Invite     bool           `json:"invite"`
		Error      string         `json:"error,omitempty"`
	}{Principals: []principalRow{}}
	if q != "" && len(q) <= 256 {
		g, err := v.graph()
		if err != nil {
			return err
		}
		found, err := searchPrincipals(r.Context(), g, kind, q)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				return err
			}
			out.Error = apiMessage(err)
		} else {
			out.Principals = append(out.Principals, found...)
			out.Invite = needsInvitation(kind, q, found)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
