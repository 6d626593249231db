package galleon

import (
	"fmt"
	"slices"
	"strings"
)

// References: the resources a request body names besides the one it
// writes. Creating a disk, snapshot, managed image or image version from
// a source copies the source's bytes, and copying bytes is reading them:
// the caller must hold, on every resource it names, what reading that
// resource's bytes takes, checked when the request arrives (the
// replication that follows runs without a caller) and before anything is
// looked up, copied or stored.
//
// Every field of every request body that names another resource, and the
// types it takes (one place; armapi enforces it on PUT and PATCH):
//
//	disk, snapshot     properties.creationData.sourceResourceId           disk, snapshot
//	                   properties.creationData.galleryImageReference.id   image version, image definition ("latest")
//	                   properties.creationData.imageReference.id          image version, image definition ("latest")
//	                   properties.creationData.storageAccountId           storage account
//	managed image      properties.sourceVirtualMachine.id                 virtual machine
//	                   properties.storageProfile.osDisk.snapshot.id       disk, snapshot
//	                   properties.storageProfile.osDisk.managedDisk.id    disk, snapshot
//	                   properties.storageProfile.dataDisks[i].snapshot.id, .managedDisk.id   disk, snapshot
//	image version      galleryImageVersion.properties.storageProfile.source.id   managed image, image version, disk, snapshot, virtual machine
//	                   ….storageProfile.osDiskImage.source.id, .dataDiskImages[i].source.id   disk, snapshot
//	                   ….osDiskImage.source.storageAccountId, .dataDiskImages[i].source.storageAccountId   storage account
//
// What the caller must hold on each referenced type is referenceRules.
// URLs (creationData.sourceUri, a managed image disk's blobUri, a version
// disk's source.uri) name no ARM resource: their bytes are fetched with the
// URL's own credentials, through netguard. Galleon takes no
// sharedGalleryImageId or communityGalleryImageId anywhere (unknown
// properties are ignored and a reference without an id is refused).

// ActionDownloadVersion is the data action that reading an image
// version's bytes takes: a read SAS for them (Galleon's own extension,
// POST …/versions/{v}/beginGetAccess), and so copying them anywhere.
const ActionDownloadVersion = "Microsoft.Compute/galleries/images/versions/download/action"

// More resource types a request may name.
const (
	TypeVirtualMachine = "Microsoft.Compute/virtualMachines"
	TypeStorageAccount = "Microsoft.Storage/storageAccounts"
)

// referenceRule is what a caller must hold on a referenced resource of one
// type.
type referenceRule struct {
	actions, dataActions []string
	// shareable: a share of the resource's gallery with the consumer
	// stands in for the roles.
	shareable bool
}

// referenceRules: `<type>/read` always, and where bytes flow, what reading
// those bytes directly takes today: beginGetAccess (Read) of a disk or
// snapshot, and the download data action of a version. A definition is
// read through its latest version, so it takes the same data action (a
// grant at the definition covers each of its versions). A managed image's
// bytes cannot be read directly, in Azure or in Galleon, and Azure builds
// from one on images/read alone: that is what it takes here too.
var referenceRules = map[string]referenceRule{
	Fold(TypeDisk):            {actions: []string{TypeDisk + "/read", TypeDisk + "/beginGetAccess/action"}},
	Fold(TypeSnapshot):        {actions: []string{TypeSnapshot + "/read", TypeSnapshot + "/beginGetAccess/action"}},
	Fold(TypeManagedImage):    {actions: []string{TypeManagedImage + "/read"}},
	Fold(TypeImageVersion):    {actions: []string{TypeImageVersion + "/read"}, dataActions: []string{ActionDownloadVersion}, shareable: true},
	Fold(TypeImageDefinition): {actions: []string{TypeImageDefinition + "/read"}, dataActions: []string{ActionDownloadVersion}, shareable: true},
	Fold(TypeVirtualMachine):  {actions: []string{TypeVirtualMachine + "/read"}},
	Fold(TypeStorageAccount):  {actions: []string{TypeStorageAccount + "/read"}},
}

// canonicalTypes spell the types references take as Azure does.
var canonicalTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{TypeDisk, TypeSnapshot, TypeManagedImage, TypeImageVersion, TypeImageDefinition, TypeVirtualMachine, TypeStorageAccount, TypeGallery} {
		m[Fold(t)] = t
	}
	return m
}()

// Reference is one resource a request body names, with what the caller
// must hold on it.
type Reference struct {
	// Field is the JSON path of the field that names it, the target of
	// an error about it.
	Field string
	ID    ResourceRef
	// Actions and DataActions must all be granted to the caller at ID.
	Actions, DataActions []string
	// Shareable references (image definitions and versions) may be used
	// instead through a share of their gallery with the subscription the
	// request writes in (or its tenant), or a community gallery.
	Shareable bool
}

