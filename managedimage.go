package galleon

import (
	"fmt"
	"maps"
	"strings"
)

// ManagedImage is a Microsoft.Compute/images resource: a set of disks (an
// OS disk and data disks at LUNs) captured from snapshots, managed disks
// or VHD blobs. Like Azure's, it holds its own copy of the bytes, so the
// sources can be deleted once it exists. Its id has Type TypeManagedImage.
type ManagedImage struct {
	ID         DiskID
	Location   string
	Tags       map[string]string
	Properties ManagedImageProperties
	SystemData SystemData
}

// ManagedImageProperties mirror the ARM properties of images, with Azure's
// JSON names. UniqueID is Galleon's extension naming the image's content.
type ManagedImageProperties struct {
	SourceVirtualMachine *SubResource        `json:"sourceVirtualMachine,omitempty"`
	StorageProfile       ImageStorageProfile `json:"storageProfile"`
	HyperVGeneration     string              `json:"hyperVGeneration,omitempty"`
	ProvisioningState    string              `json:"provisioningState,omitempty"`
	UniqueID             string              `json:"galleonUniqueId,omitempty"`
}

// SubResource is a reference to another resource by id.
type SubResource struct {
	ID string `json:"id,omitempty"`
}

// ImageStorageProfile lists a managed image's disks.
type ImageStorageProfile struct {
	OSDisk        *ImageOSDisk    `json:"osDisk,omitempty"`
	DataDisks     []ImageDataDisk `json:"dataDisks,omitempty"`
	ZoneResilient *bool           `json:"zoneResilient,omitempty"`
}

// ImageDisk is one disk of a managed image and where its bytes came from:
// exactly one of Snapshot, ManagedDisk and BlobURI. SHA256 is Galleon's
// extension: the digest of the image's copy of the bytes.
type ImageDisk struct {
	Snapshot           *SubResource `json:"snapshot,omitempty"`
	ManagedDisk        *SubResource `json:"managedDisk,omitempty"`
	BlobURI            string       `json:"blobUri,omitempty"`
	Caching            string       `json:"caching,omitempty"`
	DiskSizeGB         *int32       `json:"diskSizeGB,omitempty"`
	StorageAccountType string       `json:"storageAccountType,omitempty"`
	SHA256             string       `json:"galleonSha256,omitempty"`
}

// ImageOSDisk is a managed image's OS disk.
type ImageOSDisk struct {
	OSType  string `json:"osType"`
	OSState string `json:"osState"`
	ImageDisk
}

// ImageDataDisk is a managed image's data disk at a LUN.
type ImageDataDisk struct {
	Lun int32 `json:"lun"`
	ImageDisk
}

// Source returns the disk or snapshot id the disk was captured from, or
// "" for a blob.
func (d *ImageDisk) Source() string {
	switch {
	case d.Snapshot != nil && d.Snapshot.ID != "":
		return d.Snapshot.ID
	case d.ManagedDisk != nil && d.ManagedDisk.ID != "":
		return d.ManagedDisk.ID
	}
	return ""
}

// ManagedImageDisk is one disk of a managed image with its name in
// manifest ids (VersionDisk).
type ManagedImageDisk struct {
	Name string
	Lun  *int32
	*ImageDisk
}

// Disks lists the image's disks, the OS disk first.
func (img *ManagedImage) Disks() []ManagedImageDisk {
	sp := &img.Properties.StorageProfile
	var out []ManagedImageDisk
	if sp.OSDisk != nil {
		out = append(out, ManagedImageDisk{VersionDisk(nil), nil, &sp.OSDisk.ImageDisk})
	}
	for i := range sp.DataDisks {
		lun := sp.DataDisks[i].Lun
		out = append(out, ManagedImageDisk{VersionDisk(&lun), &lun, &sp.DataDisks[i].ImageDisk})
	}
	return out
}

// ManagedImageManifestID names the manifest of one disk of a managed image
// in its region's store.
func ManagedImageManifestID(uniqueID, disk string) string {
	return "image-" + uniqueID + "-" + disk
}

const managedImageTarget = "properties.storageProfile."

