package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// Source kinds of an image version, as the seed's table lists them.
const (
	sourceDisks   = "disks"   // an OS disk or snapshot, and data disks at LUNs
	sourceVersion = "version" // another gallery's image version
	sourceImage   = "image"   // a managed image in the version's region
	sourceVHD     = "vhd"     // a VHD blob in a storage account
)

// dataDiskRows is how many data disks the form offers.
const dataDiskRows = 3

type dataDiskRow struct{ Lun, Source string }

type targetRow struct {
	Name, DisplayName string
	Include           bool
	Count             string
}

// versionForm is the add version form; the Replication tab is its second
// half.
type versionForm struct {
	Image             string // the definition's ARM id
	Region            string
	Version           string
	SourceKind        string
	OSDisk            string
	DataDisks         []dataDiskRow
	SourceVersion     string
	ManagedImage      string
	VHDURI            string
	StorageAccount    string
	ExcludeFromLatest bool
	EndOfLife         string // yyyy-mm-dd
	StorageType       string
	ReplicaCount      string
	Targets           []targetRow
}

func readVersionForm(f url.Values, regions []locationJSON) versionForm {
	v := versionForm{
		Image: f.Get("image"), Region: f.Get("region"), Version: strings.TrimSpace(f.Get("version")),
		SourceKind: f.Get("source_kind"), OSDisk: f.Get("os_disk"), SourceVersion: f.Get("source_version"),
		ManagedImage: f.Get("managed_image"), VHDURI: strings.TrimSpace(f.Get("vhd_uri")),
		StorageAccount: strings.TrimSpace(f.Get("storage_account")), ExcludeFromLatest: f.Get("exclude_from_latest") == "true",
		EndOfLife: f.Get("end_of_life"), StorageType: f.Get("storage_type"), ReplicaCount: strings.TrimSpace(f.Get("replica_count")),
	}
	for i := range dataDiskRows {
		v.DataDisks = append(v.DataDisks, dataDiskRow{Lun: strings.TrimSpace(f.Get(fmt.Sprintf("data_lun_%d", i))), Source: f.Get(fmt.Sprintf("data_disk_%d", i))})
	}
	for _, l := range regions {
		v.Targets = append(v.Targets, targetRow{Name: l.Name, DisplayName: l.DisplayName,
			Include: f.Get("target_"+l.Name) == "on", Count: strings.TrimSpace(f.Get("count_" + l.Name))})
	}
	v.orderTargets()
	return v
}

// orderTargets lists the source region first. Whether it is included is
// the form's: the page always sends it, and a form that does not (its
// region changed without the page's script) is refused by the domain's
// rule rather than replicated somewhere the user did not see.
func (f *versionForm) orderTargets() {
	for i, t := range f.Targets {
		if t.Name == f.Region {
			copy(f.Targets[1:i+1], f.Targets[:i])
			f.Targets[0] = t
		}
	}
}

