package galleon

import (
	"strings"
	"testing"
	"time"
)

func TestValidateGalleryName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"myGallery", true},
		{"my.gallery_1", true},
		{"a", true},
		{strings.Repeat("a", 80), true},
		{strings.Repeat("a", 81), false},
		{"my-gallery", false},
		{"_gallery", false},
		{"gallery_", false},
		{".gallery", false},
		{"gallery.", false},
		{"", false},
		{"gal lery", false},
		{"galería", false},
	} {
		err := ValidateGalleryName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateGalleryName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && (ErrorCode(err) != CodeInvalidParameter || err.(*Error).Target != "galleryName") {
			t.Errorf("ValidateGalleryName(%q): code %s target %s", tt.name, ErrorCode(err), err.(*Error).Target)
		}
	}
	if err := ValidateGalleryName("a-b"); !strings.Contains(err.Error(), "cannot contain dashes") {
		t.Errorf("a dashed name's message should mention dashes: %v", err)
	}
}

func TestValidateImageDefinitionName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"myImageDefinition", true},
		{"ubuntu-22.04_lts", true},
		{"a", true},
		{strings.Repeat("a", 80), true},
		{strings.Repeat("a", 81), false},
		{"-image", false},
		{"image-", false},
		{"image.", false},
		{"has space", false},
		{"", false},
	} {
		if err := ValidateImageDefinitionName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateImageDefinitionName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func validImage() *ImageDefinition {
	return &ImageDefinition{
		ID:       ImageDefinitionID{GalleryID: GalleryID{"s", "rg", "g"}, Image: "img"},
		Location: "eastus",
		Properties: ImageDefinitionProperties{OSType: "linux", OSState: "GENERALIZED",
			Identifier: ImageIdentifier{Publisher: "p", Offer: "o", SKU: "s"}},
	}
}

func TestImageDefinition_Validate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i32 := func(v int32) *int32 { return &v }
	for _, tt := range []struct {
		name   string
		mutate func(*ImageDefinition)
		target string // "" means valid
	}{
		{"OK", func(*ImageDefinition) {}, ""},
		{"ErrOSTypeMissing", func(d *ImageDefinition) { d.Properties.OSType = "" }, "galleryImage.properties.osType"},
		{"ErrOSTypeEnum", func(d *ImageDefinition) { d.Properties.OSType = "BeOS" }, "galleryImage.properties.osType"},
		{"ErrOSStateMissing", func(d *ImageDefinition) { d.Properties.OSState = "" }, "galleryImage.properties.osState"},
		{"ErrHyperVGeneration", func(d *ImageDefinition) { d.Properties.HyperVGeneration = "V3" }, "galleryImage.properties.hyperVGeneration"},
		{"ErrArchitecture", func(d *ImageDefinition) { d.Properties.Architecture = "sparc" }, "galleryImage.properties.architecture"},
		{"ErrPublisherMissing", func(d *ImageDefinition) { d.Properties.Identifier.Publisher = "" }, "galleryImage.properties.identifier.publisher"},
		{"PublisherAt128", func(d *ImageDefinition) { d.Properties.Identifier.Publisher = strings.Repeat("p", 128) }, ""},
		{"ErrPublisherLong", func(d *ImageDefinition) { d.Properties.Identifier.Publisher = strings.Repeat("p", 129) }, "galleryImage.properties.identifier.publisher"},
		{"ErrOfferLong", func(d *ImageDefinition) { d.Properties.Identifier.Offer = strings.Repeat("o", 65) }, "galleryImage.properties.identifier.offer"},
		{"ErrSKULong", func(d *ImageDefinition) { d.Properties.Identifier.SKU = strings.Repeat("s", 65) }, "galleryImage.properties.identifier.sku"},
		{"ErrRecommendedRange", func(d *ImageDefinition) {
			d.Properties.Recommended = &Recommended{VCPUs: &ResourceRange{Min: i32(8), Max: i32(2)}}
		}, "galleryImage.properties.recommended.vCPUs"},
		{"RecommendedEqual", func(d *ImageDefinition) {
			d.Properties.Recommended = &Recommended{Memory: &ResourceRange{Min: i32(4), Max: i32(4)}}
		}, ""},
		{"ErrEndOfLifePast", func(d *ImageDefinition) { p := now.Add(-time.Hour); d.Properties.EndOfLifeDate = &p }, "galleryImage.properties.endOfLifeDate"},
		{"EndOfLifeFuture", func(d *ImageDefinition) { f := now.Add(time.Hour); d.Properties.EndOfLifeDate = &f }, ""},
		{"URIs", func(d *ImageDefinition) {
			d.Properties.PrivacyStatementURI, d.Properties.ReleaseNoteURI = "https://example.com/privacy", "HTTP://example.com/notes?v=1"
		}, ""},
		{"ErrPrivacyJavaScript", func(d *ImageDefinition) { d.Properties.PrivacyStatementURI = "javascript:alert(1)" }, "galleryImage.properties.privacyStatementUri"},
		{"ErrReleaseNoteData", func(d *ImageDefinition) { d.Properties.ReleaseNoteURI = "data:text/html,<script>x</script>" }, "galleryImage.properties.releaseNoteUri"},
		{"ErrReleaseNoteRelative", func(d *ImageDefinition) { d.Properties.ReleaseNoteURI = "/notes" }, "galleryImage.properties.releaseNoteUri"},
		{"ErrReleaseNoteNoHost", func(d *ImageDefinition) { d.Properties.ReleaseNoteURI = "https:///notes" }, "galleryImage.properties.releaseNoteUri"},
		{"ErrPrivacyLong", func(d *ImageDefinition) {
			d.Properties.PrivacyStatementURI = "https://example.com/" + strings.Repeat("a", 2048)
		}, "galleryImage.properties.privacyStatementUri"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := validImage()
			tt.mutate(d)
			err := d.Validate(now)
			if tt.target == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalidParameter || e.Target != tt.target {
				t.Fatalf("Validate() = %v, want InvalidParameter at %s", err, tt.target)
			}
		})
	}
	t.Run("CanonicalEnums", func(t *testing.T) {
		d := validImage()
		if err := d.Validate(now); err != nil {
			t.Fatal(err)
		}
		if d.Properties.OSType != "Linux" || d.Properties.OSState != "Generalized" {
			t.Errorf("got %s/%s, want Linux/Generalized", d.Properties.OSType, d.Properties.OSState)
		}
	})
}

