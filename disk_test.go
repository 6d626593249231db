package galleon

import "testing"

func TestDisk_Validate(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name   string
		disk   Disk
		target string
		state  string
	}{
		{"Empty", Disk{ID: DiskID{Name: "d1"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "empty"}, DiskSizeGB: i32(8)}}, "", DiskUnattached},
		{"ErrEmptyNoSize", Disk{ID: DiskID{Name: "d1"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Empty"}}}, "properties.diskSizeGB", ""},
		{"Upload", Disk{ID: DiskID{Name: "s_1"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Upload", UploadSizeBytes: i64(64*MiB + 512)}}}, "", DiskReadyToUpload},
		{"ErrUploadNotWholeMiB", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Upload", UploadSizeBytes: i64(64 * MiB)}}}, "properties.creationData.uploadSizeBytes", ""},
		{"ErrUploadTooSmall", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Upload", UploadSizeBytes: i64(MiB + 512)}}}, "properties.creationData.uploadSizeBytes", ""},
		{"ErrUploadNoSize", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Upload"}}}, "properties.creationData.uploadSizeBytes", ""},
		{"Import", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Import", SourceURI: "https://acct.blob.core.windows.net/c/os.vhd"}}}, "", DiskUnattached},
		{"ErrImportFile", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Import", SourceURI: "file:///etc/passwd"}}}, "properties.creationData.sourceUri", ""},
		{"ErrCopyNoSource", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Copy"}}}, "properties.creationData.sourceResourceId", ""},
		{"ErrFromImageNoRef", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "FromImage"}}}, "properties.creationData.galleryImageReference", ""},
		{"ErrOption", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Attach"}}}, "properties.creationData.createOption", ""},
		{"ErrOSType", Disk{ID: DiskID{Name: "s"}, Properties: DiskProperties{OSType: "DOS", CreationData: CreationData{CreateOption: "Empty"}, DiskSizeGB: i32(1)}}, "properties.osType", ""},
		{"ErrName", Disk{ID: DiskID{Name: "-bad"}, Properties: DiskProperties{CreationData: CreationData{CreateOption: "Empty"}, DiskSizeGB: i32(1)}}, "name", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.disk
			err := d.Validate()
			if tt.target == "" {
				if err != nil || d.Properties.DiskState != tt.state {
					t.Fatalf("Validate() = %v, state %q; want nil, %q", err, d.Properties.DiskState, tt.state)
				}
				return
			}
			if e, ok := err.(*Error); !ok || e.Code != CodeInvalidParameter || e.Target != tt.target {
				t.Fatalf("Validate() = %v, want InvalidParameter at %s", err, tt.target)
			}
		})
	}
}

func TestUpdateDisk(t *testing.T) {
	old := &Disk{Location: "eastus", Properties: DiskProperties{CreationData: CreationData{CreateOption: CreateEmpty}, DiskSizeGB: i32(4), DiskState: DiskUnattached}}
	n := &Disk{Location: "eastus", Properties: DiskProperties{OSType: "Linux"}}
	if err := UpdateDisk(old, n); err != nil || n.Properties.OSType != "Linux" || *n.Properties.DiskSizeGB != 4 {
		t.Fatalf("UpdateDisk = %v, %+v", err, n.Properties)
	}
	n = &Disk{Location: "eastus", Properties: DiskProperties{CreationData: CreationData{CreateOption: CreateCopy, SourceResourceID: "/x"}}}
	if e, ok := UpdateDisk(old, n).(*Error); !ok || e.Code != CodePropertyChangeNotAllowed {
		t.Fatalf("changing how a disk was created: %v", e)
	}
}

// TestUpdateDisk_KeepsAccessGeneration: a PUT or PATCH cannot lower the
// generation and so bring revoked SAS URLs back.
func TestUpdateDisk_KeepsAccessGeneration(t *testing.T) {
	old := &Disk{Location: "eastus", AccessGeneration: 3, Properties: DiskProperties{CreationData: CreationData{CreateOption: CreateUpload}}}
	for _, in := range []int64{0, 2, 3} {
		n := &Disk{Location: "eastus", AccessGeneration: in}
		if err := UpdateDisk(old, n); err != nil || n.AccessGeneration != 3 {
			t.Errorf("an update with generation %d: %d, %v; want 3", in, n.AccessGeneration, err)
		}
	}
	d := *old
	d.RevokeAccess()
	if d.AccessGeneration != 4 || old.AccessGeneration != 3 {
		t.Errorf("RevokeAccess: %d (old %d), want 4 (3)", d.AccessGeneration, old.AccessGeneration)
	}
}
