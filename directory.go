package galleon

import (
	"context"
	"strings"
	"time"
)

// The directory beyond bootstrap: users (members and guests), groups with
// members, applications and their service principals with expiring
// password credentials, and B2B invitations. The Microsoft Graph subset in
// package graph serves it; the token endpoint signs its users in.

// User types and guest states, as Microsoft Graph names them.
const (
	UserTypeMember = "Member"
	UserTypeGuest  = "Guest"

	ExternalStatePending  = "PendingAcceptance"
	ExternalStateAccepted = "Accepted"
)

// PrincipalApplication is the directory object type of an application
// registration. Applications are not principals: their service principal
// is what signs in and holds roles.
const PrincipalApplication = "Application"

// DirectoryUser is a user account as the directory keeps it.
type DirectoryUser struct {
	Principal
	PasswordHash string // argon2id (identity.HashPassword); empty: cannot sign in
	Mail         string
	MailNickname string
	UserType     string // UserTypeMember or UserTypeGuest
	// ExternalUserState is empty for members; a guest is
	// ExternalStatePending until it redeems its invitation.
	ExternalUserState string
	AccountEnabled    bool
	CreatedAt         time.Time
}

// IsGuest reports whether u was invited from outside the tenant.
func (u *DirectoryUser) IsGuest() bool { return u.UserType == UserTypeGuest }

// Group is a security group. Its members are users, groups and service
// principals; membership nests.
type Group struct {
	ObjectID        string
	TenantID        string
	DisplayName     string
	Description     string
	MailNickname    string
	SecurityEnabled bool
	MailEnabled     bool
	CreatedAt       time.Time
}

// Principal returns the group as a role assignment's principal.
func (g *Group) Principal() Principal {
	return Principal{ObjectID: g.ObjectID, TenantID: g.TenantID, Type: PrincipalGroup, DisplayName: g.DisplayName}
}

// Application is an application registration; its AppID is the client id
// its service principal signs in with.
type Application struct {
	ObjectID            string
	TenantID            string
	AppID               string
	DisplayName         string
	CreatedAt           time.Time
	PasswordCredentials []PasswordCredential
}

// ServicePrincipal is an application's identity in the tenant.
type ServicePrincipal struct {
	Principal
	AccountEnabled      bool
	CreatedAt           time.Time
	PasswordCredentials []PasswordCredential
}

// PasswordCredential is a client secret added with Graph's addPassword, to
// an application or to a service principal; either signs in the service
// principal with the same AppID. Only the hash is kept.
type PasswordCredential struct {
	KeyID         string
	OwnerID       string // object id of the application or service principal holding it
	AppID         string
	DisplayName   string
	Hint          string // the first three characters, as Entra shows them
	Hash          string // identity.HashClientSecret
	StartDateTime time.Time
	EndDateTime   time.Time
}

// DirectoryObject is one object of any type: exactly the field its Type
// names is set.
type DirectoryObject struct {
	Type             string // PrincipalUser, PrincipalGroup, PrincipalServicePrincipal or PrincipalApplication
	User             *DirectoryUser
	Group            *Group
	ServicePrincipal *ServicePrincipal
	Application      *Application
}

// ObjectID returns the object id of whichever object o holds.
func (o *DirectoryObject) ObjectID() string {
	switch {
	case o.User != nil:
		return o.User.ObjectID
	case o.Group != nil:
		return o.Group.ObjectID
	case o.ServicePrincipal != nil:
		return o.ServicePrincipal.ObjectID
	case o.Application != nil:
		return o.Application.ObjectID
	}
	return ""
}

// Filter operators of a DirectoryFilter clause.
const (
	FilterEq         = "eq"         // Field eq 'Value', case-insensitive
	FilterStartsWith = "startswith" // startswith(Field,'Value'), case-insensitive
	FilterAnyEq      = "any"        // Field/any(x:x eq 'Value') on a multi-valued field
)

// Filter fields a store answers. Graph's property names: the graph
// package refuses anything else before the store sees it.
const (
	FieldID                    = "id"
	FieldUserPrincipalName     = "userPrincipalName"
	FieldDisplayName           = "displayName"
	FieldMail                  = "mail"
	FieldMailNickname          = "mailNickname"
	FieldUserType              = "userType"
	FieldAppID                 = "appId"
	FieldServicePrincipalNames = "servicePrincipalNames"
	// FieldTenantID is not a Graph filter a client may send: Graph adds
	// it (tenantId eq the caller's tenant) to every list it serves, so
	// that each tenant sees only its own directory.
	FieldTenantID = "tenantId"
)

// FilterClause is one condition of a DirectoryFilter.
type FilterClause struct {
	Field string
	Op    string
	Value string
}

// DirectoryFilter is a conjunction of clauses; empty matches everything.
type DirectoryFilter []FilterClause

// Invitation statuses. Graph's invitation resource knows
// PendingAcceptance and Completed; Galleon records an accepted one as
// Accepted and adds Revoked.
const (
	InvitationPending  = "PendingAcceptance"
	InvitationAccepted = "Accepted"
	InvitationRevoked  = "Revoked"
)

// DefaultInvitationLifetime is how long an invitation link stays valid.
const DefaultInvitationLifetime = 7 * 24 * time.Hour

// Invitation invites someone outside the tenant as a guest user. Its link
// carries a token naming the invitation and TokenID, signed by the server;
// resending replaces TokenID, so only the newest link redeems.
type Invitation struct {
	ID             string
	UserID         string // the guest
	Email          string
	InviterID      string
	InviterName    string
	ResourceID     string // optional: what the guest is invited to (a gallery)
	RedirectURL    string
	Message        string // the inviter's note, if any
	Status         string
	TokenID        string
	TokenExpiresAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	RedeemedAt     time.Time // zero until redeemed
}

