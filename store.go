package galleon

import (
	"context"
	"time"
)

// Page asks for one page of a list: at most Limit items whose sort key (the
// folded name) comes after After. Lists are ordered by folded name.
type Page struct {
	Limit int
	After string
}

// Store is the metadata store. Every exported method is one transaction that
// guards the invariants it names; the conformance suite in storetest holds
// every implementation to the same behaviour. Not-found answers are *Error
// values with the ARM code a client would expect from the matching GET.
type Store interface {
	DirectoryStore
	DirectoryAdminStore
	ResourceStore
	OperationStore
	RoleAssignmentStore
	InstallationStore
	LeaseStore
	VersionStore
	DiskStore
	ManagedImageStore
	ResourceListStore
	SharingStore
	TenantStore
	ContentOwnerStore
	Close() error
}

// VersionStore keeps image versions.
type VersionStore interface {
	// PutImageVersion creates or updates a version; ParentResourceNotFound
	// when its image definition (or gallery, or group) is missing.
	PutImageVersion(ctx context.Context, id ImageVersionID, update Update[ImageVersion]) (v *ImageVersion, created bool, err error)
	// PutImageVersionAndStart is PutImageVersion that also records op and
	// queues its work in the same transaction, so a crash cannot leave a
	// version Creating or Updating with no operation to finish it.
	PutImageVersionAndStart(ctx context.Context, id ImageVersionID, update Update[ImageVersion], op *Operation) (v *ImageVersion, created bool, err error)
	// GetImageVersion returns ResourceNotFound when absent.
	GetImageVersion(ctx context.Context, id ImageVersionID) (*ImageVersion, error)
	// ListImageVersions lists a definition's versions in pages ordered by
	// folded name; ParentResourceNotFound for a missing definition.
	ListImageVersions(ctx context.Context, id ImageDefinitionID, page Page) ([]ImageVersion, string, error)
	DeleteImageVersion(ctx context.Context, id ImageVersionID) (bool, error)

	// SoftDeleteImageVersion deletes a version as its gallery's
	// softDeletePolicy says, decided in the same transaction: with the
	// policy on, the version is kept as soft-deleted until retention has
	// passed and kept reports true (its bytes must stay); otherwise it is
	// deleted as DeleteImageVersion does. Absent, it reports false, nil.
	SoftDeleteImageVersion(ctx context.Context, id ImageVersionID, retention time.Duration) (kept bool, err error)
	// ListSoftDeletedImageVersions lists the soft-deleted versions of a
	// definition, ordered by folded name, expired ones not yet purged
	// included (their bytes are still there); ParentResourceNotFound for a
	// missing definition.
	ListSoftDeletedImageVersions(ctx context.Context, id ImageDefinitionID, page Page) ([]SoftDeletedImageVersion, string, error)
	// RestoreImageVersion brings an unexpired soft-deleted version back as
	// it was; ResourceNotFound when there is none (or it has expired).
	// A version deleted while it replicated (Creating or Updating) has
	// op (its Target and Location set to the version's) recorded and
	// queued in the same transaction, so that its replication finishes;
	// started says whether it was.
	RestoreImageVersion(ctx context.Context, id ImageVersionID, op *Operation) (v *ImageVersion, started bool, err error)
	// PurgeImageVersion deletes a soft-deleted version for good (expired
	// or not) and returns it, so its bytes can go; nil when there is none.
	PurgeImageVersion(ctx context.Context, id ImageVersionID) (*SoftDeletedImageVersion, error)
	// ListExpiredImageVersions returns up to limit soft-deleted versions
	// of the whole installation whose retention has passed.
	ListExpiredImageVersions(ctx context.Context, limit int) ([]SoftDeletedImageVersion, error)
}

// SoftDeletedImageVersion is an image version deleted while its gallery's
// softDeletePolicy was on: kept, with its bytes, until ExpiresAt.
type SoftDeletedImageVersion struct {
	Version   ImageVersion
	DeletedAt time.Time
	ExpiresAt time.Time
}

