package armapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/internal/failpoint"
)

var galleryVersionAPI = apiVersions{provider: true, resourceType: "galleries/images/versions", versions: galleryVersions}

func versionRoutes() map[routeKey]route {
	const typ = "microsoft.compute/galleries/images/versions"
	const action = "Microsoft.Compute/galleries/images/versions/"
	return map[routeKey]route{
		{typ, true}: {galleryVersionAPI, map[string]endpoint{
			http.MethodGet: {action: action + "read", handle: (*Server).listImageVersions},
		}},
		{typ + "/begingetaccess", true}: {galleryVersionAPI, map[string]endpoint{
			http.MethodPost: {action: action + "read", handle: (*Server).beginGetVersionAccess, dataAction: authz.ActionDownloadVersion},
		}},
		{typ, false}: {galleryVersionAPI, map[string]endpoint{
			http.MethodGet:    {action: action + "read", handle: (*Server).getImageVersion},
			http.MethodPut:    {action: action + "write", handle: (*Server).putImageVersion},
			http.MethodPatch:  {action: action + "write", handle: (*Server).patchImageVersion},
			http.MethodDelete: {action: action + "delete", handle: (*Server).deleteImageVersion},
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

func imageVersionID(r *request) galleon.ImageVersionID { return versionIDOf(r.id) }

// versionIDOf is the image version a parsed id of that type names (the
// router and the callers have checked its type).
func versionIDOf(rid *arm.ResourceID) galleon.ImageVersionID {
	return galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{
		SubscriptionID: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Name: rid.Parent.Parent.Name},
		Image: rid.Parent.Name}, Version: rid.Name}
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
	// Azure restores a soft-deleted version by a PUT with restore set, or
	// with only its location (the documented recovery request).
	asked := body.Properties.Restore != nil && *body.Properties.Restore
	if asked || !body.Properties.StorageProfile.HasSources() {
		if handled, err := s.restoreImageVersion(w, r, id, asked); handled || err != nil {
			return err
		}
	}
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeImageVersion)
	if err != nil {
		return err
	}
	v := &galleon.ImageVersion{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
	v.Properties.ProvisioningState, v.Properties.ReplicationStatus, v.Properties.Restore = "", nil, nil
	return s.saveImageVersion(w, r, v)
}

func (s *Server) patchImageVersion(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := imageVersionID(r)
	var restore struct {
		Restore *bool `json:"restore"`
	}
	if len(body.Properties) > 0 {
		// mergeProperties reports a malformed body below.
		_ = json.Unmarshal(body.Properties, &restore)
	}
	if restore.Restore != nil && *restore.Restore {
		if handled, err := s.restoreImageVersion(w, r, id, true); handled || err != nil {
			return err
		}
	}
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
	v.Properties.Restore = nil
	return s.saveImageVersion(w, r, &v)
}

// saveImageVersion applies the rules of PUT and PATCH, checks the sources,
// stores the version and starts replication.
func (s *Server) saveImageVersion(w http.ResponseWriter, r *request, v *galleon.ImageVersion) error {
	now := s.now()
	existing, err := s.Store.GetImageVersion(r.Context(), v.ID)
	if err != nil && galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return err
	}
	// Sources cannot change, and some clients (az sig image-version
	// update) send the storage profile back without them: that keeps the
	// version's own.
	if existing != nil && !v.Properties.StorageProfile.HasSources() {
		v.Properties.StorageProfile = existing.Properties.StorageProfile
	}
	// Whatever the body names beyond what the version already has is
	// authorized before anything is looked up or copied; the replication
	// that follows runs without a caller.
	refs, err := galleon.NewReferences(existing, v)
	if err != nil {
		return err
	}
	if err := s.authorizeReferences(r, refs, v.Location); err != nil {
		return err
	}
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
	if existing == nil {
		if err := s.checkSources(r, v, def); err != nil {
			return err
		}
	}
	op := s.newOperation(v.ID.SubscriptionID, v.Location, galleon.OperationReplicateImageVersion, v.ID.String())
	// The version and its replication are stored in one transaction: a
	// crash after it leaves work for the runner, never a version Creating
	// with nothing to finish it.
	stored, created, err := s.Store.PutImageVersionAndStart(r.Context(), v.ID, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		n := *v
		if old != nil {
			n.ID = old.ID
			if err := galleon.UpdateImageVersion(old, &n); err != nil {
				return nil, err
			}
			n.Properties.ProvisioningState = galleon.ProvisioningUpdating
			n.Properties.ReplicationStatus = old.Properties.ReplicationStatus
		} else if existing != nil {
			// Its sources were neither authorized nor checked as a new
			// version's: they were the one that is gone now.
			return nil, galleon.Errorf(galleon.CodeConflict, "The image version '%s' was deleted while it was being updated.", v.ID.Version)
		} else {
			n.Properties.ProvisioningState = galleon.ProvisioningCreating
			n.Properties.PublishingProfile.PublishedDate = &now
			n.Properties.SafetyProfile = safetyDefaults(n.Properties.SafetyProfile)
		}
		n.Properties.ReplicationStatus = pendingStatus(n.Properties.ReplicationStatus, n.Properties.PublishingProfile.TargetRegions)
		n.SystemData.Touch(r.principal, now)
		return &n, nil
	}, op)
	if err != nil {
		return err
	}
	if err := failpoint.Hit("version-put/after-store"); err != nil {
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

// safetyDefaults fills in what Azure reports for a new version's safety
// profile: replicated regions cannot be removed, and the version has not
// been reported for a policy violation.
func safetyDefaults(sp *galleon.SafetyProfile) *galleon.SafetyProfile {
	out := &galleon.SafetyProfile{}
	if sp != nil {
		*out = *sp
	}
	f := false
	if out.AllowDeletionOfReplicatedLocations == nil {
		out.AllowDeletionOfReplicatedLocations = &f
	}
	out.ReportedForPolicyViolation = &f
	return out
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
// region, hold sealed bytes, and match the definition's OS type, state and
// generation. Each disk's size and digest are filled in; a whole-version
// source (a managed image or another image version) lists its disks in
// osDiskImage and dataDiskImages. A VHD given by uri is read by the
// replication that follows, which fills in its size and digest then.
func (s *Server) checkSources(r *request, v *galleon.ImageVersion, def *galleon.ImageDefinition) error {
	sp := &v.Properties.StorageProfile
	const target = "galleryImageVersion.properties.storageProfile"
	if sp.Source != nil && sp.Source.ID != "" {
		// The same strict reading of the id as galleon.References: what
		// is looked up is exactly what was authorized.
		rid, err := galleon.ParseResourceRef(sp.Source.ID)
		switch {
		case err == nil && rid.Is(galleon.TypeManagedImage):
			return s.checkManagedImageSource(r.Context(), v, def, rid.DiskID(), target+".source.id")
		case err == nil && rid.Is(galleon.TypeImageVersion):
			return s.checkVersionSource(r.Context(), v, def, rid.ImageVersionID(), target+".source.id")
		case err == nil && (rid.Is(galleon.TypeDisk) || rid.Is(galleon.TypeSnapshot)):
			if sp.OSDiskImage == nil {
				sp.OSDiskImage = &galleon.DiskImage{}
			}
			return s.checkDisk(r, v, def, sp.Source.ID, sp.OSDiskImage, target+".source.id", true)
		default:
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".source.id",
				"The source '%s' is not a managed image, image version, disk or snapshot id; virtual machines as sources are not supported: Galleon has none.", sp.Source.ID)
		}
	}
	if sp.OSDiskImage != nil && sp.OSDiskImage.Source != nil {
		if err := s.checkDiskSource(r, v, def, sp.OSDiskImage, target+".osDiskImage.source", true); err != nil {
			return err
		}
	}
	for i := range sp.DataDiskImages {
		d := &sp.DataDiskImages[i]
		if d.Source == nil {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, fmt.Sprintf("%s.dataDiskImages[%d].source", target, i),
				"The data disk at LUN %d has no source: give source.id (a disk or snapshot) or source.uri and source.storageAccountId.", d.Lun)
		}
		if err := s.checkDiskSource(r, v, def, &d.DiskImage, fmt.Sprintf("%s.dataDiskImages[%d].source", target, i), false); err != nil {
			return err
		}
	}
	return nil
}

// checkDiskSource checks one per-disk source: a disk or snapshot by id, or
// a VHD blob by uri and storage account.
func (s *Server) checkDiskSource(r *request, v *galleon.ImageVersion, def *galleon.ImageDefinition, img *galleon.DiskImage, target string, os bool) error {
	src := img.Source
	if src.URI == "" {
		return s.checkDisk(r, v, def, src.ID, img, target+".id", os)
	}
	if err := checkBlobSource(src.URI, src.StorageAccountID, target); err != nil {
		return err
	}
	// The reconciler fetches the blob later; what can be refused now is.
	if s.DiskData != nil {
		if err := s.DiskData.CheckSourceURI(src.URI, target+".uri"); err != nil {
			return err
		}
	}
	img.SHA256, img.SizeInGB = "", nil // known once replication has read the blob
	defaultHostCaching(img, os)
	return nil
}

// checkBlobSource checks a VHD blob source: an http(s) URL in the storage
// account that storageAccountID names, by the account's host
// (<account>.blob.…) or, as emulators and stacks address blobs, by its
// first path segment.
func checkBlobSource(uri, storageAccountID, target string) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".uri", "The source uri '%s' is not an http(s) URL.", uri)
	}
	acct, err := arm.ParseResourceID(storageAccountID)
	if err != nil || !strings.EqualFold(acct.ResourceType.String(), "Microsoft.Storage/storageAccounts") {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".storageAccountId",
			"'%s' is not a storage account id (/subscriptions/…/resourceGroups/…/providers/Microsoft.Storage/storageAccounts/{name}).", storageAccountID)
	}
	host, _, _ := strings.Cut(u.Hostname(), ".")
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !strings.EqualFold(host, acct.Name) && !strings.EqualFold(first, acct.Name) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".uri",
			"The blob '%s' is not in the storage account '%s'.", uri, acct.Name)
	}
	return nil
}

