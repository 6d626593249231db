package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

func (f *Fixture) Version(rg, gallery, image, version string) galleon.ImageVersionID {
	return galleon.ImageVersionID{ImageDefinitionID: f.Image(rg, gallery, image), Version: version}
}

// PutVersion puts an image version in eastus with the given description tag.
func (f *Fixture) PutVersion(id galleon.ImageVersionID, tag string) (*galleon.ImageVersion, bool, error) {
	return f.Store.PutImageVersion(context.Background(), id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		return &galleon.ImageVersion{ID: id, Location: "eastus", Tags: map[string]string{"t": tag},
			Properties: galleon.ImageVersionProperties{
				PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}}},
				StorageProfile:    galleon.VersionStorageProfile{Source: &galleon.VersionSource{ID: "/snap"}},
				ProvisioningState: galleon.ProvisioningCreating,
			}}, nil
	})
}

func (f *Fixture) Disk(rg, typ, name string) galleon.DiskID {
	return galleon.DiskID{SubscriptionID: f.Sub, ResourceGroup: rg, Type: typ, Name: name}
}

// PutDisk puts an empty disk or snapshot of sizeGB.
func (f *Fixture) PutDisk(id galleon.DiskID, sizeGB int32) (*galleon.Disk, bool, error) {
	return f.Store.PutDisk(context.Background(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
		return &galleon.Disk{ID: id, Location: "eastus", Properties: galleon.DiskProperties{
			CreationData: galleon.CreationData{CreateOption: galleon.CreateEmpty}, DiskSizeGB: &sizeGB, DiskState: galleon.DiskUnattached}}, nil
	})
}