// DiskStore keeps disks and snapshots.
type DiskStore interface {
	// PutDisk creates or updates a disk or snapshot; ResourceGroupNotFound
	// for a missing group.
	PutDisk(ctx context.Context, id DiskID, update Update[Disk]) (d *Disk, created bool, err error)
	// GetDisk returns ResourceNotFound when absent.
	GetDisk(ctx context.Context, id DiskID) (*Disk, error)
	// ListDisks lists disks or snapshots (by id.Type) of a group, or of the
	// subscription when id.ResourceGroup is empty.
	ListDisks(ctx context.Context, id DiskID, page Page) ([]Disk, string, error)
	DeleteDisk(ctx context.Context, id DiskID) (bool, error)
	// DiskAccessGeneration returns the AccessGeneration of the disk or
	// snapshot with this uniqueId: the data plane's check of a SAS. A
	// deleted disk, or none with that id, is ResourceNotFound.
	DiskAccessGeneration(ctx context.Context, uniqueID string) (int64, error)
}

// ManagedImageStore keeps managed images (id.Type TypeManagedImage).
type ManagedImageStore interface {
	// PutManagedImage creates or updates an image; ResourceGroupNotFound
	// for a missing group.
	PutManagedImage(ctx context.Context, id DiskID, update Update[ManagedImage]) (img *ManagedImage, created bool, err error)
	// GetManagedImage returns ResourceNotFound when absent.
	GetManagedImage(ctx context.Context, id DiskID) (*ManagedImage, error)
	// ListManagedImages lists the images of a group, or of the
	// subscription when id.ResourceGroup is empty.
	ListManagedImages(ctx context.Context, id DiskID, page Page) ([]ManagedImage, string, error)
	DeleteManagedImage(ctx context.Context, id DiskID) (bool, error)
}

// InstallationStore keeps what every node of an installation shares.
type InstallationStore interface {
	// LoadOrStoreSecret returns the value stored under name, storing value
	// first when there is none; concurrent callers all get the one value
	// that was stored.
	LoadOrStoreSecret(ctx context.Context, name, value string) (string, error)
}

// WorkItem is a unit of background work (Kind, Key), leased to one holder
// at a time.
type WorkItem struct {
	Kind         string
	Key          string
	Holder       string
	LeaseExpires time.Time
	Attempts     int // claims so far, this one included
}

// Work item kinds.
const (
	// WorkOperation runs a long-running operation; the key is
	// "{subscriptionId}/{operationId}".
	WorkOperation = "operation"
)

// LeaseStore hands out background work under leases, so that any node can
// take any item, no item is worked on by two nodes at once, and the work of
// a node that dies is taken over when its lease expires.
type LeaseStore interface {
	// EnqueueWork adds an item that may be claimed from notBefore on; an item
	// already queued is left as it is.
	EnqueueWork(ctx context.Context, kind, key string, notBefore time.Time) error
	// ClaimWork leases up to limit claimable items of kind to holder for
	// lease: items whose notBefore has come and that no one holds, or whose
	// lease has expired.
	ClaimWork(ctx context.Context, kind, holder string, lease time.Duration, limit int) ([]WorkItem, error)
	// ExtendLease pushes the lease of an item its holder still holds;
	// LeaseLost when another holder has taken it.
	ExtendLease(ctx context.Context, item *WorkItem, lease time.Duration) error
	// CompleteWork removes an item its holder still holds; LeaseLost when not.
	CompleteWork(ctx context.Context, item WorkItem) error
	// ReleaseWork gives an item back, claimable again from notBefore;
	// LeaseLost when the holder no longer holds it.
	ReleaseWork(ctx context.Context, item WorkItem, notBefore time.Time) error
}

