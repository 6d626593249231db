package galleon

import (
	"fmt"
	"reflect"
	"regexp"
	"time"
)

// ImageDefinition is a Microsoft.Compute/galleries/images resource.
type ImageDefinition struct {
	ID         ImageDefinitionID
	Location   string
	Tags       map[string]string
	Properties ImageDefinitionProperties
	SystemData SystemData
}

// ImageDefinitionProperties mirror the ARM "properties" object of an image
// definition, with Azure's JSON names.
type ImageDefinitionProperties struct {
	Description         string          `json:"description,omitempty"`
	Eula                string          `json:"eula,omitempty"`
	PrivacyStatementURI string          `json:"privacyStatementUri,omitempty"`
	ReleaseNoteURI      string          `json:"releaseNoteUri,omitempty"`
	OSType              string          `json:"osType,omitempty"`
	OSState             string          `json:"osState,omitempty"`
	HyperVGeneration    string          `json:"hyperVGeneration,omitempty"`
	EndOfLifeDate       *time.Time      `json:"endOfLifeDate,omitempty"`
	Identifier          ImageIdentifier `json:"identifier"`
	Recommended         *Recommended    `json:"recommended,omitempty"`
	Disallowed          *Disallowed     `json:"disallowed,omitempty"`
	PurchasePlan        *PurchasePlan   `json:"purchasePlan,omitempty"`
	ProvisioningState   string          `json:"provisioningState,omitempty"`
	Features            []ImageFeature  `json:"features,omitempty"`
	Architecture        string          `json:"architecture,omitempty"`
	AllowUpdateImage    *bool           `json:"allowUpdateImage,omitempty"`
}

// ImageIdentifier is the (publisher, offer, sku) triplet, unique in a gallery.
type ImageIdentifier struct {
	Publisher string `json:"publisher"`
	Offer     string `json:"offer"`
	SKU       string `json:"sku"`
}

// Recommended is the recommended machine configuration.
type Recommended struct {
	VCPUs  *ResourceRange `json:"vCPUs,omitempty"`
	Memory *ResourceRange `json:"memory,omitempty"`
}

// ResourceRange is an inclusive range; either end may be absent.
type ResourceRange struct {
	Min *int32 `json:"min,omitempty"`
	Max *int32 `json:"max,omitempty"`
}

// Disallowed lists disk types an image may not be used with.
type Disallowed struct {
	DiskTypes []string `json:"diskTypes,omitempty"`
}

// PurchasePlan is the marketplace plan of an image.
type PurchasePlan struct {
	Name      string `json:"name,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Product   string `json:"product,omitempty"`
}

// ImageFeature is a named feature flag of an image.
type ImageFeature struct {
	Name            string `json:"name,omitempty"`
	Value           string `json:"value,omitempty"`
	StartsAtVersion string `json:"startsAtVersion,omitempty"`
}

// Enumerations of image definition properties.
var (
	OSTypes           = []string{"Windows", "Linux"}
	OSStates          = []string{"Generalized", "Specialized"}
	HyperVGenerations = []string{"V1", "V2"}
	Architectures     = []string{"x64", "Arm64"}
)

var imageNamePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$`)

// ValidateImageDefinitionName checks Azure's rule for image definition names.
func ValidateImageDefinitionName(name string) error {
	if imageNamePattern.MatchString(name) {
		return nil
	}
	return TargetErrorf(CodeInvalidParameter, "galleryImageName",
		"The image definition name '%s' is invalid. Image definition names may contain only English letters, digits, periods, dashes and underscores, must be 1 to 80 characters long, and must start and end with a letter or digit.", name)
}

const imageTarget = "galleryImage.properties."

