package galleon

import "testing"

func TestContentOwners_Owns(t *testing.T) {
	v := ImageVersionID{ImageDefinitionID: ImageDefinitionID{GalleryID: GalleryID{SubscriptionID: "s", ResourceGroup: "rg", Name: "g"}, Image: "i"}, Version: "1.0.0"}
	gone := v
	gone.Version = "2.0.0"
	const disk, image = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	o := &ContentOwners{Disks: map[string]bool{disk: true}, Images: map[string]bool{image: true},
		Versions: map[string]ImageVersionID{VersionManifestPrefix(v): v}}
	tests := []struct {
		id   string
		want bool
	}{
		{"disk-" + disk, true},
		{"disk-" + image, false},
		{"image-" + image + "-os", true},
		{"image-" + image + "-lun3", true},
		{"image-" + disk + "-os", false},
		{VersionManifestID(v, VersionDisk(nil), 0), true},
		{VersionManifestID(v, VersionDisk(nil), -1), true},
		{VersionManifestID(gone, VersionDisk(nil), 2), false},
		// Shapes it does not know are never collected.
		{"image-short", true},
		{"v-short", true},
		{"something-else", true},
	}
	for _, tt := range tests {
		if got := o.Owns(tt.id); got != tt.want {
			t.Errorf("Owns(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if got, ok := o.VersionOf(VersionManifestID(v, "lun0", 1)); !ok || got != v {
		t.Errorf("VersionOf() = %v, %v; want %v", got, ok, v)
	}
}
