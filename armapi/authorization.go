package armapi

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
)

var (
	roleAssignmentAPI = apiVersions{provider: true, resourceType: "roleAssignments", versions: []string{
		"2015-07-01", "2017-10-01-preview", "2018-01-01-preview", "2018-09-01-preview", "2020-03-01-preview",
		"2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview", "2022-01-01-preview", "2022-04-01",
	}}
	roleDefinitionAPI = apiVersions{provider: true, resourceType: "roleDefinitions", versions: []string{
		"2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview",
	}}
)

const (
	typeRoleAssignment = "Microsoft.Authorization/roleAssignments"
	typeRoleDefinition = "Microsoft.Authorization/roleDefinitions"
)

func authorizationRoutes() map[routeKey]route {
	ra := strings.ToLower(typeRoleAssignment)
	rd := strings.ToLower(typeRoleDefinition)
	return map[routeKey]route{
		{ra, true}: {roleAssignmentAPI, map[string]endpoint{
			http.MethodGet: {action: typeRoleAssignment + "/read", handle: (*Server).listRoleAssignments},
		}},
		{ra, false}: {roleAssignmentAPI, map[string]endpoint{
			http.MethodGet:    {action: typeRoleAssignment + "/read", handle: (*Server).getRoleAssignment},
			http.MethodPut:    {action: typeRoleAssignment + "/write", handle: (*Server).putRoleAssignment},
			http.MethodDelete: {action: typeRoleAssignment + "/delete", handle: (*Server).deleteRoleAssignment},
		}},
		{rd, true}: {roleDefinitionAPI, map[string]endpoint{
			http.MethodGet: {action: typeRoleDefinition + "/read", handle: (*Server).listRoleDefinitions},
		}},
		{rd, false}: {roleDefinitionAPI, map[string]endpoint{
			http.MethodGet:    {action: typeRoleDefinition + "/read", handle: (*Server).getRoleDefinition},
			http.MethodPut:    {action: typeRoleDefinition + "/write", handle: (*Server).putRoleDefinition},
			http.MethodDelete: {action: typeRoleDefinition + "/delete", handle: (*Server).deleteRoleDefinition},
		}},
	}
}

type roleAssignmentJSON struct {
	ID         string                       `json:"id"`
	Name       string                       `json:"name"`
	Type       string                       `json:"type"`
	Properties roleAssignmentPropertiesJSON `json:"properties"`
}

type roleAssignmentPropertiesJSON struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType,omitempty"`
	Scope            string `json:"scope,omitempty"`
	Description      string `json:"description,omitempty"`
	CreatedOn        string `json:"createdOn,omitempty"`
	UpdatedOn        string `json:"updatedOn,omitempty"`
	CreatedBy        string `json:"createdBy,omitempty"`
	UpdatedBy        string `json:"updatedBy,omitempty"`
}

func toRoleAssignmentJSON(a *galleon.RoleAssignment) roleAssignmentJSON {
	on := a.CreatedOn.UTC().Format("2006-01-02T15:04:05.0000000Z")
	return roleAssignmentJSON{ID: a.ID(), Name: a.Name, Type: typeRoleAssignment, Properties: roleAssignmentPropertiesJSON{
		RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID, PrincipalType: a.PrincipalType, Scope: a.Scope,
		CreatedOn: on, UpdatedOn: on, CreatedBy: a.CreatedBy, UpdatedBy: a.CreatedBy}}
}

// parentScope is the scope of an extension resource: the path before
// "/providers/Microsoft.Authorization/…", in canonical case.
func parentScope(id *arm.ResourceID) string {
	p := id.Parent
	if p == nil || p.ResourceType.String() == arm.TenantResourceType.String() {
		return "/"
	}
	return canonicalScope(p.String())
}

