package graph

import (
	"context"
	"strings"

	"github.com/galleon-project/galleon"
)

// Every tenant of an installation (the bootstrapped one and those of
// galleon tenant create) has a directory of its own, and one store holds
// them all. A Graph request sees only the directory of its caller's
// token's tenant (tid): objects of other tenants are absent from lists
// and ResourceNotFound by id, and what a request creates belongs to that
// tenant. A guest is an object of the tenant that invited it.
//
// tenantDirectory is that view of the store, the one place the rule is
// kept: handlers reach the store only through it (s.dir(ctx)), and each
// method checks or narrows by tenant before it reads or writes.
type tenantDirectory struct {
	st     Store
	tenant string
}

// dir is the directory of the request's caller.
func (s *Server) dir(ctx context.Context) *tenantDirectory {
	return &tenantDirectory{st: s.Store, tenant: callerOf(ctx).TenantID}
}

func (d *tenantDirectory) mine(tenantID string) bool {
	return d.tenant != "" && strings.EqualFold(tenantID, d.tenant)
}

// absent is the answer for an object of another tenant: the same as for
// one that does not exist, so that ids of other directories cannot be
// probed.
func absent(id string) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// scoped adds the tenant clause to a client's filter (which cannot name
// tenantId itself: the filter rules refuse it).
func (d *tenantDirectory) scoped(f galleon.DirectoryFilter) galleon.DirectoryFilter {
	return append(append(galleon.DirectoryFilter{}, f...), galleon.FilterClause{Field: galleon.FieldTenantID, Op: galleon.FilterEq, Value: d.tenant})
}

func (d *tenantDirectory) Tenant(ctx context.Context) (*galleon.Tenant, error) {
	return d.st.GetTenant(ctx, d.tenant)
}

func (d *tenantDirectory) GetUser(ctx context.Context, idOrUPN string) (*galleon.DirectoryUser, error) {
	u, err := d.st.GetUser(ctx, idOrUPN)
	if err == nil && !d.mine(u.TenantID) {
		return nil, absent(idOrUPN)
	}
	return u, err
}

func (d *tenantDirectory) ListUsers(ctx context.Context, f galleon.DirectoryFilter, p galleon.Page) ([]galleon.DirectoryUser, string, error) {
	return d.st.ListUsers(ctx, d.scoped(f), p)
}

func (d *tenantDirectory) CreateUser(ctx context.Context, u *galleon.DirectoryUser) error {
	u.TenantID = d.tenant
	return d.st.CreateUser(ctx, u)
}

func (d *tenantDirectory) UpdateUser(ctx context.Context, objectID string, update galleon.Update[galleon.DirectoryUser]) (*galleon.DirectoryUser, error) {
	if _, err := d.GetUser(ctx, objectID); err != nil {
		return nil, err
	}
	return d.st.UpdateUser(ctx, objectID, update)
}

func (d *tenantDirectory) DeleteUser(ctx context.Context, objectID string) (bool, error) {
	if _, err := d.GetUser(ctx, objectID); err != nil {
		return false, err
	}
	return d.st.DeleteUser(ctx, objectID)
}

func (d *tenantDirectory) GetGroup(ctx context.Context, objectID string) (*galleon.Group, error) {
	g, err := d.st.GetGroup(ctx, objectID)
	if err == nil && !d.mine(g.TenantID) {
		return nil, absent(objectID)
	}
	return g, err
}

func (d *tenantDirectory) ListGroups(ctx context.Context, f galleon.DirectoryFilter, p galleon.Page) ([]galleon.Group, string, error) {
	return d.st.ListGroups(ctx, d.scoped(f), p)
}

func (d *tenantDirectory) CreateGroup(ctx context.Context, g *galleon.Group) error {
	g.TenantID = d.tenant
	return d.st.CreateGroup(ctx, g)
}

func (d *tenantDirectory) DeleteGroup(ctx context.Context, objectID string) (bool, error) {
	if _, err := d.GetGroup(ctx, objectID); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return false, nil
		}
		return false, err
	}
	return d.st.DeleteGroup(ctx, objectID)
}

// AddGroupMember needs the group and the member in this directory (the
// store refuses a member of another tenant than the group's as well).
func (d *tenantDirectory) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	if _, err := d.GetGroup(ctx, groupID); err != nil {
		return err
	}
	if _, err := d.object(ctx, memberID); err != nil {
		return err
	}
	return d.st.AddGroupMember(ctx, groupID, memberID)
}

func (d *tenantDirectory) RemoveGroupMember(ctx context.Context, groupID, memberID string) (bool, error) {
	if _, err := d.GetGroup(ctx, groupID); err != nil {
		return false, err
	}
	return d.st.RemoveGroupMember(ctx, groupID, memberID)
}

func (d *tenantDirectory) ListGroupMembers(ctx context.Context, groupID string, p galleon.Page) ([]galleon.DirectoryObject, string, error) {
	if _, err := d.GetGroup(ctx, groupID); err != nil {
		return nil, "", err
	}
	members, next, err := d.st.ListGroupMembers(ctx, groupID, p)
	return d.keepMine(members), next, err
}

// TransitiveGroupsOf answers for an object of this directory only.
func (d *tenantDirectory) TransitiveGroupsOf(ctx context.Context, objectID string) ([]string, error) {
	if _, err := d.object(ctx, objectID); err != nil {
		return nil, err
	}
	return d.st.TransitiveGroupsOf(ctx, objectID)
}

func (d *tenantDirectory) GetApplication(ctx context.Context, idOrAppID string) (*galleon.Application, error) {
	a, err := d.st.GetApplication(ctx, idOrAppID)
	if err == nil && !d.mine(a.TenantID) {
		return nil, absent(idOrAppID)
	}
	return a, err
}

