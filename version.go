package galleon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TypeImageVersion is the ARM type of image versions.
const TypeImageVersion = "Microsoft.Compute/galleries/images/versions"

// ImageVersionID identifies an image version within an image definition.
type ImageVersionID struct {
	ImageDefinitionID
	Version string
}

func (id ImageVersionID) String() string {
	return id.ImageDefinitionID.String() + "/versions/" + id.Version
}

// VersionNumber is a parsed major.minor.patch version name.
type VersionNumber struct{ Major, Minor, Patch int32 }

// ParseVersionNumber parses an image version name: three dot-separated
// decimal parts, each a non-negative 32-bit integer.
func ParseVersionNumber(name string) (VersionNumber, error) {
	bad := TargetErrorf(CodeInvalidParameter, "galleryImageVersionName",
		"The gallery image version name '%s' is invalid. It must be in the format <MajorVersion>.<MinorVersion>.<Patch>, each part a 32-bit integer, e.g. 1.0.0.", name)
	parts := strings.Split(name, ".")
	if len(parts) != 3 {
		return VersionNumber{}, bad
	}
	var n [3]int32
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return VersionNumber{}, bad
		}
		v, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return VersionNumber{}, bad
		}
		n[i] = int32(v)
	}
	return VersionNumber{n[0], n[1], n[2]}, nil
}

// ValidateVersionName checks a new image version's name: what
// ParseVersionNumber accepts, in its one canonical spelling, with no
// leading zeros in any part ("1.0.0", not "01.0.0" or "1.00.0"). Otherwise
// two names could be the same version number side by side, and "latest"
// would pick between them by chance.
func ValidateVersionName(name string) error {
	n, err := ParseVersionNumber(name)
	if err != nil {
		return err
	}
	if n.String() != name {
		return TargetErrorf(CodeInvalidParameter, "galleryImageVersionName",
			"The gallery image version name '%s' is invalid. It must be in the format <MajorVersion>.<MinorVersion>.<Patch>, each part a 32-bit integer without leading zeros, e.g. %s.", name, n)
	}
	return nil
}

