package galleon

import (
	"slices"
	"testing"
)

func TestManagedImageValidate(t *testing.T) {
	snap := &SubResource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os"}
	osDisk := func(mod func(*ImageOSDisk)) *ImageOSDisk {
		d := &ImageOSDisk{OSType: "linux", OSState: "generalized", ImageDisk: ImageDisk{Snapshot: snap}}
		if mod != nil {
			mod(d)
		}
		return d
	}
	size := func(n int32) *int32 { return &n }
	for _, tt := range []struct {
		name   string
		props  ManagedImageProperties
		target string // "" when valid
	}{
		{"OK", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil)}}, ""},
		{"OKBlob", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) {
			d.Snapshot, d.BlobURI = nil, "https://acct.blob.core.windows.net/vhds/os.vhd"
		})}}, ""},
		{"ErrNoOSDisk", ManagedImageProperties{}, "properties.storageProfile.osDisk"},
		{"ErrOSType", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.OSType = "Plan9" })}},
			"properties.storageProfile.osDisk.osType"},
		{"ErrOSState", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.OSState = "" })}},
			"properties.storageProfile.osDisk.osState"},
		{"ErrTwoSources", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.ManagedDisk = snap })}},
			"properties.storageProfile.osDisk"},
		{"ErrNoSource", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.Snapshot = nil })}},
			"properties.storageProfile.osDisk"},
		{"ErrBlobScheme", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) {
			d.Snapshot, d.BlobURI = nil, "file:///etc/passwd"
		})}}, "properties.storageProfile.osDisk.blobUri"},
		{"ErrCaching", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.Caching = "Sometimes" })}},
			"properties.storageProfile.osDisk.caching"},
		{"ErrSize", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(func(d *ImageOSDisk) { d.DiskSizeGB = size(0) })}},
			"properties.storageProfile.osDisk.diskSizeGB"},
		{"ErrDuplicateLun", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil), DataDisks: []ImageDataDisk{
			{Lun: 1, ImageDisk: ImageDisk{Snapshot: snap}}, {Lun: 1, ImageDisk: ImageDisk{Snapshot: snap}}}}},
			"properties.storageProfile.dataDisks[1].lun"},
		{"ErrLunRange", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil), DataDisks: []ImageDataDisk{
			{Lun: 64, ImageDisk: ImageDisk{Snapshot: snap}}}}}, "properties.storageProfile.dataDisks[0].lun"},
		{"ErrTooManyDataDisks", ManagedImageProperties{StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil), DataDisks: slices.Repeat(
			[]ImageDataDisk{{Lun: 1, ImageDisk: ImageDisk{Snapshot: snap}}}, MaxDataDisks+1)}}, "properties.storageProfile.dataDisks"},
		{"ErrGeneration", ManagedImageProperties{HyperVGeneration: "V3", StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil)}},
			"properties.hyperVGeneration"},
		{"ErrVirtualMachine", ManagedImageProperties{SourceVirtualMachine: &SubResource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"},
			StorageProfile: ImageStorageProfile{OSDisk: osDisk(nil)}}, "properties.sourceVirtualMachine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := &ManagedImage{ID: DiskID{Type: TypeManagedImage, Name: "img"}, Location: "eastus", Properties: tt.props}
			err := img.Validate()
			if tt.target == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				os := img.Properties.StorageProfile.OSDisk
				if os.OSType != "Linux" || os.OSState != "Generalized" || os.Caching != "ReadWrite" || img.Properties.HyperVGeneration != "V1" {
					t.Errorf("defaults and canonical case not applied: %+v, %s", os, img.Properties.HyperVGeneration)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalidParameter || e.Target != tt.target {
				t.Fatalf("Validate() = %#v, want InvalidParameter at %s", err, tt.target)
			}
		})
	}
}

func TestUpdateManagedImage(t *testing.T) {
	snap := &SubResource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os"}
	old := &ManagedImage{Location: "eastus", Properties: ManagedImageProperties{HyperVGeneration: "V1", UniqueID: "u",
		StorageProfile: ImageStorageProfile{OSDisk: &ImageOSDisk{OSType: "Linux", OSState: "Generalized", ImageDisk: ImageDisk{Snapshot: snap, SHA256: "sha256:x"}}}}}
	same := &ManagedImage{Location: "EastUS", Tags: map[string]string{"a": "b"}, Properties: ManagedImageProperties{
		StorageProfile: ImageStorageProfile{OSDisk: &ImageOSDisk{OSType: "Linux", OSState: "Generalized", ImageDisk: ImageDisk{Snapshot: &SubResource{ID: snap.ID}}}}}}
	if err := UpdateManagedImage(old, same); err != nil || same.Properties.UniqueID != "u" || same.Properties.StorageProfile.OSDisk.SHA256 != "sha256:x" {
		t.Fatalf("an update with the same disks: %v, %+v", err, same.Properties)
	}
	other := &ManagedImage{Location: "eastus", Properties: ManagedImageProperties{
		StorageProfile: ImageStorageProfile{OSDisk: &ImageOSDisk{ImageDisk: ImageDisk{BlobURI: "https://a/b"}}}}}
	if e, ok := UpdateManagedImage(old, other).(*Error); !ok || e.Code != CodePropertyChangeNotAllowed {
		t.Fatalf("changing a disk's source: %v", e)
	}
	moved := &ManagedImage{Location: "westus2"}
	if e, ok := UpdateManagedImage(old, moved).(*Error); !ok || e.Code != CodePropertyChangeNotAllowed {
		t.Fatalf("moving an image: %v", e)
	}
}
