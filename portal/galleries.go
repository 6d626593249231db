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

type galleriesPage struct {
	Galleries []resourceRow
}

func (p galleriesPage) crumbs() []crumb { return []crumb{{"Home", Prefix}} }

// galleries lists the galleries of every subscription the user sees.
func (s *Server) galleries(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := v.arm()
	if err != nil {
		return err
	}
	subs, err := subscriptions(r.Context(), c)
	if err != nil {
		return err
	}
	var rows []resourceRow
	for _, sub := range subs {
		gs, err := galleriesIn(r.Context(), c, sub.SubscriptionID)
		if forbidden(err) {
			continue
		} else if err != nil {
			return err
		}
		for _, g := range gs {
			id, err := arm.ParseResourceID(g.ID)
			if err != nil {
				continue
			}
			rows = append(rows, resourceRow{ID: g.ID, Name: g.Name, Type: "Azure compute gallery",
				ResourceGroup: id.ResourceGroupName, Location: g.Location, Subscription: sub.DisplayName})
		}
	}
	s.render(w, r, v, http.StatusOK, "galleries", "Azure compute galleries", galleriesPage{Galleries: rows})
	return nil
}

// galleryForm is the create gallery form, carried through Review + create
// in hidden fields.
type galleryForm struct {
	Subscription     string
	RGMode           string // "existing" or "new"
	ResourceGroup    string
	NewResourceGroup string
	Name             string
	Region           string
	Description      string
}

func readGalleryForm(f url.Values) galleryForm {
	g := galleryForm{
		Subscription:     f.Get("subscription"),
		RGMode:           f.Get("rg_mode"),
		ResourceGroup:    f.Get("resource_group"),
		NewResourceGroup: strings.TrimSpace(f.Get("new_resource_group")),
		Name:             strings.TrimSpace(f.Get("name")),
		Region:           f.Get("region"),
		Description:      f.Get("description"),
	}
	if g.RGMode != "new" {
		g.RGMode = "existing"
	}
	return g
}

// group is the resource group the form names, new or existing.
func (f galleryForm) Group() string {
	if f.RGMode == "new" {
		return f.NewResourceGroup
	}
	return f.ResourceGroup
}

func (f galleryForm) id() string {
	return galleon.GalleryID{SubscriptionID: f.Subscription, ResourceGroup: f.Group(), Name: f.Name}.String()
}

// resourceGroupOptions lists the resource groups of every subscription
// for a form's choice; a subscription whose groups the user may not list
// is left out.
func resourceGroupOptions(ctx context.Context, c *client, subs []subscriptionJSON) ([]rgOption, error) {
	var opts []rgOption
	for _, sub := range subs {
		rgs, err := resourceGroups(ctx, c, sub.SubscriptionID)
		if forbidden(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, rg := range rgs {
			opts = append(opts, rgOption{sub.SubscriptionID, rg.Name, rg.Location})
		}
	}
	return opts, nil
}

// rgOption is a resource group in the form's list.
type rgOption struct {
	Subscription, Name, Location string
}

type galleryCreatePage struct {
	Form           galleryForm
	Errors         formErrors
	Review         bool
	Subscriptions  []subscriptionJSON
	ResourceGroups []rgOption
	Regions        []locationJSON
	Rule           string
}

func (p galleryCreatePage) crumbs() []crumb {
	return []crumb{{"Home", Prefix}, {"Azure compute galleries", "/portal/galleries"}}
}

// SubscriptionName is the display name of the chosen subscription.
func (p galleryCreatePage) SubscriptionName() string {
	for _, s := range p.Subscriptions {
		if s.SubscriptionID == p.Form.Subscription {
			return s.DisplayName
		}
	}
	return p.Form.Subscription
}

// galleryNameRule is shown under the name field.
const galleryNameRule = "Letters, digits, underscores and periods, 1 to 80 characters, starting and ending with a letter or digit. No dashes. Unique within the subscription."

// galleryFields map the targets of ARM errors to the form's fields.
var galleryFields = map[string]string{
	"galleryName": "name", "name": "name", "location": "region", "description": "description",
	"resourceGroupName": "resource_group",
}

// createGallery serves the create gallery form and its steps: review
// (validate and summarize), edit (back to the form), create.
func (s *Server) createGallery(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := v.arm()
	if err != nil {
		return err
	}
	page := galleryCreatePage{Errors: formErrors{}, Rule: galleryNameRule}
	if page.Subscriptions, err = subscriptions(ctx, c); err != nil {
		return err
	}
	if page.ResourceGroups, err = resourceGroupOptions(ctx, c, page.Subscriptions); err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		page.Form = galleryForm{RGMode: "existing"}
		if len(page.Subscriptions) > 0 {
			page.Form.Subscription = page.Subscriptions[0].SubscriptionID
		}
		if len(page.ResourceGroups) == 0 {
			page.Form.RGMode = "new"
		}
		if rg := r.URL.Query().Get("resourceGroup"); rg != "" {
			page.Form.ResourceGroup = rg
		}
	} else {
		page.Form = readGalleryForm(r.PostForm)
	}
	if page.Form.Subscription != "" {
		if page.Regions, err = locations(ctx, c, page.Form.Subscription); err != nil {
			return err
		}
	}
	if page.Form.Region == "" && len(page.Regions) > 0 {
		page.Form.Region = page.Regions[0].Name
	}

	switch r.PostForm.Get("step") {
	case "review":
		s.validateGallery(ctx, c, &page)
		page.Review = !page.Errors.Any()
	case "create":
		if s.validateGallery(ctx, c, &page); !page.Errors.Any() {
			if dep, ok := s.deployGallery(ctx, c, &page); ok {
				http.Redirect(w, r, dep, http.StatusSeeOther)
				return nil
			}
		}
	}
	status := http.StatusOK
	if page.Errors.Any() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v, status, "gallery_create", "Create Azure compute gallery", page)
	return nil
}

