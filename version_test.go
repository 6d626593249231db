package galleon

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseVersionNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want VersionNumber
		ok   bool
	}{
		{"1.0.0", VersionNumber{1, 0, 0}, true},
		{"0.0.1", VersionNumber{0, 0, 1}, true},
		{"2147483647.2147483647.2147483647", VersionNumber{2147483647, 2147483647, 2147483647}, true},
		{"2147483648.0.0", VersionNumber{}, false},
		{"1.0", VersionNumber{}, false},
		{"1.0.0.0", VersionNumber{}, false},
		{"1.-1.0", VersionNumber{}, false},
		{"1.+1.0", VersionNumber{}, false},
		{"v1.0.0", VersionNumber{}, false},
		{"1..0", VersionNumber{}, false},
		{"1.0.0 ", VersionNumber{}, false},
		{"", VersionNumber{}, false},
	} {
		got, err := ParseVersionNumber(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVersionNumber(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && err.(*Error).Target != "galleryImageVersionName" {
			t.Errorf("target = %q", err.(*Error).Target)
		}
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"1.0.0", true},
		{"0.0.0", true},
		{"10.20.30", true},
		{"2147483647.0.0", true},
		{"01.0.0", false},
		{"1.00.0", false},
		{"1.0.00", false},
		{"1.0.007", false},
		{"2147483648.0.0", false},
		{"1.0", false},
	} {
		err := ValidateVersionName(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateVersionName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != CodeInvalidParameter {
			t.Errorf("ValidateVersionName(%q) code %q", tt.in, ErrorCode(err))
		}
	}
	a, _ := ParseVersionNumber("1.10.0")
	b, _ := ParseVersionNumber("1.9.0")
	if a.Compare(b) <= 0 || b.Compare(a) >= 0 || a.Compare(a) != 0 {
		t.Error("versions must compare numerically")
	}
}

var testRegions = Regions{{Name: "eastus"}, {Name: "westus2"}, {Name: "westeurope"}}

func i32(v int32) *int32 { return &v }
func boolp(v bool) *bool { return &v }

func validVersion() *ImageVersion {
	return &ImageVersion{
		ID:       ImageVersionID{ImageDefinitionID: ImageDefinitionID{GalleryID: GalleryID{"s", "rg", "g"}, Image: "i"}, Version: "1.0.0"},
		Location: "eastus",
		Properties: ImageVersionProperties{
			PublishingProfile: &PublishingProfile{TargetRegions: []TargetRegion{
				{Name: "eastus"}, {Name: "westus2", RegionalReplicaCount: i32(2)}, {Name: "westeurope", StorageAccountType: "standard_zrs"}}},
			StorageProfile: VersionStorageProfile{Source: &VersionSource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/snap"}},
		},
	}
}

// manyDataDisks is a per-disk storage profile with n data disks.
func manyDataDisks(n int) VersionStorageProfile {
	sp := VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: "/os"}}}
	for i := range n {
		sp.DataDiskImages = append(sp.DataDiskImages, DataDiskImage{Lun: int32(i), DiskImage: DiskImage{Source: &DiskSource{ID: fmt.Sprintf("/d%d", i)}}})
	}
	return sp
}

