package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// Disks, snapshots and managed images: their wire shapes, their pages'
// essentials, and their lists for All resources and a resource group's
// page.

type diskJSON struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Location   string                 `json:"location"`
	Properties galleon.DiskProperties `json:"properties"`
}

type managedImageJSON struct {
	ID         string                         `json:"id"`
	Name       string                         `json:"name"`
	Location   string                         `json:"location"`
	Properties galleon.ManagedImageProperties `json:"properties"`
}

// Types as All resources and the resource group page name them.
const (
	rowDisk         = "Disk"
	rowSnapshot     = "Snapshot"
	rowManagedImage = "Image"
)

// diskCollections are the lists of disks, snapshots and managed images
// under a subscription or resource group scope, with the label of their
// items.
var diskCollections = []struct{ path, api, label string }{
	{"/providers/Microsoft.Compute/disks", diskAPI, rowDisk},
	{"/providers/Microsoft.Compute/snapshots", diskAPI, rowSnapshot},
	{"/providers/Microsoft.Compute/images", managedImageAPI, rowManagedImage},
}

// disksUnder lists the disks, snapshots and managed images under scope (a
// subscription or resource group id) the user may read; a list the user may
// not read (403) is left out.
func disksUnder(ctx context.Context, c *client, scope, subscriptionName string) ([]resourceRow, error) {
	var rows []resourceRow
	for _, coll := range diskCollections {
		items, err := list[resourceGroupJSON](ctx, c, withAPI(scope+coll.path, coll.api))
		if forbidden(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, it := range items {
			rid, err := arm.ParseResourceID(it.ID)
			if err != nil {
				continue
			}
			rows = append(rows, resourceRow{ID: it.ID, Name: it.Name, Type: coll.label, ResourceGroup: rid.ResourceGroupName,
				Location: it.Location, Subscription: subscriptionName})
		}
	}
	return rows, nil
}

// groupResources lists what a resource group holds that the user may read:
// its galleries, disks, snapshots and managed images.
func groupResources(ctx context.Context, c *client, groupID string) ([]resourceRow, error) {
	rows, err := disksUnder(ctx, c, groupID, "")
	if err != nil {
		return nil, err
	}
	gs, err := list[galleryJSON](ctx, c, withAPI(groupID+"/providers/Microsoft.Compute/galleries", computeAPI))
	if err != nil && !forbidden(err) {
		return nil, err
	}
	for _, g := range gs {
		rows = append(rows, resourceRow{ID: g.ID, Name: g.Name, Type: "Azure compute gallery", Location: g.Location})
	}
	sortRows(rows)
	return rows, nil
}

// sortRows sorts rows by name, as every resource list is.
func sortRows(rows []resourceRow) {
	sort.SliceStable(rows, func(i, j int) bool { return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name) })
}

// diskView is what a disk's or snapshot's page shows, already worded.
type diskView struct {
	Kind         string // "disk" or "snapshot"
	State        string
	Size         string // "24 MiB (25,165,824 bytes)"
	SizeGB       string
	CreateOption string
	// Source is where the bytes came from: an ARM id (SourceID, linked), a
	// URL, or an upload's size.
	Source, SourceID string
	OSType           string
	Generation       string
	TimeCreated      string
	Provisioning     string
	Digest           string
	UniqueID         string
	// Waiting is set while an upload's bytes have not been sealed.
	Waiting bool
}