// Validate checks a new managed image: its name, an OS disk with OS type
// and state, exactly one source per disk, unique LUNs and known enums.
func (img *ManagedImage) Validate() error {
	if err := ValidateDiskName(img.ID.Name); err != nil {
		return err
	}
	if err := ValidateTags(img.Tags); err != nil {
		return err
	}
	p := &img.Properties
	if p.SourceVirtualMachine != nil && p.SourceVirtualMachine.ID != "" {
		return TargetErrorf(CodeInvalidParameter, "properties.sourceVirtualMachine",
			"Capturing an image from a virtual machine is not supported: Galleon has no virtual machines. Give the OS disk's snapshot, managed disk or blob URI instead.")
	}
	var ok bool
	if p.HyperVGeneration == "" {
		p.HyperVGeneration = "V1"
	}
	if p.HyperVGeneration, ok = canonicalEnum(p.HyperVGeneration, HyperVGenerations...); !ok {
		return TargetErrorf(CodeInvalidParameter, "properties.hyperVGeneration", "The hypervisor generation is not one of %v.", HyperVGenerations)
	}
	os := p.StorageProfile.OSDisk
	if os == nil {
		return TargetErrorf(CodeInvalidParameter, managedImageTarget+"osDisk", "Required parameter 'osDisk' is missing (null).")
	}
	if os.OSType, ok = canonicalEnum(os.OSType, OSTypes...); !ok {
		return TargetErrorf(CodeInvalidParameter, managedImageTarget+"osDisk.osType", "The OS type '%s' is not one of %v.", os.OSType, OSTypes)
	}
	if os.OSState, ok = canonicalEnum(os.OSState, OSStates...); !ok {
		return TargetErrorf(CodeInvalidParameter, managedImageTarget+"osDisk.osState", "The OS state '%s' is not one of %v.", os.OSState, OSStates)
	}
	if err := os.validate(managedImageTarget+"osDisk", "ReadWrite"); err != nil {
		return err
	}
	if n := len(p.StorageProfile.DataDisks); n > MaxDataDisks {
		return TargetErrorf(CodeInvalidParameter, managedImageTarget+"dataDisks",
			"The image has %d data disks; at most %d are allowed.", n, MaxDataDisks)
	}
	luns := map[int32]bool{}
	for i := range p.StorageProfile.DataDisks {
		d := &p.StorageProfile.DataDisks[i]
		where := fmt.Sprintf("%sdataDisks[%d]", managedImageTarget, i)
		if d.Lun < 0 || d.Lun > 63 {
			return TargetErrorf(CodeInvalidParameter, where+".lun", "The LUN %d is out of range; it must be from 0 to 63.", d.Lun)
		}
		if luns[d.Lun] {
			return TargetErrorf(CodeInvalidParameter, where+".lun", "The LUN %d is used by more than one data disk.", d.Lun)
		}
		luns[d.Lun] = true
		if err := d.validate(where, "None"); err != nil {
			return err
		}
	}
	return nil
}

func (d *ImageDisk) validate(where, caching string) error {
	n := 0
	if d.Snapshot != nil && d.Snapshot.ID != "" {
		n++
	}
	if d.ManagedDisk != nil && d.ManagedDisk.ID != "" {
		n++
	}
	if d.BlobURI != "" {
		n++
		u := strings.ToLower(d.BlobURI)
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return TargetErrorf(CodeInvalidParameter, where+".blobUri", "The blob URI '%s' is not an http(s) URL.", d.BlobURI)
		}
	}
	if n != 1 {
		return TargetErrorf(CodeInvalidParameter, where,
			"Each disk of an image needs exactly one source: snapshot.id, managedDisk.id or blobUri.")
	}
	if d.Caching == "" {
		d.Caching = caching
	}
	var ok bool
	if d.Caching, ok = canonicalEnum(d.Caching, HostCachings...); !ok {
		return TargetErrorf(CodeInvalidParameter, where+".caching", "The caching is not one of %v.", HostCachings)
	}
	if d.StorageAccountType == "" {
		d.StorageAccountType = "Standard_LRS"
	}
	if d.DiskSizeGB != nil && (*d.DiskSizeGB < 1 || *d.DiskSizeGB > maxDiskSizeGB) {
		return TargetErrorf(CodeInvalidParameter, where+".diskSizeGB", "The disk size %d GB is out of range; it must be from 1 to %d.", *d.DiskSizeGB, maxDiskSizeGB)
	}
	d.SHA256 = "" // the server's to fill in
	return nil
}

// UpdateManagedImage validates replacing old by new. An image's disks are
// fixed once captured: only tags change.
func UpdateManagedImage(old, new *ManagedImage) error {
	if err := ValidateTags(new.Tags); err != nil {
		return err
	}
	if Fold(old.Location) != Fold(new.Location) {
		return propertyChange("image", "location")
	}
	if new.Properties.StorageProfile.OSDisk != nil && !sameImageSources(old, new) {
		return propertyChange("image", "storageProfile")
	}
	if g := new.Properties.HyperVGeneration; g != "" && !strings.EqualFold(g, old.Properties.HyperVGeneration) {
		return propertyChange("image", "hyperVGeneration")
	}
	new.Properties = old.Properties
	new.SystemData = old.SystemData
	return nil
}

func sameImageSources(a, b *ManagedImage) bool {
	sources := func(img *ManagedImage) map[string]string {
		out := map[string]string{}
		for _, d := range img.Disks() {
			out[d.Name] = Fold(d.Source()) + "|" + d.BlobURI
		}
		return out
	}
	return maps.Equal(sources(a), sources(b))
}
