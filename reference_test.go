package galleon

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseResourceRef(t *testing.T) {
	const rg = "/subscriptions/AAAA0000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
	for _, tt := range []struct {
		name, in string
		want     string // the canonical id; "" when refused
		typ      string
	}{
		{"Snapshot", rg + "Microsoft.Compute/snapshots/s", "/subscriptions/aaaa0000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s", TypeSnapshot},
		{"KeysAnyCase", "/SUBSCRIPTIONS/aaaa0000-0000-0000-0000-000000000001/RESOURCEGROUPS/Rg/PROVIDERS/microsoft.compute/DISKS/D/",
			"/subscriptions/aaaa0000-0000-0000-0000-000000000001/resourceGroups/Rg/providers/Microsoft.Compute/disks/D", TypeDisk},
		{"Version", rg + "Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
			"/subscriptions/aaaa0000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0", TypeImageVersion},
		{"Definition", rg + "Microsoft.Compute/galleries/g/images/i",
			"/subscriptions/aaaa0000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i", TypeImageDefinition},
		{"UnknownTypeKeepsCase", rg + "Contoso.Things/widgets/w",
			"/subscriptions/aaaa0000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Contoso.Things/widgets/w", "Contoso.Things/widgets"},
		{"ErrEmpty", "", "", ""},
		{"ErrNoLeadingSlash", "subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", "", ""},
		{"ErrEmptySegment", "/subscriptions/s//resourceGroups/rg/providers/Microsoft.Compute/disks/d", "", ""},
		{"ErrEmptyName", rg + "Microsoft.Compute/disks/", "", ""},
		{"ErrTwoTrailingSlashes", rg + "Microsoft.Compute/disks/d//", "", ""},
		{"ErrNoResourceGroup", "/subscriptions/s/providers/Microsoft.Compute/disks/d", "", ""},
		{"ErrTypeWithoutName", rg + "Microsoft.Compute/galleries/g/images", "", ""},
		{"ErrTooDeep", rg + "Microsoft.Compute/galleries/g/images/i/versions/1.0.0/x/y", "", ""},
		// An extension resource under a disk the caller may read must not
		// be read as that disk's child: the id as a whole is refused.
		{"ErrExtension", rg + "Microsoft.Compute/snapshots/mine/providers/Microsoft.Compute/snapshots/theirs", "", ""},
		{"ErrTooLong", rg + "Microsoft.Compute/disks/" + strings.Repeat("d", maxReferenceIDLength), "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResourceRef(tt.in)
			if tt.want == "" {
				if ErrorCode(err) != CodeInvalidParameter {
					t.Fatalf("ParseResourceRef(%q) = %+v, %v; want InvalidParameter", tt.in, got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want || got.Type != tt.typ {
				t.Fatalf("ParseResourceRef(%q) = %q (%s), %v; want %q (%s)", tt.in, got.String(), got.Type, err, tt.want, tt.typ)
			}
			again, err := ParseResourceRef(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("the canonical id reads back as %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

// TestReferences lists, for every field of every request body that names
// another resource, the reference and what it takes.
func TestReferences(t *testing.T) {
	const sub = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/victim/providers/"
	var (
		snap    = sub + "Microsoft.Compute/snapshots/s"
		disk    = sub + "Microsoft.Compute/disks/d"
		image   = sub + "Microsoft.Compute/images/m"
		def     = sub + "Microsoft.Compute/galleries/g/images/i"
		version = def + "/versions/1.0.0"
		vm      = sub + "Microsoft.Compute/virtualMachines/vm"
		account = sub + "Microsoft.Storage/storageAccounts/acct"
	)
	snapRead := []string{"Microsoft.Compute/snapshots/read", "Microsoft.Compute/snapshots/beginGetAccess/action"}
	diskRead := []string{"Microsoft.Compute/disks/read", "Microsoft.Compute/disks/beginGetAccess/action"}
	download := []string{ActionDownloadVersion}
	type want struct {
		field, id            string
		actions, dataActions []string
		shareable            bool
	}
	vt := "galleryImageVersion.properties.storageProfile"
	version1 := func(sp VersionStorageProfile) *ImageVersion {
		return &ImageVersion{Properties: ImageVersionProperties{StorageProfile: sp}}
	}
	for _, tt := range []struct {
		name string
		x    Referrer
		want []want
		err  string // the target of an InvalidParameter
	}{
		{"DiskNone", &Disk{Properties: DiskProperties{CreationData: CreationData{CreateOption: "Upload"}}}, nil, ""},
		{"DiskCopySnapshot", &Disk{Properties: DiskProperties{CreationData: CreationData{CreateOption: "Copy", SourceResourceID: snap}}},
			[]want{{"properties.creationData.sourceResourceId", snap, snapRead, nil, false}}, ""},
		{"DiskCopyDisk", &Disk{Properties: DiskProperties{CreationData: CreationData{CreateOption: "Copy", SourceResourceID: disk}}},
			[]want{{"properties.creationData.sourceResourceId", disk, diskRead, nil, false}}, ""},
		{"DiskGalleryImageReferenceVersion", &Disk{Properties: DiskProperties{CreationData: CreationData{GalleryImageReference: &DiskImageRef{ID: version}}}},
			[]want{{"properties.creationData.galleryImageReference.id", version, []string{TypeImageVersion + "/read"}, download, true}}, ""},
		{"DiskGalleryImageReferenceLatest", &Disk{Properties: DiskProperties{CreationData: CreationData{GalleryImageReference: &DiskImageRef{ID: def}}}},
			[]want{{"properties.creationData.galleryImageReference.id", def, []string{TypeImageDefinition + "/read"}, download, true}}, ""},
		{"DiskImageReference", &Disk{Properties: DiskProperties{CreationData: CreationData{ImageReference: &DiskImageRef{ID: version}}}},
			[]want{{"properties.creationData.imageReference.id", version, []string{TypeImageVersion + "/read"}, download, true}}, ""},
		{"DiskStorageAccount", &Disk{Properties: DiskProperties{CreationData: CreationData{CreateOption: "Import", SourceURI: "https://acct.blob.core.windows.net/v/x.vhd", StorageAccountID: account}}},
			[]want{{"properties.creationData.storageAccountId", account, []string{TypeStorageAccount + "/read"}, nil, false}}, ""},
		{"DiskEveryField", &Disk{Properties: DiskProperties{CreationData: CreationData{SourceResourceID: snap,
			GalleryImageReference: &DiskImageRef{ID: version}, ImageReference: &DiskImageRef{ID: def}, StorageAccountID: account}}},
			[]want{{"properties.creationData.sourceResourceId", snap, snapRead, nil, false},
				{"properties.creationData.galleryImageReference.id", version, []string{TypeImageVersion + "/read"}, download, true},
				{"properties.creationData.imageReference.id", def, []string{TypeImageDefinition + "/read"}, download, true},
				{"properties.creationData.storageAccountId", account, []string{TypeStorageAccount + "/read"}, nil, false}}, ""},
		{"ErrDiskCopyOfVersion", &Disk{Properties: DiskProperties{CreationData: CreationData{SourceResourceID: version}}}, nil,
			"properties.creationData.sourceResourceId"},
		{"ErrDiskImageReferenceSnapshot", &Disk{Properties: DiskProperties{CreationData: CreationData{GalleryImageReference: &DiskImageRef{ID: snap}}}}, nil,
			"properties.creationData.galleryImageReference.id"},
		{"ErrDiskMalformed", &Disk{Properties: DiskProperties{CreationData: CreationData{SourceResourceID: "snap"}}}, nil,
			"properties.creationData.sourceResourceId"},

		{"ManagedImage", &ManagedImage{Properties: ManagedImageProperties{SourceVirtualMachine: &SubResource{ID: vm},
			StorageProfile: ImageStorageProfile{OSDisk: &ImageOSDisk{ImageDisk: ImageDisk{Snapshot: &SubResource{ID: snap}, ManagedDisk: &SubResource{ID: disk}}},
				DataDisks: []ImageDataDisk{{Lun: 1, ImageDisk: ImageDisk{BlobURI: "https://acct.blob.core.windows.net/v/d.vhd"}},
					{Lun: 2, ImageDisk: ImageDisk{Snapshot: &SubResource{ID: disk}, ManagedDisk: &SubResource{ID: snap}}}}}}},
			[]want{{"properties.sourceVirtualMachine.id", vm, []string{TypeVirtualMachine + "/read"}, nil, false},
				{"properties.storageProfile.osDisk.snapshot.id", snap, snapRead, nil, false},
				{"properties.storageProfile.osDisk.managedDisk.id", disk, diskRead, nil, false},
				{"properties.storageProfile.dataDisks[1].snapshot.id", disk, diskRead, nil, false},
				{"properties.storageProfile.dataDisks[1].managedDisk.id", snap, snapRead, nil, false}}, ""},
		{"ErrManagedImageFromImage", &ManagedImage{Properties: ManagedImageProperties{StorageProfile: ImageStorageProfile{
			OSDisk: &ImageOSDisk{ImageDisk: ImageDisk{ManagedDisk: &SubResource{ID: image}}}}}}, nil, "properties.storageProfile.osDisk.managedDisk.id"},

		{"VersionFromSnapshot", version1(VersionStorageProfile{Source: &VersionSource{ID: snap}}),
			[]want{{vt + ".source.id", snap, snapRead, nil, false}}, ""},
		{"VersionFromDisk", version1(VersionStorageProfile{Source: &VersionSource{ID: disk}}),
			[]want{{vt + ".source.id", disk, diskRead, nil, false}}, ""},
		{"VersionFromManagedImage", version1(VersionStorageProfile{Source: &VersionSource{ID: image}}),
			[]want{{vt + ".source.id", image, []string{TypeManagedImage + "/read"}, nil, false}}, ""},
		{"VersionFromVersion", version1(VersionStorageProfile{Source: &VersionSource{ID: version}}),
			[]want{{vt + ".source.id", version, []string{TypeImageVersion + "/read"}, download, true}}, ""},
		{"VersionFromVM", version1(VersionStorageProfile{Source: &VersionSource{ID: vm}}),
			[]want{{vt + ".source.id", vm, []string{TypeVirtualMachine + "/read"}, nil, false}}, ""},
		{"VersionPerDisk", version1(VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: snap}},
			DataDiskImages: []DataDiskImage{{Lun: 0, DiskImage: DiskImage{Source: &DiskSource{ID: disk}}},
				{Lun: 1, DiskImage: DiskImage{Source: &DiskSource{URI: "https://acct.blob.core.windows.net/v/d.vhd", StorageAccountID: account}}}}}),
			[]want{{vt + ".osDiskImage.source.id", snap, snapRead, nil, false},
				{vt + ".dataDiskImages[0].source.id", disk, diskRead, nil, false},
				{vt + ".dataDiskImages[1].source.storageAccountId", account, []string{TypeStorageAccount + "/read"}, nil, false}}, ""},
		{"VersionOSDiskFromBlob", version1(VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{URI: "https://acct.blob.core.windows.net/v/d.vhd", StorageAccountID: account}}}),
			[]want{{vt + ".osDiskImage.source.storageAccountId", account, []string{TypeStorageAccount + "/read"}, nil, false}}, ""},
		{"ErrVersionDataDiskFromVersion", version1(VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: snap}},
			DataDiskImages: []DataDiskImage{{Lun: 0, DiskImage: DiskImage{Source: &DiskSource{ID: version}}}}}), nil, vt + ".dataDiskImages[0].source.id"},
		{"ErrVersionStorageAccountIsDisk", version1(VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{URI: "https://x/y", StorageAccountID: disk}}}),
			nil, vt + ".osDiskImage.source.storageAccountId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refs, err := References(tt.x)
			if tt.err != "" {
				e, ok := err.(*Error)
				if !ok || e.Code != CodeInvalidParameter || e.Target != tt.err {
					t.Fatalf("References() = %+v, %v; want InvalidParameter at %s", refs, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, r := range refs {
				got = append(got, want{r.Field, r.ID.String(), r.Actions, r.DataActions, r.Shareable})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("References() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestNewReferences(t *testing.T) {
	const snap = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg/providers/Microsoft.Compute/snapshots/"
	old := &ImageVersion{Properties: ImageVersionProperties{StorageProfile: VersionStorageProfile{Source: &VersionSource{ID: snap + "a"}}}}
	for _, tt := range []struct {
		name string
		prev *ImageVersion
		next *ImageVersion
		want []string // fields
	}{
		{"Create", nil, old, []string{"galleryImageVersion.properties.storageProfile.source.id"}},
		{"SameSource", old, &ImageVersion{Properties: ImageVersionProperties{StorageProfile: VersionStorageProfile{Source: &VersionSource{ID: strings.ToUpper(snap) + "A"}}}}, nil},
		{"NoSource", old, &ImageVersion{}, nil},
		{"OtherSource", old, &ImageVersion{Properties: ImageVersionProperties{StorageProfile: VersionStorageProfile{Source: &VersionSource{ID: snap + "b"}}}},
			[]string{"galleryImageVersion.properties.storageProfile.source.id"}},
		{"SameIDOtherField", old, &ImageVersion{Properties: ImageVersionProperties{StorageProfile: VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: snap + "a"}}}}},
			[]string{"galleryImageVersion.properties.storageProfile.osDiskImage.source.id"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refs, err := NewReferences(tt.prev, tt.next)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.Field)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewReferences() fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLinkedDenied(t *testing.T) {
	p := Principal{ObjectID: "oid", Type: PrincipalServicePrincipal, AppID: "app"}
	e := LinkedDenied(p, "Microsoft.Compute/disks/write", "/d", []string{"a", "b"}, "/s", "properties.creationData.sourceResourceId")
	if e.Code != "LinkedAuthorizationFailed" || e.Target != "properties.creationData.sourceResourceId" ||
		e.Message != "The client 'app' with object id 'oid' has permission to perform action 'Microsoft.Compute/disks/write' on scope '/d'; however, it does not have permission to perform action(s) 'a,b' on the linked scope(s) '/s' (respectively) or the linked scope(s) are invalid." {
		t.Errorf("LinkedDenied() = %+v", e)
	}
}
