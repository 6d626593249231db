package portal

import (
	"context"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// ARM's wire shapes, as far as the pages show them. Properties reuse the
// domain's types, whose JSON names are Azure's.

type subscriptionJSON struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
}

type locationJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

type resourceGroupJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
}

type galleryJSON struct {
	ID         string                    `json:"id"`
	Name       string                    `json:"name"`
	Location   string                    `json:"location"`
	Properties galleon.GalleryProperties `json:"properties"`
}

type imageJSON struct {
	ID         string                            `json:"id"`
	Name       string                            `json:"name"`
	Location   string                            `json:"location"`
	Properties galleon.ImageDefinitionProperties `json:"properties"`
}

type versionJSON struct {
	ID         string                         `json:"id"`
	Name       string                         `json:"name"`
	Location   string                         `json:"location"`
	Properties galleon.ImageVersionProperties `json:"properties"`
}

// resourceRow is one line of a resource list.
type resourceRow struct {
	ID, Name, Type, ResourceGroup, Location, Subscription string
}

func subscriptions(ctx context.Context, c *client) ([]subscriptionJSON, error) {
	return list[subscriptionJSON](ctx, c, withAPI("/subscriptions", subsAPI))
}

func locations(ctx context.Context, c *client, sub string) ([]locationJSON, error) {
	return list[locationJSON](ctx, c, withAPI("/subscriptions/"+sub+"/locations", subsAPI))
}

func resourceGroups(ctx context.Context, c *client, sub string) ([]resourceGroupJSON, error) {
	return list[resourceGroupJSON](ctx, c, withAPI("/subscriptions/"+sub+"/resourcegroups", resourcesAPI))
}

func galleriesIn(ctx context.Context, c *client, sub string) ([]galleryJSON, error) {
	return list[galleryJSON](ctx, c, withAPI("/subscriptions/"+sub+"/providers/Microsoft.Compute/galleries", computeAPI))
}

func imagesIn(ctx context.Context, c *client, galleryID string) ([]imageJSON, error) {
	return list[imageJSON](ctx, c, withAPI(galleryID+"/images", computeAPI))
}

func versionsIn(ctx context.Context, c *client, imageID string) ([]versionJSON, error) {
	return list[versionJSON](ctx, c, withAPI(imageID+"/versions", computeAPI))
}

// genericResourceJSON is an item of ARM's generic resource list, as far
// as a row shows it.
type genericResourceJSON struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Location string `json:"location"`
}

// rowTypes names each type the generic list holds as All resources does,
// by folded type.
var rowTypes = map[string]string{
	"microsoft.compute/galleries":                 "Azure compute gallery",
	"microsoft.compute/galleries/images":          "VM image definition",
	"microsoft.compute/galleries/images/versions": "VM image version",
	"microsoft.compute/disks":                     rowDisk,
	"microsoft.compute/snapshots":                 rowSnapshot,
	"microsoft.compute/images":                    rowManagedImage,
}

// listAllResources lists the galleries, image definitions and versions,
// disks, snapshots and managed images the user may read in every
// subscription it sees, sorted by name: one generic resource list per
// subscription (GET /subscriptions/{s}/resources, whose items ARM has
// already narrowed to what the user may read), its pages followed. A
// subscription the user may read nothing in (403) is left out rather than
// failing the page.
func listAllResources(ctx context.Context, c *client) ([]resourceRow, error) {
	subs, err := subscriptions(ctx, c)
	if err != nil {
		return nil, err
	}
	var rows []resourceRow
	for _, sub := range subs {
		items, err := list[genericResourceJSON](ctx, c, withAPI("/subscriptions/"+sub.SubscriptionID+"/resources?$top=1000", resourcesAPI))
		if forbidden(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, it := range items {
			label, ok := rowTypes[strings.ToLower(it.Type)]
			rid, err := arm.ParseResourceID(it.ID)
			if !ok || err != nil {
				continue
			}
			// The list names nested resources by their full names
			// ("gallery/image"); a row shows the resource's own.
			rows = append(rows, resourceRow{ID: it.ID, Name: rid.Name, Type: label, ResourceGroup: rid.ResourceGroupName,
				Location: it.Location, Subscription: sub.DisplayName})
		}
	}
	sortRows(rows)
	return rows, nil
}

// forbidden reports whether err is a 403 answer.
func forbidden(err error) bool {
	e, ok := err.(*apiError)
	return ok && e.Status == http.StatusForbidden
}

type allResourcesPage struct {
	Rows []resourceRow
}

func (s *Server) allResources(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	rows, err := listAllResources(r.Context(), c)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "resources", "All resources", allResourcesPage{Rows: rows})
	return nil
}

type homePage struct {
	Services []service
	Recent   []resourceRow
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	rows, err := listAllResources(r.Context(), c)
	if err != nil {
		return err
	}
	if len(rows) > 10 {
		rows = rows[:10]
	}
	s.render(w, r, v, http.StatusOK, "home", "Home", homePage{Services: services, Recent: rows})
	return nil
}
