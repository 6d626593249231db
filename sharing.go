package galleon

import (
	"context"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Direct and community sharing of a gallery. A gallery's sharing profile
// says with whom it is shared: nobody but RBAC (Private), the subscriptions
// and tenants of its groups (Groups), or every authenticated caller under a
// public name (Community). The profile changes through the share action
// (SharingUpdate), never through PUT; consumers see shared galleries through
// the location-scoped sharedGalleries and communityGalleries views, and a
// consumer subscription may reject a direct share (and accept it again).

// Sharing group types, as Azure names them.
const (
	SharingGroupSubscriptions = "Subscriptions"
	SharingGroupAADTenants    = "AADTenants"
)

// Sharing update operations.
const (
	SharingAdd             = "Add"
	SharingRemove          = "Remove"
	SharingReset           = "Reset"
	SharingEnableCommunity = "EnableCommunity"
)

// Azure's limits on direct sharing: at most 30 subscriptions and 5 tenants.
const (
	MaxSharedSubscriptions = 30
	MaxSharedTenants       = 5
)

// SharingUpdate is the body of POST …/galleries/{g}/share.
type SharingUpdate struct {
	OperationType string                `json:"operationType"`
	Groups        []SharingProfileGroup `json:"groups,omitempty"`
}

const sharingTarget = "sharingUpdate."

var guidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Validate checks an update and puts its enumerations into canonical
// spelling and its ids into lower case.
func (u *SharingUpdate) Validate() error {
	if u.OperationType == "" {
		return TargetErrorf(CodeInvalidParameter, sharingTarget+"operationType", "Required parameter 'operationType' is missing (null).")
	}
	op, ok := canonicalEnum(u.OperationType, SharingAdd, SharingRemove, SharingReset, SharingEnableCommunity)
	if !ok {
		return TargetErrorf(CodeInvalidParameter, sharingTarget+"operationType",
			"The value '%s' is not a valid sharing operation; use Add, Remove, Reset or EnableCommunity.", u.OperationType)
	}
	u.OperationType = op
	switch op {
	case SharingReset, SharingEnableCommunity:
		if len(u.Groups) > 0 {
			return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups",
				"The operation '%s' takes no groups.", op)
		}
		return nil
	}
	if len(u.Groups) == 0 {
		return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups",
			"The operation '%s' needs at least one group of subscription or tenant ids.", op)
	}
	for i := range u.Groups {
		g := &u.Groups[i]
		typ, ok := canonicalEnum(g.Type, SharingGroupSubscriptions, SharingGroupAADTenants)
		if !ok {
			return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups.type",
				"The value '%s' is not a valid sharing group type; use Subscriptions or AADTenants.", g.Type)
		}
		g.Type = typ
		if len(g.IDs) == 0 {
			return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups.ids",
				"The group of type '%s' lists no ids.", typ)
		}
		for j, id := range g.IDs {
			if !guidPattern.MatchString(id) {
				return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups.ids",
					"The id '%s' in the group of type '%s' is not a valid GUID.", id, typ)
			}
			g.IDs[j] = Fold(id)
		}
	}
	return nil
}