func defaultHostCaching(img *galleon.DiskImage, os bool) {
	if img.HostCaching == "" {
		img.HostCaching = "ReadOnly"
		if !os {
			img.HostCaching = "None"
		}
	}
}

// checkDefinitionMatch answers a source whose OS type, state or generation
// differs from the definition's.
func checkDefinitionMatch(def *galleon.ImageDefinition, target, osType, osState, generation string) error {
	dp := def.Properties
	switch {
	case osType != "" && !strings.EqualFold(osType, dp.OSType):
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source's OS type %s does not match the image definition's %s.", osType, dp.OSType)
	case osState != "" && !strings.EqualFold(osState, dp.OSState):
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source's OS state %s does not match the image definition's %s.", osState, dp.OSState)
	case generation != "" && !strings.EqualFold(generation, dp.HyperVGeneration):
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source's hypervisor generation %s does not match the image definition's %s.", generation, dp.HyperVGeneration)
	}
	return nil
}

// checkManagedImageSource takes a managed image in the version's region as
// the source of every disk.
func (s *Server) checkManagedImageSource(ctx context.Context, v *galleon.ImageVersion, def *galleon.ImageDefinition, id galleon.DiskID, target string) error {
	img, err := s.Store.GetManagedImage(ctx, id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The managed image '%s' could not be found.", id.String())
	}
	if err != nil {
		return err
	}
	if galleon.NormalizeLocation(img.Location) != galleon.NormalizeLocation(v.Location) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The managed image '%s' is in %s; it must be in the image version's region %s.", img.ID.Name, img.Location, v.Location)
	}
	os := img.Properties.StorageProfile.OSDisk
	if err := checkDefinitionMatch(def, target, os.OSType, os.OSState, img.Properties.HyperVGeneration); err != nil {
		return err
	}
	var disks []sourceDiskImage
	for _, d := range img.Disks() {
		disks = append(disks, sourceDiskImage{lun: d.Lun, sizeInGB: d.DiskSizeGB, caching: d.Caching, sha256: d.SHA256})
	}
	fillDisks(&v.Properties.StorageProfile, disks)
	return nil
}

