package galleon

import (
	"context"
	"strings"
)

// ListedResourceTypes are the types ARM's generic resource list ("Resources
// - List", GET /subscriptions/{s}/resources) holds, in Azure's casing.
// Azure lists tracked resources, nested ones included (a gallery's image
// definitions and their versions are tracked: they have a location and
// tags); Galleon's tracked resources are these. Resource groups are not
// resources of a group, and role assignments and operations are not
// tracked, so none of them is listed.
var ListedResourceTypes = []string{
	TypeGallery, TypeImageDefinition, TypeImageVersion, TypeDisk, TypeSnapshot, TypeManagedImage,
}

// GenericResource is a resource as the generic resource list shows it:
// what every type has in common.
type GenericResource struct {
	ID   string // the canonical ARM id
	Type string // one of ListedResourceTypes
	// Name is the resource's name as ARM's generic list gives it: a nested
	// resource's names from its top-level parent down, joined with '/'
	// ("myGallery/myImage/1.0.0" for an image version).
	Name              string
	ResourceGroup     string // in the case it was created with
	Location          string
	Tags              map[string]string
	ProvisioningState string
	SystemData        SystemData
}

// ListKey is the key the generic resource list is ordered and paged by:
// the folded name, then the folded type and resource group, which together
// name one resource of a subscription. The separator sorts below every
// character a name may hold, so the list is in name order.
func (r *GenericResource) ListKey() string {
	return ResourceListKey(r.Name, r.Type, r.ResourceGroup)
}

// ResourceListKey is GenericResource.ListKey of the resource with that
// full name, type and group.
func ResourceListKey(name, typ, resourceGroup string) string {
	return Fold(name) + " " + Fold(typ) + " " + Fold(resourceGroup)
}

// ResourceFilter narrows a generic resource list. Every field that is set
// must hold; strings compare without regard to case, as ARM's do.
type ResourceFilter struct {
	// Types are the resource types to list, from ListedResourceTypes;
	// empty lists every one.
	Types []string
	// ResourceGroup is one group's name.
	ResourceGroup string
	// Name is a resource's full name (see GenericResource.Name).
	Name string
	// Location is a region's name ("eastus").
	Location string
	// NameContains and ResourceGroupContains are substrings that the full
	// name and the group's name must each contain.
	NameContains, ResourceGroupContains []string
	// Within narrows types to scopes: a resource of a type it has a key for
	// is listed only when it lies at or under one of that type's scopes (ARM
	// ids, as role assignments name them; see Permissions.GrantedBelow).
	// Types without a key are not narrowed.
	Within map[string][]string
}

// Lists reports whether the filter lets resources of type typ through
// (case-insensitively).
func (f *ResourceFilter) Lists(typ string) bool {
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if strings.EqualFold(t, typ) {
			return true
		}
	}
	return false
}

// ResourceListStore lists resources of every kind at once.
type ResourceListStore interface {
	// ListResources lists one page of the resources of a subscription (of
	// one resource group with filter.ResourceGroup) that match filter:
	// galleries, image definitions, image versions, disks, snapshots and
	// managed images, ordered by ListKey. It reads what it lists in one
	// query, whatever the number of galleries and definitions. An unknown
	// subscription or group lists nothing; who may read what is the
	// caller's business.
	ListResources(ctx context.Context, subscriptionID string, filter ResourceFilter, page Page) ([]GenericResource, string, error)
}
