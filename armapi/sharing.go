package armapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Direct and community sharing on the wire:
//
//	POST …/galleries/{g}/share                                      publisher: Add, Remove, Reset, EnableCommunity
//	GET  /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/sharedGalleries[/{uniqueName}[/images[/{i}[/versions[/{v}]]]]]
//	GET  /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/communityGalleries/{publicName}[/images[/{i}[/versions[/{v}]]]]
//	POST /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/sharedGallerySubscriptions/{publisherSubscription}/sharedGalleries/{galleryName}/accept|reject
//
// A consumer calls the views under its own subscription {s}: the
// dispatcher authorizes the route's read action at that scope (a Reader of
// the consumer subscription may read what is shared with it, as in Azure),
// and the handlers here decide what is shared with {s} or its tenant.

var (
	// sharedVersions are the GalleryRP api-versions that serve the
	// consumer views of direct shares (from 2020-09-30) and of community
	// galleries (from 2021-07-01).
	sharedVersions    = galleryVersions[slices.Index(galleryVersions, "2020-09-30"):]
	communityVersions = galleryVersions[slices.Index(galleryVersions, "2021-07-01"):]

	sharedGalleryAPI    = apiVersions{provider: true, resourceType: "locations/sharedGalleries", versions: sharedVersions}
	communityGalleryAPI = apiVersions{provider: true, resourceType: "locations/communityGalleries", versions: communityVersions}
	// Azure serves accept and reject from 2025-12-03; Galleon serves them
	// with every api-version of the shared views as well.
	sharedGalleryInviteAPI = apiVersions{provider: true, resourceType: "locations/sharedGallerySubscriptions/sharedGalleries",
		versions: append(slices.Clone(sharedVersions), "2025-12-03")}
)

func sharingRoutes() map[routeKey]route {
	const shared = "Microsoft.Compute/locations/sharedGalleries/"
	const community = "Microsoft.Compute/locations/communityGalleries/"
	const invite = "Microsoft.Compute/locations/sharedGallerySubscriptions/sharedGalleries/"
	get := func(action string, h func(*Server, http.ResponseWriter, *request) error) map[string]endpoint {
		return map[string]endpoint{http.MethodGet: {action: action, handle: h}}
	}
	return map[routeKey]route{
		{"microsoft.compute/galleries/share", true}: {galleryAPI, map[string]endpoint{
			http.MethodPost: {action: "Microsoft.Compute/galleries/share/action", handle: (*Server).shareGallery},
		}},
		{"microsoft.compute/locations/sharedgalleries", true}:                 {sharedGalleryAPI, get(shared+"read", (*Server).listSharedGalleries)},
		{"microsoft.compute/locations/sharedgalleries", false}:                {sharedGalleryAPI, get(shared+"read", (*Server).getSharedGallery)},
		{"microsoft.compute/locations/sharedgalleries/images", true}:          {sharedGalleryAPI, get(shared+"images/read", (*Server).listSharedImages)},
		{"microsoft.compute/locations/sharedgalleries/images", false}:         {sharedGalleryAPI, get(shared+"images/read", (*Server).getSharedImage)},
		{"microsoft.compute/locations/sharedgalleries/images/versions", true}: {sharedGalleryAPI, get(shared+"images/versions/read", (*Server).listSharedVersions)},
		{"microsoft.compute/locations/sharedgalleries/images/versions", false}: {sharedGalleryAPI,
			get(shared+"images/versions/read", (*Server).getSharedVersion)},
		{"microsoft.compute/locations/communitygalleries", false}:        {communityGalleryAPI, get(community+"read", (*Server).getCommunityGallery)},
		{"microsoft.compute/locations/communitygalleries/images", true}:  {communityGalleryAPI, get(community+"images/read", (*Server).listCommunityImages)},
		{"microsoft.compute/locations/communitygalleries/images", false}: {communityGalleryAPI, get(community+"images/read", (*Server).getCommunityImage)},
		{"microsoft.compute/locations/communitygalleries/images/versions", true}: {communityGalleryAPI,
			get(community+"images/versions/read", (*Server).listCommunityVersions)},
		{"microsoft.compute/locations/communitygalleries/images/versions", false}: {communityGalleryAPI,
			get(community+"images/versions/read", (*Server).getCommunityVersion)},
		{"microsoft.compute/locations/sharedgallerysubscriptions/sharedgalleries/accept", true}: {sharedGalleryInviteAPI, map[string]endpoint{
			http.MethodPost: {action: invite + "accept/action", handle: (*Server).acceptShare},
		}},
		{"microsoft.compute/locations/sharedgallerysubscriptions/sharedgalleries/reject", true}: {sharedGalleryInviteAPI, map[string]endpoint{
			http.MethodPost: {action: invite + "reject/action", handle: (*Server).rejectShare},
		}},
	}
}