// version is the image version the form describes, as the domain and the
// wire both see it; the form's own errors come back by field.
func (f versionForm) version(def *arm.ResourceID, errs formErrors) galleon.ImageVersion {
	v := galleon.ImageVersion{
		ID: galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{
			SubscriptionID: def.SubscriptionID, ResourceGroup: def.ResourceGroupName, Name: def.Parent.Name}, Image: def.Name},
			Version: f.Version},
		Location: f.Region,
	}
	pp := &galleon.PublishingProfile{StorageAccountType: f.StorageType}
	excl := f.ExcludeFromLatest
	pp.ExcludeFromLatest = &excl
	count := func(s, field string) *int32 {
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			errs.add(field, fmt.Sprintf("'%s' is not a whole number.", s))
			return nil
		}
		c := int32(n)
		return &c
	}
	pp.ReplicaCount = count(f.ReplicaCount, "replica_count")
	if f.EndOfLife != "" {
		t, err := time.Parse("2006-01-02", f.EndOfLife)
		if err != nil {
			errs.add("end_of_life", "Give the end of life as a date, YYYY-MM-DD.")
		} else {
			pp.EndOfLifeDate = &t
		}
	}
	for _, t := range f.Targets {
		if t.Include {
			pp.TargetRegions = append(pp.TargetRegions, galleon.TargetRegion{Name: t.Name, RegionalReplicaCount: count(t.Count, "targets")})
		}
	}
	v.Properties.PublishingProfile = pp
	sp := &v.Properties.StorageProfile
	switch f.SourceKind {
	case sourceDisks:
		if f.OSDisk != "" {
			sp.OSDiskImage = &galleon.DiskImage{Source: &galleon.DiskSource{ID: f.OSDisk}}
		}
		for _, d := range f.DataDisks {
			if d.Source == "" {
				continue
			}
			lun := count(d.Lun, "data_disks")
			if lun == nil {
				errs.add("data_disks", "Give each data disk a LUN.")
				continue
			}
			sp.DataDiskImages = append(sp.DataDiskImages, galleon.DataDiskImage{Lun: *lun, DiskImage: galleon.DiskImage{Source: &galleon.DiskSource{ID: d.Source}}})
		}
		if f.OSDisk == "" {
			errs.add("os_disk", "Select the OS disk or snapshot.")
		}
	case sourceVersion:
		if f.SourceVersion == "" {
			errs.add("source_version", "Select the source image version.")
		}
		sp.Source = &galleon.VersionSource{ID: f.SourceVersion}
	case sourceImage:
		if f.ManagedImage == "" {
			errs.add("managed_image", "Select the managed image.")
		}
		sp.Source = &galleon.VersionSource{ID: f.ManagedImage}
	case sourceVHD:
		if f.VHDURI == "" {
			errs.add("vhd_uri", "Give the VHD's blob URL.")
		}
		sp.OSDiskImage = &galleon.DiskImage{Source: &galleon.DiskSource{URI: f.VHDURI, StorageAccountID: f.StorageAccount}}
	default:
		errs.add("source_kind", "Select a source.")
	}
	return v
}

// versionField maps a version error's target to the form's field.
func versionField(target string) string {
	switch {
	case target == "galleryImageVersionName" || target == "name":
		return "version"
	case target == "location":
		return "region"
	case strings.Contains(target, "targetRegions"):
		return "targets"
	case strings.HasSuffix(target, "publishingProfile.replicaCount"):
		return "replica_count"
	case strings.HasSuffix(target, "storageAccountType"):
		return "storage_type"
	case strings.HasSuffix(target, "endOfLifeDate"):
		return "end_of_life"
	case strings.Contains(target, "dataDiskImages"):
		return "data_disks"
	case strings.Contains(target, "storageProfile"):
		return "source_kind"
	}
	return ""
}

// option is an entry of a source drop-down.
type option struct{ ID, Label, Group string }

type versionCreatePage struct {
	Form           versionForm
	ImageName      string
	GalleryName    string
	Errors         formErrors
	Review         bool
	Regions        []locationJSON
	Disks          []option // disks and snapshots
	Versions       []option
	Images         []option
	StorageTypes   []string
	DataDiskRows   []int
	Rule           string
	SourceKindName string
}

func (p versionCreatePage) crumbs() []crumb {
	gallery := p.Form.Image[:strings.LastIndex(strings.ToLower(p.Form.Image), "/images/")]
	return []crumb{{"Home", Prefix}, {"Azure compute galleries", "/portal/galleries"}, {p.GalleryName, resourceURL(gallery)},
		{p.ImageName, resourceURL(p.Form.Image)}}
}

// IncludedTargets are the target regions the review lists.
func (p versionCreatePage) IncludedTargets() []targetRow {
	var out []targetRow
	for _, t := range p.Form.Targets {
		if t.Include {
			if t.Count == "" {
				t.Count = p.Form.ReplicaCount
			}
			out = append(out, t)
		}
	}
	return out
}

var sourceKindNames = map[string]string{sourceDisks: "Disks and/or snapshots", sourceVersion: "Image version",
	sourceImage: "Managed image", sourceVHD: "VHD in a storage account"}