// Validate checks an image definition's properties at time now and puts
// enumerations into their canonical spelling.
func (d *ImageDefinition) Validate(now time.Time) error {
	if err := ValidateImageDefinitionName(d.ID.Image); err != nil {
		return err
	}
	if err := ValidateTags(d.Tags); err != nil {
		return err
	}
	p := &d.Properties
	for _, e := range []struct {
		field    *string
		name     string
		allowed  []string
		required bool
	}{
		{&p.OSType, "osType", OSTypes, true},
		{&p.OSState, "osState", OSStates, true},
		{&p.HyperVGeneration, "hyperVGeneration", HyperVGenerations, false},
		{&p.Architecture, "architecture", Architectures, false},
	} {
		if *e.field == "" {
			if e.required {
				return TargetErrorf(CodeInvalidParameter, imageTarget+e.name,
					"Required parameter '%s' is missing (null).", e.name)
			}
			continue
		}
		v, ok := canonicalEnum(*e.field, e.allowed...)
		if !ok {
			return TargetErrorf(CodeInvalidParameter, imageTarget+e.name,
				"The value '%s' of parameter '%s' is not allowed. Allowed values are: %v.", *e.field, e.name, e.allowed)
		}
		*e.field = v
	}
	for _, f := range []struct {
		value, name string
		max         int
	}{
		{p.Identifier.Publisher, "publisher", 128},
		{p.Identifier.Offer, "offer", 64},
		{p.Identifier.SKU, "sku", 64},
	} {
		target := imageTarget + "identifier." + f.name
		if f.value == "" {
			return TargetErrorf(CodeInvalidParameter, target, "Required parameter 'identifier.%s' is missing (null).", f.name)
		}
		if len(f.value) > f.max {
			return TargetErrorf(CodeInvalidParameter, target,
				"The value of parameter 'identifier.%s' is %d characters long; at most %d are allowed.", f.name, len(f.value), f.max)
		}
	}
	for _, u := range []struct{ value, name string }{
		{p.PrivacyStatementURI, "privacyStatementUri"},
		{p.ReleaseNoteURI, "releaseNoteUri"},
	} {
		if err := validateWebURI(imageTarget+u.name, u.name, u.value); err != nil {
			return err
		}
	}
	if r := p.Recommended; r != nil {
		for name, rr := range map[string]*ResourceRange{"vCPUs": r.VCPUs, "memory": r.Memory} {
			if rr == nil {
				continue
			}
			if rr.Min != nil && *rr.Min < 0 || rr.Max != nil && *rr.Max < 0 {
				return TargetErrorf(CodeInvalidParameter, imageTarget+"recommended."+name,
					"The recommended %s range may not be negative.", name)
			}
			if rr.Min != nil && rr.Max != nil && *rr.Min > *rr.Max {
				return TargetErrorf(CodeInvalidParameter, imageTarget+"recommended."+name,
					"The recommended %s minimum (%d) is greater than the maximum (%d).", name, *rr.Min, *rr.Max)
			}
		}
	}
	if p.EndOfLifeDate != nil && !p.EndOfLifeDate.After(now) {
		return TargetErrorf(CodeInvalidParameter, imageTarget+"endOfLifeDate",
			"The end of life date %s must be in the future.", p.EndOfLifeDate.Format(time.RFC3339))
	}
	return nil
}

// ApplyDefaults fills in what Azure fills in on creation.
func (d *ImageDefinition) ApplyDefaults() {
	if d.Properties.HyperVGeneration == "" {
		d.Properties.HyperVGeneration = "V1"
	}
	if d.Properties.Architecture == "" {
		d.Properties.Architecture = "x64"
	}
	d.Properties.ProvisioningState = ProvisioningSucceeded
}

// UpdateImageDefinition validates replacing old by new and refuses changes
// to the properties Azure treats as immutable.
func UpdateImageDefinition(old, new *ImageDefinition) error {
	o, n := &old.Properties, &new.Properties
	if Fold(old.Location) != Fold(new.Location) {
		return propertyChange("galleryImage", "location")
	}
	// An absent value on update means "keep"; Azure echoes the stored one.
	keep := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	keep(&n.HyperVGeneration, o.HyperVGeneration)
	keep(&n.Architecture, o.Architecture)
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"osType", o.OSType != n.OSType},
		{"osState", o.OSState != n.OSState},
		{"hyperVGeneration", o.HyperVGeneration != n.HyperVGeneration},
		{"identifier", o.Identifier != n.Identifier},
		{"purchasePlan", !reflect.DeepEqual(o.PurchasePlan, n.PurchasePlan)},
		{"eula", o.Eula != n.Eula},
		{"privacyStatementUri", o.PrivacyStatementURI != n.PrivacyStatementURI},
		{"architecture", o.Architecture != n.Architecture},
	} {
		if c.changed {
			return propertyChange("galleryImage", c.name)
		}
	}
	new.SystemData = old.SystemData
	return nil
}

// String is used in conflict messages.
func (i ImageIdentifier) String() string {
	return fmt.Sprintf("%s/%s/%s", i.Publisher, i.Offer, i.SKU)
}