func (d *tenantDirectory) ListApplications(ctx context.Context, f galleon.DirectoryFilter, p galleon.Page) ([]galleon.Application, string, error) {
	return d.st.ListApplications(ctx, d.scoped(f), p)
}

func (d *tenantDirectory) CreateApplication(ctx context.Context, a *galleon.Application) error {
	a.TenantID = d.tenant
	return d.st.CreateApplication(ctx, a)
}

func (d *tenantDirectory) DeleteApplication(ctx context.Context, objectID string) (bool, error) {
	if _, err := d.GetApplication(ctx, objectID); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return false, nil
		}
		return false, err
	}
	return d.st.DeleteApplication(ctx, objectID)
}

func (d *tenantDirectory) GetServicePrincipal(ctx context.Context, idOrAppID string) (*galleon.ServicePrincipal, error) {
	sp, err := d.st.GetServicePrincipal(ctx, idOrAppID)
	if err == nil && !d.mine(sp.TenantID) {
		return nil, absent(idOrAppID)
	}
	return sp, err
}

func (d *tenantDirectory) ListServicePrincipals(ctx context.Context, f galleon.DirectoryFilter, p galleon.Page) ([]galleon.ServicePrincipal, string, error) {
	return d.st.ListServicePrincipals(ctx, d.scoped(f), p)
}

func (d *tenantDirectory) CreateServicePrincipal(ctx context.Context, sp *galleon.ServicePrincipal) error {
	sp.TenantID = d.tenant
	return d.st.CreateServicePrincipal(ctx, sp)
}

func (d *tenantDirectory) DeleteServicePrincipal(ctx context.Context, objectID string) (bool, error) {
	if _, err := d.GetServicePrincipal(ctx, objectID); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return false, nil
		}
		return false, err
	}
	return d.st.DeleteServicePrincipal(ctx, objectID)
}

// owner checks that the application or service principal holding
// credentials is of this directory.
func (d *tenantDirectory) owner(ctx context.Context, ownerID string) error {
	o, err := d.object(ctx, ownerID)
	if err != nil {
		return err
	}
	if o.Application == nil && o.ServicePrincipal == nil {
		return absent(ownerID)
	}
	return nil
}

func (d *tenantDirectory) AddPasswordCredential(ctx context.Context, c *galleon.PasswordCredential) error {
	if err := d.owner(ctx, c.OwnerID); err != nil {
		return err
	}
	return d.st.AddPasswordCredential(ctx, c)
}

func (d *tenantDirectory) RemovePasswordCredential(ctx context.Context, ownerID, keyID string) (bool, error) {
	if err := d.owner(ctx, ownerID); err != nil {
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return false, nil
		}
		return false, err
	}
	return d.st.RemovePasswordCredential(ctx, ownerID, keyID)
}

func tenantOf(o *galleon.DirectoryObject) string {
	switch {
	case o.User != nil:
		return o.User.TenantID
	case o.Group != nil:
		return o.Group.TenantID
	case o.ServicePrincipal != nil:
		return o.ServicePrincipal.TenantID
	case o.Application != nil:
		return o.Application.TenantID
	}
	return ""
}

func (d *tenantDirectory) keepMine(objs []galleon.DirectoryObject) []galleon.DirectoryObject {
	out := objs[:0]
	for _, o := range objs {
		if d.mine(tenantOf(&o)) {
			out = append(out, o)
		}
	}
	return out
}

// GetDirectoryObjects leaves out, as unknown, the ids of other tenants'
// objects.
func (d *tenantDirectory) GetDirectoryObjects(ctx context.Context, ids []string) ([]galleon.DirectoryObject, error) {
	objs, err := d.st.GetDirectoryObjects(ctx, ids)
	return d.keepMine(objs), err
}

// object returns one object of this directory, of any type.
func (d *tenantDirectory) object(ctx context.Context, id string) (*galleon.DirectoryObject, error) {
	objs, err := d.GetDirectoryObjects(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, absent(id)
	}
	return &objs[0], nil
}

// CreateInvitation invites into this directory: a new guest is made
// here, an existing one must be here.
func (d *tenantDirectory) CreateInvitation(ctx context.Context, inv *galleon.Invitation, guest *galleon.DirectoryUser) error {
	if guest != nil {
		guest.TenantID = d.tenant
	} else if _, err := d.GetUser(ctx, inv.UserID); err != nil {
		return err
	}
	return d.st.CreateInvitation(ctx, inv, guest)
}

// GetInvitation finds an invitation of one of this directory's guests.
func (d *tenantDirectory) GetInvitation(ctx context.Context, id string) (*galleon.Invitation, error) {
	inv, err := d.st.GetInvitation(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := d.GetUser(ctx, inv.UserID); galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil, absent(id)
	} else if err != nil {
		return nil, err
	}
	return inv, nil
}

func (d *tenantDirectory) ListInvitations(ctx context.Context, p galleon.Page) ([]galleon.Invitation, string, error) {
	return d.st.ListInvitations(ctx, d.tenant, p)
}

func (d *tenantDirectory) UpdateInvitation(ctx context.Context, id string, update galleon.Update[galleon.Invitation]) (*galleon.Invitation, error) {
	if _, err := d.GetInvitation(ctx, id); err != nil {
		return nil, err
	}
	return d.st.UpdateInvitation(ctx, id, update)
}

func (d *tenantDirectory) RevokeInvitation(ctx context.Context, id string) (*galleon.Invitation, error) {
	if _, err := d.GetInvitation(ctx, id); err != nil {
		return nil, err
	}
	return d.st.RevokeInvitation(ctx, id)
}
