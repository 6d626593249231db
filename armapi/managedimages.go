package armapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// computeVersions are the stable ComputeRP api-versions, which managed
// images are served under.
var computeVersions = []string{
	"2015-06-15", "2016-03-30", "2016-04-30-preview", "2017-03-30", "2017-12-01", "2018-04-01", "2018-06-01",
	"2018-10-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01", "2021-03-01",
	"2021-04-01", "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01", "2023-03-01",
	"2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01",
}

var managedImageAPI = apiVersions{provider: true, resourceType: "images", versions: computeVersions}

func managedImageRoutes() map[routeKey]route {
	const typ = "microsoft.compute/images"
	const action = "Microsoft.Compute/images/"
	return map[routeKey]route{
		{typ, true}: {managedImageAPI, map[string]endpoint{
			http.MethodGet: {action: action + "read", handle: (*Server).listManagedImages},
		}},
		{typ, false}: {managedImageAPI, map[string]endpoint{
			http.MethodGet:    {action: action + "read", handle: (*Server).getManagedImage},
			http.MethodPut:    {action: action + "write", handle: (*Server).putManagedImage},
			http.MethodPatch:  {action: action + "write", handle: (*Server).patchManagedImage},
			http.MethodDelete: {action: action + "delete", handle: (*Server).deleteManagedImage},
		}},
	}
}

type managedImageJSON struct {
	ID         string                         `json:"id,omitempty"`
	Name       string                         `json:"name,omitempty"`
	Type       string                         `json:"type,omitempty"`
	Location   string                         `json:"location"`
	Tags       map[string]string              `json:"tags,omitempty"`
	Properties galleon.ManagedImageProperties `json:"properties"`
}

func toManagedImageJSON(img *galleon.ManagedImage) managedImageJSON {
	return managedImageJSON{ID: img.ID.String(), Name: img.ID.Name, Type: galleon.TypeManagedImage, Location: img.Location,
		Tags: img.Tags, Properties: img.Properties}
}

func managedImageID(r *request) galleon.DiskID {
	return galleon.DiskID{SubscriptionID: r.id.SubscriptionID, ResourceGroup: r.id.ResourceGroupName, Type: galleon.TypeManagedImage, Name: r.id.Name}
}

func (s *Server) getManagedImage(w http.ResponseWriter, r *request) error {
	img, err := s.Store.GetManagedImage(r.Context(), managedImageID(r))
	if err != nil {
		return err
	}
	writeResource(w, http.StatusOK, img.Properties.ProvisioningState, toManagedImageJSON(img))
	return nil
}

func (s *Server) listManagedImages(w http.ResponseWriter, r *request) error {
	page, err := s.page(r)
	if err != nil {
		return err
	}
	imgs, next, err := s.Store.ListManagedImages(r.Context(), galleon.DiskID{SubscriptionID: r.id.SubscriptionID,
		ResourceGroup: r.id.ResourceGroupName}, page)
	if err != nil {
		return err
	}
	out := make([]managedImageJSON, len(imgs))
	for i := range imgs {
		out[i] = toManagedImageJSON(&imgs[i])
	}
	return s.writeList(w, r, out, next)
}

// putManagedImage captures a managed image: each disk's bytes are copied
// from its snapshot or managed disk (in the image's region) or imported
// from its blob URI before the image is stored, so the image answers
// Succeeded at once and its sources may be deleted afterwards. Updating an
// image changes only its tags, as in Azure.
func (s *Server) putManagedImage(w http.ResponseWriter, r *request) error {
	var body managedImageJSON
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := managedImageID(r)
	loc, err := s.Regions.Resolve(body.Location, galleon.TypeManagedImage)
	if err != nil {
		return err
	}
	now := s.now()
	img := &galleon.ManagedImage{ID: id, Location: loc, Tags: body.Tags, Properties: body.Properties}
	existing, err := s.Store.GetManagedImage(r.Context(), id)
	if err != nil && galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return err
	}
	// Whatever the body names beyond what the image already has is
	// authorized before anything is looked up or copied.
	refs, err := galleon.NewReferences(existing, img)
	if err != nil {
		return err
	}
	if err := s.authorizeReferences(r, refs, loc); err != nil {
		return err
	}
	if existing == nil {
		if err := img.Validate(); err != nil {
			return err
		}
		if err := s.captureImage(r.Context(), img); err != nil {
			return err
		}
	}
	stored, created, err := s.Store.PutManagedImage(r.Context(), id, func(old *galleon.ManagedImage) (*galleon.ManagedImage, error) {
		n := *img
		if old != nil {
			n.ID = old.ID
			if err := galleon.UpdateManagedImage(old, &n); err != nil {
				return nil, err
			}
		} else if existing != nil {
			return nil, galleon.Errorf(galleon.CodeConflict, "The image '%s' was deleted while it was being updated.", id.Name)
		}
		n.SystemData.Touch(r.principal, now)
		return &n, nil
	})
	if err != nil {
		if existing == nil && s.DiskData != nil {
			_ = s.DiskData.DeleteImageContent(context.WithoutCancel(r.Context()), img)
		}
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toManagedImageJSON(stored))
	return nil
}

