package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// imageForm is the add image definition form.
type imageForm struct {
	Gallery     string // the gallery's ARM id
	Region      string
	Name        string
	OSType      string
	Generation  string // V1 or V2
	OSState     string
	Publisher   string
	Offer       string
	SKU         string
	Description string
}

func readImageForm(f url.Values) imageForm {
	return imageForm{
		Gallery:     f.Get("gallery"),
		Region:      f.Get("region"),
		Name:        strings.TrimSpace(f.Get("name")),
		OSType:      f.Get("os_type"),
		Generation:  f.Get("generation"),
		OSState:     f.Get("os_state"),
		Publisher:   strings.TrimSpace(f.Get("publisher")),
		Offer:       strings.TrimSpace(f.Get("offer")),
		SKU:         strings.TrimSpace(f.Get("sku")),
		Description: f.Get("description"),
	}
}

func (f imageForm) id() string { return f.Gallery + "/images/" + f.Name }

// definition is the image definition the form describes.
func (f imageForm) definition(gallery *arm.ResourceID) galleon.ImageDefinition {
	return galleon.ImageDefinition{
		ID: galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{SubscriptionID: gallery.SubscriptionID,
			ResourceGroup: gallery.ResourceGroupName, Name: gallery.Name}, Image: f.Name},
		Location: f.Region,
		Properties: galleon.ImageDefinitionProperties{
			Description: f.Description, OSType: f.OSType, OSState: f.OSState, HyperVGeneration: f.Generation,
			Identifier: galleon.ImageIdentifier{Publisher: f.Publisher, Offer: f.Offer, SKU: f.SKU},
		},
	}
}

type imageCreatePage struct {
	Form        imageForm
	GalleryName string
	Errors      formErrors
	Review      bool
	Regions     []locationJSON
	Rule        string
}

func (p imageCreatePage) crumbs() []crumb {
	return []crumb{{"Home", Prefix}, {"Azure compute galleries", "/portal/galleries"}, {p.GalleryName, resourceURL(p.Form.Gallery)}}
}

// RegionName is the display name of the chosen region.
func (p imageCreatePage) RegionName() string {
	for _, l := range p.Regions {
		if l.Name == p.Form.Region {
			return l.DisplayName
		}
	}
	return p.Form.Region
}

const imageNameRule = "Letters, digits, periods, dashes and underscores, 1 to 80 characters, starting and ending with a letter or digit."

// imageFields map the targets of ARM errors to the form's fields.
var imageFields = map[string]string{
	"galleryImageName": "name", "name": "name", "location": "region", "osType": "os_type", "osState": "os_state",
	"hyperVGeneration": "generation", "publisher": "publisher", "offer": "offer", "sku": "sku",
	"identifier": "publisher", "description": "description",
}

// createImage serves Add a new image definition: form, review, create.
func (s *Server) createImage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := v.arm()
	if err != nil {
		return err
	}
	var form imageForm
	if r.Method == http.MethodGet {
		form = imageForm{Gallery: r.URL.Query().Get("gallery"), OSType: "Linux", Generation: "V1", OSState: "Generalized"}
	} else {
		form = readImageForm(r.PostForm)
	}
	gid, err := arm.ParseResourceID(form.Gallery)
	if err != nil || !strings.EqualFold(gid.ResourceType.String(), galleon.TypeGallery) {
		s.fail(w, r, v, http.StatusBadRequest, "Choose a gallery to add the image definition to.")
		return nil
	}
	var gallery galleryJSON
	if _, err := c.do(ctx, http.MethodGet, withAPI(form.Gallery, computeAPI), nil, &gallery); err != nil {
		return err
	}
	page := imageCreatePage{Form: form, GalleryName: gallery.Name, Errors: formErrors{}, Rule: imageNameRule}
	if page.Regions, err = locations(ctx, c, gid.SubscriptionID); err != nil {
		return err
	}
	if page.Form.Region == "" {
		page.Form.Region = gallery.Location
	}
	switch r.PostForm.Get("step") {
	case "review":
		s.validateImage(ctx, c, gid, &page)
		page.Review = !page.Errors.Any()
	case "create":
		if s.validateImage(ctx, c, gid, &page); !page.Errors.Any() {
			if dep, ok := s.deployImage(ctx, c, &page); ok {
				http.Redirect(w, r, dep, http.StatusSeeOther)
				return nil
			}
		}
	}
	status := http.StatusOK
	if page.Errors.Any() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v, status, "image_create", "Add new image definition to gallery", page)
	return nil
}

// validateImage is Review + create's validation for an image definition.
func (s *Server) validateImage(ctx context.Context, c *client, gallery *arm.ResourceID, p *imageCreatePage) {
	f, errs := p.Form, p.Errors
	if !slices.ContainsFunc(p.Regions, func(l locationJSON) bool { return l.Name == f.Region }) {
		errs.add("region", "Select a region.")
	}
	if err := galleon.ValidateImageDefinitionName(f.Name); err != nil {
		errs.add("name", messageOf(err))
	} else if _, err := c.do(ctx, http.MethodGet, withAPI(f.id(), computeAPI), nil, nil); err == nil {
		errs.add("name", fmt.Sprintf("An image definition named '%s' already exists in gallery '%s'.", f.Name, gallery.Name))
	} else if !notFound(err) {
		errs.add("name", apiMessage(err))
	}
	d := f.definition(gallery)
	if err := d.Validate(s.now()); err != nil {
		if field := fieldFor(targetOf(err), imageFields); field != "name" || errs["name"] == "" {
			errs.add(field, messageOf(err))
		}
	}
	if errs.Any() {
		return
	}
	imgs, err := imagesIn(ctx, c, f.Gallery)
	if err != nil {
		errs.add("", apiMessage(err))
		return
	}
	for _, img := range imgs {
		if img.Properties.Identifier == d.Properties.Identifier {
			errs.add("publisher", fmt.Sprintf("Image definition '%s' already has publisher '%s', offer '%s' and SKU '%s'; the three together must be unique within the gallery.",
				img.Name, f.Publisher, f.Offer, f.SKU))
		}
	}
}

// deployImage creates the image definition through ARM.
func (s *Server) deployImage(ctx context.Context, c *client, p *imageCreatePage) (string, bool) {
	f := p.Form
	body := map[string]any{"location": f.Region, "properties": map[string]any{
		"description": f.Description, "osType": f.OSType, "osState": f.OSState, "hyperVGeneration": f.Generation,
		"identifier": map[string]string{"publisher": f.Publisher, "offer": f.Offer, "sku": f.SKU},
	}}
	dep := newDeployment("Microsoft.GalleryImageDefinition", s.now())
	resp, err := c.do(ctx, http.MethodPut, withAPI(f.id(), computeAPI), body, nil)
	if err != nil {
		p.Errors.addAPI(err, imageFields)
		return "", false
	}
	dep.Resources = []string{f.id()}
	dep.Operation = operationPath(resp)
	return dep.URL(), true
}
