package armapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/failpoint"
)

// diskVersions are the stable DiskRP api-versions of disks and snapshots.
var diskVersions = []string{
	"2016-04-30-preview", "2017-03-30", "2018-04-01", "2018-06-01", "2018-09-30", "2019-03-01", "2019-07-01",
	"2019-11-01", "2020-05-01", "2020-06-30", "2020-09-30", "2020-12-01", "2021-04-01", "2021-08-01",
	"2021-12-01", "2022-03-02", "2022-07-02", "2023-01-02", "2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02",
}

var (
	diskAPI     = apiVersions{provider: true, resourceType: "disks", versions: diskVersions}
	snapshotAPI = apiVersions{provider: true, resourceType: "snapshots", versions: diskVersions}
)

// diskRoutes serve disks and snapshots, which share one shape.
func diskRoutes(typ string, api apiVersions) map[routeKey]route {
	folded := strings.ToLower(typ)
	action := func(verb string) string { return typ + "/" + verb }
	return map[routeKey]route{
		{folded, true}: {api, map[string]endpoint{
			http.MethodGet: {action: action("read"), handle: (*Server).listDisks},
		}},
		{folded + "/begingetaccess", true}: {api, map[string]endpoint{
			http.MethodPost: {action: action("beginGetAccess/action"), handle: (*Server).beginGetAccess},
		}},
		{folded + "/endgetaccess", true}: {api, map[string]endpoint{
			http.MethodPost: {action: action("endGetAccess/action"), handle: (*Server).endGetAccess},
		}},
		{folded, false}: {api, map[string]endpoint{
			http.MethodGet:    {action: action("read"), handle: (*Server).getDisk},
			http.MethodPut:    {action: action("write"), handle: (*Server).putDisk},
			http.MethodPatch:  {action: action("write"), handle: (*Server).patchDisk},
			http.MethodDelete: {action: action("delete"), handle: (*Server).deleteDisk},
		}},
	}
}

type diskJSON struct {
	ID         string                 `json:"id,omitempty"`
	Name       string                 `json:"name,omitempty"`
	Type       string                 `json:"type,omitempty"`
	Location   string                 `json:"location"`
	Tags       map[string]string      `json:"tags,omitempty"`
	SKU        *diskSKU               `json:"sku,omitempty"`
	Properties galleon.DiskProperties `json:"properties"`
}

type diskSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

func toDiskJSON(d *galleon.Disk) diskJSON {
	return diskJSON{ID: d.ID.String(), Name: d.ID.Name, Type: d.ID.Type, Location: d.Location, Tags: d.Tags,
		SKU: &diskSKU{Name: "Standard_LRS", Tier: "Standard"}, Properties: d.Properties}
}

// diskType is the canonical type of the route's resource.
func diskType(r *request) string {
	if strings.EqualFold(r.id.ResourceType.Types[len(r.id.ResourceType.Types)-1], "snapshots") {
		return galleon.TypeSnapshot
	}
	return galleon.TypeDisk
}

func diskID(r *request) galleon.DiskID {
	return galleon.DiskID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Type: diskType(r), Name: r.id.Name}
}

func (s *Server) getDisk(w http.ResponseWriter, r *request) error {
	d, err := s.Store.GetDisk(r.Context(), diskID(r))
	if err != nil {
		return err
	}
	writeResource(w, http.StatusOK, d.Properties.ProvisioningState, toDiskJSON(d))
	return nil
}

func (s *Server) listDisks(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	disks, next, err := s.Store.ListDisks(r.Context(), galleon.DiskID{SubscriptionID: r.id.SubscriptionID,
		ResourceGroup: r.id.ResourceGroupName, Type: diskType(r)}, page)
	if err != nil {
		return err
	}
	out := make([]diskJSON, len(disks))
	for i := range disks {
		out[i] = toDiskJSON(&disks[i])
	}
	return s.writeList(w, r, out, next)
}