func TestUpdateImageDefinition(t *testing.T) {
	old := validImage()
	old.Properties.OSType, old.Properties.OSState = "Linux", "Generalized"
	old.ApplyDefaults()
	for _, tt := range []struct {
		name   string
		mutate func(*ImageDefinition)
		target string
	}{
		{"OKDescription", func(d *ImageDefinition) { d.Properties.Description = "new" }, ""},
		{"OKOmittedGeneration", func(d *ImageDefinition) { d.Properties.HyperVGeneration = "" }, ""},
		{"ErrOSType", func(d *ImageDefinition) { d.Properties.OSType = "Windows" }, "galleryImage.properties.osType"},
		{"ErrOSState", func(d *ImageDefinition) { d.Properties.OSState = "Specialized" }, "galleryImage.properties.osState"},
		{"ErrGeneration", func(d *ImageDefinition) { d.Properties.HyperVGeneration = "V2" }, "galleryImage.properties.hyperVGeneration"},
		{"ErrIdentifier", func(d *ImageDefinition) { d.Properties.Identifier.Offer = "x" }, "galleryImage.properties.identifier"},
		{"ErrPlan", func(d *ImageDefinition) { d.Properties.PurchasePlan = &PurchasePlan{Name: "n"} }, "galleryImage.properties.purchasePlan"},
		{"ErrEula", func(d *ImageDefinition) { d.Properties.Eula = "x" }, "galleryImage.properties.eula"},
		{"ErrPrivacy", func(d *ImageDefinition) { d.Properties.PrivacyStatementURI = "x" }, "galleryImage.properties.privacyStatementUri"},
		{"ErrLocation", func(d *ImageDefinition) { d.Location = "westus2" }, "galleryImage.location"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := *old
			n.Properties.ProvisioningState = ""
			tt.mutate(&n)
			err := UpdateImageDefinition(old, &n)
			if tt.target == "" {
				if err != nil {
					t.Fatalf("UpdateImageDefinition() = %v", err)
				}
				if n.Properties.HyperVGeneration != "V1" {
					t.Errorf("an omitted generation should keep V1, got %q", n.Properties.HyperVGeneration)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodePropertyChangeNotAllowed || e.Target != tt.target {
				t.Fatalf("UpdateImageDefinition() = %v, want PropertyChangeNotAllowed at %s", err, tt.target)
			}
		})
	}
}

func TestGallery_ApplyDefaults(t *testing.T) {
	g := &Gallery{ID: GalleryID{"sub", "rg", "myGallery"}, Location: "eastus"}
	g.ApplyDefaults()
	p := g.Properties
	if p.Identifier.UniqueName != "sub-MYGALLERY" || p.SharingProfile.Permissions != SharingPrivate ||
		*p.SoftDeletePolicy.IsSoftDeleteEnabled || p.ProvisioningState != ProvisioningSucceeded {
		t.Errorf("defaults: %+v %+v %+v", p.Identifier, p.SharingProfile, p.ProvisioningState)
	}
}

func TestRegions_Resolve(t *testing.T) {
	rs := Regions{{Name: "eastus"}, {Name: "westus2"}}
	for _, tt := range []struct {
		in, want, code string
	}{
		{"eastus", "eastus", ""},
		{"East US", "eastus", ""},
		{"WESTUS2", "westus2", ""},
		{"mars", "", CodeLocationNotAvailable},
		{"", "", CodeInvalidParameter},
	} {
		got, err := rs.Resolve(tt.in, TypeGallery)
		if got != tt.want || ErrorCode(err) != tt.code {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %s", tt.in, got, err, tt.want, tt.code)
		}
	}
}