// createVersion serves Add version: form (Basics and Replication), review, create.
func (s *Server) createVersion(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := v.arm()
	if err != nil {
		return err
	}
	imageID := r.URL.Query().Get("image")
	if r.Method != http.MethodGet {
		imageID = r.PostForm.Get("image")
	}
	def, err := arm.ParseResourceID(imageID)
	if err != nil || !strings.EqualFold(def.ResourceType.String(), galleon.TypeImageDefinition) {
		s.fail(w, r, v, http.StatusBadRequest, "Choose an image definition to add the version to.")
		return nil
	}
	var image imageJSON
	if _, err := c.do(ctx, http.MethodGet, withAPI(imageID, computeAPI), nil, &image); err != nil {
		return err
	}
	page := versionCreatePage{ImageName: image.Name, GalleryName: def.Parent.Name, Errors: formErrors{},
		StorageTypes: galleon.StorageAccountTypes, Rule: "major.minor.patch, each a whole number, e.g. 1.0.0"}
	for i := range dataDiskRows {
		page.DataDiskRows = append(page.DataDiskRows, i)
	}
	if page.Regions, err = locations(ctx, c, def.SubscriptionID); err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		page.Form = readVersionForm(url.Values{}, page.Regions)
		page.Form.Image, page.Form.Region, page.Form.SourceKind = imageID, image.Location, sourceDisks
		page.Form.StorageType, page.Form.ReplicaCount = "Standard_LRS", "1"
		page.Form.orderTargets()
	} else {
		page.Form = readVersionForm(r.PostForm, page.Regions)
	}
	page.SourceKindName = sourceKindNames[page.Form.SourceKind]
	if err := s.versionSources(ctx, c, def.SubscriptionID, &page); err != nil {
		return err
	}
	switch r.PostForm.Get("step") {
	case "review":
		s.validateVersion(ctx, c, def, &page)
		page.Review = !page.Errors.Any()
	case "create":
		if ver := s.validateVersion(ctx, c, def, &page); !page.Errors.Any() {
			if dep, ok := s.deployVersion(ctx, c, &page, ver); ok {
				http.Redirect(w, r, dep, http.StatusSeeOther)
				return nil
			}
		}
	}
	status := http.StatusOK
	if page.Errors.Any() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v, status, "version_create", "Create a VM image version", page)
	return nil
}

// versionSources fills the drop-downs: disks and snapshots, image versions
// of every gallery, managed images. A list the user may not read is left
// empty.
func (s *Server) versionSources(ctx context.Context, c *client, sub string, p *versionCreatePage) error {
	for _, kind := range []string{"disks", "snapshots"} {
		items, err := list[resourceGroupJSON](ctx, c, withAPI("/subscriptions/"+sub+"/providers/Microsoft.Compute/"+kind, diskAPI))
		if forbidden(err) {
			continue
		} else if err != nil {
			return err
		}
		for _, it := range items {
			p.Disks = append(p.Disks, option{ID: it.ID, Label: it.Name + " (" + strings.TrimSuffix(kind, "s") + ", " + galleon.DisplayNameFor(it.Location) + ")"})
		}
	}
	images, err := list[resourceGroupJSON](ctx, c, withAPI("/subscriptions/"+sub+"/providers/Microsoft.Compute/images", managedImageAPI))
	if err != nil && !forbidden(err) {
		return err
	}
	for _, it := range images {
		p.Images = append(p.Images, option{ID: it.ID, Label: it.Name + " (" + galleon.DisplayNameFor(it.Location) + ")"})
	}
	rows, err := listAllResources(ctx, c)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.Type != "VM image version" {
			continue
		}
		id, err := arm.ParseResourceID(row.ID)
		if err != nil {
			continue
		}
		p.Versions = append(p.Versions, option{ID: row.ID, Label: row.Name, Group: id.Parent.Parent.Name + " / " + id.Parent.Name})
	}
	return nil
}