// validateGallery is Review + create's validation: the domain's rules for
// the names and properties, and what the API would refuse as it stands
// (a taken name, a missing or existing resource group, an unknown region).
func (s *Server) validateGallery(ctx context.Context, c *client, p *galleryCreatePage) {
	f, errs := p.Form, p.Errors
	if !slices.ContainsFunc(p.Subscriptions, func(s subscriptionJSON) bool { return s.SubscriptionID == f.Subscription }) {
		errs.add("subscription", "Select a subscription.")
		return
	}
	switch {
	case f.RGMode == "existing" && f.ResourceGroup == "":
		errs.add("resource_group", "Select a resource group, or create a new one.")
	case f.RGMode == "existing":
		if _, err := c.do(ctx, http.MethodGet, withAPI("/subscriptions/"+f.Subscription+"/resourcegroups/"+url.PathEscape(f.ResourceGroup), resourcesAPI), nil, nil); err != nil {
			errs.add("resource_group", apiMessage(err))
		}
	default:
		if err := galleon.ValidateResourceGroupName(f.NewResourceGroup); err != nil {
			errs.add("new_resource_group", messageOf(err))
		} else if _, err := c.do(ctx, http.MethodGet, withAPI("/subscriptions/"+f.Subscription+"/resourcegroups/"+url.PathEscape(f.NewResourceGroup), resourcesAPI), nil, nil); err == nil {
			errs.add("new_resource_group", fmt.Sprintf("A resource group named '%s' already exists; select it under existing resource groups.", f.NewResourceGroup))
		} else if !notFound(err) {
			errs.add("new_resource_group", apiMessage(err))
		}
	}
	if err := galleon.ValidateGalleryName(f.Name); err != nil {
		errs.add("name", messageOf(err))
	} else if gs, err := galleriesIn(ctx, c, f.Subscription); err == nil {
		for _, g := range gs {
			if strings.EqualFold(g.Name, f.Name) {
				id, _ := arm.ParseResourceID(g.ID)
				rg := ""
				if id != nil {
					rg = id.ResourceGroupName
				}
				errs.add("name", fmt.Sprintf("A gallery named '%s' already exists in resource group '%s'. Gallery names must be unique within a subscription.", g.Name, rg))
			}
		}
	}
	if !slices.ContainsFunc(p.Regions, func(l locationJSON) bool { return l.Name == f.Region }) {
		errs.add("region", "Select a region.")
	}
	g := galleon.Gallery{ID: galleon.GalleryID{SubscriptionID: f.Subscription, ResourceGroup: f.Group(), Name: f.Name},
		Location: f.Region, Properties: galleon.GalleryProperties{Description: f.Description}}
	if err := g.Validate(); err != nil && errs["name"] == "" {
		errs.add(fieldFor(targetOf(err), galleryFields), messageOf(err))
	}
}

// deployGallery creates the resource group (when new) and the gallery
// through ARM and returns the deployment page's URL, or records the API's
// errors next to the fields.
func (s *Server) deployGallery(ctx context.Context, c *client, p *galleryCreatePage) (string, bool) {
	f := p.Form
	dep := newDeployment("Microsoft.ComputeGallery", s.now())
	if f.RGMode == "new" {
		rgID := "/subscriptions/" + f.Subscription + "/resourceGroups/" + f.NewResourceGroup
		body := map[string]any{"location": f.Region}
		if _, err := c.do(ctx, http.MethodPut, withAPI(rgID, resourcesAPI), body, nil); err != nil {
			p.Errors.addAPI(err, map[string]string{"resourceGroupName": "new_resource_group", "location": "region", "": "new_resource_group"})
			return "", false
		}
		dep.Resources = append(dep.Resources, rgID)
	}
	body := map[string]any{"location": f.Region, "properties": map[string]any{"description": f.Description}}
	resp, err := c.do(ctx, http.MethodPut, withAPI(f.id(), computeAPI), body, nil)
	if err != nil {
		p.Errors.addAPI(err, galleryFields)
		return "", false
	}
	dep.Resources = append(dep.Resources, f.id())
	dep.Operation = operationPath(resp)
	return dep.URL(), true
}

// targetOf is the target of a domain error.
func targetOf(err error) string {
	if e, ok := err.(*galleon.Error); ok {
		return e.Target
	}
	return ""
}
