package graph

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/galleon-project/galleon"
)

// minPasswordLength is the shortest password Galleon takes.
const minPasswordLength = 8

func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < minPasswordLength || len(p) > 256 {
		return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password of at least %d characters.", minPasswordLength)
	}
	return nil
}

func (s *Server) hashPassword(p string) (string, error) {
	if err := checkPassword(p); err != nil {
		return "", err
	}
	return s.HashPassword(p)
}

// checkName refuses empty or oversized names and control characters.
func checkName(property, v string, required bool) error {
	switch {
	case v == "" && required:
		return badRequest("Invalid value specified for property '%s' of resource 'User'.", property)
	case utf8.RuneCountInString(v) > 256:
		return badRequest("The value of property '%s' is longer than 256 characters.", property)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badRequest("The value of property '%s' contains a control character.", property)
		}
	}
	return nil
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r.Context())
	if c.user == nil {
		return badRequest("/me request is only valid with delegated authentication flow.")
	}
	return s.writeUser(w, http.StatusOK, c.user)
}

func (s *Server) writeUser(w http.ResponseWriter, status int, u *galleon.DirectoryUser) error {
	m := userJSON(u)
	m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#users/$entity"
	writeJSON(w, status, m)
	return nil
}

func (s *Server) routeUsers(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		return serveList(s, w, r, "users", userFilter, s.dir(ctx).ListUsers, userJSON)
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.createUser(w, r)
	case len(seg) == 0:
		return methodNotAllowed()
	}
	id := seg[0]
	c := callerOf(ctx)
	self := c.user != nil && (id == c.ObjectID || strings.EqualFold(id, c.UserPrincipalName))
	if len(seg) == 2 && (strings.EqualFold(seg[1], "getMemberGroups") || strings.EqualFold(seg[1], "checkMemberGroups")) {
		if !self {
			if err := requireReader(ctx); err != nil {
				return err
			}
		}
		u, err := s.dir(ctx).GetUser(ctx, id)
		if err != nil {
			return err
		}
		return s.memberGroups(w, r, u.ObjectID, seg[1])
	}
	if len(seg) != 1 {
		return notFound(strings.Join(seg, "/"))
	}
	switch r.Method {
	case http.MethodGet:
		if !self {
			if err := requireReader(ctx); err != nil {
				return err
			}
		}
		u, err := s.dir(ctx).GetUser(ctx, id)
		if err != nil {
			return err
		}
		return s.writeUser(w, http.StatusOK, u)
	case http.MethodPatch:
		return s.updateUser(w, r, id)
	case http.MethodDelete:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		u, err := s.dir(ctx).GetUser(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.dir(ctx).DeleteUser(ctx, u.ObjectID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methodNotAllowed()
}

type passwordProfile struct {
	Password                      *string `json:"password"`
	ForceChangePasswordNextSignIn *bool   `json:"forceChangePasswordNextSignIn"`
}

type userBody struct {
	AccountEnabled    *bool            `json:"accountEnabled"`
	DisplayName       *string          `json:"displayName"`
	MailNickname      *string          `json:"mailNickname"`
	UserPrincipalName *string          `json:"userPrincipalName"`
	Mail              *string          `json:"mail"`
	PasswordProfile   *passwordProfile `json:"passwordProfile"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b userBody
	if err := decode(r, &b); err != nil {
		return err
	}
	upn, name, nick := deref(b.UserPrincipalName), deref(b.DisplayName), deref(b.MailNickname)
	for _, c := range []struct {
		prop, v string
	}{{"userPrincipalName", upn}, {"displayName", name}, {"mailNickname", nick}} {
		if err := checkName(c.prop, c.v, true); err != nil {
			return err
		}
	}
	t, err := s.dir(ctx).Tenant(ctx)
	if err != nil {
		return err
	}
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || strings.ContainsAny(local, " @") {
		return badRequest("Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	if !strings.EqualFold(domain, t.Domain) {
		return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization: %s.", t.Domain)
	}
	if b.PasswordProfile == nil || b.PasswordProfile.Password == nil {
		return badRequest("Property passwordProfile.password is required when creating a user.")
	}
	hash, err := s.hashPassword(*b.PasswordProfile.Password)
	if err != nil {
		return err
	}
	u := &galleon.DirectoryUser{
		Principal:    galleon.Principal{ObjectID: newID(), TenantID: t.ID, Type: galleon.PrincipalUser, UserPrincipalName: upn, DisplayName: name},
		PasswordHash: hash, Mail: deref(b.Mail), MailNickname: nick, UserType: galleon.UserTypeMember, AccountEnabled: true,
	}
	if b.AccountEnabled != nil {
		u.AccountEnabled = *b.AccountEnabled
	}
	if err := s.dir(ctx).CreateUser(ctx, u); err != nil {
		return err
	}
	return s.writeUser(w, http.StatusCreated, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b userBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.UserPrincipalName != nil || b.Mail != nil {
		return badRequest("Changing userPrincipalName or mail is not supported.")
	}
	var hash string
	if b.PasswordProfile != nil && b.PasswordProfile.Password != nil {
		var err error
		if hash, err = s.hashPassword(*b.PasswordProfile.Password); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		prop string
		v    *string
	}{{"displayName", b.DisplayName}, {"mailNickname", b.MailNickname}} {
		if c.v != nil {
			if err := checkName(c.prop, *c.v, true); err != nil {
				return err
			}
		}
	}
	u, err := s.dir(ctx).GetUser(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.dir(ctx).UpdateUser(ctx, u.ObjectID, func(u *galleon.DirectoryUser) (*galleon.DirectoryUser, error) {
		if b.DisplayName != nil {
			u.DisplayName = *b.DisplayName
		}
		if b.MailNickname != nil {
			u.MailNickname = *b.MailNickname
		}
		if b.AccountEnabled != nil {
			u.AccountEnabled = *b.AccountEnabled
		}
		if hash != "" {
			if u.IsGuest() && u.ExternalUserState != galleon.ExternalStateAccepted {
				return nil, badRequest("A guest chooses a password by redeeming the invitation.")
			}
			u.PasswordHash = hash
		}
		return u, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) writeGroup(w http.ResponseWriter, status int, g *galleon.Group) error {
	m := groupJSON(g)
	m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#groups/$entity"
	writeJSON(w, status, m)
	return nil
}

func (s *Server) routeGroups(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		return serveList(s, w, r, "groups", groupFilter, s.dir(ctx).ListGroups, groupJSON)
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.createGroup(w, r)
	case len(seg) == 0:
		return methodNotAllowed()
	}
	id := seg[0]
	is := func(i int, name string) bool { return len(seg) > i && strings.EqualFold(seg[i], name) }
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		if err := requireReader(ctx); err != nil {
			return err
		}
		g, err := s.dir(ctx).GetGroup(ctx, id)
		if err != nil {
			return err
		}
		return s.writeGroup(w, http.StatusOK, g)
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		ok, err := s.dir(ctx).DeleteGroup(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(id)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 2 && is(1, "members") && r.Method == http.MethodGet:
		if err := requireReader(ctx); err != nil {
			return err
		}
		page, err := s.page(r)
		if err != nil {
			return err
		}
		members, next, err := s.dir(ctx).ListGroupMembers(ctx, id, page)
		if err != nil {
			return err
		}
		items := []map[string]any{}
		for i := range members {
			items = append(items, objectJSON(&members[i]))
		}
		s.writeList(w, r, "directoryObjects", items, next)
		return nil
	case len(seg) == 3 && is(1, "members") && is(2, "$ref") && r.Method == http.MethodPost:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		var b struct {
			ID string `json:"@odata.id"`
		}
		if err := decode(r, &b); err != nil {
			return err
		}
		member := objectURLID(b.ID)
		if member == "" {
			return badRequest("The @odata.id of the member is missing.")
		}
		if err := s.dir(ctx).AddGroupMember(ctx, id, member); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 4 && is(1, "members") && is(3, "$ref") && r.Method == http.MethodDelete:
		if err := s.requireAdmin(ctx); err != nil {
			return err
		}
		ok, err := s.dir(ctx).RemoveGroupMember(ctx, id, seg[2])
		if err != nil {
			return err
		}
		if !ok {
			return notFound(seg[2])
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(seg) == 2 && (is(1, "getMemberGroups") || is(1, "checkMemberGroups")) && r.Method == http.MethodPost:
		if err := requireReader(ctx); err != nil {
			return err
		}
		if _, err := s.dir(ctx).GetGroup(ctx, id); err != nil {
			return err
		}
		return s.memberGroups(w, r, id, seg[1])
	}
	return methodNotAllowed()
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	var b struct {
		DisplayName     string `json:"displayName"`
		MailNickname    string `json:"mailNickname"`
		Description     string `json:"description"`
		MailEnabled     bool   `json:"mailEnabled"`
		SecurityEnabled bool   `json:"securityEnabled"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := checkName("displayName", b.DisplayName, true); err != nil {
		return err
	}
	if err := checkName("mailNickname", b.MailNickname, true); err != nil {
		return err
	}
	if err := checkName("description", b.Description, false); err != nil {
		return err
	}
	if b.MailEnabled {
		return badRequest("Galleon keeps security groups only: mailEnabled must be false.")
	}
	t, err := s.dir(ctx).Tenant(ctx)
	if err != nil {
		return err
	}
	g := &galleon.Group{ObjectID: newID(), TenantID: t.ID, DisplayName: b.DisplayName, MailNickname: b.MailNickname,
		Description: b.Description, SecurityEnabled: true}
	if err := s.dir(ctx).CreateGroup(ctx, g); err != nil {
		return err
	}
	return s.writeGroup(w, http.StatusCreated, g)
}

// memberGroups answers getMemberGroups (every group objectID is in,
// transitively) and checkMemberGroups (those of groupIds it is in).
func (s *Server) memberGroups(w http.ResponseWriter, r *http.Request, objectID, action string) error {
	var b struct {
		GroupIDs []string `json:"groupIds"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	groups, err := s.dir(r.Context()).TransitiveGroupsOf(r.Context(), objectID)
	if err != nil {
		return err
	}
	if groups == nil {
		groups = []string{}
	}
	if strings.EqualFold(action, "checkMemberGroups") {
		in := map[string]bool{}
		for _, g := range groups {
			in[g] = true
		}
		groups = []string{}
		for _, g := range b.GroupIDs {
			if in[g] {
				groups = append(groups, g)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.PublicURL + "/v1.0/$metadata#Collection(Edm.String)", "value": groups})
	return nil
}

func (s *Server) routeDirectoryObjects(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	if err := requireReader(ctx); err != nil {
		return err
	}
	switch {
	case len(seg) == 1 && strings.EqualFold(seg[0], "getByIds") && r.Method == http.MethodPost:
		var b struct {
			IDs   []string `json:"ids"`
			Types []string `json:"types"`
		}
		if err := decode(r, &b); err != nil {
			return err
		}
		if len(b.IDs) > 1000 {
			return badRequest("At most 1000 ids can be asked for at once.")
		}
		types := map[string]bool{}
		for _, t := range b.Types {
			if typ, ok := odataTypeNames[strings.ToLower(t)]; ok {
				types[typ] = true
			}
		}
		objs, err := s.dir(ctx).GetDirectoryObjects(ctx, b.IDs)
		if err != nil {
			return err
		}
		items := []map[string]any{}
		for i := range objs {
			if len(b.Types) == 0 || types[objs[i].Type] {
				items = append(items, objectJSON(&objs[i]))
			}
		}
		s.writeList(w, r, "directoryObjects", items, "")
		return nil
	case len(seg) == 1 && r.Method == http.MethodGet:
		objs, err := s.dir(ctx).GetDirectoryObjects(ctx, []string{seg[0]})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return notFound(seg[0])
		}
		m := objectJSON(&objs[0])
		m["@odata.context"] = s.PublicURL + "/v1.0/$metadata#directoryObjects/$entity"
		writeJSON(w, http.StatusOK, m)
		return nil
	case len(seg) == 2 && (strings.EqualFold(seg[1], "getMemberGroups") || strings.EqualFold(seg[1], "checkMemberGroups")) && r.Method == http.MethodPost:
		objs, err := s.dir(ctx).GetDirectoryObjects(ctx, []string{seg[0]})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return notFound(seg[0])
		}
		return s.memberGroups(w, r, seg[0], seg[1])
	}
	return methodNotAllowed()
}