// ResourceRef is a parsed ARM id of a resource in a resource group: its
// type (namespace and one or more levels) and one name per level.
type ResourceRef struct {
	SubscriptionID string
	ResourceGroup  string
	Type           string // e.g. Microsoft.Compute/galleries/images/versions; Azure's casing for the types Galleon knows
	Names          []string
}

// String is the canonical id: the resource that is authorized and the one
// that is looked up are both this one.
func (r ResourceRef) String() string {
	ns, rest, _ := strings.Cut(r.Type, "/")
	var b strings.Builder
	b.WriteString("/subscriptions/" + r.SubscriptionID + "/resourceGroups/" + r.ResourceGroup + "/providers/" + ns)
	for i, t := range strings.Split(rest, "/") {
		b.WriteString("/" + t + "/" + r.Names[i])
	}
	return b.String()
}

// Is reports whether the reference has type typ.
func (r ResourceRef) Is(typ string) bool { return Fold(r.Type) == Fold(typ) }

// DiskID is the reference as a disk, snapshot or managed image id.
func (r ResourceRef) DiskID() DiskID {
	return DiskID{SubscriptionID: r.SubscriptionID, ResourceGroup: r.ResourceGroup, Type: r.Type, Name: r.Names[len(r.Names)-1]}
}

// GalleryID is the gallery of a reference to a gallery or something in one.
func (r ResourceRef) GalleryID() GalleryID {
	return GalleryID{SubscriptionID: r.SubscriptionID, ResourceGroup: r.ResourceGroup, Name: r.Names[0]}
}

// ImageDefinitionID is the reference as an image definition id (or a
// version's definition).
func (r ResourceRef) ImageDefinitionID() ImageDefinitionID {
	return ImageDefinitionID{GalleryID: r.GalleryID(), Image: r.Names[1]}
}

// ImageVersionID is the reference as an image version id.
func (r ResourceRef) ImageVersionID() ImageVersionID {
	return ImageVersionID{ImageDefinitionID: r.ImageDefinitionID(), Version: r.Names[2]}
}

// maxReferenceIDLength bounds an id a client sends; ARM's own are far
// shorter.
const maxReferenceIDLength = 1024

// ParseResourceRef reads the id of a resource in a resource group,
// strictly: /subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}
// followed by one to three {type}/{name} pairs, keys matched without
// regard to case, one trailing slash allowed, no empty segment, no
// extension resource (a nested providers). Anything else is not an id of
// a resource a request may name.
func ParseResourceRef(id string) (ResourceRef, error) {
	bad := Errorf(CodeInvalidParameter, "'%s' is not the id of a resource in a resource group.", id)
	if len(id) > maxReferenceIDLength {
		return ResourceRef{}, Errorf(CodeInvalidParameter, "The resource id is longer than %d characters.", maxReferenceIDLength)
	}
	parts := strings.Split(strings.TrimSuffix(id, "/"), "/")
	if len(parts) < 9 || len(parts) > 13 || len(parts)%2 == 0 || parts[0] != "" ||
		!strings.EqualFold(parts[1], "subscriptions") || !strings.EqualFold(parts[3], "resourceGroups") || !strings.EqualFold(parts[5], "providers") {
		return ResourceRef{}, bad
	}
	for _, p := range parts[1:] {
		if p == "" {
			return ResourceRef{}, bad
		}
	}
	// Subscription ids are GUIDs, compared and stored folded.
	r := ResourceRef{SubscriptionID: Fold(parts[2]), ResourceGroup: parts[4]}
	typ := []string{parts[6]}
	for i := 7; i < len(parts); i += 2 {
		if strings.EqualFold(parts[i], "providers") {
			return ResourceRef{}, bad
		}
		typ = append(typ, parts[i])
		r.Names = append(r.Names, parts[i+1])
	}
	r.Type = strings.Join(typ, "/")
	if c, ok := canonicalTypes[Fold(r.Type)]; ok {
		r.Type = c
	}
	return r, nil
}

// Referrer is a request body that may name other resources: *Disk,
// *ManagedImage, *ImageVersion.
type Referrer interface {
	referenceFields() []referenceField
}

// referenceField is one field naming a resource, as the body gives it.
type referenceField struct {
	field, id string
	accepts   []string // the types the field takes
}

// References lists every resource next names with what the caller must
// hold on it. An id that cannot be read, or names a type the field does
// not take, is InvalidParameter naming the field: nothing is looked up.
func References(next Referrer) ([]Reference, error) {
	return NewReferences(nil, next)
}

