package galleon

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Resource types of image sources.
const (
	TypeDisk         = "Microsoft.Compute/disks"
	TypeSnapshot     = "Microsoft.Compute/snapshots"
	TypeManagedImage = "Microsoft.Compute/images"
)

// DiskID identifies a disk or a snapshot: they share one shape, told apart
// by Type.
type DiskID struct {
	SubscriptionID string
	ResourceGroup  string
	Type           string // TypeDisk or TypeSnapshot
	Name           string
}

func (id DiskID) String() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", id.SubscriptionID, id.ResourceGroup, id.Type, id.Name)
}

// ResourceGroupID returns the id of the disk's resource group.
func (id DiskID) ResourceGroupID() ResourceGroupID {
	return ResourceGroupID{SubscriptionID: id.SubscriptionID, Name: id.ResourceGroup}
}

// Disk is a managed disk or a snapshot: a source of image bytes.
type Disk struct {
	ID         DiskID
	Location   string
	Tags       map[string]string
	Properties DiskProperties
	SystemData SystemData
	// AccessGeneration is signed into every SAS URL of the disk; the data
	// plane refuses a SAS whose generation is not the disk's current one.
	// Ending access (revokeAccess) and sealing an upload raise it, so every
	// SAS handed out before stops working at once, not at its expiry. It
	// never goes down, and it is not part of the ARM representation.
	AccessGeneration int64
}

// RevokeAccess ends every SAS URL handed out for the disk so far.
func (d *Disk) RevokeAccess() { d.AccessGeneration++ }

// DiskProperties mirror the ARM properties of disks and snapshots, with
// Azure's JSON names. SHA256 is Galleon's extension: the digest of the
// disk's bytes once they are sealed.
type DiskProperties struct {
	CreationData      CreationData `json:"creationData"`
	DiskSizeGB        *int32       `json:"diskSizeGB,omitempty"`
	DiskSizeBytes     *int64       `json:"diskSizeBytes,omitempty"`
	DiskState         string       `json:"diskState,omitempty"`
	OSType            string       `json:"osType,omitempty"`
	HyperVGeneration  string       `json:"hyperVGeneration,omitempty"`
	ProvisioningState string       `json:"provisioningState,omitempty"`
	TimeCreated       *time.Time   `json:"timeCreated,omitempty"`
	UniqueID          string       `json:"uniqueId,omitempty"`
	SHA256            string       `json:"galleonSha256,omitempty"`
}

// CreationData says where a disk's bytes come from.
type CreationData struct {
	CreateOption          string        `json:"createOption"`
	SourceURI             string        `json:"sourceUri,omitempty"`
	SourceResourceID      string        `json:"sourceResourceId,omitempty"`
	StorageAccountID      string        `json:"storageAccountId,omitempty"`
	UploadSizeBytes       *int64        `json:"uploadSizeBytes,omitempty"`
	ImageReference        *DiskImageRef `json:"imageReference,omitempty"`
	GalleryImageReference *DiskImageRef `json:"galleryImageReference,omitempty"`
}

// DiskImageRef points a FromImage disk at an image version (or a
// definition, meaning its latest version) and a LUN (none: the OS disk).
type DiskImageRef struct {
	ID  string `json:"id,omitempty"`
	Lun *int32 `json:"lun,omitempty"`
}

// Create options Galleon supports.
const (
	CreateEmpty     = "Empty"
	CreateImport    = "Import"
	CreateUpload    = "Upload"
	CreateCopy      = "Copy"
	CreateFromImage = "FromImage"
)

// Disk states, as Azure moves an upload through them.
const (
	DiskReadyToUpload = "ReadyToUpload"
	DiskActiveUpload  = "ActiveUpload"
	DiskUnattached    = "Unattached"
)

// Upload size limits: Azure takes a fixed VHD of 20 MiB to 32 TiB, its
// virtual size a whole number of MiB, plus the 512-byte footer.
const (
	MiB                = 1 << 20
	vhdFooterSize      = 512
	MinUploadSizeBytes = 20*MiB + vhdFooterSize
	MaxUploadSizeBytes = 32*1024*1024*MiB + vhdFooterSize
	maxDiskSizeGB      = 32767
)

var diskNamePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$`)

// ValidateDiskName checks Azure's rule for disk and snapshot names.
func ValidateDiskName(name string) error {
	if diskNamePattern.MatchString(name) {
		return nil
	}
	return TargetErrorf(CodeInvalidParameter, "name",
		"The name '%s' is invalid. Disk and snapshot names may contain letters, digits, underscores, periods and hyphens, must be 1 to 80 characters long, start with a letter or digit and end with a letter, digit or underscore.", name)
}

const diskTarget = "properties."

// Validate checks a new disk's properties and sets its initial state.
func (d *Disk) Validate() error {
	if err := ValidateDiskName(d.ID.Name); err != nil {
		return err
	}
	if err := ValidateTags(d.Tags); err != nil {
		return err
	}
	p := &d.Properties
	cd := &p.CreationData
	opt, ok := canonicalEnum(cd.CreateOption, CreateEmpty, CreateImport, CreateUpload, CreateCopy, CreateFromImage)
	if !ok {
		return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.createOption",
			"The create option '%s' is not supported; use Empty, Import, Upload, Copy or FromImage.", cd.CreateOption)
	}
	cd.CreateOption = opt
	if p.OSType != "" {
		if p.OSType, ok = canonicalEnum(p.OSType, OSTypes...); !ok {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"osType", "The OS type is not one of %v.", OSTypes)
		}
	}
	if p.HyperVGeneration != "" {
		if p.HyperVGeneration, ok = canonicalEnum(p.HyperVGeneration, HyperVGenerations...); !ok {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"hyperVGeneration", "The hypervisor generation is not one of %v.", HyperVGenerations)
		}
	}
	p.DiskState = DiskUnattached
	switch opt {
	case CreateEmpty:
		if p.DiskSizeGB == nil || *p.DiskSizeGB < 1 || *p.DiskSizeGB > maxDiskSizeGB {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"diskSizeGB",
				"An empty disk needs diskSizeGB from 1 to %d.", maxDiskSizeGB)
		}
	case CreateUpload:
		n := cd.UploadSizeBytes
		if n == nil {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.uploadSizeBytes",
				"Required parameter 'creationData.uploadSizeBytes' is missing: give the size of the fixed VHD to upload, footer included.")
		}
		if *n < MinUploadSizeBytes || *n > MaxUploadSizeBytes || (*n-vhdFooterSize)%MiB != 0 {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.uploadSizeBytes",
				"The upload size %d bytes is invalid: it must be a fixed VHD's size, a whole number of MiB plus the 512-byte footer, from %d to %d bytes.",
				*n, int64(MinUploadSizeBytes), int64(MaxUploadSizeBytes))
		}
		p.DiskState = DiskReadyToUpload
	case CreateImport:
		if cd.SourceURI == "" {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.sourceUri", "Importing needs creationData.sourceUri, the URL of a VHD.")
		}
		if !strings.HasPrefix(strings.ToLower(cd.SourceURI), "https://") && !strings.HasPrefix(strings.ToLower(cd.SourceURI), "http://") {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.sourceUri", "The source URI '%s' is not an http(s) URL.", cd.SourceURI)
		}
	case CreateCopy:
		if cd.SourceResourceID == "" {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.sourceResourceId", "Copying needs creationData.sourceResourceId, the id of a disk or snapshot.")
		}
	case CreateFromImage:
		ref := cd.GalleryImageReference
		if ref == nil {
			ref = cd.ImageReference
		}
		if ref == nil || ref.ID == "" {
			return TargetErrorf(CodeInvalidParameter, diskTarget+"creationData.galleryImageReference",
				"Creating from an image needs creationData.galleryImageReference.id: an image version, or an image definition for its latest version.")
		}
	}
	return nil
}

// UpdateDisk validates replacing old by new: how a disk was created and
// where it lives cannot change; tags, OS type and generation can.
func UpdateDisk(old, new *Disk) error {
	if err := ValidateTags(new.Tags); err != nil {
		return err
	}
	if Fold(old.Location) != Fold(new.Location) {
		return propertyChange("disk", "location")
	}
	o, n := old.Properties.CreationData, new.Properties.CreationData
	if n.CreateOption != "" && (!strings.EqualFold(o.CreateOption, n.CreateOption) || o.SourceURI != n.SourceURI ||
		Fold(o.SourceResourceID) != Fold(n.SourceResourceID)) {
		return propertyChange("disk", "creationData")
	}
	keep := new.Properties
	new.Properties = old.Properties
	if keep.OSType != "" {
		new.Properties.OSType = keep.OSType
	}
	if keep.HyperVGeneration != "" {
		new.Properties.HyperVGeneration = keep.HyperVGeneration
	}
	new.SystemData = old.SystemData
	// A PUT or PATCH must not bring back SAS URLs that were revoked.
	new.AccessGeneration = max(new.AccessGeneration, old.AccessGeneration)
	return nil
}

// DiskData moves disks' bytes: it hands out SAS URLs for them and seals
// finished uploads into content. The data plane implements it; armapi
// calls it from beginGetAccess and endGetAccess.
type DiskData interface {
	// AccessURL returns a SAS URL for reading the disk's content, or for
	// writing its upload, valid until expiry.
	AccessURL(d *Disk, write bool, expiry time.Time) (string, error)
	// Seal reads the disk's finished upload into a pending copy of its
	// content and returns the content's sha256 ("sha256:<hex>"); the
	// staged pages and the disk's content are left alone, so a seal that
	// stops part way can be repeated. A malformed VHD is an
	// InvalidParameter error naming the problem, and leaves the upload as
	// it was so that it can be fixed and sealed again.
	Seal(ctx context.Context, d *Disk) (string, error)
	// FinishSeal completes a seal once the disk is recorded Unattached
	// with its SHA256: the pending copy with that digest becomes the
	// disk's content (unless the content already has it), and the pending
	// copies and staged pages are removed. It is idempotent, so a retried
	// endGetAccess finishes a seal that a crash interrupted; when neither
	// the content nor a pending copy nor the staged pages give the
	// recorded digest, it fails rather than publish other bytes.
	FinishSeal(ctx context.Context, d *Disk) error
	// CopyFromVersion gives the disk the content of one disk of an image
	// version (disk: VersionDisk(lun)) from its replica in the disk's
	// region, and returns the content's sha256.
	CopyFromVersion(ctx context.Context, d *Disk, v ImageVersionID, disk string) (string, error)
	// Import reads the VHD at the disk's creationData.sourceUri into its
	// content and returns the content's sha256 and size in bytes; an
	// unreadable source or a malformed VHD is an InvalidParameter error.
	Import(ctx context.Context, d *Disk) (string, int64, error)
	// CheckSourceURI refuses, before anything is fetched, a source URI
	// (of an import, a managed image disk or an image version) that the
	// data plane will not fetch, as an InvalidParameter error naming
	// target; a host name is decided only when it is fetched.
	CheckSourceURI(uri, target string) error
	// CopyContent gives the disk the content of source, a disk or snapshot
	// in the same region, and returns the content's sha256.
	CopyContent(ctx context.Context, d, source *Disk) (string, error)
	// VersionAccessURL returns a read SAS URL for one disk of an image
	// version (disk: VersionDisk(lun)), served from its replica in region.
	VersionAccessURL(v ImageVersionID, region, disk string, expiry time.Time) (string, error)
	// EmptyContent gives an Empty disk its content: a fixed VHD of size
	// zero bytes, and returns the content's sha256.
	EmptyContent(ctx context.Context, d *Disk, size int64) (string, error)
	// DeleteDiskContent removes a deleted disk's content and any upload
	// in progress; chunks they alone named become garbage.
	DeleteDiskContent(ctx context.Context, d *Disk) error
	// ImageDiskContent gives one disk of a managed image its own copy of
	// the content of source, a disk or snapshot in the image's region, or
	// when source is nil, of the VHD at the disk's blob URI (errors then
	// name target). It returns the content's sha256 and size in bytes.
	ImageDiskContent(ctx context.Context, img *ManagedImage, disk ManagedImageDisk, source *Disk, target string) (string, int64, error)
	// DeleteImageContent removes a managed image's copies of its disks.
	DeleteImageContent(ctx context.Context, img *ManagedImage) error
	// DeleteVersionContent removes every manifest of a version (its own
	// source copies and every replica in every region); the chunks they
	// alone named become garbage for the region stores' collection.
	DeleteVersionContent(ctx context.Context, v *ImageVersion) error
}
