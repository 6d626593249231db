package armapi

import (
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

var galleryVersionAPI = apiVersions{provider: true, resourceType: "galleries/images/versions", versions: galleryVersions}

func versionRoutes() map[routeKey]route {
	const typ = "microsoft.compute/galleries/images/versions"
	const action = "Microsoft.Compute/galleries/images/versions/"
	return map[routeKey]route{
		{typ, true}: {galleryVersionAPI, map[string]endpoint{
			http.MethodGet: {action + "read", (*Server).listImageVersions},
		}},
		{typ, false}: {galleryVersionAPI, map[string]endpoint{
			http.MethodGet:    {action + "read", (*Server).getImageVersion},
			http.MethodPut:    {action + "write", (*Server).putImageVersion},
			http.MethodPatch:  {action + "write", (*Server).patchImageVersion},
			http.MethodDelete: {action + "delete", (*Server).deleteImageVersion},
		}},
	}
}

type imageVersionJSON struct {
	ID         string                         `json:"id,omitempty"`
	Name       string                         `json:"name,omitempty"`
	Type       string                         `json:"type,omitempty"`
	Location   string                         `json:"location"`
	Tags       map[string]string              `json:"tags,omitempty"`
	Properties galleon.ImageVersionProperties `json:"properties"`
}

// toImageVersionJSON shapes v; replication status only when asked for.
func toImageVersionJSON(v *galleon.ImageVersion, expand bool) imageVersionJSON {
	p := v.Properties
	if !expand {
		p.ReplicationStatus = nil
	}
	return imageVersionJSON{ID: v.ID.String(), Name: v.ID.Version, Type: galleon.TypeImageVersion, Location: v.Location, Tags: v.Tags, Properties: p}
}

func expandReplication(r *request) (bool, error) {
	e := r.URL.Query().Get("$expand")
	if e == "" {
		return false, nil
	}
	if !strings.EqualFold(e, "ReplicationStatus") {
		return false, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$expand",
			"The value '%s' of parameter '$expand' is not allowed. Allowed values are: ReplicationStatus.", e)
	}
	return true, nil
}

func imageVersionID(r *request) galleon.ImageVersionID {
	img, gal := r.id.Parent, r.id.Parent.Parent
	return galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{
		GalleryID: galleon.GalleryID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Name: gal.Name},
		Image:     img.Name}, Version: r.id.Name}
}

func (s *Server) getImageVersion(w http.ResponseWriter, r *request) error {
	expand, err := expandReplication(r)
	if err != nil {
		return err
	}
	v, err := s.Store.GetImageVersion(r.Context(), imageVersionID(r))
	if err != nil {
		return err
	}
	writeResource(w, http.StatusOK, v.Properties.ProvisioningState, toImageVersionJSON(v, expand))
	return nil
}

func (s *Server) listImageVersions(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	def := galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{SubscriptionID: r.id.SubscriptionID,
		ResourceGroup: r.id.ResourceGroupName, Name: r.id.Parent.Parent.Name}, Image: r.id.Parent.Name}
	vs, next, err := s.Store.ListImageVersions(r.Context(), def, page)
	if err != nil {
		return err
	}
	out := make([]imageVersionJSON, len(vs))
	for i := range vs {
		out[i] = toImageVersionJSON(&vs[i], false)
	}
	return s.writeList(w, r, out, next)
}

// putImageVersion creates a version and starts its replication, answering
// 201 Creating with the operation to poll; an update of replication
// settings starts another pass.
func (s *Server) putImageVersion(w http.ResponseWriter, r *request) error {
	var body imageVersionJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := imageVersionID(r)
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeImageVersion)
	if err != nil {
		return err
	}
	v := &galleon.ImageVersion{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
	v.Properties.ProvisioningState, v.Properties.ReplicationStatus = "", nil
	return s.saveImageVersion(w, r, v)
}