func TestImageVersion_Validate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	for _, tt := range []struct {
		name   string
		mutate func(*ImageVersion)
		target string
	}{
		{"OK", func(*ImageVersion) {}, ""},
		{"OKNoTargetRegions", func(v *ImageVersion) { v.Properties.PublishingProfile = nil }, ""},
		{"ErrName", func(v *ImageVersion) { v.ID.Version = "1.0" }, "galleryImageVersionName"},
		{"ErrLocationNotTarget", func(v *ImageVersion) {
			v.Location = "westus2"
			v.Properties.PublishingProfile.TargetRegions = v.Properties.PublishingProfile.TargetRegions[2:]
		}, versionTarget + "publishingProfile.targetRegions"},
		{"ErrDuplicateRegion", func(v *ImageVersion) {
			v.Properties.PublishingProfile.TargetRegions = append(v.Properties.PublishingProfile.TargetRegions, TargetRegion{Name: "West US 2"})
		}, versionTarget + "publishingProfile.targetRegions[3].name"},
		{"ErrUnknownRegion", func(v *ImageVersion) {
			v.Properties.PublishingProfile.TargetRegions[1].Name = "mars"
		}, versionTarget + "publishingProfile.targetRegions[1].name"},
		{"ErrReplicaCountZero", func(v *ImageVersion) { v.Properties.PublishingProfile.ReplicaCount = i32(0) }, versionTarget + "publishingProfile.replicaCount"},
		{"ErrReplicaCount101", func(v *ImageVersion) { v.Properties.PublishingProfile.ReplicaCount = i32(101) }, versionTarget + "publishingProfile.replicaCount"},
		{"ErrRegionalReplicaCount", func(v *ImageVersion) {
			v.Properties.PublishingProfile.TargetRegions[1].RegionalReplicaCount = i32(0)
		}, versionTarget + "publishingProfile.targetRegions[1].regionalReplicaCount"},
		{"ErrStorageAccountType", func(v *ImageVersion) {
			v.Properties.PublishingProfile.TargetRegions[0].StorageAccountType = "Floppy"
		}, versionTarget + "publishingProfile.targetRegions[0].storageAccountType"},
		{"ErrEndOfLife", func(v *ImageVersion) { v.Properties.PublishingProfile.EndOfLifeDate = &past }, versionTarget + "publishingProfile.endOfLifeDate"},
		{"ErrNoSource", func(v *ImageVersion) { v.Properties.StorageProfile = VersionStorageProfile{} }, versionTarget + "storageProfile"},
		{"ErrTwoSourceStyles", func(v *ImageVersion) {
			v.Properties.StorageProfile.OSDiskImage = &DiskImage{Source: &DiskSource{ID: "/x"}}
		}, versionTarget + "storageProfile"},
		{"OKPerDisk", func(v *ImageVersion) {
			v.Properties.StorageProfile = VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: "/os"}},
				DataDiskImages: []DataDiskImage{{Lun: 0, DiskImage: DiskImage{Source: &DiskSource{ID: "/d0"}}}, {Lun: 1, DiskImage: DiskImage{Source: &DiskSource{ID: "/d1"}}}}}
		}, ""},
		{"ErrDuplicateLun", func(v *ImageVersion) {
			v.Properties.StorageProfile = VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: "/os"}},
				DataDiskImages: []DataDiskImage{{Lun: 1, DiskImage: DiskImage{Source: &DiskSource{ID: "/a"}}}, {Lun: 1, DiskImage: DiskImage{Source: &DiskSource{ID: "/b"}}}}}
		}, versionTarget + "storageProfile.dataDiskImages[1].lun"},
		{"OKMostDataDisks", func(v *ImageVersion) { v.Properties.StorageProfile = manyDataDisks(MaxDataDisks) }, ""},
		{"ErrTooManyDataDisks", func(v *ImageVersion) { v.Properties.StorageProfile = manyDataDisks(MaxDataDisks + 1) },
			versionTarget + "storageProfile.dataDiskImages"},
		{"ErrURIWithoutAccount", func(v *ImageVersion) {
			v.Properties.StorageProfile = VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{URI: "https://a/b.vhd"}}}
		}, versionTarget + "storageProfile.osDiskImage.source.storageAccountId"},
		{"ErrIDAndURI", func(v *ImageVersion) {
			v.Properties.StorageProfile = VersionStorageProfile{OSDiskImage: &DiskImage{Source: &DiskSource{ID: "/a", URI: "https://a/b.vhd", StorageAccountID: "/sa"}}}
		}, versionTarget + "storageProfile.osDiskImage.source"},
		{"ErrHostCaching", func(v *ImageVersion) {
			v.Properties.StorageProfile.OSDiskImage = &DiskImage{HostCaching: "Sometimes"}
		}, versionTarget + "storageProfile.osDiskImage.hostCaching"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := validVersion()
			tt.mutate(v)
			err := v.Validate(testRegions, now)
			if tt.target == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			code := CodeInvalidParameter
			if tt.name == "ErrUnknownRegion" {
				code = CodeLocationNotAvailable
			}
			e, ok := err.(*Error)
			if !ok || e.Code != code || e.Target != tt.target {
				t.Fatalf("Validate() = %v, want %s at %s", err, code, tt.target)
			}
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		v := validVersion()
		if err := v.Validate(testRegions, now); err != nil {
			t.Fatal(err)
		}
		pp := v.Properties.PublishingProfile
		if *pp.ReplicaCount != 1 || pp.StorageAccountType != "Standard_LRS" || pp.ReplicationMode != "Full" {
			t.Errorf("defaults: %+v", pp)
		}
		trs := pp.TargetRegions
		if *trs[0].RegionalReplicaCount != 1 || *trs[1].RegionalReplicaCount != 2 || trs[2].StorageAccountType != "Standard_ZRS" || trs[0].StorageAccountType != "Standard_LRS" {
			t.Errorf("target region defaults: %+v", trs)
		}
	})
}

