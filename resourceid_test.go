package galleon

import "testing"

func TestParseImageVersionID(t *testing.T) {
	const base = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/g1"
	want := ImageVersionID{ImageDefinitionID: ImageDefinitionID{GalleryID: GalleryID{SubscriptionID: "sub1", ResourceGroup: "rg1", Name: "g1"},
		Image: "img"}, Version: "1.0.0"}
	for _, tt := range []struct {
		name, id string
		ok       bool
	}{
		{"OK", base + "/images/img/versions/1.0.0", true},
		{"OtherCase", "/SUBSCRIPTIONS/sub1/resourcegroups/rg1/PROVIDERS/microsoft.compute/Galleries/g1/Images/img/Versions/1.0.0", true},
		{"TrailingSlash", base + "/images/img/versions/1.0.0/", true},
		{"ErrDefinition", base + "/images/img", false},
		{"ErrGallery", base, false},
		{"ErrChildAction", base + "/images/img/versions/1.0.0/beginGetAccess", false},
		{"ErrOtherProvider", "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Storage/galleries/g1/images/img/versions/1.0.0", false},
		{"ErrEmptyName", base + "/images//versions/1.0.0", false},
		{"ErrRelative", "subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/g1/images/img/versions/1.0.0", false},
		{"ErrEmpty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseImageVersionID(tt.id)
			if !tt.ok {
				if err == nil || ErrorCode(err) != CodeInvalidParameter {
					t.Fatalf("ParseImageVersionID(%q) = %v, %v; want InvalidParameter", tt.id, got, err)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("ParseImageVersionID(%q) = %+v, %v; want %+v", tt.id, got, err, want)
			}
		})
	}
}

func TestParseGalleryAndDefinitionID(t *testing.T) {
	g := GalleryID{SubscriptionID: "s", ResourceGroup: "rg", Name: "g"}
	if got, err := ParseGalleryID(g.String()); err != nil || got != g {
		t.Errorf("ParseGalleryID(%q) = %+v, %v", g.String(), got, err)
	}
	d := ImageDefinitionID{GalleryID: g, Image: "i"}
	if got, err := ParseImageDefinitionID(d.String()); err != nil || got != d {
		t.Errorf("ParseImageDefinitionID(%q) = %+v, %v", d.String(), got, err)
	}
	if _, err := ParseGalleryID(d.String()); err == nil {
		t.Errorf("ParseGalleryID took a definition id")
	}
	if _, err := ParseImageDefinitionID(g.String()); err == nil {
		t.Errorf("ParseImageDefinitionID took a gallery id")
	}
	v := ImageVersionID{ImageDefinitionID: d, Version: "2.0.1"}
	if got, err := ParseImageVersionID(v.String()); err != nil || got != v {
		t.Errorf("ParseImageVersionID(String()) = %+v, %v; want the id back", got, err)
	}
}