// Codes of invitation errors; the redemption page answers each in words.
const (
	CodeInvitationInvalid = "InvitationInvalid" // tampered, or not this server's
	CodeInvitationGone    = "InvitationGone"    // expired, revoked, replaced or already used
)

// GuestPrincipalName is the user principal name Entra gives a guest:
// the address with @ turned into _, then #EXT#@ and the tenant's domain.
func GuestPrincipalName(email, tenantDomain string) string {
	return strings.ReplaceAll(email, "@", "_") + "#EXT#@" + tenantDomain
}

// DirectoryAdminStore keeps the directory that Graph administers. Object
// ids are GUIDs; names compare case-insensitively. Missing objects are
// ResourceNotFound, taken names Conflict.
type DirectoryAdminStore interface {
	// CreateUser stores a new user; Conflict when the principal name is taken.
	CreateUser(ctx context.Context, u *DirectoryUser) error
	// GetUser finds a user by object id or principal name.
	GetUser(ctx context.Context, idOrUPN string) (*DirectoryUser, error)
	// UserForSignIn finds the user a sign-in names: by principal name, or
	// a guest by the e-mail address it was invited with.
	UserForSignIn(ctx context.Context, username string) (*DirectoryUser, error)
	// ListUsers lists users by folded principal name.
	ListUsers(ctx context.Context, f DirectoryFilter, page Page) ([]DirectoryUser, string, error)
	// UpdateUser changes a user inside one transaction; the object id,
	// tenant and type cannot change.
	UpdateUser(ctx context.Context, objectID string, update Update[DirectoryUser]) (*DirectoryUser, error)
	// DeleteUser deletes a user with its memberships and invitations.
	DeleteUser(ctx context.Context, objectID string) (bool, error)

	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, objectID string) (*Group, error)
	ListGroups(ctx context.Context, f DirectoryFilter, page Page) ([]Group, string, error)
	DeleteGroup(ctx context.Context, objectID string) (bool, error)
	// AddGroupMember adds a user, group or service principal to a group;
	// Conflict when it is a member already, ResourceNotFound when either
	// is missing or the member is of another tenant than the group,
	// InvalidParameter for a group added to itself.
	AddGroupMember(ctx context.Context, groupID, memberID string) error
	// RemoveGroupMember reports whether memberID was a direct member.
	RemoveGroupMember(ctx context.Context, groupID, memberID string) (bool, error)
	// ListGroupMembers lists a group's direct members, paged by object id.
	ListGroupMembers(ctx context.Context, groupID string, page Page) ([]DirectoryObject, string, error)
	// TransitiveGroupsOf returns the object ids of every group objectID is
	// a member of, directly or through nested groups; cycles are harmless.
	TransitiveGroupsOf(ctx context.Context, objectID string) ([]string, error)

	// CreateApplication stores an application; Conflict when its AppID is taken.
	CreateApplication(ctx context.Context, a *Application) error
	// GetApplication finds an application by object id or app id.
	GetApplication(ctx context.Context, idOrAppID string) (*Application, error)
	ListApplications(ctx context.Context, f DirectoryFilter, page Page) ([]Application, string, error)
	// DeleteApplication deletes an application, its service principal and
	// every credential of both.
	DeleteApplication(ctx context.Context, objectID string) (bool, error)

	// CreateServicePrincipal stores a service principal; Conflict when one
	// exists for the AppID.
	CreateServicePrincipal(ctx context.Context, sp *ServicePrincipal) error
	// GetServicePrincipal finds a service principal by object id or app id.
	GetServicePrincipal(ctx context.Context, idOrAppID string) (*ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, f DirectoryFilter, page Page) ([]ServicePrincipal, string, error)
	DeleteServicePrincipal(ctx context.Context, objectID string) (bool, error)

	// AddPasswordCredential adds a secret to the application or service
	// principal c.OwnerID names (ResourceNotFound when neither exists),
	// setting c.AppID from it.
	AddPasswordCredential(ctx context.Context, c *PasswordCredential) error
	// RemovePasswordCredential reports whether the owner had the key.
	RemovePasswordCredential(ctx context.Context, ownerID, keyID string) (bool, error)

	// GetDirectoryObjects returns the objects with these ids, of any type,
	// in the order asked; unknown ids are left out.
	GetDirectoryObjects(ctx context.Context, ids []string) ([]DirectoryObject, error)

	// CreateInvitation stores an invitation and, when guest is not nil,
	// creates that guest user first, in one transaction.
	CreateInvitation(ctx context.Context, inv *Invitation, guest *DirectoryUser) error
	GetInvitation(ctx context.Context, id string) (*Invitation, error)
	// ListInvitations lists the invitations of one tenant's guests, newest first.
	ListInvitations(ctx context.Context, tenantID string, page Page) ([]Invitation, string, error)
	// UpdateInvitation changes an invitation inside one transaction (a
	// resend gives it a new TokenID and expiry).
	UpdateInvitation(ctx context.Context, id string, update Update[Invitation]) (*Invitation, error)
	// RevokeInvitation marks an invitation Revoked; when it was redeemed
	// already, the guest's account is disabled too.
	RevokeInvitation(ctx context.Context, id string) (*Invitation, error)
	// RedeemInvitation redeems the link naming tokenID, once: in one
	// transaction it checks the invitation is pending, tokenID is its
	// current token and unexpired at now, sets the guest's password hash,
	// marks the guest Accepted and the invitation Accepted (so the token
	// is used). A link that cannot redeem is CodeInvitationGone.
	RedeemInvitation(ctx context.Context, id, tokenID, passwordHash string, now time.Time) (*Invitation, error)
}