func testImageVersion(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutGallery(t, "rg", "g")
	f.MustPutImage(t, "rg", "g", "img")
	t.Run("Put", func(t *testing.T) {
		v, created, err := f.PutVersion(f.Version("RG", "G", "IMG", "1.0.0"), "a")
		if err != nil || !created || v.ID.Image != "img" || v.ID.Name != "g" || v.ID.ResourceGroup != "rg" {
			t.Fatalf("create: %+v, %v, %v", v, created, err)
		}
		if _, created, err := f.PutVersion(f.Version("rg", "g", "img", "1.0.0"), "b"); err != nil || created {
			t.Fatalf("update: %v, %v", created, err)
		}
		got, err := f.Store.GetImageVersion(ctx(), f.Version("rg", "g", "Img", "1.0.0"))
		if err != nil || got.Tags["t"] != "b" || got.Properties.StorageProfile.Source.ID != "/snap" ||
			got.Properties.PublishingProfile.TargetRegions[0].Name != "eastus" {
			t.Fatalf("GetImageVersion() = %+v, %v", got, err)
		}
	})
	t.Run("ErrParentNotFound", func(t *testing.T) {
		_, _, err := f.PutVersion(f.Version("rg", "g", "nope", "1.0.0"), "")
		wantCode(t, "a version of a missing definition", err, galleon.CodeParentResourceNotFound)
		_, _, err = f.PutVersion(f.Version("nope", "g", "img", "1.0.0"), "")
		wantCode(t, "a version in a missing group", err, galleon.CodeParentResourceNotFound)
		_, _, err = f.Store.ListImageVersions(ctx(), f.Image("rg", "g", "nope"), galleon.Page{})
		wantCode(t, "listing a missing definition", err, galleon.CodeParentResourceNotFound)
		_, err = f.Store.GetImageVersion(ctx(), f.Version("rg", "g", "nope", "1.0.0"))
		wantCode(t, "a version of a missing definition", err, galleon.CodeResourceNotFound)
	})
	t.Run("ListAndDelete", func(t *testing.T) {
		for _, v := range []string{"1.10.0", "1.2.0", "2.0.0"} {
			if _, _, err := f.PutVersion(f.Version("rg", "g", "img", v), ""); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		page := galleon.Page{Limit: 3}
		for {
			vs, next, err := f.Store.ListImageVersions(ctx(), f.Image("rg", "g", "img"), page)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				names = append(names, v.ID.Version)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if !slices.Equal(names, []string{"1.0.0", "1.10.0", "1.2.0", "2.0.0"}) {
			t.Fatalf("listed %v", names)
		}
		_, err := f.Store.DeleteImageDefinition(ctx(), f.Image("rg", "g", "img"))
		wantCode(t, "deleting a definition with versions", err, galleon.CodeCannotDeleteResource)
		for _, v := range names {
			if ok, err := f.Store.DeleteImageVersion(ctx(), f.Version("rg", "g", "img", v)); err != nil || !ok {
				t.Fatalf("DeleteImageVersion(%s) = %v, %v", v, ok, err)
			}
		}
		if ok, err := f.Store.DeleteImageVersion(ctx(), f.Version("rg", "g", "img", "1.0.0")); err != nil || ok {
			t.Fatalf("deleting a deleted version = %v, %v", ok, err)
		}
		if ok, err := f.Store.DeleteImageDefinition(ctx(), f.Image("rg", "g", "img")); err != nil || !ok {
			t.Fatalf("deleting the emptied definition = %v, %v", ok, err)
		}
	})
}

func testDisk(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rgA")
	f.MustPutResourceGroup(t, "rgB")
	t.Run("Put", func(t *testing.T) {
		d, created, err := f.PutDisk(f.Disk("RGA", galleon.TypeSnapshot, "MySnap"), 4)
		if err != nil || !created || d.ID.ResourceGroup != "rgA" || d.ID.Name != "MySnap" {
			t.Fatalf("create: %+v, %v, %v", d, created, err)
		}
		if _, created, err := f.PutDisk(f.Disk("rga", galleon.TypeSnapshot, "mysnap"), 8); err != nil || created {
			t.Fatalf("update: %v, %v", created, err)
		}
		got, err := f.Store.GetDisk(ctx(), f.Disk("rgA", galleon.TypeSnapshot, "MYSNAP"))
		if err != nil || *got.Properties.DiskSizeGB != 8 || got.ID.Name != "MySnap" {
			t.Fatalf("GetDisk() = %+v, %v", got, err)
		}
		_, err = f.Store.GetDisk(ctx(), f.Disk("rgA", galleon.TypeDisk, "MySnap"))
		wantCode(t, "a snapshot read as a disk", err, galleon.CodeResourceNotFound)
		_, _, err = f.PutDisk(f.Disk("nope", galleon.TypeDisk, "d"), 1)
		wantCode(t, "a disk in a missing group", err, galleon.CodeResourceGroupNotFound)
	})
	t.Run("AccessGeneration", func(t *testing.T) {
		id := f.Disk("rgA", galleon.TypeDisk, "withSAS")
		put := func(gen int64) (*galleon.Disk, error) {
			d, _, err := f.Store.PutDisk(ctx(), id, func(old *galleon.Disk) (*galleon.Disk, error) {
				d := &galleon.Disk{ID: id, Location: "eastus", AccessGeneration: gen, Properties: galleon.DiskProperties{
					CreationData: galleon.CreationData{CreateOption: galleon.CreateEmpty}, UniqueID: "9f1c7f40-aaaa-4bbb-8ccc-000000000001"}}
				return d, nil
			})
			return d, err
		}
		if _, err := put(0); err != nil {
			t.Fatal(err)
		}
		if gen, err := f.Store.DiskAccessGeneration(ctx(), "9f1c7f40-aaaa-4bbb-8ccc-000000000001"); err != nil || gen != 0 {
			t.Fatalf("a new disk's generation = %d, %v; want 0", gen, err)
		}
		if _, err := put(3); err != nil {
			t.Fatal(err)
		}
		got, err := f.Store.GetDisk(ctx(), id)
		if err != nil || got.AccessGeneration != 3 {
			t.Fatalf("GetDisk().AccessGeneration = %+v, %v; want 3", got, err)
		}
		// An update that says less does not lower it: revoked SAS URLs stay revoked.
		if d, err := put(1); err != nil || d.AccessGeneration != 3 {
			t.Fatalf("lowering the generation: %+v, %v; want it kept at 3", d, err)
		}
		if gen, err := f.Store.DiskAccessGeneration(ctx(), "9f1c7f40-aaaa-4bbb-8ccc-000000000001"); err != nil || gen != 3 {
			t.Fatalf("DiskAccessGeneration() = %d, %v; want 3", gen, err)
		}
		_, err = f.Store.DiskAccessGeneration(ctx(), "9f1c7f40-aaaa-4bbb-8ccc-000000000002")
		wantCode(t, "an unknown unique id", err, galleon.CodeResourceNotFound)
		_, err = f.Store.DiskAccessGeneration(ctx(), "")
		wantCode(t, "an empty unique id", err, galleon.CodeResourceNotFound)
		if _, err := f.Store.DeleteDisk(ctx(), id); err != nil {
			t.Fatal(err)
		}
		_, err = f.Store.DiskAccessGeneration(ctx(), "9f1c7f40-aaaa-4bbb-8ccc-000000000001")
		wantCode(t, "a deleted disk", err, galleon.CodeResourceNotFound)
	})
	t.Run("List", func(t *testing.T) {
		for _, id := range []galleon.DiskID{f.Disk("rgA", galleon.TypeDisk, "d1"), f.Disk("rgB", galleon.TypeDisk, "d1"),
			f.Disk("rgB", galleon.TypeDisk, "d2"), f.Disk("rgB", galleon.TypeSnapshot, "s9")} {
			if _, _, err := f.PutDisk(id, 1); err != nil {
				t.Fatal(err)
			}
		}
		var all []string
		page := galleon.Page{Limit: 1}
		for {
			ds, next, err := f.Store.ListDisks(ctx(), galleon.DiskID{SubscriptionID: f.Sub, Type: galleon.TypeDisk}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				all = append(all, d.ID.ResourceGroup+"/"+d.ID.Name)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if !slices.Equal(all, []string{"rgA/d1", "rgB/d1", "rgB/d2"}) {
			t.Fatalf("disks of the subscription: %v", all)
		}
		snaps, _, err := f.Store.ListDisks(ctx(), galleon.DiskID{SubscriptionID: f.Sub, ResourceGroup: "rgb", Type: galleon.TypeSnapshot}, galleon.Page{})
		if err != nil || len(snaps) != 1 || snaps[0].ID.Name != "s9" {
			t.Fatalf("snapshots of rgB: %+v, %v", snaps, err)
		}
	})
	t.Run("DeleteAndCascade", func(t *testing.T) {
		if ok, err := f.Store.DeleteDisk(ctx(), f.Disk("rgA", galleon.TypeDisk, "d1")); err != nil || !ok {
			t.Fatalf("DeleteDisk() = %v, %v", ok, err)
		}
		if ok, err := f.Store.DeleteDisk(ctx(), f.Disk("rgA", galleon.TypeDisk, "d1")); err != nil || ok {
			t.Fatalf("deleting again = %v, %v", ok, err)
		}
		f.MustPutGallery(t, "rgB", "g")
		f.MustPutImage(t, "rgB", "g", "i")
		if _, _, err := f.PutVersion(f.Version("rgB", "g", "i", "1.0.0"), ""); err != nil {
			t.Fatal(err)
		}
		MustBeginDelete(t, f, "rgB", "op", time.Now().UTC())
		if err := f.Store.DeleteResourceGroupContents(ctx(), f.RG("rgB")); err != nil {
			t.Fatal(err)
		}
		_, err := f.Store.GetDisk(ctx(), f.Disk("rgB", galleon.TypeDisk, "d2"))
		wantCode(t, "a disk of a deleted group", err, galleon.CodeResourceNotFound)
		_, err = f.Store.GetImageVersion(ctx(), f.Version("rgB", "g", "i", "1.0.0"))
		wantCode(t, "a version of a deleted group", err, galleon.CodeResourceNotFound)
	})
}

func testManagedImage(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rgA")
	put := func(rg, name, osType string) (*galleon.ManagedImage, bool, error) {
		id := f.Disk(rg, galleon.TypeManagedImage, name)
		return f.Store.PutManagedImage(ctx(), id, func(old *galleon.ManagedImage) (*galleon.ManagedImage, error) {
			return &galleon.ManagedImage{ID: id, Location: "eastus", Properties: galleon.ManagedImageProperties{
				StorageProfile: galleon.ImageStorageProfile{OSDisk: &galleon.ImageOSDisk{OSType: osType, OSState: "Generalized"}},
			}}, nil
		})
	}
	img, created, err := put("RGA", "MyImage", "Linux")
	if err != nil || !created || img.ID.ResourceGroup != "rgA" || img.ID.Type != galleon.TypeManagedImage {
		t.Fatalf("create: %+v, %v, %v", img, created, err)
	}
	if _, created, err := put("rga", "myimage", "Windows"); err != nil || created {
		t.Fatalf("update: %v, %v", created, err)
	}
	got, err := f.Store.GetManagedImage(ctx(), f.Disk("rgA", galleon.TypeManagedImage, "MYIMAGE"))
	if err != nil || got.ID.Name != "MyImage" || got.Properties.StorageProfile.OSDisk.OSType != "Windows" {
		t.Fatalf("GetManagedImage() = %+v, %v", got, err)
	}
	// Images share the disks table with disks and snapshots but are never
	// listed or found as one.
	if _, _, err := f.PutDisk(f.Disk("rgA", galleon.TypeSnapshot, "MyImage"), 1); err != nil {
		t.Fatal(err)
	}
	imgs, _, err := f.Store.ListManagedImages(ctx(), galleon.DiskID{SubscriptionID: f.Sub}, galleon.Page{})
	if err != nil || len(imgs) != 1 || imgs[0].ID.Name != "MyImage" {
		t.Fatalf("ListManagedImages() = %+v, %v", imgs, err)
	}
	if _, err := f.Store.GetDisk(ctx(), f.Disk("rgA", galleon.TypeDisk, "MyImage")); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		t.Fatalf("an image read as a disk: %v", err)
	}
	_, _, err = put("nope", "i", "Linux")
	wantCode(t, "an image in a missing group", err, galleon.CodeResourceGroupNotFound)
	if ok, err := f.Store.DeleteManagedImage(ctx(), f.Disk("rgA", galleon.TypeManagedImage, "myimage")); err != nil || !ok {
		t.Fatalf("DeleteManagedImage() = %v, %v", ok, err)
	}
	_, err = f.Store.GetManagedImage(ctx(), f.Disk("rgA", galleon.TypeManagedImage, "MyImage"))
	wantCode(t, "a deleted image", err, galleon.CodeResourceNotFound)
	if _, err := f.Store.GetDisk(ctx(), f.Disk("rgA", galleon.TypeSnapshot, "MyImage")); err != nil {
		t.Fatalf("the snapshot of the same name went with the image: %v", err)
	}
}

// testImageVersionAndStart: a version and the operation that replicates
// it are stored in one transaction, so neither exists without the other.
func testImageVersionAndStart(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutGallery(t, "rg", "g")
	f.MustPutImage(t, "rg", "g", "i")
	id := f.Version("rg", "g", "i", "1.0.0")
	newOp := func() *galleon.Operation {
		return &galleon.Operation{ID: uuid.NewString(), SubscriptionID: f.Sub, Location: "eastus", Kind: galleon.OperationReplicateImageVersion,
			Target: id.String(), Status: galleon.OperationInProgress, StartTime: time.Now().UTC()}
	}
	put := func(op *galleon.Operation, fail error) error {
		_, _, err := f.Store.PutImageVersionAndStart(ctx(), id, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
			if fail != nil {
				return nil, fail
			}
			return &galleon.ImageVersion{ID: id, Location: "eastus", Properties: galleon.ImageVersionProperties{
				PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}}},
				StorageProfile:    galleon.VersionStorageProfile{Source: &galleon.VersionSource{ID: "/snap"}},
				ProvisioningState: galleon.ProvisioningCreating}}, nil
		}, op)
		return err
	}
	refused := newOp()
	if err := put(refused, galleon.Errorf(galleon.CodeInvalidParameter, "no")); galleon.ErrorCode(err) != galleon.CodeInvalidParameter {
		t.Fatalf("a refused update = %v", err)
	}
	if _, err := f.Store.GetOperation(ctx(), f.Sub, refused.ID); galleon.ErrorCode(err) == "" {
		t.Errorf("the operation of a refused update was stored")
	}
	op := newOp()
	if err := put(op, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.GetImageVersion(ctx(), id); err != nil {
		t.Fatalf("the version was not stored: %v", err)
	}
	if got, err := f.Store.GetOperation(ctx(), f.Sub, op.ID); err != nil || got.Target != id.String() {
		t.Fatalf("GetOperation() = %v, %v; want the version's replication", got, err)
	}
	items, err := f.Store.ClaimWork(ctx(), galleon.WorkOperation, "node", time.Minute, 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("ClaimWork() = %v, %v; want the operation's one work item", items, err)
	}
}
