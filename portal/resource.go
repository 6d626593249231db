package portal

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// resourcePage is what every resource page shows: where the resource is,
// its ARM JSON, and its children.
type resourcePage struct {
	ID            string
	Name          string
	TypeName      string
	Subscription  string
	ResourceGroup string
	Location      string
	JSON          string
	Crumbs        []crumb

	Gallery  *galleryJSON
	Image    *imageJSON
	Version  *versionJSON
	Status   versionStatus
	Children []resourceRow
	// ParentID is the gallery of a definition, the definition of a version.
	ParentID string
	// Disk is a disk's or snapshot's page, ManagedImage a managed image's.
	Disk         *diskView
	ManagedImage *managedImageView
	// CanDelete shows the Delete button: the portal can delete this type.
	CanDelete bool
}

func (p resourcePage) crumbs() []crumb { return p.Crumbs }

// resource serves the page of the resource the path names.
func (s *Server) resource(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	idStr := "/" + r.PathValue("id")
	id, err := arm.ParseResourceID(idStr)
	if err != nil || id.SubscriptionID == "" {
		s.fail(w, r, v, http.StatusNotFound, "There is no resource at this address.")
		return nil
	}
	c, err := v.arm()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, withAPI(idStr, apiVersionFor(id)), nil, &raw); err != nil {
		return err
	}
	var pretty any
	_ = json.Unmarshal(raw, &pretty)
	data, _ := json.MarshalIndent(pretty, "", "  ")
	p := resourcePage{ID: idStr, Name: id.Name, Subscription: id.SubscriptionID, ResourceGroup: id.ResourceGroupName,
		JSON: string(data), Crumbs: []crumb{{"Home", Prefix}}}
	typ := strings.ToLower(id.ResourceType.String())
	page := "resource"
	switch typ {
	case strings.ToLower(galleon.TypeGallery):
		page, p.TypeName = "gallery", "Azure compute gallery"
		p.Gallery = &galleryJSON{}
		_ = json.Unmarshal(raw, p.Gallery)
		p.Location = p.Gallery.Location
		p.Crumbs = append(p.Crumbs, crumb{"Azure compute galleries", "/portal/galleries"})
		imgs, err := imagesIn(ctx, c, idStr)
		if err != nil && !forbidden(err) {
			return err
		}
		for _, d := range imgs {
			p.Children = append(p.Children, resourceRow{ID: d.ID, Name: d.Name, Type: d.Properties.OSType + " · " + d.Properties.OSState,
				Location: d.Location})
		}
	case strings.ToLower(galleon.TypeImageDefinition):
		page, p.TypeName = "image", "VM image definition"
		p.Image = &imageJSON{}
		_ = json.Unmarshal(raw, p.Image)
		p.Location = p.Image.Location
		p.ParentID = id.Parent.String()
		p.Crumbs = append(p.Crumbs, crumb{"Azure compute galleries", "/portal/galleries"}, crumb{id.Parent.Name, resourceURL(p.ParentID)})
		vs, err := versionsIn(ctx, c, idStr)
		if err != nil && !forbidden(err) {
			return err
		}
		for _, ver := range vs {
			p.Children = append(p.Children, resourceRow{ID: ver.ID, Name: ver.Name, Type: ver.Properties.ProvisioningState, Location: ver.Location})
		}
	case strings.ToLower(galleon.TypeImageVersion):
		page, p.TypeName = "version", "VM image version"
		if p.Version, p.Status, err = readVersionStatus(ctx, c, idStr); err != nil {
			return err
		}
		p.Location = p.Version.Location
		p.ParentID = id.Parent.String()
		p.Crumbs = append(p.Crumbs, crumb{"Azure compute galleries", "/portal/galleries"},
			crumb{id.Parent.Parent.Name, resourceURL(id.Parent.Parent.String())}, crumb{id.Parent.Name, resourceURL(p.ParentID)})
	case "microsoft.resources/resourcegroups":
		page, p.TypeName = "resource", "Resource group"
		var rg resourceGroupJSON
		_ = json.Unmarshal(raw, &rg)
		p.Location = rg.Location
		if p.Children, err = groupResources(ctx, c, idStr); err != nil {
			return err
		}
	case "microsoft.compute/disks", "microsoft.compute/snapshots", "microsoft.compute/images":
		page = diskResource(&p, id, raw)
	default:
		var generic struct {
			Location string `json:"location"`
		}
		_ = json.Unmarshal(raw, &generic)
		p.TypeName, p.Location = id.ResourceType.String(), generic.Location
	}
	p.CanDelete = deletableKind(id) != nil
	s.render(w, r, v, http.StatusOK, page, p.Name, p)
	return nil
}