// shareGallery serves POST …/galleries/{g}/share. The update completes
// within the request: 200 with the update, which the Go SDK's and az's
// pollers both take as done.
func (s *Server) shareGallery(w http.ResponseWriter, r *request) error {
	var u galleon.SharingUpdate
	if err := decodeBody(w, r, &u); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	id := galleon.GalleryID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Name: r.id.Parent.Name}
	now := s.now()
	_, err := s.Store.ShareGallery(r.Context(), id, func(old *galleon.Gallery) (*galleon.Gallery, error) {
		g := *old
		prefix := ""
		if sp := old.Properties.SharingProfile; sp != nil && sp.CommunityGalleryInfo != nil {
			prefix = sp.CommunityGalleryInfo.PublicNamePrefix
		}
		if err := u.Apply(&g, prefix+"-"+uuid.NewString()); err != nil {
			return nil, err
		}
		g.SystemData.Touch(r.principal, now)
		return &g, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// sharedPath holds the names in a consumer view's path, by the folded last
// segment of each resource type: "locations", "sharedgalleries",
// "communitygalleries", "images", "versions", "sharedgallerysubscriptions".
type sharedPath map[string]string

func sharedPathOf(r *request) sharedPath {
	p := sharedPath{}
	for id := r.id; id != nil; id = id.Parent {
		if n := len(id.ResourceType.Types); n > 0 {
			p[strings.ToLower(id.ResourceType.Types[n-1])] = id.Name
		}
	}
	return p
}

// consumer is who calls a consumer view, and where.
type consumer struct {
	galleon.ShareConsumer
	location string
}

func (s *Server) consumerOf(r *request) (*consumer, error) {
	sub, err := s.Store.GetSubscription(r.Context(), r.id.SubscriptionID)
	if err != nil {
		return nil, err
	}
	loc, err := s.Regions.Resolve(sharedPathOf(r)["locations"], "locations/sharedGalleries")
	if err != nil {
		return nil, err
	}
	return &consumer{ShareConsumer: galleon.ShareConsumer{SubscriptionID: sub.ID, TenantID: sub.TenantID}, location: loc}, nil
}

// sharedToTenant reads the sharedTo query parameter: "tenant" lists what is
// shared with the caller's tenant rather than its subscription (az sends
// nothing for "subscription").
func sharedToTenant(r *request) (bool, error) {
	switch v := r.URL.Query().Get("sharedTo"); {
	case v == "" || strings.EqualFold(v, "subscription"):
		return false, nil
	case strings.EqualFold(v, "tenant"):
		return true, nil
	default:
		return false, galleon.TargetErrorf(galleon.CodeInvalidParameter, "sharedTo",
			"The value '%s' of parameter 'sharedTo' is not allowed. Allowed values are: tenant.", v)
	}
}

type uniqueIdentifier struct {
	UniqueID string `json:"uniqueId"`
}

// pirResourceJSON is the shape of every consumer view item: Azure's
// PirSharedGalleryResource and PirCommunityGalleryResource. They have no
// id; the unique id identifies them.
type pirResourceJSON struct {
	Name       string           `json:"name"`
	Location   string           `json:"location"`
	Type       string           `json:"type,omitempty"`
	Identifier uniqueIdentifier `json:"identifier"`
	Properties any              `json:"properties"`
}

type sharedGalleryProperties struct {
	ArtifactTags map[string]string `json:"artifactTags,omitempty"`
}

type communityMetadataJSON struct {
	PublisherURI        string   `json:"publisherUri,omitempty"`
	PublisherContact    string   `json:"publisherContact"`
	Eula                string   `json:"eula,omitempty"`
	PublicNames         []string `json:"publicNames"`
	PrivacyStatementURI string   `json:"privacyStatementUri,omitempty"`
}

type communityGalleryProperties struct {
	Disclaimer        string                 `json:"disclaimer,omitempty"`
	ArtifactTags      map[string]string      `json:"artifactTags,omitempty"`
	CommunityMetadata *communityMetadataJSON `json:"communityMetadata,omitempty"`
}

type sharedImageProperties struct {
	OSType              string                  `json:"osType"`
	OSState             string                  `json:"osState"`
	EndOfLifeDate       *time.Time              `json:"endOfLifeDate,omitempty"`
	Identifier          galleon.ImageIdentifier `json:"identifier"`
	Recommended         *galleon.Recommended    `json:"recommended,omitempty"`
	Disallowed          *galleon.Disallowed     `json:"disallowed,omitempty"`
	HyperVGeneration    string                  `json:"hyperVGeneration,omitempty"`
	Features            []galleon.ImageFeature  `json:"features,omitempty"`
	PurchasePlan        *galleon.PurchasePlan   `json:"purchasePlan,omitempty"`
	Architecture        string                  `json:"architecture,omitempty"`
	PrivacyStatementURI string                  `json:"privacyStatementUri,omitempty"`
	Eula                string                  `json:"eula,omitempty"`
	ArtifactTags        map[string]string       `json:"artifactTags,omitempty"`
}

type sharedDiskImageJSON struct {
	Lun         *int32 `json:"lun,omitempty"`
	DiskSizeGB  *int32 `json:"diskSizeGB,omitempty"`
	HostCaching string `json:"hostCaching,omitempty"`
}

type sharedStorageProfileJSON struct {
	OSDiskImage    *sharedDiskImageJSON  `json:"osDiskImage,omitempty"`
	DataDiskImages []sharedDiskImageJSON `json:"dataDiskImages,omitempty"`
}

type sharedVersionProperties struct {
	PublishedDate     *time.Time               `json:"publishedDate,omitempty"`
	EndOfLifeDate     *time.Time               `json:"endOfLifeDate,omitempty"`
	ExcludeFromLatest bool                     `json:"excludeFromLatest"`
	StorageProfile    sharedStorageProfileJSON `json:"storageProfile"`
	ArtifactTags      map[string]string        `json:"artifactTags,omitempty"`
}

// The unique ids and types consumers see, by view.
type viewKind struct {
	root                   string // "/SharedGalleries/" or "/CommunityGalleries/"
	galleryType, imageType string // community views only
	versionType            string
	community              bool
	// galleryName is the name consumers know the gallery by.
	galleryName func(g *galleon.Gallery, requested string) string
}

var (
	sharedView = viewKind{root: "/SharedGalleries/",
		galleryName: func(g *galleon.Gallery, _ string) string { return g.UniqueName() }}
	communityView = viewKind{root: "/CommunityGalleries/", community: true,
		galleryType: "Microsoft.Compute/locations/communityGallery", imageType: "Microsoft.Compute/locations/communityGalleryImage",
		versionType: "Microsoft.Compute/locations/communityGalleryImageVersion",
		// A community gallery is named by the public name it was asked by.
		galleryName: func(g *galleon.Gallery, requested string) string {
			for _, n := range g.PublicNames() {
				if strings.EqualFold(n, requested) {
					return n
				}
			}
			return requested
		}}
)

func (k viewKind) galleryJSON(g *galleon.Gallery, name, location string) pirResourceJSON {
	out := pirResourceJSON{Name: name, Location: location, Type: k.galleryType,
		Identifier: uniqueIdentifier{k.root + name}, Properties: sharedGalleryProperties{}}
	if k.community {
		ci := g.Properties.SharingProfile.CommunityGalleryInfo
		out.Properties = communityGalleryProperties{CommunityMetadata: &communityMetadataJSON{
			PublisherURI: ci.PublisherURI, PublisherContact: ci.PublisherContact, Eula: ci.Eula, PublicNames: g.PublicNames()}}
	}
	return out
}

func (k viewKind) imageJSON(galleryName string, d *galleon.ImageDefinition, location string) pirResourceJSON {
	p := d.Properties
	return pirResourceJSON{Name: d.ID.Image, Location: location, Type: k.imageType,
		Identifier: uniqueIdentifier{k.root + galleryName + "/Images/" + d.ID.Image},
		Properties: sharedImageProperties{OSType: p.OSType, OSState: p.OSState, EndOfLifeDate: p.EndOfLifeDate, Identifier: p.Identifier,
			Recommended: p.Recommended, Disallowed: p.Disallowed, HyperVGeneration: p.HyperVGeneration, Features: p.Features,
			PurchasePlan: p.PurchasePlan, Architecture: p.Architecture, PrivacyStatementURI: p.PrivacyStatementURI, Eula: p.Eula}}
}

func (k viewKind) versionJSON(galleryName string, v *galleon.ImageVersion, location string) pirResourceJSON {
	props := sharedVersionProperties{}
	if pp := v.Properties.PublishingProfile; pp != nil {
		props.PublishedDate, props.EndOfLifeDate = pp.PublishedDate, pp.EndOfLifeDate
		props.ExcludeFromLatest = pp.ExcludeFromLatest != nil && *pp.ExcludeFromLatest
		for _, t := range pp.TargetRegions {
			if galleon.NormalizeLocation(t.Name) == location && t.ExcludeFromLatest != nil && *t.ExcludeFromLatest {
				props.ExcludeFromLatest = true
			}
		}
	}
	sp := v.Properties.StorageProfile
	if d := sp.OSDiskImage; d != nil {
		props.StorageProfile.OSDiskImage = &sharedDiskImageJSON{DiskSizeGB: d.SizeInGB, HostCaching: d.HostCaching}
	}
	for _, d := range sp.DataDiskImages {
		lun := d.Lun
		props.StorageProfile.DataDiskImages = append(props.StorageProfile.DataDiskImages,
			sharedDiskImageJSON{Lun: &lun, DiskSizeGB: d.SizeInGB, HostCaching: d.HostCaching})
	}
	return pirResourceJSON{Name: v.ID.Version, Location: location, Type: k.versionType,
		Identifier: uniqueIdentifier{k.root + galleryName + "/Images/" + v.ID.Image + "/Versions/" + v.ID.Version},
		Properties: props}
}

// sharedGallery resolves the gallery of a consumer view (shared or
// community) that is offered in the consumer's location, with where its
// parts are offered.
func (s *Server) sharedGallery(r *request, k viewKind) (*consumer, *galleon.Gallery, string, *galleon.SharedRegions, error) {
	c, err := s.consumerOf(r)
	if err != nil {
		return nil, nil, "", nil, err
	}
	p := sharedPathOf(r)
	var g *galleon.Gallery
	requested := p["sharedgalleries"]
	if k.community {
		requested = p["communitygalleries"]
		g, err = s.Store.GetCommunityGallery(r.Context(), requested)
	} else {
		if _, err := sharedToTenant(r); err != nil {
			return nil, nil, "", nil, err
		}
		g, err = s.Store.GetSharedGallery(r.Context(), c.ShareConsumer, requested)
	}
	if err != nil {
		return nil, nil, "", nil, err
	}
	regions, err := s.Store.SharedRegions(r.Context(), g.ID)
	if err != nil {
		return nil, nil, "", nil, err
	}
	name := k.galleryName(g, requested)
	if !regions.GalleryIn(c.location) {
		return nil, nil, "", nil, galleon.Errorf(galleon.CodeResourceNotFound,
			"The gallery '%s' is not offered in location '%s'.", name, c.location)
	}
	return c, g, name, regions, nil
}

func imageNotOffered(gallery, image, location string) error {
	return galleon.Errorf(galleon.CodeResourceNotFound,
		"The image definition '%s' of gallery '%s' was not found in location '%s'.", image, gallery, location)
}

// sharedImage resolves the image definition of a consumer view.
func (s *Server) sharedImage(r *request, k viewKind) (*consumer, string, *galleon.ImageDefinition, error) {
	c, g, name, regions, err := s.sharedGallery(r, k)
	if err != nil {
		return nil, "", nil, err
	}
	image := sharedPathOf(r)["images"]
	d, err := s.Store.GetImageDefinition(r.Context(), galleon.ImageDefinitionID{GalleryID: g.ID, Image: image})
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && !regions.ImageIn(d.ID.Image, c.location) {
		return nil, "", nil, imageNotOffered(name, image, c.location)
	}
	return c, name, d, err
}

func (s *Server) listSharedGalleries(w http.ResponseWriter, r *request) error {
	c, err := s.consumerOf(r)
	if err != nil {
		return err
	}
	byTenant, err := sharedToTenant(r)
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	galleries, err := s.Store.ListGalleriesSharedWith(r.Context(), c.ShareConsumer, byTenant)
	if err != nil {
		return err
	}
	out := []pirResourceJSON{}
	next := ""
	for i := range galleries {
		g := &galleries[i]
		key := galleon.Fold(g.UniqueName())
		if key <= page.After {
			continue
		}
		regions, err := s.Store.SharedRegions(r.Context(), g.ID)
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			continue // deleted since the list was read
		}
		if err != nil {
			return err
		}
		if !regions.GalleryIn(c.location) {
			continue
		}
		if len(out) == page.Limit {
			next = galleon.Fold(out[len(out)-1].Name)
			break
		}
		out = append(out, sharedView.galleryJSON(g, g.UniqueName(), c.location))
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) getSharedGallery(w http.ResponseWriter, r *request) error {
	return s.getViewGallery(w, r, sharedView)
}

func (s *Server) getCommunityGallery(w http.ResponseWriter, r *request) error {
	return s.getViewGallery(w, r, communityView)
}

func (s *Server) getViewGallery(w http.ResponseWriter, r *request, k viewKind) error {
	c, g, name, _, err := s.sharedGallery(r, k)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.galleryJSON(g, name, c.location))
	return nil
}

func (s *Server) listSharedImages(w http.ResponseWriter, r *request) error {
	return s.listViewImages(w, r, sharedView)
}

func (s *Server) listCommunityImages(w http.ResponseWriter, r *request) error {
	return s.listViewImages(w, r, communityView)
}

// listViewImages lists one page of the gallery's definitions, leaving out
// those not offered in the location: a page may come back short, with a
// nextLink to the rest.
func (s *Server) listViewImages(w http.ResponseWriter, r *request, k viewKind) error {
	c, g, name, regions, err := s.sharedGallery(r, k)
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	defs, next, err := s.Store.ListImageDefinitions(r.Context(), g.ID, page)
	if err != nil {
		return err
	}
	out := []pirResourceJSON{}
	for i := range defs {
		if regions.ImageIn(defs[i].ID.Image, c.location) {
			out = append(out, k.imageJSON(name, &defs[i], c.location))
		}
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) getSharedImage(w http.ResponseWriter, r *request) error {
	return s.getViewImage(w, r, sharedView)
}

func (s *Server) getCommunityImage(w http.ResponseWriter, r *request) error {
	return s.getViewImage(w, r, communityView)
}

func (s *Server) getViewImage(w http.ResponseWriter, r *request, k viewKind) error {
	c, name, d, err := s.sharedImage(r, k)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.imageJSON(name, d, c.location))
	return nil
}

func (s *Server) listSharedVersions(w http.ResponseWriter, r *request) error {
	return s.listViewVersions(w, r, sharedView)
}

func (s *Server) listCommunityVersions(w http.ResponseWriter, r *request) error {
	return s.listViewVersions(w, r, communityView)
}

func (s *Server) listViewVersions(w http.ResponseWriter, r *request, k viewKind) error {
	c, name, d, err := s.sharedImage(r, k)
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	vs, next, err := s.Store.ListImageVersions(r.Context(), d.ID, page)
	if err != nil {
		return err
	}
	out := []pirResourceJSON{}
	for i := range vs {
		if galleon.VersionOfferedIn(&vs[i], c.location) {
			out = append(out, k.versionJSON(name, &vs[i], c.location))
		}
	}
	return s.writeList(w, r, out, next)
}

func (s *Server) getSharedVersion(w http.ResponseWriter, r *request) error {
	return s.getViewVersion(w, r, sharedView)
}

func (s *Server) getCommunityVersion(w http.ResponseWriter, r *request) error {
	return s.getViewVersion(w, r, communityView)
}

func (s *Server) getViewVersion(w http.ResponseWriter, r *request, k viewKind) error {
	c, name, d, err := s.sharedImage(r, k)
	if err != nil {
		return err
	}
	version := sharedPathOf(r)["versions"]
	v, err := s.Store.GetImageVersion(r.Context(), galleon.ImageVersionID{ImageDefinitionID: d.ID, Version: version})
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && !galleon.VersionOfferedIn(v, c.location) {
		return galleon.Errorf(galleon.CodeResourceNotFound,
			"The image version '%s' of image definition '%s' in gallery '%s' was not found in location '%s'.", version, d.ID.Image, name, c.location)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.versionJSON(name, v, c.location))
	return nil
}

// sharedGalleryInviteJSON is Azure's SharedGalleryInvite: the answered
// share, named by the gallery's unique name; properties.id is the
// subscription that hosts the gallery.
type sharedGalleryInviteJSON struct {
	Name       string           `json:"name"`
	Location   string           `json:"location"`
	Identifier uniqueIdentifier `json:"identifier"`
	Properties struct {
		ID string `json:"id"`
	} `json:"properties"`
}

func (s *Server) acceptShare(w http.ResponseWriter, r *request) error {
	return s.respondToShare(w, r, true)
}

func (s *Server) rejectShare(w http.ResponseWriter, r *request) error {
	return s.respondToShare(w, r, false)
}

// respondToShare serves accept and reject: the consumer subscription {s}
// answers the share of gallery {galleryName} of subscription
// {publisherSubscription}. A rejected gallery disappears from {s}'s views
// until it is accepted again. The gallery may also be named by its unique
// name.
func (s *Server) respondToShare(w http.ResponseWriter, r *request, accept bool) error {
	c, err := s.consumerOf(r)
	if err != nil {
		return err
	}
	p := sharedPathOf(r)
	publisher, gallery := p["sharedgallerysubscriptions"], p["sharedgalleries"]
	if sub, name, ok := galleon.ParseGalleryUniqueName(gallery); ok && strings.EqualFold(sub, publisher) {
		gallery = name
	}
	g, err := s.Store.RespondToShare(r.Context(), c.ShareConsumer, publisher, gallery, accept)
	if err != nil {
		return err
	}
	out := sharedGalleryInviteJSON{Name: g.UniqueName(), Location: c.location, Identifier: uniqueIdentifier{"/SharedGalleries/" + g.UniqueName()}}
	out.Properties.ID = g.ID.SubscriptionID
	writeJSON(w, http.StatusOK, out)
	return nil
}