// canonicalScope gives a scope's fixed segments Azure's casing.
func canonicalScope(scope string) string {
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	for i := 0; i+1 < len(segs); i += 2 {
		switch strings.ToLower(segs[i]) {
		case "subscriptions":
			segs[i] = "subscriptions"
		case "resourcegroups":
			segs[i] = "resourceGroups"
		case "providers":
			segs[i] = "providers"
		}
	}
	return "/" + strings.Join(segs, "/")
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// lookupRole finds a built-in or custom role definition by GUID.
func (s *Server) lookupRole(ctx context.Context, guid string) (*galleon.RoleDefinition, error) {
	if d, ok := authz.BuiltInByGUID(guid); ok {
		return d, nil
	}
	return s.Store.GetRoleDefinition(ctx, guid)
}

// checkScopeExists answers a scope naming a missing resource as that
// resource's GET would.
func (s *Server) checkScopeExists(ctx context.Context, scope string) error {
	if scope == "/" {
		return nil
	}
	id, err := arm.ParseResourceID(scope)
	if err != nil {
		return galleon.Errorf(galleon.CodeInvalidParameter, "The scope '%s' is not valid.", scope)
	}
	switch typ := strings.ToLower(id.ResourceType.String()); typ {
	case "microsoft.resources/subscriptions":
		_, err = s.Store.GetSubscription(ctx, id.SubscriptionID)
	case "microsoft.resources/resourcegroups":
		_, err = s.Store.GetResourceGroup(ctx, galleon.ResourceGroupID{SubscriptionID: id.SubscriptionID, Name: id.Name})
	case "microsoft.compute/galleries":
		_, err = s.Store.GetGallery(ctx, galleon.GalleryID{SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroupName, Name: id.Name})
	case "microsoft.compute/galleries/images":
		_, err = s.Store.GetImageDefinition(ctx, galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{SubscriptionID: id.SubscriptionID,
			ResourceGroup: id.ResourceGroupName, Name: id.Parent.Name}, Image: id.Name})
	case "microsoft.compute/galleries/images/versions":
		_, err = s.Store.GetImageVersion(ctx, versionIDOf(id))
	}
	return err
}