// NewReferences is References of next without those that prev, the
// stored state of the same resource (nil: none), names in the same field:
// an update that keeps its sources moves no bytes and needs no rights on
// them (az sends them back unchanged, or not at all).
func NewReferences(prev, next Referrer) ([]Reference, error) {
	kept := map[string]bool{}
	if prev != nil {
		for _, f := range prev.referenceFields() {
			kept[f.field+"\x00"+Fold(f.id)] = true
		}
	}
	var out []Reference
	for _, f := range next.referenceFields() {
		if kept[f.field+"\x00"+Fold(f.id)] {
			continue
		}
		ref, err := ParseResourceRef(f.id)
		if err != nil {
			err.(*Error).Target = f.field
			return nil, err
		}
		if !slices.ContainsFunc(f.accepts, ref.Is) {
			return nil, TargetErrorf(CodeInvalidParameter, f.field, "'%s' is not the id of a %s.", f.id, strings.Join(f.accepts, " or "))
		}
		rule := referenceRules[Fold(ref.Type)]
		out = append(out, Reference{Field: f.field, ID: ref, Actions: rule.actions, DataActions: rule.dataActions, Shareable: rule.shareable})
	}
	return out, nil
}

var (
	diskSources    = []string{TypeDisk, TypeSnapshot}
	imageSources   = []string{TypeImageVersion, TypeImageDefinition}
	versionSources = []string{TypeManagedImage, TypeImageVersion, TypeDisk, TypeSnapshot, TypeVirtualMachine}
	storageAccount = []string{TypeStorageAccount}
)

// appendField adds a field when it names something.
func appendField(out []referenceField, field, id string, accepts []string) []referenceField {
	if id == "" {
		return out
	}
	return append(out, referenceField{field, id, accepts})
}

// referenceFields of a disk or snapshot: every id its creationData gives,
// whatever its create option (one that is not used is authorized all the
// same: a client sending it asks for it).
func (d *Disk) referenceFields() []referenceField {
	if d == nil {
		return nil
	}
	const cd = "properties.creationData."
	c := d.Properties.CreationData
	out := appendField(nil, cd+"sourceResourceId", c.SourceResourceID, diskSources)
	if c.GalleryImageReference != nil {
		out = appendField(out, cd+"galleryImageReference.id", c.GalleryImageReference.ID, imageSources)
	}
	if c.ImageReference != nil {
		out = appendField(out, cd+"imageReference.id", c.ImageReference.ID, imageSources)
	}
	return appendField(out, cd+"storageAccountId", c.StorageAccountID, storageAccount)
}

func (img *ManagedImage) referenceFields() []referenceField {
	if img == nil {
		return nil
	}
	p := img.Properties
	var out []referenceField
	if p.SourceVirtualMachine != nil {
		out = appendField(out, "properties.sourceVirtualMachine.id", p.SourceVirtualMachine.ID, []string{TypeVirtualMachine})
	}
	disk := func(where string, d *ImageDisk) {
		if d.Snapshot != nil {
			out = appendField(out, where+".snapshot.id", d.Snapshot.ID, diskSources)
		}
		if d.ManagedDisk != nil {
			out = appendField(out, where+".managedDisk.id", d.ManagedDisk.ID, diskSources)
		}
	}
	if p.StorageProfile.OSDisk != nil {
		disk(managedImageTarget+"osDisk", &p.StorageProfile.OSDisk.ImageDisk)
	}
	for i := range p.StorageProfile.DataDisks {
		disk(fmt.Sprintf("%sdataDisks[%d]", managedImageTarget, i), &p.StorageProfile.DataDisks[i].ImageDisk)
	}
	return out
}

func (v *ImageVersion) referenceFields() []referenceField {
	if v == nil {
		return nil
	}
	const target = versionTarget + "storageProfile"
	sp := v.Properties.StorageProfile
	var out []referenceField
	if sp.Source != nil {
		out = appendField(out, target+".source.id", sp.Source.ID, versionSources)
	}
	disk := func(where string, d *DiskImage) {
		if d.Source != nil {
			out = appendField(out, where+".source.id", d.Source.ID, diskSources)
			out = appendField(out, where+".source.storageAccountId", d.Source.StorageAccountID, storageAccount)
		}
	}
	if sp.OSDiskImage != nil {
		disk(target+".osDiskImage", sp.OSDiskImage)
	}
	for i := range sp.DataDiskImages {
		disk(fmt.Sprintf("%s.dataDiskImages[%d]", target, i), &sp.DataDiskImages[i].DiskImage)
	}
	return out
}

// LinkedDenied is Azure's LinkedAuthorizationFailed: the caller may write
// the resource (action at scope) but lacks actions on a resource the
// request names (linked, in field target).
func LinkedDenied(p Principal, action, scope string, missing []string, linked, target string) *Error {
	return TargetErrorf(CodeLinkedAuthorizationFailed, target,
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		p.DisplayIdentity(), p.ObjectID, action, scope, strings.Join(missing, ","), linked)
}