func (s *Server) patchImageVersion(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := imageVersionID(r)
	old, err := s.Store.GetImageVersion(r.Context(), id)
	if err != nil {
		return err
	}
	v := *old
	if body.Tags != nil {
		v.Tags = *body.Tags
	}
	if err := mergeProperties(&v.Properties, body.Properties); err != nil {
		return err
	}
	return s.saveImageVersion(w, r, &v)
}

// saveImageVersion applies the rules of PUT and PATCH, checks the sources,
// stores the version and starts replication.
func (s *Server) saveImageVersion(w http.ResponseWriter, r *request, v *galleon.ImageVersion) error {
	now := s.now()
	if err := v.Validate(s.Regions, now); err != nil {
		return err
	}
	def, err := s.Store.GetImageDefinition(r.Context(), v.ID.ImageDefinitionID)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return galleon.Errorf(galleon.CodeParentResourceNotFound,
			"Can not perform requested operation on nested resource. Parent resource '%s' not found.", v.ID.Image)
	}
	if err != nil {
		return err
	}
	existing, err := s.Store.GetImageVersion(r.Context(), v.ID)
	if err != nil && galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return err
	}
	if existing == nil {
		if err := s.checkSources(r, v, def); err != nil {
			return err
		}
	}
	op := s.newOperation(v.ID.SubscriptionID, v.Location, galleon.OperationReplicateImageVersion, v.ID.String())
	stored, created, err := s.Store.PutImageVersion(r.Context(), v.ID, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		n := *v
		if old != nil {
			n.ID = old.ID
			if err := galleon.UpdateImageVersion(old, &n); err != nil {
				return nil, err
			}
			n.Properties.ProvisioningState = galleon.ProvisioningUpdating
			n.Properties.ReplicationStatus = old.Properties.ReplicationStatus
		} else {
			n.Properties.ProvisioningState = galleon.ProvisioningCreating
			n.Properties.PublishingProfile.PublishedDate = &now
		}
		n.Properties.ReplicationStatus = pendingStatus(n.Properties.ReplicationStatus, n.Properties.PublishingProfile.TargetRegions)
		n.SystemData.Touch(r.principal, now)
		return &n, nil
	})
	if err != nil {
		return err
	}
	if err := s.Store.StartOperation(r.Context(), op); err != nil {
		return err
	}
	s.operationStarted()
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeAccepted(w, r, op, status, toImageVersionJSON(stored, false))
	return nil
}

// pendingStatus lists every target region as replicating, keeping the
// progress of regions already under way.
func pendingStatus(old *galleon.ReplicationStatus, targets []galleon.TargetRegion) *galleon.ReplicationStatus {
	prev := map[string]galleon.RegionReplicationStatus{}
	if old != nil {
		for _, s := range old.Summary {
			prev[galleon.NormalizeLocation(s.Region)] = s
		}
	}
	out := &galleon.ReplicationStatus{AggregatedState: galleon.ReplicationInProgress}
	for _, tr := range targets {
		st, ok := prev[tr.Name]
		if !ok || st.State == galleon.ReplicationFailed {
			st = galleon.RegionReplicationStatus{Region: tr.Name, State: galleon.ReplicationReplicating}
		}
		if st.State == galleon.ReplicationCompleted {
			st.State = galleon.ReplicationReplicating // a replica count may have grown
		}
		out.Summary = append(out.Summary, st)
	}
	return out
}