// captureImage gives each disk of a new image its own copy of its source's
// bytes, and fills in sizes, digests and the OS disk's OS type check.
func (s *Server) captureImage(ctx context.Context, img *galleon.ManagedImage) error {
	if s.DiskData == nil {
		return galleon.Errorf(galleon.CodeInternal, "The data plane is not configured.")
	}
	// Every blob a disk names is checked before any is fetched.
	for _, d := range img.Disks() {
		if d.BlobURI != "" {
			if err := s.DiskData.CheckSourceURI(d.BlobURI, managedImageDiskTarget(d)+".blobUri"); err != nil {
				return err
			}
		}
	}
	img.Properties.UniqueID = uuid.NewString()
	img.Properties.ProvisioningState = galleon.ProvisioningSucceeded
	for i, d := range img.Disks() {
		target := managedImageDiskTarget(d)
		var source *galleon.Disk
		if id := d.Source(); id != "" {
			var err error
			if source, err = s.sourceDisk(ctx, id, target, img.Location); err != nil {
				return err
			}
			if i == 0 && source.Properties.OSType != "" && source.Properties.OSType != img.Properties.StorageProfile.OSDisk.OSType {
				return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
					"The source's OS type %s does not match the image's osType %s.", source.Properties.OSType, img.Properties.StorageProfile.OSDisk.OSType)
			}
		}
		sha, size, err := s.DiskData.ImageDiskContent(ctx, img, d, source, target+".blobUri")
		if err != nil {
			_ = s.DiskData.DeleteImageContent(context.WithoutCancel(ctx), img)
			return err
		}
		d.SHA256 = sha
		gb := int32((size - 512 + 1<<30 - 1) >> 30)
		if d.DiskSizeGB == nil || *d.DiskSizeGB < gb {
			d.DiskSizeGB = &gb
		}
	}
	return nil
}

func managedImageDiskTarget(d galleon.ManagedImageDisk) string {
	where := "properties.storageProfile.osDisk"
	if d.Lun != nil {
		where = "properties.storageProfile.dataDisks"
	}
	switch {
	case d.Snapshot != nil && d.Snapshot.ID != "":
		return where + ".snapshot.id"
	case d.ManagedDisk != nil && d.ManagedDisk.ID != "":
		return where + ".managedDisk.id"
	}
	return where
}

func (s *Server) patchManagedImage(w http.ResponseWriter, r *request) error {
	var body patchBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := managedImageID(r)
	now := s.now()
	// An image's disks cannot change (UpdateManagedImage), but a source a
	// PATCH names is authorized all the same, before the rules say so.
	current, err := s.Store.GetManagedImage(r.Context(), id)
	location := ""
	if current != nil {
		location = current.Location
	}
	if err := authorizePatchReferences(s, r, current, err, body.Properties,
		func(img *galleon.ManagedImage) *galleon.ManagedImageProperties { return &img.Properties }, location); err != nil {
		return err
	}
	img, _, err := s.Store.PutManagedImage(r.Context(), id, func(old *galleon.ManagedImage) (*galleon.ManagedImage, error) {
		if old == nil {
			return nil, notFound(galleon.TypeManagedImage, id.Name, id.ResourceGroup)
		}
		n := *old
		if body.Tags != nil {
			n.Tags = *body.Tags
		}
		if err := mergeProperties(&n.Properties, body.Properties); err != nil {
			return nil, err
		}
		if err := galleon.UpdateManagedImage(old, &n); err != nil {
			return nil, err
		}
		n.SystemData.Touch(r.principal, now)
		return &n, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toManagedImageJSON(img))
	return nil
}

// deleteManagedImage removes the image and its copies of the bytes.
// Versions made from it took their own copies, so they are unaffected.
func (s *Server) deleteManagedImage(w http.ResponseWriter, r *request) error {
	id := managedImageID(r)
	img, err := s.Store.GetManagedImage(r.Context(), id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.Store.DeleteManagedImage(r.Context(), id); err != nil {
		return err
	}
	if s.DiskData != nil {
		if err := s.DiskData.DeleteImageContent(r.Context(), img); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// sourceDisk resolves a disk or snapshot id given as a source: it must
// exist, be in region and hold sealed bytes. Problems are InvalidParameter
// errors naming target.
func (s *Server) sourceDisk(ctx context.Context, source, target, region string) (*galleon.Disk, error) {
	// The same strict reading of the id as galleon.References: what is
	// looked up is exactly what was authorized.
	rid, err := galleon.ParseResourceRef(source)
	if err != nil || !rid.Is(galleon.TypeDisk) && !rid.Is(galleon.TypeSnapshot) {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "'%s' is not a disk or snapshot id.", source)
	}
	d, err := s.Store.GetDisk(ctx, rid.DiskID())
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source '%s' could not be found.", source)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case galleon.NormalizeLocation(d.Location) != galleon.NormalizeLocation(region):
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source '%s' is in %s; it must be in the same region, %s.", source, d.Location, galleon.NormalizeLocation(region))
	case d.Properties.SHA256 == "":
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source '%s' holds no bytes yet (disk state %s): finish its upload with endGetAccess first.", source, d.Properties.DiskState)
	}
	if d.Properties.CreationData.UploadSizeBytes != nil && s.DiskData != nil {
		// A seal recorded just before a crash may not have written the
		// content yet: finish it, so that the source's bytes are there.
		if err := s.DiskData.FinishSeal(ctx, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}