// checkVersionSource takes another image version, replicated to this
// version's region, as the source of every disk.
func (s *Server) checkVersionSource(ctx context.Context, v *galleon.ImageVersion, def *galleon.ImageDefinition, id galleon.ImageVersionID, target string) error {
	if galleon.Fold(id.String()) == galleon.Fold(v.ID.String()) {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "An image version cannot be its own source.")
	}
	src, err := s.Store.GetImageVersion(ctx, id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The image version '%s' could not be found.", id.String())
	}
	if err != nil {
		return err
	}
	if src.Properties.ProvisioningState != galleon.ProvisioningSucceeded {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source image version %s is %s; it can be a source once it has Succeeded.", src.ID.Version, src.Properties.ProvisioningState)
	}
	replicated := false
	for _, tr := range src.Properties.PublishingProfile.TargetRegions {
		replicated = replicated || galleon.NormalizeLocation(tr.Name) == galleon.NormalizeLocation(v.Location)
	}
	if !replicated {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source image version %s is not replicated to the image version's region %s.", src.ID.Version, v.Location)
	}
	srcDef, err := s.Store.GetImageDefinition(ctx, id.ImageDefinitionID)
	if err != nil {
		return err
	}
	sd := srcDef.Properties
	if err := checkDefinitionMatch(def, target, sd.OSType, sd.OSState, sd.HyperVGeneration); err != nil {
		return err
	}
	ssp := src.Properties.StorageProfile
	var disks []sourceDiskImage
	if os := ssp.OSDiskImage; os != nil {
		disks = append(disks, sourceDiskImage{sizeInGB: os.SizeInGB, caching: os.HostCaching, sha256: os.SHA256})
	}
	for _, d := range ssp.DataDiskImages {
		lun := d.Lun
		disks = append(disks, sourceDiskImage{lun: &lun, sizeInGB: d.SizeInGB, caching: d.HostCaching, sha256: d.SHA256})
	}
	fillDisks(&v.Properties.StorageProfile, disks)
	return nil
}