// checkSources resolves each source: it must exist, be in the version's
// region, hold sealed bytes, and match the definition's OS type and
// generation. Each disk's size and digest are filled in.
func (s *Server) checkSources(r *request, v *galleon.ImageVersion, def *galleon.ImageDefinition) error {
	sp := &v.Properties.StorageProfile
	const target = "galleryImageVersion.properties.storageProfile"
	if sp.Source != nil && sp.Source.ID != "" {
		if sp.OSDiskImage == nil {
			sp.OSDiskImage = &galleon.DiskImage{}
		}
		return s.checkDisk(r, v, def, sp.Source.ID, sp.OSDiskImage, target+".source.id", true)
	}
	if sp.OSDiskImage != nil && sp.OSDiskImage.Source != nil {
		if sp.OSDiskImage.Source.URI != "" {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".osDiskImage.source.uri",
				"Sources given by blob uri are not supported yet; import the VHD into a snapshot (createOption Import or Upload) and use its id.")
		}
		if err := s.checkDisk(r, v, def, sp.OSDiskImage.Source.ID, sp.OSDiskImage, target+".osDiskImage.source.id", true); err != nil {
			return err
		}
	}
	for i := range sp.DataDiskImages {
		d := &sp.DataDiskImages[i]
		if d.Source == nil || d.Source.ID == "" {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".dataDiskImages.source",
				"Data disk sources given by blob uri are not supported yet; use a disk or snapshot id.")
		}
		if err := s.checkDisk(r, v, def, d.Source.ID, &d.DiskImage, target+".dataDiskImages.source.id", false); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) checkDisk(r *request, v *galleon.ImageVersion, def *galleon.ImageDefinition, source string, img *galleon.DiskImage, target string, os bool) error {
	rid, err := arm.ParseResourceID(source)
	typ := ""
	if err == nil {
		typ = rid.ResourceType.String()
	}
	if !strings.EqualFold(typ, galleon.TypeSnapshot) && !strings.EqualFold(typ, galleon.TypeDisk) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source '%s' is not a disk or snapshot id; managed images, virtual machines and other image versions as sources are not supported yet.", source)
	}
	dtype := galleon.TypeDisk
	if strings.EqualFold(typ, galleon.TypeSnapshot) {
		dtype = galleon.TypeSnapshot
	}
	d, err := s.Store.GetDisk(r.Context(), galleon.DiskID{SubscriptionID: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Type: dtype, Name: rid.Name})
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source '%s' could not be found.", source)
	}
	if err != nil {
		return err
	}
	switch {
	case galleon.NormalizeLocation(d.Location) != galleon.NormalizeLocation(v.Location):
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source '%s' is in %s; it must be in the image version's region %s.", source, d.Location, v.Location)
	case d.Properties.SHA256 == "":
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source '%s' holds no bytes yet (disk state %s): finish its upload with endGetAccess first.", source, d.Properties.DiskState)
	case os && d.Properties.OSType != "" && d.Properties.OSType != def.Properties.OSType:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source's OS type %s does not match the image definition's %s.", d.Properties.OSType, def.Properties.OSType)
	case os && d.Properties.HyperVGeneration != "" && d.Properties.HyperVGeneration != def.Properties.HyperVGeneration:
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source's hypervisor generation %s does not match the image definition's %s.", d.Properties.HyperVGeneration, def.Properties.HyperVGeneration)
	}
	if d.Properties.DiskSizeBytes != nil {
		gb := int32((*d.Properties.DiskSizeBytes + 1<<30 - 1) >> 30)
		img.SizeInGB = &gb
	}
	if img.HostCaching == "" {
		img.HostCaching = "ReadOnly"
		if !os {
			img.HostCaching = "None"
		}
	}
	img.SHA256 = d.Properties.SHA256
	return nil
}

// deleteImageVersion removes the version and its replicas' manifests; the
// chunks only they named go with the region stores' garbage collection.
func (s *Server) deleteImageVersion(w http.ResponseWriter, r *request) error {
	id := imageVersionID(r)
	v, err := s.Store.GetImageVersion(r.Context(), id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if sp := v.Properties.SafetyProfile; sp != nil && sp.BlockDeletionBeforeEndOfLife != nil && *sp.BlockDeletionBeforeEndOfLife {
		if eol := v.Properties.PublishingProfile.EndOfLifeDate; eol == nil || eol.After(s.now()) {
			return galleon.Errorf(galleon.CodeOperationNotAllowed,
				"The image version '%s' cannot be deleted before its end of life date (safetyProfile.blockDeletionBeforeEndOfLife).", id.Version)
		}
	}
	if _, err := s.Store.DeleteImageVersion(r.Context(), id); err != nil {
		return err
	}
	// The metadata is gone first: a replication pass that runs now finds no
	// version and stops, and nothing names the manifests any more.
	if s.DiskData != nil {
		if err := s.DiskData.DeleteVersionContent(r.Context(), v); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