// newDiskView words a disk's or snapshot's properties for its page.
func newDiskView(d diskJSON) diskView {
	p := d.Properties
	cd := p.CreationData
	v := diskView{Kind: "disk", State: p.DiskState, CreateOption: cd.CreateOption, OSType: p.OSType,
		Generation: generationName(p.HyperVGeneration), Provisioning: p.ProvisioningState, Digest: p.SHA256, UniqueID: p.UniqueID,
		Waiting: p.DiskState == galleon.DiskReadyToUpload || p.DiskState == galleon.DiskActiveUpload}
	if strings.EqualFold(d.Type, galleon.TypeSnapshot) {
		v.Kind = "snapshot"
	}
	if p.DiskSizeBytes != nil {
		v.Size = sizeText(*p.DiskSizeBytes)
	}
	if p.DiskSizeGB != nil {
		v.SizeGB = strconv.Itoa(int(*p.DiskSizeGB)) + " GiB"
	}
	if p.TimeCreated != nil {
		v.TimeCreated = p.TimeCreated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	switch {
	case cd.SourceResourceID != "":
		v.SourceID = cd.SourceResourceID
		v.Source = lastSegment(cd.SourceResourceID)
	case cd.GalleryImageReference != nil && cd.GalleryImageReference.ID != "":
		v.SourceID = cd.GalleryImageReference.ID
		v.Source = lastSegment(cd.GalleryImageReference.ID)
	case cd.ImageReference != nil && cd.ImageReference.ID != "":
		v.SourceID = cd.ImageReference.ID
		v.Source = lastSegment(cd.ImageReference.ID)
	case cd.SourceURI != "":
		v.Source = cd.SourceURI
	case cd.UploadSizeBytes != nil:
		v.Source = "An upload of " + sizeText(*cd.UploadSizeBytes) + ", a fixed VHD with its footer"
	}
	return v
}

// managedImageView is what a managed image's page shows.
type managedImageView struct {
	Generation   string
	Provisioning string
	Disks        []managedImageDiskView
}

type managedImageDiskView struct {
	Name, OSType, OSState, Source, SourceID, SizeGB, Digest string
}

func newManagedImageView(img managedImageJSON) managedImageView {
	p := img.Properties
	v := managedImageView{Generation: generationName(p.HyperVGeneration), Provisioning: p.ProvisioningState}
	disk := func(name string, d galleon.ImageDisk) managedImageDiskView {
		dv := managedImageDiskView{Name: name, Digest: d.SHA256, SourceID: d.Source()}
		dv.Source = lastSegment(dv.SourceID)
		if dv.SourceID == "" {
			dv.Source = d.BlobURI
		}
		if d.DiskSizeGB != nil {
			dv.SizeGB = strconv.Itoa(int(*d.DiskSizeGB)) + " GiB"
		}
		return dv
	}
	if os := p.StorageProfile.OSDisk; os != nil {
		dv := disk("OS disk", os.ImageDisk)
		dv.OSType, dv.OSState = os.OSType, os.OSState
		v.Disks = append(v.Disks, dv)
	}
	for _, d := range p.StorageProfile.DataDisks {
		v.Disks = append(v.Disks, disk(fmt.Sprintf("Data disk, LUN %d", d.Lun), d.ImageDisk))
	}
	return v
}

// diskResource fills a disk's, snapshot's or managed image's page from its
// ARM JSON and returns the page template to render.
func diskResource(p *resourcePage, id *arm.ResourceID, raw json.RawMessage) string {
	p.Crumbs = append(p.Crumbs, crumb{"All resources", "/portal/resources"},
		crumb{id.ResourceGroupName, resourceURL("/subscriptions/" + id.SubscriptionID + "/resourceGroups/" + id.ResourceGroupName)})
	if strings.EqualFold(id.ResourceType.String(), galleon.TypeManagedImage) {
		var img managedImageJSON
		_ = json.Unmarshal(raw, &img)
		v := newManagedImageView(img)
		p.TypeName, p.Location, p.ManagedImage = "Image", img.Location, &v
		return "managedimage"
	}
	var d diskJSON
	_ = json.Unmarshal(raw, &d)
	if d.Type == "" {
		d.Type = id.ResourceType.String()
	}
	v := newDiskView(d)
	p.TypeName, p.Location, p.Disk = "Disk", d.Location, &v
	if v.Kind == "snapshot" {
		p.TypeName = "Snapshot"
	}
	return "disk"
}

// sizeText words a byte count as the largest binary unit that keeps it
// short, with the exact count: "24 MiB (25,165,824 bytes)".
func sizeText(n int64) string {
	exact := groupDigits(n) + " bytes"
	units := []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}
	for _, u := range units {
		if n >= 1<<u.shift {
			// Two decimals, truncated: a size just short of 21 MiB must
			// not read as 21 MiB.
			v := math.Floor(float64(n)/float64(int64(1)<<u.shift)*100) / 100
			s := strconv.FormatFloat(v, 'f', 2, 64)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			return s + " " + u.name + " (" + exact + ")"
		}
	}
	return exact
}

// groupDigits writes n with commas between groups of three digits.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func generationName(g string) string {
	switch strings.ToUpper(g) {
	case "V1":
		return "Gen 1"
	case "V2":
		return "Gen 2"
	}
	return g
}

// lastSegment is the name at the end of an ARM id or URL path.
func lastSegment(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}