// Apply changes g's sharing profile as u says. publicName is the name
// EnableCommunity publishes the gallery under when it has none yet.
func (u *SharingUpdate) Apply(g *Gallery, publicName string) error {
	sp := g.Properties.SharingProfile.clone()
	if sp.Permissions == "" {
		sp.Permissions = SharingPrivate
	}
	switch u.OperationType {
	case SharingAdd:
		if sp.communityEnabled() {
			return Errorf(CodeOperationNotAllowed,
				"The gallery '%s' is shared with the community; it cannot also be shared with subscriptions or tenants. Reset its sharing profile first.", g.ID.Name)
		}
		for _, add := range u.Groups {
			sp.Groups = mergeGroup(sp.Groups, add.Type, add.IDs, true)
		}
		subs, tenants := len(sp.groupIDs(SharingGroupSubscriptions)), len(sp.groupIDs(SharingGroupAADTenants))
		if subs > MaxSharedSubscriptions || tenants > MaxSharedTenants {
			return TargetErrorf(CodeInvalidParameter, sharingTarget+"groups",
				"A gallery can be shared with at most %d subscriptions and %d tenants; this update would share it with %d and %d.",
				MaxSharedSubscriptions, MaxSharedTenants, subs, tenants)
		}
		sp.Permissions = SharingGroups
	case SharingRemove:
		for _, rm := range u.Groups {
			sp.Groups = mergeGroup(sp.Groups, rm.Type, rm.IDs, false)
		}
	case SharingReset:
		sp.Permissions, sp.Groups = SharingPrivate, nil
		if ci := sp.CommunityGalleryInfo; ci != nil {
			f := false
			ci.CommunityGalleryEnabled, ci.PublicNames = &f, nil
		}
	case SharingEnableCommunity:
		if len(sp.Groups) > 0 {
			return Errorf(CodeOperationNotAllowed,
				"The gallery '%s' is shared with subscriptions or tenants; reset its sharing profile before sharing it with the community.", g.ID.Name)
		}
		if err := sp.CommunityGalleryInfo.validate(); err != nil {
			return err
		}
		ci := sp.CommunityGalleryInfo
		t := true
		ci.CommunityGalleryEnabled = &t
		if len(ci.PublicNames) == 0 {
			ci.PublicNames = []string{publicName}
		}
		sp.Permissions = SharingCommunity
	}
	g.Properties.SharingProfile = sp
	return nil
}

// mergeGroup adds ids to (add) or removes them from the group of type typ,
// keeping the order ids were first added in and dropping empty groups.
func mergeGroup(groups []SharingProfileGroup, typ string, ids []string, add bool) []SharingProfileGroup {
	i := slices.IndexFunc(groups, func(g SharingProfileGroup) bool { return g.Type == typ })
	if i < 0 {
		if !add {
			return groups
		}
		groups = append(groups, SharingProfileGroup{Type: typ})
		i = len(groups) - 1
	}
	g := &groups[i]
	for _, id := range ids {
		has := slices.ContainsFunc(g.IDs, func(x string) bool { return strings.EqualFold(x, id) })
		switch {
		case add && !has:
			g.IDs = append(g.IDs, id)
		case !add && has:
			g.IDs = slices.DeleteFunc(g.IDs, func(x string) bool { return strings.EqualFold(x, id) })
		}
	}
	if len(g.IDs) == 0 {
		groups = slices.Delete(groups, i, i+1)
	}
	if len(groups) == 0 {
		return nil
	}
	return groups
}

// clone returns a deep copy, or an empty profile for nil.
func (sp *SharingProfile) clone() *SharingProfile {
	out := &SharingProfile{}
	if sp == nil {
		return out
	}
	out.Permissions = sp.Permissions
	for _, g := range sp.Groups {
		out.Groups = append(out.Groups, SharingProfileGroup{Type: g.Type, IDs: slices.Clone(g.IDs)})
	}
	if ci := sp.CommunityGalleryInfo; ci != nil {
		c := *ci
		c.PublicNames = slices.Clone(ci.PublicNames)
		if ci.CommunityGalleryEnabled != nil {
			b := *ci.CommunityGalleryEnabled
			c.CommunityGalleryEnabled = &b
		}
		out.CommunityGalleryInfo = &c
	}
	return out
}

func (sp *SharingProfile) groupIDs(typ string) []string {
	if sp == nil {
		return nil
	}
	for _, g := range sp.Groups {
		if g.Type == typ {
			return g.IDs
		}
	}
	return nil
}

func (sp *SharingProfile) communityEnabled() bool {
	return sp != nil && sp.CommunityGalleryInfo != nil && sp.CommunityGalleryInfo.CommunityGalleryEnabled != nil &&
		*sp.CommunityGalleryInfo.CommunityGalleryEnabled
}

// SharedWithSubscription reports whether g is shared directly with the
// subscription.
func (g *Gallery) SharedWithSubscription(subscriptionID string) bool {
	return slices.Contains(g.Properties.SharingProfile.groupIDs(SharingGroupSubscriptions), Fold(subscriptionID))
}

