package galleon

import (
	"fmt"
	"strings"
)

// Resource types Galleon serves, in Azure's canonical casing.
const (
	TypeResourceGroup   = "Microsoft.Resources/resourceGroups"
	TypeGallery         = "Microsoft.Compute/galleries"
	TypeImageDefinition = "Microsoft.Compute/galleries/images"
)

// Fold returns the form of an ARM name used for comparisons: ARM names are
// case-insensitive but keep the case they were created with.
func Fold(name string) string { return strings.ToLower(name) }

// SubscriptionScope is the ARM id of a subscription.
func SubscriptionScope(subscriptionID string) string {
	return "/subscriptions/" + subscriptionID
}

// ResourceGroupID identifies a resource group.
type ResourceGroupID struct {
	SubscriptionID string
	Name           string
}

func (id ResourceGroupID) String() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", id.SubscriptionID, id.Name)
}

// GalleryID identifies a gallery.
type GalleryID struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
}

// ResourceGroupID returns the id of the gallery's resource group.
func (id GalleryID) ResourceGroupID() ResourceGroupID {
	return ResourceGroupID{SubscriptionID: id.SubscriptionID, Name: id.ResourceGroup}
}

func (id GalleryID) String() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/galleries/%s",
		id.SubscriptionID, id.ResourceGroup, id.Name)
}

// ImageDefinitionID identifies an image definition within a gallery.
type ImageDefinitionID struct {
	GalleryID
	Image string
}

func (id ImageDefinitionID) String() string {
	return id.GalleryID.String() + "/images/" + id.Image
}