func (s *Server) putRoleAssignment(w http.ResponseWriter, r *request) error {
	var body struct {
		Properties roleAssignmentPropertiesJSON `json:"properties"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	name := strings.ToLower(r.id.Name)
	if !guidPattern.MatchString(name) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "roleAssignmentName",
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", r.id.Name)
	}
	scope := parentScope(r.id)
	p := body.Properties
	if p.PrincipalID == "" {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.principalId", "The principalId is required.")
	}
	if err := s.checkScopeExists(r.Context(), scope); err != nil {
		return err
	}
	guid := strings.ToLower(p.RoleDefinitionID[strings.LastIndex(p.RoleDefinitionID, "/")+1:])
	if !guidPattern.MatchString(guid) {
		return galleon.TargetErrorf(galleon.CodeInvalidRoleDefinitionID, "properties.roleDefinitionId",
			"The role definition ID '%s' is not valid.", p.RoleDefinitionID)
	}
	def, err := s.lookupRole(r.Context(), guid)
	if galleon.ErrorCode(err) == galleon.CodeRoleDefinitionNotFound {
		return galleon.TargetErrorf(galleon.CodeInvalidRoleDefinitionID, "properties.roleDefinitionId",
			"The specified role definition with ID '%s' does not exist.", guid)
	}
	if err != nil {
		return err
	}
	if !assignableAt(def, scope) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.roleDefinitionId",
			"The role '%s' cannot be assigned at scope '%s': it is assignable only at %s.", def.RoleName, scope, strings.Join(def.AssignableScopes, ", "))
	}
	principalType, err := s.principalType(r, p.PrincipalID)
	if err != nil {
		return err
	}
	if p.PrincipalType != "" && !strings.EqualFold(p.PrincipalType, principalType) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.principalType",
			"The principal '%s' is a %s, not a %s.", p.PrincipalID, principalType, p.PrincipalType)
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	if !perms.Holds(def, scope) {
		return galleon.Errorf(galleon.CodeAuthorizationFailed,
			"The client '%s' with object id '%s' cannot assign the role '%s' at scope '%s': it grants permissions the client does not hold there, and no one can grant more than they hold.",
			r.principal.DisplayIdentity(), r.principal.ObjectID, def.RoleName, scope)
	}
	subscription := r.id.SubscriptionID
	if subscription == "" {
		subscription = r.principal.TenantID
	}
	a := &galleon.RoleAssignment{Name: name, Scope: scope, RoleDefinitionID: galleon.RoleDefinitionID(subscription, def.ID),
		PrincipalID: strings.ToLower(p.PrincipalID), PrincipalType: principalType, CreatedOn: s.now(), CreatedBy: r.principal.ObjectID}
	created, err := s.Store.CreateRoleAssignment(r.Context(), a)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toRoleAssignmentJSON(a))
	return nil
}

// assignableAt reports whether a role may be assigned at scope: built-ins
// anywhere, custom roles at or under one of their assignable scopes.
func assignableAt(def *galleon.RoleDefinition, scope string) bool {
	if def.RoleType == galleon.BuiltInRole {
		return true
	}
	for _, s := range def.AssignableScopes {
		if authz.Covers(s, scope) {
			return true
		}
	}
	return false
}

// principalType looks the principal up in the directory; a missing one is
// PrincipalNotFound, as Azure answers.
// principalType finds the type of the principal an assignment names, in
// the directory of the tenant that owns the scope: as in Azure, a role is
// given only to that tenant's users (its guests included), groups and
// service principals, and whether an object exists in another tenant is
// not told.
func (s *Server) principalType(r *request, objectID string) (string, error) {
	tenant := r.principal.TenantID // a scope above every subscription
	if r.id.SubscriptionID != "" {
		sub, err := s.Store.GetSubscription(r.Context(), r.id.SubscriptionID)
		if err != nil {
			return "", err
		}
		tenant = sub.TenantID
	}
	typ, err := s.Store.PrincipalType(r.Context(), tenant, strings.ToLower(objectID))
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return "", galleon.TargetErrorf(galleon.CodePrincipalNotFound, "properties.principalId",
			"Principal %s does not exist in the directory %s.", objectID, tenant)
	}
	return typ, err
}

func (s *Server) getRoleAssignment(w http.ResponseWriter, r *request) error {
	a, err := s.Store.GetRoleAssignment(r.Context(), r.id.Name)
	if err != nil {
		return err
	}
	if galleon.Fold(strings.TrimRight(a.Scope, "/")) != galleon.Fold(strings.TrimRight(parentScope(r.id), "/")) {
		return galleon.Errorf(galleon.CodeRoleAssignmentNotFound, "The role assignment '%s' is not found.", r.id.Name)
	}
	writeJSON(w, http.StatusOK, toRoleAssignmentJSON(a))
	return nil
}

func (s *Server) deleteRoleAssignment(w http.ResponseWriter, r *request) error {
	a, err := s.Store.GetRoleAssignment(r.Context(), r.id.Name)
	if galleon.ErrorCode(err) == galleon.CodeRoleAssignmentNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if galleon.Fold(strings.TrimRight(a.Scope, "/")) != galleon.Fold(strings.TrimRight(parentScope(r.id), "/")) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if _, err := s.Store.DeleteRoleAssignment(r.Context(), a.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoleAssignmentJSON(a))
	return nil
}

// roleAssignmentFilter is a parsed $filter of a role assignment list:
// "atScope()", "principalId eq '…'", "assignedTo('…')", or atScope() and
// one of the others.
type roleAssignmentFilter struct {
	atScope     bool
	principalID string
	assignedTo  string
}

var (
	filterPrincipal  = regexp.MustCompile(`(?i)^principalId\s+eq\s+'([^']*)'$`)
	filterAssignedTo = regexp.MustCompile(`(?i)^assignedTo\('([^']*)'\)$`)
)