// SharedWithTenant reports whether g is shared with every subscription of
// the tenant.
func (g *Gallery) SharedWithTenant(tenantID string) bool {
	return slices.Contains(g.Properties.SharingProfile.groupIDs(SharingGroupAADTenants), Fold(tenantID))
}

// SharedWith reports whether g is shared with the consumer's subscription
// or tenant.
func (g *Gallery) SharedWith(c ShareConsumer) bool {
	return g.SharedWithSubscription(c.SubscriptionID) || g.SharedWithTenant(c.TenantID)
}

// CommunityEnabled reports whether g is published to the community.
func (g *Gallery) CommunityEnabled() bool {
	return g.Properties.SharingProfile.communityEnabled()
}

// PublicNames are the names g is published to the community under.
func (g *Gallery) PublicNames() []string {
	if !g.CommunityEnabled() {
		return nil
	}
	return g.Properties.SharingProfile.CommunityGalleryInfo.PublicNames
}

// UniqueName is the gallery's unique name, {subscriptionId}-{NAME}, under
// which consumers see it as a shared gallery.
func (g *Gallery) UniqueName() string {
	if id := g.Properties.Identifier; id != nil && id.UniqueName != "" {
		return id.UniqueName
	}
	return GalleryUniqueName(g.ID)
}

// GalleryUniqueName is the unique name Azure gives a gallery.
func GalleryUniqueName(id GalleryID) string {
	return id.SubscriptionID + "-" + strings.ToUpper(id.Name)
}

// ParseGalleryUniqueName splits a unique name into the subscription id and
// the gallery name (gallery names hold no dashes, so the last one
// separates them); ok is false when it cannot be a unique name.
func ParseGalleryUniqueName(unique string) (subscriptionID, name string, ok bool) {
	i := strings.LastIndexByte(unique, '-')
	if i < 0 {
		return "", "", false
	}
	subscriptionID, name = unique[:i], unique[i+1:]
	if !guidPattern.MatchString(subscriptionID) || ValidateGalleryName(name) != nil {
		return "", "", false
	}
	return Fold(subscriptionID), name, true
}

// UpdateGallerySharing applies the rules of a gallery PUT or PATCH to its
// sharing profile: g is the intended new state of old (nil on creation).
// Groups, public names and whether the community gallery is enabled are
// read-only and kept; the permission is fixed at creation (Azure: the
// property cannot be updated; the share action changes it); Community
// needs complete communityGalleryInfo.
func UpdateGallerySharing(old, g *Gallery) error {
	sp := g.Properties.SharingProfile.clone()
	if sp.Permissions != "" {
		perm, ok := canonicalEnum(sp.Permissions, SharingPrivate, SharingGroups, SharingCommunity)
		if !ok {
			return TargetErrorf(CodeInvalidParameter, "gallery.properties.sharingProfile.permissions",
				"The value '%s' is not a valid sharing permission; use Private, Groups or Community.", sp.Permissions)
		}
		sp.Permissions = perm
	}
	if old == nil {
		sp.Groups = nil
		if sp.Permissions == "" {
			sp.Permissions = SharingPrivate
		}
		if ci := sp.CommunityGalleryInfo; ci != nil {
			f := false
			ci.CommunityGalleryEnabled, ci.PublicNames = &f, nil
		}
	} else {
		prev := old.Properties.SharingProfile.clone()
		if prev.Permissions == "" {
			prev.Permissions = SharingPrivate
		}
		if sp.Permissions == "" {
			sp.Permissions = prev.Permissions
		}
		if sp.Permissions != prev.Permissions {
			return TargetErrorf(CodePropertyChangeNotAllowed, "gallery.properties.sharingProfile.permissions",
				"Changing property 'gallery.properties.sharingProfile.permissions' from '%s' to '%s' is not allowed. Use the share action (az sig share) to share the gallery or to reset its sharing.",
				prev.Permissions, sp.Permissions)
		}
		sp.Groups = prev.Groups
		switch ci, pci := sp.CommunityGalleryInfo, prev.CommunityGalleryInfo; {
		case ci == nil:
			sp.CommunityGalleryInfo = pci
		case pci != nil:
			if len(pci.PublicNames) > 0 && ci.PublicNamePrefix != "" && !strings.EqualFold(ci.PublicNamePrefix, pci.PublicNamePrefix) {
				return TargetErrorf(CodePropertyChangeNotAllowed, "gallery.properties.sharingProfile.communityGalleryInfo.publicNamePrefix",
					"Changing property 'gallery.properties.sharingProfile.communityGalleryInfo.publicNamePrefix' is not allowed while the gallery is published to the community.")
			}
			if ci.PublicNamePrefix == "" {
				ci.PublicNamePrefix = pci.PublicNamePrefix
			}
			ci.CommunityGalleryEnabled, ci.PublicNames = pci.CommunityGalleryEnabled, pci.PublicNames
		default:
			f := false
			ci.CommunityGalleryEnabled, ci.PublicNames = &f, nil
		}
	}
	if sp.CommunityGalleryInfo != nil || sp.Permissions == SharingCommunity {
		if err := sp.CommunityGalleryInfo.validate(); err != nil {
			return err
		}
	}
	g.Properties.SharingProfile = sp
	return nil
}