// DirectoryStore keeps tenants, subscriptions and principals.
type DirectoryStore interface {
	// Bootstrap stores b if the installation has no tenant yet and reports
	// whether it did; otherwise it changes nothing. Concurrent callers agree
	// on one winner.
	Bootstrap(ctx context.Context, b *Bootstrap) (created bool, err error)
	// DefaultTenant returns the tenant created by Bootstrap
	// (SubscriptionNotFound-free: an unbootstrapped store is an internal error).
	DefaultTenant(ctx context.Context) (*Tenant, error)
	GetSubscription(ctx context.Context, id string) (*Subscription, error)
	ListSubscriptions(ctx context.Context, tenantID string) ([]Subscription, error)
	// ServicePrincipalByAppID returns the service principal with the client id
	// and its secrets, or ResourceNotFound.
	ServicePrincipalByAppID(ctx context.Context, appID string) (*Principal, []ClientSecret, error)
	// UserByPrincipalName looks a user up case-insensitively, or ResourceNotFound.
	UserByPrincipalName(ctx context.Context, upn string) (*User, error)
}

// Update computes the new state of a resource from its current state, which
// is nil when the resource does not exist yet. It runs inside the store's
// transaction, so the decision and the write are atomic; an error aborts.
type Update[T any] func(existing *T) (*T, error)

// ResourceStore keeps resource groups, galleries and image definitions.
type ResourceStore interface {
	// PutResourceGroup creates or updates a resource group. A group that is
	// being deleted answers Conflict (ResourceGroupBeingDeleted); one in an
	// unknown subscription SubscriptionNotFound. Subscription ids are
	// stored lower-case and compared case-insensitively.
	PutResourceGroup(ctx context.Context, id ResourceGroupID, update Update[ResourceGroup]) (rg *ResourceGroup, created bool, err error)
	// GetResourceGroup returns ResourceGroupNotFound when absent.
	GetResourceGroup(ctx context.Context, id ResourceGroupID) (*ResourceGroup, error)
	ListResourceGroups(ctx context.Context, subscriptionID string, page Page) ([]ResourceGroup, string, error)
	// BeginDeleteResourceGroup marks the group Deleting and records op, which
	// the operation runner completes with DeleteResourceGroupContents. It
	// returns ResourceGroupNotFound when absent; a group already being
	// deleted returns its pending operation instead of op.
	BeginDeleteResourceGroup(ctx context.Context, id ResourceGroupID, op *Operation) (*Operation, error)
	// DeleteResourceGroupContents deletes the group and everything in it,
	// role assignments at or below its scope included. Safe to repeat.
	DeleteResourceGroupContents(ctx context.Context, id ResourceGroupID) error

	// PutGallery creates or updates a gallery. It returns
	// ResourceGroupNotFound for a missing group, Conflict (target galleryName)
	// when the name is taken in another group of the subscription.
	PutGallery(ctx context.Context, id GalleryID, update Update[Gallery]) (g *Gallery, created bool, err error)
	// GetGallery returns ResourceNotFound when absent.
	GetGallery(ctx context.Context, id GalleryID) (*Gallery, error)
	ListGalleriesByResourceGroup(ctx context.Context, id ResourceGroupID, page Page) ([]Gallery, string, error)
	ListGalleriesBySubscription(ctx context.Context, subscriptionID string, page Page) ([]Gallery, string, error)
	// DeleteGallery reports whether a gallery was deleted; one that still has
	// image definitions answers CannotDeleteResource.
	DeleteGallery(ctx context.Context, id GalleryID) (bool, error)

	// PutImageDefinition creates or updates an image definition. It returns
	// ParentResourceNotFound for a missing gallery (or group), Conflict
	// (target galleryImage.properties.identifier) when another definition in
	// the gallery has the same publisher/offer/sku.
	PutImageDefinition(ctx context.Context, id ImageDefinitionID, update Update[ImageDefinition]) (d *ImageDefinition, created bool, err error)
	// GetImageDefinition returns ResourceNotFound when absent.
	GetImageDefinition(ctx context.Context, id ImageDefinitionID) (*ImageDefinition, error)
	// ListImageDefinitions returns ParentResourceNotFound for a missing gallery.
	ListImageDefinitions(ctx context.Context, id GalleryID, page Page) ([]ImageDefinition, string, error)
	// DeleteImageDefinition reports whether a definition was deleted; one
	// that still has versions answers CannotDeleteResource.
	DeleteImageDefinition(ctx context.Context, id ImageDefinitionID) (bool, error)
}