func parseRoleAssignmentFilter(s string) (roleAssignmentFilter, error) {
	var f roleAssignmentFilter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, term := range regexp.MustCompile(`(?i)\s+and\s+`).Split(strings.TrimSpace(s), -1) {
		switch {
		case strings.EqualFold(strings.ReplaceAll(term, " ", ""), "atScope()"):
			f.atScope = true
		case filterPrincipal.MatchString(term):
			f.principalID = strings.ToLower(filterPrincipal.FindStringSubmatch(term)[1])
		case filterAssignedTo.MatchString(term):
			f.assignedTo = strings.ToLower(filterAssignedTo.FindStringSubmatch(term)[1])
		default:
			return f, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$filter",
				"The filter '%s' is not supported. Supported filters are atScope(), principalId eq '{id}' and assignedTo('{id}').", s)
		}
	}
	return f, nil
}

func (s *Server) listRoleAssignments(w http.ResponseWriter, r *request) error {
	f, err := parseRoleAssignmentFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	scope := parentScope(r.id)
	all, err := s.Store.ListRoleAssignmentsAtScope(r.Context(), scope, !f.atScope)
	if err != nil {
		return err
	}
	var principals []string
	switch {
	case f.principalID != "":
		principals = []string{f.principalID}
	case f.assignedTo != "":
		principals = []string{f.assignedTo}
		if s.Groups != nil {
			groups, err := s.Groups.TransitiveGroupsOf(r.Context(), f.assignedTo)
			if err != nil {
				return err
			}
			principals = append(principals, groups...)
		}
	}
	out := []roleAssignmentJSON{}
	for i := range all {
		if principals != nil && !slices.Contains(principals, all[i].PrincipalID) {
			continue
		}
		out = append(out, toRoleAssignmentJSON(&all[i]))
	}
	return s.writeList(w, r, out, "")
}

type roleDefinitionJSON struct {
	ID         string                       `json:"id"`
	Name       string                       `json:"name"`
	Type       string                       `json:"type"`
	Properties roleDefinitionPropertiesJSON `json:"properties"`
}

type roleDefinitionPropertiesJSON struct {
	RoleName         string                   `json:"roleName"`
	Type             string                   `json:"type"`
	Description      string                   `json:"description"`
	AssignableScopes []string                 `json:"assignableScopes"`
	Permissions      []galleon.RolePermission `json:"permissions"`
	CreatedOn        string                   `json:"createdOn,omitempty"`
	UpdatedOn        string                   `json:"updatedOn,omitempty"`
	CreatedBy        string                   `json:"createdBy,omitempty"`
	UpdatedBy        string                   `json:"updatedBy,omitempty"`
}

func toRoleDefinitionJSON(subscriptionID string, d *galleon.RoleDefinition) roleDefinitionJSON {
	scopes := d.AssignableScopes
	if d.RoleType == galleon.BuiltInRole {
		scopes = []string{"/"}
	}
	perms := make([]galleon.RolePermission, len(d.Permissions))
	for i, p := range d.Permissions {
		perms[i] = galleon.RolePermission{Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions),
			DataActions: nonNil(p.DataActions), NotDataActions: nonNil(p.NotDataActions)}
	}
	out := roleDefinitionJSON{ID: galleon.RoleDefinitionID(subscriptionID, d.ID), Name: d.ID, Type: typeRoleDefinition,
		Properties: roleDefinitionPropertiesJSON{RoleName: d.RoleName, Type: d.RoleType, Description: d.Description,
			AssignableScopes: scopes, Permissions: perms, CreatedBy: d.CreatedBy, UpdatedBy: d.CreatedBy}}
	if !d.CreatedOn.IsZero() {
		out.Properties.CreatedOn = d.CreatedOn.UTC().Format("2006-01-02T15:04:05.0000000Z")
		out.Properties.UpdatedOn = out.Properties.CreatedOn
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var (
	filterRoleName = regexp.MustCompile(`(?i)^roleName\s+eq\s+'([^']*)'$`)
	filterRoleType = regexp.MustCompile(`(?i)^type\s+eq\s+'([^']*)'$`)
)

func (s *Server) listRoleDefinitions(w http.ResponseWriter, r *request) error {
	filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
	var name, typ string
	switch {
	case filter == "":
	case filterRoleName.MatchString(filter):
		name = filterRoleName.FindStringSubmatch(filter)[1]
	case filterRoleType.MatchString(filter):
		typ = filterRoleType.FindStringSubmatch(filter)[1]
	default:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "$filter",
			"The filter '%s' is not supported. Supported filters are roleName eq '{name}' and type eq 'BuiltInRole|CustomRole'.", filter)
	}
	custom, err := s.Store.ListRoleDefinitions(r.Context())
	if err != nil {
		return err
	}
	scope := parentScope(r.id)
	sub := r.id.SubscriptionID
	out := []roleDefinitionJSON{}
	consider := func(d *galleon.RoleDefinition) {
		if name != "" && !strings.EqualFold(d.RoleName, name) || typ != "" && !strings.EqualFold(d.RoleType, typ) {
			return
		}
		if d.RoleType == galleon.CustomRole && !visibleAt(d, scope) {
			return
		}
		out = append(out, toRoleDefinitionJSON(sub, d))
	}
	for i := range authz.BuiltIn {
		consider(&authz.BuiltIn[i])
	}
	for i := range custom {
		consider(&custom[i])
	}
	return s.writeList(w, r, out, "")
}

