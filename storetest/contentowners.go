package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// testContentOwners: every disk, snapshot, managed image and version of
// every subscription owns its manifests; a deleted one no longer does.
func testContentOwners(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "RG")
	f.MustPutGallery(t, "rg", "Gal")
	f.MustPutImage(t, "rg", "gal", "Img")
	v := f.Version("rg", "gal", "img", "1.0.0")
	if _, _, err := f.PutVersion(v, ""); err != nil {
		t.Fatal(err)
	}
	diskUID, snapUID, imageUID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for typ, uid := range map[string]string{galleon.TypeDisk: diskUID, galleon.TypeSnapshot: snapUID} {
		id := f.Disk("rg", typ, "d")
		if _, _, err := f.Store.PutDisk(ctx(), id, func(*galleon.Disk) (*galleon.Disk, error) {
			return &galleon.Disk{ID: id, Location: "eastus", Properties: galleon.DiskProperties{UniqueID: uid,
				CreationData: galleon.CreationData{CreateOption: galleon.CreateEmpty}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	imgID := f.Disk("rg", galleon.TypeManagedImage, "mi")
	if _, _, err := f.Store.PutManagedImage(ctx(), imgID, func(*galleon.ManagedImage) (*galleon.ManagedImage, error) {
		return &galleon.ManagedImage{ID: imgID, Location: "eastus", Properties: galleon.ManagedImageProperties{UniqueID: imageUID,
			StorageProfile: galleon.ImageStorageProfile{OSDisk: &galleon.ImageOSDisk{OSType: "Linux", OSState: "Generalized"}}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	o, err := f.Store.ListContentOwners(ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"disk-" + diskUID, "disk-" + snapUID, galleon.ManagedImageManifestID(imageUID, "os"),
		galleon.VersionManifestID(v, "os", 0), galleon.VersionManifestID(v, "lun1", -1)} {
		if !o.Owns(id) {
			t.Errorf("Owns(%s) = false, want true", id)
		}
	}
	if got, ok := o.VersionOf(galleon.VersionManifestID(v, "os", 0)); !ok || got.String() != "/subscriptions/"+f.Sub+
		"/resourceGroups/RG/providers/Microsoft.Compute/galleries/Gal/images/Img/versions/1.0.0" {
		t.Errorf("VersionOf() = %v, %v; want the version with its names as stored", got, ok)
	}
	if _, err := f.Store.DeleteImageVersion(ctx(), v); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.DeleteDisk(ctx(), f.Disk("rg", galleon.TypeDisk, "d")); err != nil {
		t.Fatal(err)
	}
	o, err = f.Store.ListContentOwners(ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"disk-" + diskUID, galleon.VersionManifestID(v, "os", 0)} {
		if o.Owns(id) {
			t.Errorf("after deletion, Owns(%s) = true, want false", id)
		}
	}
	if !o.Owns("disk-" + snapUID) {
		t.Errorf("the snapshot's content lost its owner with the disk of the same name")
	}

	// A soft-deleted version keeps its bytes until it is purged: the
	// collector must not take its manifests for orphans.
	f.MustPutSoftDeleteGallery(t, "rg", "soft")
	f.MustPutImage(t, "rg", "soft", "img")
	sv := f.Version("rg", "soft", "img", "1.0.0")
	if _, _, err := f.PutVersion(sv, ""); err != nil {
		t.Fatal(err)
	}
	if kept, err := f.Store.SoftDeleteImageVersion(ctx(), sv, time.Hour); err != nil || !kept {
		t.Fatalf("SoftDeleteImageVersion() = %v, %v; want kept", kept, err)
	}
	if o, err = f.Store.ListContentOwners(ctx()); err != nil {
		t.Fatal(err)
	}
	if !o.Owns(galleon.VersionManifestID(sv, "os", 0)) {
		t.Errorf("a soft-deleted version's manifest has no owner: the collector would delete the bytes a restore needs")
	}
	if _, err := f.Store.PurgeImageVersion(ctx(), sv); err != nil {
		t.Fatal(err)
	}
	if o, err = f.Store.ListContentOwners(ctx()); err != nil {
		t.Fatal(err)
	}
	if o.Owns(galleon.VersionManifestID(sv, "os", 0)) {
		t.Errorf("a purged version still owns its manifest")
	}
}
