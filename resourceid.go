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

// ParseGalleryID reads a gallery's ARM id.
func ParseGalleryID(id string) (GalleryID, error) {
	segs, err := galleryIDSegments(id, 0)
	if err != nil {
		return GalleryID{}, err
	}
	return GalleryID{SubscriptionID: segs[0], ResourceGroup: segs[1], Name: segs[2]}, nil
}

// ParseImageDefinitionID reads an image definition's ARM id.
func ParseImageDefinitionID(id string) (ImageDefinitionID, error) {
	segs, err := galleryIDSegments(id, 1)
	if err != nil {
		return ImageDefinitionID{}, err
	}
	return ImageDefinitionID{GalleryID: GalleryID{SubscriptionID: segs[0], ResourceGroup: segs[1], Name: segs[2]}, Image: segs[3]}, nil
}

// ParseImageVersionID reads an image version's ARM id.
func ParseImageVersionID(id string) (ImageVersionID, error) {
	segs, err := galleryIDSegments(id, 2)
	if err != nil {
		return ImageVersionID{}, err
	}
	return ImageVersionID{ImageDefinitionID: ImageDefinitionID{GalleryID: GalleryID{SubscriptionID: segs[0], ResourceGroup: segs[1],
		Name: segs[2]}, Image: segs[3]}, Version: segs[4]}, nil
}

// galleryIDSegments checks that id is
// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{g}
// followed by depth child levels (/images/{i}, then /versions/{v}), keys
// matched without regard to case as ARM does, and returns the names in
// order.
func galleryIDSegments(id string, depth int) ([]string, error) {
	want := [...]string{"Gallery", "ImageDefinition", "ImageVersion"}[depth]
	typ := [...]string{TypeGallery, TypeImageDefinition, TypeImageVersion}[depth]
	parts := strings.Split(strings.TrimSuffix(id, "/"), "/")
	keys := []string{"", "subscriptions", "", "resourcegroups", "", "providers", "microsoft.compute", "galleries", "", "images", "", "versions", ""}
	n := 9 + 2*depth
	if len(parts) != n {
		return nil, Errorf(CodeInvalidParameter, "'%s' is not the id of a %s (%s).", id, want, typ)
	}
	var names []string
	for i, p := range parts {
		switch {
		case keys[i] != "" && !strings.EqualFold(p, keys[i]):
			return nil, Errorf(CodeInvalidParameter, "'%s' is not the id of a %s (%s).", id, want, typ)
		case keys[i] == "" && i > 0:
			if p == "" {
				return nil, Errorf(CodeInvalidParameter, "'%s' is not the id of a %s (%s): a name is empty.", id, want, typ)
			}
			names = append(names, p)
		case i == 0 && p != "":
			return nil, Errorf(CodeInvalidParameter, "'%s' is not the id of a %s (%s): it must start with /subscriptions/.", id, want, typ)
		}
	}
	return names, nil
}