// validateVersion is Review + create's validation: the version number and
// every rule of the domain's ImageVersion.Validate (source region among
// the targets, one source style, unique LUNs, counts, end of life), and
// that the name is free.
func (s *Server) validateVersion(ctx context.Context, c *client, def *arm.ResourceID, p *versionCreatePage) galleon.ImageVersion {
	f, errs := p.Form, p.Errors
	if err := galleon.ValidateVersionName(f.Version); err != nil {
		errs.add("version", messageOf(err))
	}
	ver := f.version(def, errs)
	if errs.Any() {
		return ver
	}
	regions := make(galleon.Regions, len(p.Regions))
	for i, l := range p.Regions {
		regions[i] = galleon.Region{Name: l.Name, DisplayName: l.DisplayName}
	}
	// Validate also fills in what the API would (replica counts per
	// region, storage types), so the review shows what will be created.
	if err := ver.Validate(regions, s.now()); err != nil {
		errs.add(versionField(targetOf(err)), messageOf(err))
		return ver
	}
	if _, err := c.do(ctx, http.MethodGet, withAPI(f.Image+"/versions/"+f.Version, computeAPI), nil, nil); err == nil {
		errs.add("version", fmt.Sprintf("Version %s of image definition '%s' already exists.", f.Version, def.Name))
	} else if !notFound(err) {
		errs.add("version", apiMessage(err))
	}
	return ver
}

// deployVersion PUTs the version; replication is a long-running operation,
// which the deployment page follows.
func (s *Server) deployVersion(ctx context.Context, c *client, p *versionCreatePage, ver galleon.ImageVersion) (string, bool) {
	id := p.Form.Image + "/versions/" + p.Form.Version
	body := map[string]any{"location": ver.Location, "properties": ver.Properties}
	resp, err := c.do(ctx, http.MethodPut, withAPI(id, computeAPI), body, nil)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			p.Errors.add(versionField(ae.Target), apiMessage(err))
		} else {
			p.Errors.add("", err.Error())
		}
		return "", false
	}
	dep := newDeployment("Microsoft.GalleryImageVersion", s.now())
	dep.Resources = []string{id}
	dep.Operation = operationPath(resp)
	return dep.URL(), true
}

// replicationRow is a region's replication on the version page.
type replicationRow struct {
	Region   string `json:"region"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Progress int32  `json:"progress"`
	Details  string `json:"details,omitempty"`
	Replicas int32  `json:"replicas"`
}

// versionStatus is the version page's live part.
type versionStatus struct {
	ProvisioningState string           `json:"provisioningState"`
	AggregatedState   string           `json:"aggregatedState"`
	Regions           []replicationRow `json:"regions"`
}

// readVersionStatus reads a version with $expand=ReplicationStatus.
func readVersionStatus(ctx context.Context, c *client, id string) (*versionJSON, versionStatus, error) {
	var ver versionJSON
	if _, err := c.do(ctx, http.MethodGet, withAPI(id+"?$expand=ReplicationStatus", computeAPI), nil, &ver); err != nil {
		return nil, versionStatus{}, err
	}
	st := versionStatus{ProvisioningState: ver.Properties.ProvisioningState}
	counts := map[string]int32{}
	if pp := ver.Properties.PublishingProfile; pp != nil {
		for _, t := range pp.TargetRegions {
			if t.RegionalReplicaCount != nil {
				counts[galleon.NormalizeLocation(t.Name)] = *t.RegionalReplicaCount
			}
		}
	}
	if rs := ver.Properties.ReplicationStatus; rs != nil {
		st.AggregatedState = rs.AggregatedState
		for _, r := range rs.Summary {
			n := galleon.NormalizeLocation(r.Region)
			st.Regions = append(st.Regions, replicationRow{Region: n, Name: galleon.DisplayNameFor(n), State: r.State,
				Progress: r.Progress, Details: r.Details, Replicas: counts[n]})
		}
	}
	return &ver, st, nil
}

// versionStatusJSON answers the version page's script.
func (s *Server) versionStatusJSON(w http.ResponseWriter, r *http.Request, v *visit) error {
	id := r.URL.Query().Get("id")
	rid, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(rid.ResourceType.String(), galleon.TypeImageVersion) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not an image version id"})
		return nil
	}
	c, err := v.arm()
	if err != nil {
		return err
	}
	_, st, err := readVersionStatus(r.Context(), c, id)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": apiMessage(err)})
		return nil
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