// putDisk creates a disk or snapshot, or updates what may change. Bytes
// arrive separately: an Upload disk waits in ReadyToUpload for a write SAS.
func (s *Server) putDisk(w http.ResponseWriter, r *request) error {
	var body diskJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := diskID(r)
	loc, err := s.Regions.Resolve(body.Location, id.Type)
	if err != nil {
		return err
	}
	now := s.now()
	existing, err := s.Store.GetDisk(r.Context(), id)
	if err != nil && galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return err
	}
	// Whatever the body names beyond what the disk already has is
	// authorized before anything is looked up or copied.
	refs, err := galleon.NewReferences(existing, &galleon.Disk{ID: id, Location: loc, Properties: body.Properties})
	if err != nil {
		return err
	}
	if err := s.authorizeReferences(r, refs, loc); err != nil {
		return err
	}
	// A disk made from an image version, an import or a copy gets its
	// content before it is stored: that is bucket I/O, kept out of the
	// store's transaction.
	var content *imageContent
	opt := body.Properties.CreationData.CreateOption
	if strings.EqualFold(opt, galleon.CreateFromImage) || strings.EqualFold(opt, galleon.CreateImport) || strings.EqualFold(opt, galleon.CreateCopy) ||
		strings.EqualFold(opt, galleon.CreateEmpty) {
		if existing == nil {
			probe := galleon.Disk{ID: id, Location: loc, Properties: body.Properties}
			if err := probe.Validate(); err != nil {
				return err
			}
			switch probe.Properties.CreationData.CreateOption {
			case galleon.CreateImport:
				content, err = s.contentFromImport(r, &probe)
			case galleon.CreateCopy:
				content, err = s.contentFromCopy(r, &probe)
			case galleon.CreateEmpty:
				content, err = s.contentFromEmpty(r, &probe)
			default:
				content, err = s.contentFromImage(r, &probe)
			}
			if err != nil {
				return err
			}
		}
	}
	stored := false // whether the new content became the stored disk's
	d, _, err := s.Store.PutDisk(r.Context(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		stored = false // the update may be retried
		d := &galleon.Disk{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
		if old != nil {
			d.ID = old.ID
			if err := galleon.UpdateDisk(old, d); err != nil {
				return nil, err
			}
			d.SystemData.Touch(r.principal, now)
			return d, nil
		}
		if existing != nil {
			// Its references were authorized as an update's, against
			// the disk that is gone now: they are not a new disk's.
			return nil, galleon.Errorf(galleon.CodeConflict, "The disk '%s' was deleted while it was being updated.", id.Name)
		}
		if err := d.Validate(); err != nil {
			return nil, err
		}
		s.newDisk(d, now)
		if content != nil {
			d.Properties.UniqueID = content.uniqueID
			d.Properties.SHA256 = content.sha256
			if content.size != nil {
				d.Properties.DiskSizeBytes = content.size
				gb := int32((*content.size + 1<<30 - 1) >> 30)
				d.Properties.DiskSizeGB = &gb
			}
			if d.Properties.OSType == "" {
				d.Properties.OSType = content.osType
			}
			stored = true
		}
		d.SystemData.Touch(r.principal, now)
		return d, nil
	})
	if content != nil && (err != nil || !stored) {
		// The content written for a disk that was not stored (refused, or
		// created meanwhile by another request) belongs to no one: delete
		// it now rather than leave it to the collector's age threshold.
		orphan := &galleon.Disk{Location: loc, Properties: galleon.DiskProperties{UniqueID: content.uniqueID}}
		if derr := s.DiskData.DeleteDiskContent(context.WithoutCancel(r.Context()), orphan); derr != nil {
			s.logger().Warn("deleting the content of a disk that was not stored", slog.Any("err", derr))
		}
	}
	if err != nil {
		return err
	}
	// DiskRP answers a create with 200 (or 202 while working), never 201:
	// the generated clients accept only those.
	writeJSON(w, http.StatusOK, toDiskJSON(d))
	return nil
}

// newDisk fills in what a new disk reports: its identity, creation time
// and size, and (until the bytes exist) Succeeded provisioning.
func (s *Server) newDisk(d *galleon.Disk, now time.Time) {
	p := &d.Properties
	p.UniqueID = uuid.NewString()
	p.TimeCreated = &now
	p.ProvisioningState = galleon.ProvisioningSucceeded
	switch p.CreationData.CreateOption {
	case galleon.CreateUpload:
		size := *p.CreationData.UploadSizeBytes - 512
		p.DiskSizeBytes = &size
		gb := int32((size + 1<<30 - 1) >> 30)
		p.DiskSizeGB = &gb
	case galleon.CreateEmpty:
		size := int64(*p.DiskSizeGB) << 30
		p.DiskSizeBytes = &size
	}
}