// visibleAt reports whether a custom role shows in a list at scope: one of
// its assignable scopes is at, above or below it.
func visibleAt(d *galleon.RoleDefinition, scope string) bool {
	for _, s := range d.AssignableScopes {
		if authz.Covers(s, scope) || authz.Covers(scope, s) {
			return true
		}
	}
	return false
}

func (s *Server) getRoleDefinition(w http.ResponseWriter, r *request) error {
	guid := strings.ToLower(r.id.Name)
	d, err := s.lookupRole(r.Context(), guid)
	if err != nil {
		return err
	}
	// A custom role exists only where it can be assigned: read through a
	// scope unrelated to its assignable scopes (another subscription), it
	// is not there.
	if d.RoleType == galleon.CustomRole && !visibleAt(d, parentScope(r.id)) {
		return roleDefinitionNotFound(guid)
	}
	writeJSON(w, http.StatusOK, toRoleDefinitionJSON(r.id.SubscriptionID, d))
	return nil
}

func roleDefinitionNotFound(guid string) error {
	return galleon.Errorf(galleon.CodeRoleDefinitionNotFound, "The specified role definition with ID '%s' does not exist.", guid)
}

// errNotHere stops the delete of a role that exists at scopes unrelated
// to the path's: there, it is not found.
var errNotHere = errors.New("the role definition is not at this scope")