// OperationStore keeps long-running operations.
type OperationStore interface {
	// StartOperation records an in-progress operation and queues its work
	// (a WorkOperation item).
	StartOperation(ctx context.Context, op *Operation) error
	// GetOperation returns OperationNotFound when absent.
	GetOperation(ctx context.Context, subscriptionID, id string) (*Operation, error)
	// ListOperations returns operations with the given status, oldest first.
	ListOperations(ctx context.Context, status string) ([]Operation, error)
	// CompleteOperation moves an in-progress operation to a terminal status
	// at end; completing a terminal operation changes nothing.
	CompleteOperation(ctx context.Context, id, status string, opErr *Error, end time.Time) error
}

// RoleAssignmentStore keeps role assignments, custom role definitions and
// the audit log.
type RoleAssignmentStore interface {
	// PrincipalType returns the type (User, Group, ServicePrincipal) of
	// the directory object with that object id in tenant tenantID, or
	// ResourceNotFound (also for an object of another tenant).
	PrincipalType(ctx context.Context, tenantID, objectID string) (string, error)
	// ListRoleAssignmentsForPrincipals returns every assignment to any of
	// the principals, at any scope.
	ListRoleAssignmentsForPrincipals(ctx context.Context, principalIDs []string) ([]RoleAssignment, error)
	// CreateRoleAssignment stores a new assignment. Storing one that exists
	// under the same name with the same content changes nothing and
	// reports created false; the same role for the same principal at the
	// same scope under another name, or the name taken by another
	// assignment, is RoleAssignmentExists.
	CreateRoleAssignment(ctx context.Context, a *RoleAssignment) (created bool, err error)
	// GetRoleAssignment returns RoleAssignmentNotFound when absent.
	GetRoleAssignment(ctx context.Context, name string) (*RoleAssignment, error)
	// DeleteRoleAssignment deletes and returns the assignment, or nil when
	// there was none.
	DeleteRoleAssignment(ctx context.Context, name string) (*RoleAssignment, error)
	// ListRoleAssignmentsAtScope returns the assignments at scope and above
	// it, and when below is set, those under it too.
	ListRoleAssignmentsAtScope(ctx context.Context, scope string, below bool) ([]RoleAssignment, error)
	// PutRoleDefinition creates or replaces a custom role; another role
	// with the same name is RoleDefinitionWithSameNameExists. check, when
	// not nil, sees the stored role (nil when there is none) inside the
	// transaction and refuses the write by returning an error.
	PutRoleDefinition(ctx context.Context, d *RoleDefinition, subscriptionID string, check func(stored *RoleDefinition) error) (created bool, err error)
	// GetRoleDefinition returns a custom role by GUID, or RoleDefinitionDoesNotExist.
	GetRoleDefinition(ctx context.Context, guid string) (*RoleDefinition, error)
	ListRoleDefinitions(ctx context.Context) ([]RoleDefinition, error)
	// DeleteRoleDefinition deletes a custom role and returns it (nil when
	// absent); RoleDefinitionHasAssignments while it is assigned. check,
	// when not nil, sees the stored role inside the transaction and
	// refuses the delete by returning an error.
	DeleteRoleDefinition(ctx context.Context, guid string, check func(stored *RoleDefinition) error) (*RoleDefinition, error)
	// AppendAudit records an event; ListAudit pages through a
	// subscription's events, newest first.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, subscriptionID string, page Page) ([]AuditEvent, string, error)
	// EndSession records that the portal session id was signed out; it is
	// kept until expires, when its cookie would have expired anyway.
	// Ended sessions past their expiry are forgotten as new ones end.
	EndSession(ctx context.Context, id string, expires time.Time) error
	// SessionEnded reports whether the portal session id was signed out.
	SessionEnded(ctx context.Context, id string) (bool, error)
}