// sourceDiskImage is one disk of a whole-version source.
type sourceDiskImage struct {
	lun             *int32
	sizeInGB        *int32
	caching, sha256 string
}

// fillDisks describes a whole-version source's disks in the version's
// osDiskImage and dataDiskImages, keeping a host caching the request gave.
func fillDisks(sp *galleon.VersionStorageProfile, disks []sourceDiskImage) {
	given := map[string]string{}
	if sp.OSDiskImage != nil {
		given["os"] = sp.OSDiskImage.HostCaching
	}
	for _, d := range sp.DataDiskImages {
		given[galleon.VersionDisk(&d.Lun)] = d.HostCaching
	}
	sp.OSDiskImage, sp.DataDiskImages = nil, nil
	for _, d := range disks {
		img := galleon.DiskImage{SizeInGB: d.sizeInGB, HostCaching: d.caching, SHA256: d.sha256}
		if c := given[galleon.VersionDisk(d.lun)]; c != "" {
			img.HostCaching = c
		}
		defaultHostCaching(&img, d.lun == nil)
		if d.lun == nil {
			sp.OSDiskImage = &img
		} else {
			sp.DataDiskImages = append(sp.DataDiskImages, galleon.DataDiskImage{Lun: *d.lun, DiskImage: img})
		}
	}
}