// Compare orders versions numerically: 1.10.0 is after 1.9.0.
func (v VersionNumber) Compare(o VersionNumber) int {
	for _, d := range [][2]int32{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (v VersionNumber) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// ImageVersion is a Microsoft.Compute/galleries/images/versions resource.
type ImageVersion struct {
	ID         ImageVersionID
	Location   string
	Tags       map[string]string
	Properties ImageVersionProperties
	SystemData SystemData
}

// ImageVersionProperties mirror the ARM "properties" object of an image
// version, with Azure's JSON names.
type ImageVersionProperties struct {
	PublishingProfile *PublishingProfile    `json:"publishingProfile,omitempty"`
	StorageProfile    VersionStorageProfile `json:"storageProfile"`
	SafetyProfile     *SafetyProfile        `json:"safetyProfile,omitempty"`
	ProvisioningState string                `json:"provisioningState,omitempty"`
	ReplicationStatus *ReplicationStatus    `json:"replicationStatus,omitempty"`
	// Restore asks a PUT or PATCH to bring back the soft-deleted version of
	// that name (api-version 2024-03-03 and later). It is a request, never
	// stored or answered.
	Restore *bool `json:"restore,omitempty"`
}

// PublishingProfile says where and how a version is published.
type PublishingProfile struct {
	TargetRegions      []TargetRegion `json:"targetRegions,omitempty"`
	ReplicaCount       *int32         `json:"replicaCount,omitempty"`
	ExcludeFromLatest  *bool          `json:"excludeFromLatest,omitempty"`
	PublishedDate      *time.Time     `json:"publishedDate,omitempty"`
	EndOfLifeDate      *time.Time     `json:"endOfLifeDate,omitempty"`
	StorageAccountType string         `json:"storageAccountType,omitempty"`
	ReplicationMode    string         `json:"replicationMode,omitempty"`
}

// TargetRegion is one region a version is replicated to.
type TargetRegion struct {
	Name                 string `json:"name"`
	RegionalReplicaCount *int32 `json:"regionalReplicaCount,omitempty"`
	StorageAccountType   string `json:"storageAccountType,omitempty"`
	ExcludeFromLatest    *bool  `json:"excludeFromLatest,omitempty"`
}

// VersionStorageProfile names the version's source and describes its disks.
type VersionStorageProfile struct {
	Source         *VersionSource  `json:"source,omitempty"`
	OSDiskImage    *DiskImage      `json:"osDiskImage,omitempty"`
	DataDiskImages []DataDiskImage `json:"dataDiskImages,omitempty"`
}

// VersionSource is a whole-version source: a managed image, a VM, a
// snapshot or another gallery image version.
type VersionSource struct {
	ID string `json:"id,omitempty"`
}

// DiskImage is one disk of a version. SHA256 is Galleon's extension: the
// digest of the disk's bytes, which Azure clients ignore.
type DiskImage struct {
	SizeInGB    *int32      `json:"sizeInGB,omitempty"`
	HostCaching string      `json:"hostCaching,omitempty"`
	Source      *DiskSource `json:"source,omitempty"`
	SHA256      string      `json:"galleonSha256,omitempty"`
}

// MaxDataDisks is the most data disks an image version or a managed image
// may have: Azure's largest virtual machines attach 64, at LUNs 0 to 63.
const MaxDataDisks = 64

// DataDiskImage is a data disk of a version, at a LUN.
type DataDiskImage struct {
	Lun int32 `json:"lun"`
	DiskImage
}

// DiskSource is a per-disk source: a disk or snapshot by id, or a VHD blob
// by uri and storage account.
type DiskSource struct {
	ID               string `json:"id,omitempty"`
	URI              string `json:"uri,omitempty"`
	StorageAccountID string `json:"storageAccountId,omitempty"`
}

// SafetyProfile guards a version against accidental deletion.
type SafetyProfile struct {
	AllowDeletionOfReplicatedLocations *bool `json:"allowDeletionOfReplicatedLocations,omitempty"`
	BlockDeletionBeforeEndOfLife       *bool `json:"blockDeletionBeforeEndOfLife,omitempty"`
	ReportedForPolicyViolation         *bool `json:"reportedForPolicyViolation,omitempty"`
}

// ReplicationStatus is what $expand=ReplicationStatus reports.
type ReplicationStatus struct {
	AggregatedState string                    `json:"aggregatedState"`
	Summary         []RegionReplicationStatus `json:"summary"`
}

// RegionReplicationStatus is one region's replication state.
type RegionReplicationStatus struct {
	Region   string `json:"region"`
	State    string `json:"state"`
	Details  string `json:"details,omitempty"`
	Progress int32  `json:"progress"`
}

// Replication states, per region and aggregated.
const (
	ReplicationReplicating = "Replicating"
	ReplicationCompleted   = "Completed"
	ReplicationFailed      = "Failed"
	ReplicationInProgress  = "InProgress"
)

// Enumerations of image version properties.
var (
	StorageAccountTypes = []string{"Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS"}
	ReplicationModes    = []string{"Full", "Shallow"}
	HostCachings        = []string{"None", "ReadOnly", "ReadWrite"}
)

const versionTarget = "galleryImageVersion.properties."

// Validate checks the rules of an image version that need nothing but the
// version itself and the configured regions, and fills in Azure's
// defaults: replica count 1, Standard_LRS, Full replication, the version's
// own region as the only target when none is given.
func (v *ImageVersion) Validate(regions Regions, now time.Time) error {
	if err := ValidateVersionName(v.ID.Version); err != nil {
		return err
	}
	if err := ValidateTags(v.Tags); err != nil {
		return err
	}
	p := &v.Properties
	if p.PublishingProfile == nil {
		p.PublishingProfile = &PublishingProfile{}
	}
	pp := p.PublishingProfile
	if pp.ReplicaCount == nil {
		one := int32(1)
		pp.ReplicaCount = &one
	}
	if *pp.ReplicaCount < 1 || *pp.ReplicaCount > 100 {
		return TargetErrorf(CodeInvalidParameter, versionTarget+"publishingProfile.replicaCount",
			"The replica count %d is out of range; it must be from 1 to 100.", *pp.ReplicaCount)
	}
	if pp.StorageAccountType == "" {
		pp.StorageAccountType = "Standard_LRS"
	}
	var ok bool
	if pp.StorageAccountType, ok = canonicalEnum(pp.StorageAccountType, StorageAccountTypes...); !ok {
		return TargetErrorf(CodeInvalidParameter, versionTarget+"publishingProfile.storageAccountType",
			"The storage account type is not one of %v.", StorageAccountTypes)
	}
	if pp.ReplicationMode == "" {
		pp.ReplicationMode = "Full"
	}
	if pp.ReplicationMode, ok = canonicalEnum(pp.ReplicationMode, ReplicationModes...); !ok {
		return TargetErrorf(CodeInvalidParameter, versionTarget+"publishingProfile.replicationMode",
			"The replication mode is not one of %v.", ReplicationModes)
	}
	if pp.EndOfLifeDate != nil && !pp.EndOfLifeDate.After(now) {
		return TargetErrorf(CodeInvalidParameter, versionTarget+"publishingProfile.endOfLifeDate",
			"The end of life date %s must be in the future.", pp.EndOfLifeDate.Format(time.RFC3339))
	}
	if len(pp.TargetRegions) == 0 {
		pp.TargetRegions = []TargetRegion{{Name: v.Location}}
	}
	seen := map[string]bool{}
	for i := range pp.TargetRegions {
		tr := &pp.TargetRegions[i]
		target := fmt.Sprintf("%spublishingProfile.targetRegions[%d]", versionTarget, i)
		name, err := regions.Resolve(tr.Name, TypeImageVersion)
		if err != nil {
			e := err.(*Error)
			e.Target = target + ".name"
			return e
		}
		if seen[name] {
			return TargetErrorf(CodeInvalidParameter, target+".name",
				"The region '%s' is listed more than once in targetRegions.", tr.Name)
		}
		seen[name] = true
		tr.Name = name
		if tr.RegionalReplicaCount == nil {
			c := *pp.ReplicaCount
			tr.RegionalReplicaCount = &c
		}
		if *tr.RegionalReplicaCount < 1 || *tr.RegionalReplicaCount > 100 {
			return TargetErrorf(CodeInvalidParameter, target+".regionalReplicaCount",
				"The regional replica count %d for '%s' is out of range; it must be from 1 to 100.", *tr.RegionalReplicaCount, name)
		}
		if tr.StorageAccountType == "" {
			tr.StorageAccountType = pp.StorageAccountType
		}
		if tr.StorageAccountType, ok = canonicalEnum(tr.StorageAccountType, StorageAccountTypes...); !ok {
			return TargetErrorf(CodeInvalidParameter, target+".storageAccountType",
				"The storage account type for '%s' is not one of %v.", name, StorageAccountTypes)
		}
	}
	if !seen[NormalizeLocation(v.Location)] {
		return TargetErrorf(CodeInvalidParameter, versionTarget+"publishingProfile.targetRegions",
			"The image version's location '%s' (its source region) must be one of the target regions.", v.Location)
	}
	return v.validateStorageProfile()
}

// validateStorageProfile checks that exactly one style of source is used
// and that data disk LUNs are unique.
func (v *ImageVersion) validateStorageProfile() error {
	sp := &v.Properties.StorageProfile
	whole := sp.Source != nil && sp.Source.ID != ""
	perDisk := sp.OSDiskImage != nil && sp.OSDiskImage.Source != nil || len(sp.DataDiskImages) > 0
	target := versionTarget + "storageProfile"
	switch {
	case !whole && !perDisk:
		return TargetErrorf(CodeInvalidParameter, target,
			"The image version has no source: give storageProfile.source.id, or osDiskImage/dataDiskImages sources.")
	case whole && sp.OSDiskImage != nil && sp.OSDiskImage.Source != nil:
		return TargetErrorf(CodeInvalidParameter, target,
			"Give either storageProfile.source.id or per-disk sources in osDiskImage and dataDiskImages, not both.")
	}
	check := func(d *DiskImage, where string) error {
		if d.HostCaching != "" {
			var ok bool
			if d.HostCaching, ok = canonicalEnum(d.HostCaching, HostCachings...); !ok {
				return TargetErrorf(CodeInvalidParameter, where+".hostCaching", "The host caching is not one of %v.", HostCachings)
			}
		}
		if s := d.Source; s != nil {
			switch {
			case s.ID != "" && s.URI != "":
				return TargetErrorf(CodeInvalidParameter, where+".source", "Give either source.id or source.uri, not both.")
			case s.URI != "" && s.StorageAccountID == "":
				return TargetErrorf(CodeInvalidParameter, where+".source.storageAccountId",
					"A source given by uri needs the storageAccountId of the account holding the blob.")
			case s.ID == "" && s.URI == "" && !whole:
				return TargetErrorf(CodeInvalidParameter, where+".source", "The disk's source needs an id or a uri.")
			}
		}
		return nil
	}
	if sp.OSDiskImage != nil {
		if err := check(sp.OSDiskImage, target+".osDiskImage"); err != nil {
			return err
		}
	}
	if n := len(sp.DataDiskImages); n > MaxDataDisks {
		return TargetErrorf(CodeInvalidParameter, target+".dataDiskImages",
			"The image version has %d data disks; at most %d are allowed.", n, MaxDataDisks)
	}
	luns := map[int32]bool{}
	for i := range sp.DataDiskImages {
		d := &sp.DataDiskImages[i]
		where := fmt.Sprintf("%s.dataDiskImages[%d]", target, i)
		if d.Lun < 0 {
			return TargetErrorf(CodeInvalidParameter, where+".lun", "The LUN %d must not be negative.", d.Lun)
		}
		if luns[d.Lun] {
			return TargetErrorf(CodeInvalidParameter, where+".lun", "The LUN %d is used by more than one data disk.", d.Lun)
		}
		luns[d.Lun] = true
		if whole && d.Source != nil {
			return TargetErrorf(CodeInvalidParameter, where+".source",
				"Give either storageProfile.source.id or per-disk sources, not both.")
		}
		if err := check(&d.DiskImage, where); err != nil {
			return err
		}
	}
	return nil
}

// UpdateImageVersion validates replacing old by new: the source, the
// location and the storage profile cannot change; target regions, replica
// counts, exclude-from-latest and end of life can.
func UpdateImageVersion(old, new *ImageVersion) error {
	if Fold(old.Location) != Fold(new.Location) {
		return propertyChange("galleryImageVersion", "location")
	}
	if !sameSources(old.Properties.StorageProfile, new.Properties.StorageProfile) {
		return propertyChange("galleryImageVersion", "storageProfile")
	}
	if new.Properties.SafetyProfile == nil {
		new.Properties.SafetyProfile = old.Properties.SafetyProfile
	}
	if err := checkRemovedRegions(old, new); err != nil {
		return err
	}
	// Read-only parts are the server's to keep.
	new.Properties.StorageProfile = old.Properties.StorageProfile
	new.Properties.PublishingProfile.PublishedDate = old.Properties.PublishingProfile.PublishedDate
	new.SystemData = old.SystemData
	return nil
}

// checkRemovedRegions refuses to drop a target region whose replication
// completed unless safetyProfile.allowDeletionOfReplicatedLocations is
// true (it may be set by the same update). Regions still replicating, or
// failed, can always be dropped.
func checkRemovedRegions(old, new *ImageVersion) error {
	kept := map[string]bool{}
	for _, tr := range new.Properties.PublishingProfile.TargetRegions {
		kept[NormalizeLocation(tr.Name)] = true
	}
	var removed []string
	if rs := old.Properties.ReplicationStatus; rs != nil {
		for _, st := range rs.Summary {
			if r := NormalizeLocation(st.Region); !kept[r] && st.State == ReplicationCompleted {
				removed = append(removed, r)
			}
		}
	}
	if len(removed) == 0 {
		return nil
	}
	if sp := new.Properties.SafetyProfile; sp != nil && sp.AllowDeletionOfReplicatedLocations != nil && *sp.AllowDeletionOfReplicatedLocations {
		return nil
	}
	return TargetErrorf(CodeOperationNotAllowed, versionTarget+"publishingProfile.targetRegions",
		"Removing the replicated region(s) %s is not allowed because safetyProfile.allowDeletionOfReplicatedLocations is false; set it to true (in the same update or before) to remove them.",
		strings.Join(removed, ", "))
}

// HasSources reports whether the profile names any source, whole or per
// disk.
func (p VersionStorageProfile) HasSources() bool {
	if p.Source != nil && p.Source.ID != "" {
		return true
	}
	if p.OSDiskImage != nil && p.OSDiskImage.Source != nil && (p.OSDiskImage.Source.ID != "" || p.OSDiskImage.Source.URI != "") {
		return true
	}
	for _, d := range p.DataDiskImages {
		if d.Source != nil && (d.Source.ID != "" || d.Source.URI != "") {
			return true
		}
	}
	return false
}

func sameSources(a, b VersionStorageProfile) bool {
	src := func(p VersionStorageProfile) []string {
		var out []string
		if p.Source != nil {
			out = append(out, "v:"+Fold(p.Source.ID))
		}
		if p.OSDiskImage != nil && p.OSDiskImage.Source != nil {
			s := p.OSDiskImage.Source
			out = append(out, "os:"+Fold(s.ID)+"|"+s.URI)
		}
		for _, d := range p.DataDiskImages {
			if d.Source != nil {
				out = append(out, fmt.Sprintf("%d:%s|%s", d.Lun, Fold(d.Source.ID), d.Source.URI))
			}
		}
		slices.Sort(out)
		return out
	}
	// An update may omit the storage profile entirely: that keeps it.
	if !b.HasSources() {
		return true
	}
	return slices.Equal(src(a), src(b))
}

// ExcludedFromLatest reports whether the version is excluded from "latest"
// in region (or globally, for region "").
func (v *ImageVersion) ExcludedFromLatest(region string) bool {
	pp := v.Properties.PublishingProfile
	if pp == nil {
		return false
	}
	if pp.ExcludeFromLatest != nil && *pp.ExcludeFromLatest {
		return true
	}
	for _, tr := range pp.TargetRegions {
		if region != "" && NormalizeLocation(tr.Name) == NormalizeLocation(region) && tr.ExcludeFromLatest != nil {
			return *tr.ExcludeFromLatest
		}
	}
	return false
}

// Latest returns the version "latest" resolves to in region at now: the
// highest by numeric major, minor, patch that is not excluded from latest
// (globally or in that region) and whose end of life has not passed; nil
// when none qualifies.
func Latest(versions []ImageVersion, region string, now time.Time) *ImageVersion {
	var best *ImageVersion
	var bestNum VersionNumber
	for i := range versions {
		v := &versions[i]
		num, err := ParseVersionNumber(v.ID.Version)
		if err != nil || v.ExcludedFromLatest(region) {
			continue
		}
		if pp := v.Properties.PublishingProfile; pp != nil && pp.EndOfLifeDate != nil && !pp.EndOfLifeDate.After(now) {
			continue
		}
		if best == nil || num.Compare(bestNum) > 0 {
			best, bestNum = v, num
		}
	}
	return best
}

// VersionDisk names one disk of a version in manifest ids: "os", or
// "lun<N>" for a data disk.
func VersionDisk(lun *int32) string {
	if lun == nil {
		return "os"
	}
	return fmt.Sprintf("lun%d", *lun)
}

// VersionManifestID names the manifest of replica n of one disk of a
// version in a region's store; replica -1 is the version's own copy in its
// source region, taken when the version is created so that deleting the
// source later does not matter. The id is derived from the version's ARM id
// (folded), so every node computes the same one without storing it.
func VersionManifestID(id ImageVersionID, disk string, replica int) string {
	if replica < 0 {
		return VersionManifestPrefix(id) + disk + "-src"
	}
	return fmt.Sprintf("%s%s-r%d", VersionManifestPrefix(id), disk, replica)
}

// VersionManifestPrefix is what every manifest id of a version starts with.
func VersionManifestPrefix(id ImageVersionID) string {
	sum := sha256.Sum256([]byte(Fold(id.String())))
	return "v-" + hex.EncodeToString(sum[:16]) + "-"
}

// VersionManifestReplica returns the replica number of a version manifest
// id, and false for a source copy or an id of another shape.
func VersionManifestReplica(manifestID string) (int, bool) {
	i := strings.LastIndex(manifestID, "-r")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(manifestID[i+2:])
	return n, err == nil && n >= 0
}