func (s *Server) patchDisk(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := diskID(r)
	now := s.now()
	// Sources cannot change (UpdateDisk), but one a PATCH names is
	// authorized all the same, before the rules say so.
	current, err := s.Store.GetDisk(r.Context(), id)
	location := ""
	if current != nil {
		location = current.Location
	}
	if err := authorizePatchReferences(s, r, current, err, body.Properties,
		func(d *galleon.Disk) *galleon.DiskProperties { return &d.Properties }, location); err != nil {
		return err
	}
	d, _, err := s.Store.PutDisk(r.Context(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		if old == nil {
			return nil, notFound(id.Type, id.Name, id.ResourceGroup)
		}
		d := *old
		if body.Tags != nil {
			d.Tags = *body.Tags
		}
		if err := mergeProperties(&d.Properties, body.Properties); err != nil {
			return nil, err
		}
		if err := galleon.UpdateDisk(old, &d); err != nil {
			return nil, err
		}
		d.SystemData.Touch(r.principal, now)
		return &d, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDiskJSON(d))
	return nil
}

// deleteDisk removes the disk, then its bytes: images and versions made
// from it hold their own copies.
func (s *Server) deleteDisk(w http.ResponseWriter, r *request) error {
	id := diskID(r)
	d, err := s.Store.GetDisk(r.Context(), id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.Store.DeleteDisk(r.Context(), id); err != nil {
		return err
	}
	if s.DiskData != nil {
		if err := s.DiskData.DeleteDiskContent(r.Context(), d); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// parentDiskID is the disk of a POST …/{disk}/beginGetAccess action.
func parentDiskID(r *request) galleon.DiskID {
	typ := galleon.TypeDisk
	if strings.EqualFold(r.id.Parent.ResourceType.Types[len(r.id.Parent.ResourceType.Types)-1], "snapshots") {
		typ = galleon.TypeSnapshot
	}
	return galleon.DiskID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Type: typ, Name: r.id.Parent.Name}
}

// beginGetAccess hands out a SAS URL: Write on an upload disk (which moves
// it to ActiveUpload), Read on a disk with content. It completes within
// the request, answering 200 with the URL, which both SDKs accept.
func (s *Server) beginGetAccess(w http.ResponseWriter, r *request) error {
	var body struct {
		Access            string `json:"access"`
		DurationInSeconds int32  `json:"durationInSeconds"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	write := strings.EqualFold(body.Access, "Write")
	if !write && !strings.EqualFold(body.Access, "Read") {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, "access", "The access level '%s' is not Read or Write.", body.Access)
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
	id := parentDiskID(r)
	now := s.now()
	d, _, err := s.Store.PutDisk(r.Context(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		if old == nil {
			return nil, notFound(id.Type, id.Name, id.ResourceGroup)
		}
		d := *old
		p := &d.Properties
		switch {
		case write && p.DiskState != galleon.DiskReadyToUpload && p.DiskState != galleon.DiskActiveUpload:
			return nil, galleon.Errorf(galleon.CodeOperationNotAllowed,
				"Write access can be granted only to a disk created with createOption Upload that is in state ReadyToUpload or ActiveUpload; '%s' is %s.", id.Name, p.DiskState)
		case !write && p.SHA256 == "":
			return nil, galleon.Errorf(galleon.CodeOperationNotAllowed,
				"Read access needs content: '%s' is %s and holds no sealed bytes yet.", id.Name, p.DiskState)
		}
		if write {
			p.DiskState = galleon.DiskActiveUpload
		}
		return &d, nil
	})
	if err != nil {
		return err
	}
	if !write && d.Properties.CreationData.UploadSizeBytes != nil {
		// A seal recorded just before a crash may not have written the
		// content yet; reading finishes it rather than find nothing.
		if err := s.DiskData.FinishSeal(r.Context(), d); err != nil {
			return err
		}
	}
	sas, err := s.DiskData.AccessURL(d, write, now.Add(time.Duration(body.DurationInSeconds)*time.Second))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"accessSAS": sas})
	return nil
}

// endGetAccess ends access. Every SAS handed out for the disk so far is
// revoked (its access generation goes up); for an upload that means
// sealing the uploaded bytes into the disk's content (ActiveUpload →
// Unattached). A seal is four steps, each safe to repeat after a crash:
//
//  1. claim: the generation goes up, which ends the write SAS (no page
//     lands while the bytes are read) and names this attempt;
//  2. DiskData.Seal reads the staged pages into a pending copy and
//     returns their digest; nothing is deleted;
//  3. record: the disk becomes Unattached with the digest, only if no
//     other seal claimed it since (else 409 Conflict: one seal wins);
//  4. DiskData.FinishSeal makes the pending copy the content and deletes
//     the staged pages.
//
// A crash before 3 leaves the disk ActiveUpload with its pages: a retry
// seals again, to the same digest. A crash after 3 leaves it Unattached:
// a retry (any endGetAccess) runs step 4 again, which finds the recorded
// digest's bytes or fails; it never records other bytes.
func (s *Server) endGetAccess(w http.ResponseWriter, r *request) error {
	id := parentDiskID(r)
	d, err := s.Store.GetDisk(r.Context(), id)
	if err != nil {
		return err
	}
	if s.DiskData == nil {
		return galleon.Errorf(galleon.CodeInternal, "The data plane is not configured.")
	}
	if d.Properties.DiskState != galleon.DiskActiveUpload {
		// A seal recorded before a crash is finished before its leftovers
		// could be mistaken for anything else.
		if d.Properties.SHA256 != "" {
			if err := s.DiskData.FinishSeal(r.Context(), d); err != nil {
				return err
			}
		}
		if _, err := s.revokeAccess(r, id, d.Properties.UniqueID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	claimed, err := s.revokeAccess(r, id, d.Properties.UniqueID)
	if err != nil {
		return err
	}
	if claimed.Properties.DiskState != galleon.DiskActiveUpload {
		w.WriteHeader(http.StatusOK) // sealed by another call meanwhile
		return nil
	}
	// Sealing reads every byte; it runs outside the store's transaction.
	digest, err := s.DiskData.Seal(r.Context(), claimed)
	if err != nil {
		return err
	}
	sealed, _, err := s.Store.PutDisk(r.Context(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		if old == nil || old.Properties.UniqueID != d.Properties.UniqueID {
			return nil, notFound(id.Type, id.Name, id.ResourceGroup)
		}
		if old.AccessGeneration != claimed.AccessGeneration || old.Properties.DiskState != galleon.DiskActiveUpload {
			return nil, galleon.Errorf(galleon.CodeConflict,
				"Another endGetAccess sealed '%s' or began to while this one read its bytes; only that one's result is kept.", id.Name)
		}
		n := *old
		n.Properties.DiskState = galleon.DiskUnattached
		n.Properties.SHA256 = digest
		n.RevokeAccess() // a write SAS granted while sealing ends here
		return &n, nil
	})
	if galleon.ErrorCode(err) == galleon.CodeConflict {
		// The winner may have finished before this seal's pending copy
		// landed; finishing again removes it. Best effort: the disk's
		// deletion removes it too.
		if won, gerr := s.Store.GetDisk(r.Context(), id); gerr == nil && won.Properties.SHA256 != "" {
			_ = s.DiskData.FinishSeal(r.Context(), won)
		}
	}
	if err != nil {
		return err
	}
	if err := failpoint.Hit("seal/after-record"); err != nil {
		return err
	}
	if err := s.DiskData.FinishSeal(r.Context(), sealed); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// revokeAccess raises the disk's access generation, ending every SAS
// handed out for it, and returns the disk as stored.
func (s *Server) revokeAccess(r *request, id galleon.DiskID, uniqueID string) (*galleon.Disk, error) {
	d, _, err := s.Store.PutDisk(r.Context(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		if old == nil || old.Properties.UniqueID != uniqueID {
			return nil, notFound(id.Type, id.Name, id.ResourceGroup)
		}
		n := *old
		n.RevokeAccess()
		return &n, nil
	})
	return d, err
}

// imageContent is the content a new disk takes from an image version, an
// import or another disk.
type imageContent struct {
	uniqueID, sha256, osType string
	size                     *int64
}

// contentFromImage resolves a FromImage disk's reference (a version, or a
// definition meaning its latest version in the disk's region) and copies
// that version's disk content into a new content id.
func (s *Server) contentFromImage(r *request, d *galleon.Disk) (*imageContent, error) {
	const target = "properties.creationData.galleryImageReference"
	ref := d.Properties.CreationData.GalleryImageReference
	if ref == nil {
		ref = d.Properties.CreationData.ImageReference
	}
	// The same strict reading of the id as galleon.References: what is
	// looked up is exactly what was authorized.
	rid, err := galleon.ParseResourceRef(ref.ID)
	if err != nil {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".id", "'%s' is not an image version or definition id.", ref.ID)
	}
	region := galleon.NormalizeLocation(d.Location)
	var v *galleon.ImageVersion
	switch {
	case rid.Is(galleon.TypeImageVersion):
		if v, err = s.Store.GetImageVersion(r.Context(), rid.ImageVersionID()); err != nil {
			if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
				return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".id", "The image version '%s' could not be found.", ref.ID)
			}
			return nil, err
		}
	case rid.Is(galleon.TypeImageDefinition):
		// Read and the download data action on the definition were
		// authorized; a grant there covers each of its versions, and a
		// share covers the whole gallery, so the version "latest"
		// resolves to needs nothing more.
		if v, err = s.latestVersion(r, rid.ImageDefinitionID(), region); err != nil {
			return nil, err
		}
	default:
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".id", "'%s' is not an image version or definition id.", ref.ID)
	}
	if v.Properties.ProvisioningState != galleon.ProvisioningSucceeded {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".id",
			"The image version %s is %s; a disk can be made from it once it has Succeeded.", v.ID.Version, v.Properties.ProvisioningState)
	}
	replicated := false
	for _, tr := range v.Properties.PublishingProfile.TargetRegions {
		replicated = replicated || galleon.NormalizeLocation(tr.Name) == region
	}
	if !replicated {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".id",
			"The image version %s is not replicated to %s.", v.ID.Version, region)
	}
	var lun *int32
	img := v.Properties.StorageProfile.OSDiskImage
	if ref.Lun != nil {
		lun, img = ref.Lun, nil
		for i := range v.Properties.StorageProfile.DataDiskImages {
			if dd := &v.Properties.StorageProfile.DataDiskImages[i]; dd.Lun == *ref.Lun {
				img = &dd.DiskImage
			}
		}
		if img == nil {
			return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target+".lun", "The image version has no data disk at LUN %d.", *ref.Lun)
		}
	}
	d.Properties.UniqueID = uuid.NewString()
	sha, err := s.DiskData.CopyFromVersion(r.Context(), d, v.ID, galleon.VersionDisk(lun))
	if err != nil {
		return nil, err
	}
	// The replica must hold the bytes the version published: a replica
	// manifest that says otherwise is not handed out as this disk.
	if img != nil && img.SHA256 != "" && sha != img.SHA256 {
		_ = s.DiskData.DeleteDiskContent(context.WithoutCancel(r.Context()), d)
		return nil, galleon.TargetErrorf(galleon.CodeConflict, target+".id",
			"The image version %s's replica in %s is damaged: its content is %s, not the %s the version published. Scrub will repair it from another region's copy if one is good; try again later.",
			v.ID.Version, region, sha, img.SHA256)
	}
	out := &imageContent{uniqueID: d.Properties.UniqueID, sha256: sha}
	if lun == nil {
		def, err := s.Store.GetImageDefinition(r.Context(), v.ID.ImageDefinitionID)
		if err == nil {
			out.osType = def.Properties.OSType
		}
	}
	if img != nil && img.SizeInGB != nil {
		size := int64(*img.SizeInGB) << 30
		out.size = &size
	}
	return out, nil
}

// contentFromCopy shares a disk or snapshot's content with a new one in
// the same region.
func (s *Server) contentFromCopy(r *request, d *galleon.Disk) (*imageContent, error) {
	source, err := s.sourceDisk(r.Context(), d.Properties.CreationData.SourceResourceID, "properties.creationData.sourceResourceId", d.Location)
	if err != nil {
		return nil, err
	}
	d.Properties.UniqueID = uuid.NewString()
	sha, err := s.DiskData.CopyContent(r.Context(), d, source)
	if err != nil {
		return nil, err
	}
	return &imageContent{uniqueID: d.Properties.UniqueID, sha256: sha, size: source.Properties.DiskSizeBytes, osType: source.Properties.OSType}, nil
}

// contentFromEmpty makes an Empty disk's all-zero content.
func (s *Server) contentFromEmpty(r *request, d *galleon.Disk) (*imageContent, error) {
	d.Properties.UniqueID = uuid.NewString()
	size := int64(*d.Properties.DiskSizeGB) << 30
	sha, err := s.DiskData.EmptyContent(r.Context(), d, size)
	if err != nil {
		return nil, err
	}
	return &imageContent{uniqueID: d.Properties.UniqueID, sha256: sha, size: &size}, nil
}

// contentFromImport reads an Import disk's source into new content.
func (s *Server) contentFromImport(r *request, d *galleon.Disk) (*imageContent, error) {
	d.Properties.UniqueID = uuid.NewString()
	sha, size, err := s.DiskData.Import(r.Context(), d)
	if err != nil {
		return nil, err
	}
	virtual := size - 512
	return &imageContent{uniqueID: d.Properties.UniqueID, sha256: sha, size: &virtual}, nil
}

// latestVersion resolves "latest" of a definition in a region.
func (s *Server) latestVersion(r *request, def galleon.ImageDefinitionID, region string) (*galleon.ImageVersion, error) {
	var all []galleon.ImageVersion
	page := galleon.Page{Limit: 1000}
	for {
		vs, next, err := s.Store.ListImageVersions(r.Context(), def, page)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if v.Properties.ProvisioningState == galleon.ProvisioningSucceeded {
				all = append(all, v)
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	v := galleon.Latest(all, region, s.now())
	if v == nil {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.creationData.galleryImageReference.id",
			"The image definition %s has no version that \"latest\" can resolve to in %s.", def.Image, region)
	}
	return v, nil
}