// putRoleDefinition creates or replaces a custom role, as Azure decides it
// and then stricter:
//   - the caller needs roleDefinitions/write at every assignable scope of
//     the stored role (if any) and of the new one, so that a role used at
//     a subscription cannot be rewritten by someone who administers only
//     one gallery of it, whatever the path says;
//   - a role's id belongs to the scopes it is assignable at: a PUT through
//     a path unrelated to them (another subscription, a sibling group) is
//     refused rather than take the role over;
//   - nobody grants more than they hold: the new role's actions and data
//     actions must lie within what the caller holds at each of its
//     assignable scopes, as for role assignments (authz Holds). Widening
//     a role widens every assignment of it, so this is the same rule.
func (s *Server) putRoleDefinition(w http.ResponseWriter, r *request) error {
	var body struct {
		Properties roleDefinitionPropertiesJSON `json:"properties"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	guid := strings.ToLower(r.id.Name)
	if !guidPattern.MatchString(guid) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "roleDefinitionId", "The role definition ID '%s' is not a GUID.", r.id.Name)
	}
	if _, ok := authz.BuiltInByGUID(guid); ok {
		return galleon.Errorf(galleon.CodeAuthorizationFailed, "The built-in role '%s' cannot be changed.", guid)
	}
	p := body.Properties
	switch {
	case strings.TrimSpace(p.RoleName) == "" || len(p.RoleName) > 512:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.roleName", "A custom role needs a roleName of 1 to 512 characters.")
	case p.Type != "" && !strings.EqualFold(p.Type, galleon.CustomRole):
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.type", "Only roles of type CustomRole can be created.")
	case len(p.AssignableScopes) == 0:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.assignableScopes", "A custom role needs at least one assignable scope.")
	case len(p.AssignableScopes) > maxAssignableScopes:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.assignableScopes", "A custom role has at most %d assignable scopes.", maxAssignableScopes)
	case len(p.Permissions) == 0:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.permissions", "A custom role needs a permission block.")
	}
	for _, b := range authz.BuiltIn {
		if strings.EqualFold(b.RoleName, p.RoleName) {
			return galleon.Errorf(galleon.CodeRoleDefinitionExists, "A built-in role with the same name '%s' already exists.", p.RoleName)
		}
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	d := &galleon.RoleDefinition{ID: guid, RoleName: p.RoleName, Description: p.Description, RoleType: galleon.CustomRole,
		Permissions: p.Permissions, CreatedOn: s.now(), CreatedBy: r.principal.ObjectID}
	for _, sc := range p.AssignableScopes {
		sc = canonicalScope(sc)
		if err := s.checkScopeExists(r.Context(), sc); err != nil {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.assignableScopes", "The assignable scope '%s' does not exist.", sc)
		}
		if !perms.Allows(typeRoleDefinition+"/write", sc) {
			return galleon.Denied(r.principal, typeRoleDefinition+"/write", sc)
		}
		d.AssignableScopes = append(d.AssignableScopes, sc)
	}
	for _, sc := range d.AssignableScopes {
		if !perms.Holds(d, sc) {
			return galleon.Errorf(galleon.CodeAuthorizationFailed,
				"The client '%s' with object id '%s' cannot write the role '%s' assignable at scope '%s': it grants permissions the client does not hold there, and no one can grant more than they hold.",
				r.principal.DisplayIdentity(), r.principal.ObjectID, d.RoleName, sc)
		}
	}
	// What is stored decides in the store's transaction, so that a role
	// created meanwhile under this id is checked too.
	path := parentScope(r.id)
	created, err := s.Store.PutRoleDefinition(r.Context(), d, r.id.SubscriptionID, func(stored *galleon.RoleDefinition) error {
		if stored == nil {
			return nil
		}
		if !visibleAt(stored, path) {
			return galleon.Errorf(galleon.CodeRoleDefinitionIDExists,
				"A role definition with the ID '%s' already exists at another scope; a role definition's ID cannot be reused at scope '%s'.", guid, path)
		}
		for _, sc := range stored.AssignableScopes {
			if !perms.Allows(typeRoleDefinition+"/write", sc) {
				return galleon.Denied(r.principal, typeRoleDefinition+"/write", sc)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toRoleDefinitionJSON(r.id.SubscriptionID, d))
	return nil
}

// maxAssignableScopes bounds a custom role's assignable scopes (Azure
// allows a few thousand); each costs a check on every write.
const maxAssignableScopes = 100

// deleteRoleDefinition deletes a custom role. The caller needs
// roleDefinitions/delete at every scope the role is assignable at, not
// only at the path's: a role of the whole subscription is not deleted by
// the administrator of one gallery in it. Through a path unrelated to
// its scopes, the role is not there (204, nothing deleted).
func (s *Server) deleteRoleDefinition(w http.ResponseWriter, r *request) error {
	guid := strings.ToLower(r.id.Name)
	if _, ok := authz.BuiltInByGUID(guid); ok {
		return galleon.Errorf(galleon.CodeAuthorizationFailed, "The built-in role '%s' cannot be deleted.", guid)
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	path := parentScope(r.id)
	d, err := s.Store.DeleteRoleDefinition(r.Context(), guid, func(stored *galleon.RoleDefinition) error {
		if !visibleAt(stored, path) {
			return errNotHere
		}
		for _, sc := range stored.AssignableScopes {
			if !perms.Allows(typeRoleDefinition+"/delete", sc) {
				return galleon.Denied(r.principal, typeRoleDefinition+"/delete", sc)
			}
		}
		return nil
	})
	if errors.Is(err, errNotHere) {
		d, err = nil, nil
	}
	if err != nil {
		return err
	}
	if d == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, toRoleDefinitionJSON(r.id.SubscriptionID, d))
	return nil
}