const communityTarget = "gallery.properties.sharingProfile.communityGalleryInfo"

var publicNamePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9]{5,16}$`)

// validate checks what publishing to the community needs: a publisher URI
// and contact e-mail, a EULA and a public name prefix.
func (ci *CommunityGalleryInfo) validate() error {
	if ci == nil {
		return TargetErrorf(CodeInvalidParameter, communityTarget,
			"Sharing a gallery with the community needs communityGalleryInfo with publisherUri, publisherContact, eula and publicNamePrefix.")
	}
	for _, f := range []struct{ name, value string }{
		{"publisherUri", ci.PublisherURI}, {"publisherContact", ci.PublisherContact},
		{"eula", ci.Eula}, {"publicNamePrefix", ci.PublicNamePrefix},
	} {
		if strings.TrimSpace(f.value) == "" {
			return TargetErrorf(CodeInvalidParameter, communityTarget+"."+f.name,
				"Required parameter '%s' is missing (null). Sharing a gallery with the community needs publisherUri, publisherContact, eula and publicNamePrefix.", f.name)
		}
		if len(f.value) > 2048 {
			return TargetErrorf(CodeInvalidParameter, communityTarget+"."+f.name, "The value of '%s' may be at most 2048 characters long.", f.name)
		}
	}
	if u, err := url.Parse(ci.PublisherURI); err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return TargetErrorf(CodeInvalidParameter, communityTarget+".publisherUri",
			"The publisher URI '%s' is not an absolute http or https URI.", ci.PublisherURI)
	}
	if a, err := mail.ParseAddress(ci.PublisherContact); err != nil || a.Address != ci.PublisherContact {
		return TargetErrorf(CodeInvalidParameter, communityTarget+".publisherContact",
			"The publisher contact '%s' is not an e-mail address.", ci.PublisherContact)
	}
	if !publicNamePrefixPattern.MatchString(ci.PublicNamePrefix) {
		return TargetErrorf(CodeInvalidParameter, communityTarget+".publicNamePrefix",
			"The public name prefix '%s' is invalid: it must be 5 to 16 English letters and digits.", ci.PublicNamePrefix)
	}
	return nil
}

// WithoutGroups returns g as a GET without $expand=SharingProfile/Groups
// shows it: the groups are left out.
func (g Gallery) WithoutGroups() Gallery {
	if sp := g.Properties.SharingProfile; sp != nil && len(sp.Groups) > 0 {
		c := *sp
		c.Groups = nil
		g.Properties.SharingProfile = &c
	}
	return g
}

// ShareConsumer is a caller of the consumer views: the subscription in the
// request's path and the tenant that subscription belongs to.
type ShareConsumer struct {
	SubscriptionID string
	TenantID       string
}

// Where consumers see shared resources. A version is offered in each
// target region it has completed replicating to; an image definition in
// its own region and wherever one of its versions is offered; a gallery in
// its own region and wherever one of its image definitions is.

// VersionOfferedIn reports whether consumers see v in location.
func VersionOfferedIn(v *ImageVersion, location string) bool {
	pp := v.Properties.PublishingProfile
	if pp == nil || !slices.ContainsFunc(pp.TargetRegions, func(t TargetRegion) bool { return NormalizeLocation(t.Name) == location }) {
		return false
	}
	if rs := v.Properties.ReplicationStatus; rs != nil {
		for _, s := range rs.Summary {
			if NormalizeLocation(s.Region) == location {
				return s.State == ReplicationCompleted
			}
		}
	}
	return v.Properties.ProvisioningState == ProvisioningSucceeded
}

// SharedRegions are the locations a gallery's parts are offered in.
type SharedRegions struct {
	Gallery string
	// Images maps each image definition's folded name to the locations
	// it is offered in.
	Images map[string][]string
}

// GalleryIn reports whether the gallery is offered in location.
func (r *SharedRegions) GalleryIn(location string) bool {
	if r.Gallery == location {
		return true
	}
	for _, locs := range r.Images {
		if slices.Contains(locs, location) {
			return true
		}
	}
	return false
}

// ImageIn reports whether the named image definition is offered in location.
func (r *SharedRegions) ImageIn(image, location string) bool {
	return slices.Contains(r.Images[Fold(image)], location)
}

// NewSharedRegions computes where a gallery's parts are offered from the
// gallery's location and its definitions and versions.
func NewSharedRegions(galleryLocation string, images []ImageDefinition, versions []ImageVersion) *SharedRegions {
	r := &SharedRegions{Gallery: NormalizeLocation(galleryLocation), Images: map[string][]string{}}
	add := func(image, loc string) {
		k := Fold(image)
		if !slices.Contains(r.Images[k], loc) {
			r.Images[k] = append(r.Images[k], loc)
		}
	}
	for _, d := range images {
		add(d.ID.Image, NormalizeLocation(d.Location))
	}
	for i := range versions {
		v := &versions[i]
		if _, ok := r.Images[Fold(v.ID.Image)]; !ok {
			continue
		}
		if pp := v.Properties.PublishingProfile; pp != nil {
			for _, t := range pp.TargetRegions {
				if loc := NormalizeLocation(t.Name); VersionOfferedIn(v, loc) {
					add(v.ID.Image, loc)
				}
			}
		}
	}
	return r
}

// SharingStore keeps who galleries are shared with and the consumers'
// answers to direct shares.
type SharingStore interface {
	// ShareGallery runs update on the gallery's current state and stores
	// the result with the index of the subscriptions, tenants and public
	// names it is shared with, in one transaction. ResourceNotFound when
	// the gallery does not exist.
	ShareGallery(ctx context.Context, id GalleryID, update Update[Gallery]) (*Gallery, error)
	// ListGalleriesSharedWith returns the galleries shared with the
	// consumer's subscription (byTenant false) or with its tenant
	// (byTenant true) that the subscription has not rejected, ordered by
	// folded unique name.
	ListGalleriesSharedWith(ctx context.Context, c ShareConsumer, byTenant bool) ([]Gallery, error)
	// GetSharedGallery returns the gallery with the unique name when it is
	// shared with the consumer's subscription or tenant and the
	// subscription has not rejected it; ResourceNotFound otherwise.
	GetSharedGallery(ctx context.Context, c ShareConsumer, uniqueName string) (*Gallery, error)
	// GetCommunityGallery returns the gallery published to the community
	// under publicName (case-insensitively), or ResourceNotFound.
	GetCommunityGallery(ctx context.Context, publicName string) (*Gallery, error)
	// RespondToShare records that the consumer's subscription rejects
	// (accept false) the gallery shared with it, or accepts it again. The
	// gallery is named by its subscription and name; ResourceNotFound when
	// it is not shared with the subscription or its tenant.
	RespondToShare(ctx context.Context, c ShareConsumer, gallerySubscriptionID, galleryName string, accept bool) (*Gallery, error)
	// SharedRegions returns where the gallery's parts are offered
	// (NewSharedRegions over its definitions and versions).
	SharedRegions(ctx context.Context, id GalleryID) (*SharedRegions, error)
}
