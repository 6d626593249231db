package galleon

import (
	"regexp"
	"strings"
)

// Gallery is a Microsoft.Compute/galleries resource.
type Gallery struct {
	ID         GalleryID
	Location   string
	Tags       map[string]string
	Properties GalleryProperties
	SystemData SystemData
}

// GalleryProperties mirror the ARM "properties" object of a gallery; the JSON
// names are Azure's, so the same struct is the stored form.
type GalleryProperties struct {
	Description       string             `json:"description,omitempty"`
	Identifier        *GalleryIdentifier `json:"identifier,omitempty"`
	ProvisioningState string             `json:"provisioningState,omitempty"`
	SharingProfile    *SharingProfile    `json:"sharingProfile,omitempty"`
	SoftDeletePolicy  *SoftDeletePolicy  `json:"softDeletePolicy,omitempty"`
}

// GalleryIdentifier carries the gallery's globally unique name.
type GalleryIdentifier struct {
	UniqueName string `json:"uniqueName,omitempty"`
}

// Gallery sharing permissions.
const (
	SharingPrivate   = "Private"
	SharingGroups    = "Groups"
	SharingCommunity = "Community"
)

// SharingProfile says with whom a gallery is shared.
type SharingProfile struct {
	Permissions          string                `json:"permissions,omitempty"`
	Groups               []SharingProfileGroup `json:"groups,omitempty"`
	CommunityGalleryInfo *CommunityGalleryInfo `json:"communityGalleryInfo,omitempty"`
}

// SharingProfileGroup lists the subscriptions or tenants a gallery is shared with.
type SharingProfileGroup struct {
	Type string   `json:"type,omitempty"`
	IDs  []string `json:"ids,omitempty"`
}

// CommunityGalleryInfo describes a gallery shared with everyone.
type CommunityGalleryInfo struct {
	PublisherURI            string   `json:"publisherUri,omitempty"`
	PublisherContact        string   `json:"publisherContact,omitempty"`
	Eula                    string   `json:"eula,omitempty"`
	PublicNamePrefix        string   `json:"publicNamePrefix,omitempty"`
	CommunityGalleryEnabled *bool    `json:"communityGalleryEnabled,omitempty"`
	PublicNames             []string `json:"publicNames,omitempty"`
}

// SoftDeletePolicy says whether deleted versions are kept for a while.
type SoftDeletePolicy struct {
	IsSoftDeleteEnabled *bool `json:"isSoftDeleteEnabled,omitempty"`
}

// galleryNamePattern is Azure's rule: letters, digits, underscores and
// periods, 1-80 characters, underscores and periods only in the middle.
var galleryNamePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._]{0,78}[A-Za-z0-9])?$`)

// ValidateGalleryName checks a gallery name against Azure's rule.
func ValidateGalleryName(name string) error {
	if galleryNamePattern.MatchString(name) {
		return nil
	}
	why := "Gallery names may contain only English letters, digits, underscores and periods, must be 1 to 80 characters long, and may not start or end with an underscore or period."
	if strings.Contains(name, "-") {
		why = "Gallery names cannot contain dashes. " + why
	}
	return TargetErrorf(CodeInvalidParameter, "galleryName",
		"The gallery name '%s' is invalid. %s", name, why)
}

// ApplyDefaults fills in what Azure fills in: the unique name, Private
// sharing, soft deletion off.
func (g *Gallery) ApplyDefaults() {
	p := &g.Properties
	p.Identifier = &GalleryIdentifier{UniqueName: g.ID.SubscriptionID + "-" + strings.ToUpper(g.ID.Name)}
	if p.SharingProfile == nil {
		p.SharingProfile = &SharingProfile{}
	}
	if p.SharingProfile.Permissions == "" {
		p.SharingProfile.Permissions = SharingPrivate
	}
	if p.SoftDeletePolicy == nil {
		p.SoftDeletePolicy = &SoftDeletePolicy{}
	}
	if p.SoftDeletePolicy.IsSoftDeleteEnabled == nil {
		f := false
		p.SoftDeletePolicy.IsSoftDeleteEnabled = &f
	}
	p.ProvisioningState = ProvisioningSucceeded
}

// Validate checks the rules a gallery's own properties must satisfy.
func (g *Gallery) Validate() error {
	if err := ValidateGalleryName(g.ID.Name); err != nil {
		return err
	}
	if err := ValidateTags(g.Tags); err != nil {
		return err
	}
	if sp := g.Properties.SharingProfile; sp != nil && sp.Permissions != "" {
		perm, ok := canonicalEnum(sp.Permissions, SharingPrivate, SharingGroups, SharingCommunity)
		if !ok {
			return TargetErrorf(CodeInvalidParameter, "gallery.properties.sharingProfile.permissions",
				"The value '%s' is not a valid sharing permission; use Private, Groups or Community.", sp.Permissions)
		}
		sp.Permissions = perm
	}
	if len(g.Properties.Description) > 2048 {
		return TargetErrorf(CodeInvalidParameter, "gallery.properties.description",
			"The description may be at most 2048 characters long.")
	}
	return nil
}

// UpdateGallery validates a replacement of old by new (PUT on an existing
// gallery, or a merged PATCH) and carries over what the caller may not change.
func UpdateGallery(old, new *Gallery) error {
	if Fold(old.Location) != Fold(new.Location) {
		return propertyChange("gallery", "location")
	}
	new.Properties.Identifier = old.Properties.Identifier
	new.SystemData = old.SystemData
	return nil
}

// canonicalEnum matches v case-insensitively against allowed and returns the
// canonical spelling.
func canonicalEnum(v string, allowed ...string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

func propertyChange(resource, property string) error {
	target := resource + "." + property
	if property != "location" {
		target = resource + ".properties." + property
	}
	return TargetErrorf(CodePropertyChangeNotAllowed, target,
		"Changing property '%s' is not allowed.", target)
}

// SoftDeleteEnabled reports whether the gallery keeps deleted image
// versions for the retention period instead of deleting them at once.
func (g *Gallery) SoftDeleteEnabled() bool {
	p := g.Properties.SoftDeletePolicy
	return p != nil && p.IsSoftDeleteEnabled != nil && *p.IsSoftDeleteEnabled
}