func TestUpdateImageVersion(t *testing.T) {
	old := validVersion()
	if err := old.Validate(testRegions, time.Now()); err != nil {
		t.Fatal(err)
	}
	n := validVersion()
	n.Properties.PublishingProfile.TargetRegions = n.Properties.PublishingProfile.TargetRegions[:1]
	if err := UpdateImageVersion(old, n); err != nil {
		t.Fatalf("removing regions not yet replicated is allowed: %v", err)
	}
	replicated := *old
	replicated.Properties.ReplicationStatus = &ReplicationStatus{Summary: []RegionReplicationStatus{
		{Region: "East US", State: ReplicationCompleted}, {Region: "westus2", State: ReplicationCompleted}}}
	for _, tt := range []struct {
		name        string
		old, update *SafetyProfile
		wantErr     bool
	}{
		{"ErrByDefault", nil, nil, true},
		{"ErrFalse", &SafetyProfile{AllowDeletionOfReplicatedLocations: boolp(false)}, nil, true},
		{"AllowedBefore", &SafetyProfile{AllowDeletionOfReplicatedLocations: boolp(true)}, nil, false},
		{"AllowedInTheUpdate", nil, &SafetyProfile{AllowDeletionOfReplicatedLocations: boolp(true)}, false},
		{"ErrRevokedInTheUpdate", &SafetyProfile{AllowDeletionOfReplicatedLocations: boolp(true)}, &SafetyProfile{AllowDeletionOfReplicatedLocations: boolp(false)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := replicated
			o.Properties.SafetyProfile = tt.old
			n := validVersion()
			n.Properties.PublishingProfile.TargetRegions = n.Properties.PublishingProfile.TargetRegions[:1]
			n.Properties.SafetyProfile = tt.update
			err := UpdateImageVersion(&o, n)
			if e, ok := err.(*Error); tt.wantErr != (ok && e.Code == CodeOperationNotAllowed && strings.Contains(e.Message, "westus2")) || (!tt.wantErr && err != nil) {
				t.Fatalf("removing a replicated region: %v", err)
			}
		})
	}
	n = validVersion()
	n.Properties.StorageProfile.Source.ID = "/another/snapshot"
	if e, ok := UpdateImageVersion(old, n).(*Error); !ok || e.Code != CodePropertyChangeNotAllowed {
		t.Fatalf("changing the source: %v", e)
	}
	n = validVersion()
	n.Location = "westus2"
	if e, ok := UpdateImageVersion(old, n).(*Error); !ok || e.Code != CodePropertyChangeNotAllowed {
		t.Fatalf("changing the location: %v", e)
	}
}

func TestLatest(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	mk := func(name string, mutate func(*PublishingProfile)) ImageVersion {
		pp := &PublishingProfile{TargetRegions: []TargetRegion{{Name: "eastus"}, {Name: "westus2"}}}
		if mutate != nil {
			mutate(pp)
		}
		return ImageVersion{ID: ImageVersionID{Version: name}, Properties: ImageVersionProperties{PublishingProfile: pp}}
	}
	for _, tt := range []struct {
		name     string
		versions []ImageVersion
		region   string
		want     string
	}{
		{"Numeric", []ImageVersion{mk("1.9.0", nil), mk("1.10.0", nil), mk("1.2.30", nil)}, "", "1.10.0"},
		{"Excluded", []ImageVersion{mk("1.0.0", nil), mk("2.0.0", func(p *PublishingProfile) { p.ExcludeFromLatest = boolp(true) })}, "", "1.0.0"},
		{"ExcludedInRegion", []ImageVersion{mk("1.0.0", nil), mk("2.0.0", func(p *PublishingProfile) { p.TargetRegions[1].ExcludeFromLatest = boolp(true) })}, "westus2", "1.0.0"},
		{"ExcludedInOtherRegion", []ImageVersion{mk("1.0.0", nil), mk("2.0.0", func(p *PublishingProfile) { p.TargetRegions[1].ExcludeFromLatest = boolp(true) })}, "eastus", "2.0.0"},
		{"EndOfLife", []ImageVersion{mk("1.0.0", func(p *PublishingProfile) { p.EndOfLifeDate = &future }), mk("2.0.0", func(p *PublishingProfile) { p.EndOfLifeDate = &past })}, "", "1.0.0"},
		{"None", []ImageVersion{mk("1.0.0", func(p *PublishingProfile) { p.ExcludeFromLatest = boolp(true) })}, "", ""},
	} {
		got := Latest(tt.versions, tt.region, now)
		name := ""
		if got != nil {
			name = got.ID.Version
		}
		if name != tt.want {
			t.Errorf("%s: Latest = %q, want %q", tt.name, name, tt.want)
		}
	}
}