func (s *Server) checkDisk(r *request, v *galleon.ImageVersion, def *galleon.ImageDefinition, source string, img *galleon.DiskImage, target string, os bool) error {
	d, err := s.sourceDisk(r.Context(), source, target, v.Location)
	if err != nil {
		return err
	}
	if os {
		if err := checkDefinitionMatch(def, target, d.Properties.OSType, "", d.Properties.HyperVGeneration); err != nil {
			return err
		}
	}
	if d.Properties.DiskSizeBytes != nil {
		gb := int32((*d.Properties.DiskSizeBytes + 1<<30 - 1) >> 30)
		img.SizeInGB = &gb
	}
	defaultHostCaching(img, os)
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
	kept, err := s.Store.SoftDeleteImageVersion(r.Context(), id, s.softDeleteRetention())
	if err != nil {
		return err
	}
	// The metadata is gone first: a replication pass that runs now finds no
	// version and stops, and nothing names the manifests any more. A
	// soft-deleted version keeps its manifests, and so its chunks, until
	// it is purged.
	if !kept && s.DiskData != nil {
		if err := s.DiskData.DeleteVersionContent(r.Context(), v); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// beginGetVersionAccess is Galleon's extension for downloading a version:
// POST …/versions/{v}/beginGetAccess {"location", "lun", "durationInSeconds"}
// answers a read SAS for one disk of the version (the OS disk, or the data
// disk at lun) from its replica in location (default: the version's own).
// It needs the data action Microsoft.Compute/galleries/images/versions/download/action.
func (s *Server) beginGetVersionAccess(w http.ResponseWriter, r *request) error {
	var body struct {
		Location          string `json:"location"`
		Lun               *int32 `json:"lun"`
		DurationInSeconds int32  `json:"durationInSeconds"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.DurationInSeconds < 0 || body.DurationInSeconds > 5*24*3600 {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "durationInSeconds",
			"The duration %d is out of range; it must be from 1 to %d seconds.", body.DurationInSeconds, 5*24*3600)
	}
	if body.DurationInSeconds == 0 {
		body.DurationInSeconds = 3600
	}
	if s.DiskData == nil {
		return galleon.Errorf(galleon.CodeInternal, "The data plane is not configured.")
	}
	// The action's path is …/versions/{v}/beginGetAccess: the version is
	// the parent of the parsed id.
	id := versionIDOf(r.id.Parent)
	v, err := s.Store.GetImageVersion(r.Context(), id)
	if err != nil {
		return err
	}
	region := v.Location
	if body.Location != "" {
		if region, err = s.Regions.Resolve(body.Location, galleon.TypeImageVersion); err != nil {
			return err
		}
	}
	region = galleon.NormalizeLocation(region)
	replicated := false
	if rs := v.Properties.ReplicationStatus; rs != nil {
		for _, st := range rs.Summary {
			replicated = replicated || galleon.NormalizeLocation(st.Region) == region && st.State == galleon.ReplicationCompleted
		}
	}
	if !replicated {
		return galleon.TargetErrorf(galleon.CodeOperationNotAllowed, "location",
			"The image version %s has no completed replica in %s.", id.Version, region)
	}
	if body.Lun != nil {
		found := false
		for _, d := range v.Properties.StorageProfile.DataDiskImages {
			found = found || d.Lun == *body.Lun
		}
		if !found {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, "lun", "The image version has no data disk at LUN %d.", *body.Lun)
		}
	}
	sas, err := s.DiskData.VersionAccessURL(id, region, galleon.VersionDisk(body.Lun), s.now().Add(time.Duration(body.DurationInSeconds)*time.Second))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"accessSAS": sas})
	return nil
}
