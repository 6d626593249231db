package storetest

import (
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

// MustPutSoftDeleteGallery puts a gallery whose softDeletePolicy is on.
func (f *Fixture) MustPutSoftDeleteGallery(t *testing.T, rg, name string) *galleon.Gallery {
	t.Helper()
	id := f.Gallery(rg, name)
	g, _, err := f.Store.PutGallery(ctx(), id, func(*galleon.Gallery) (*galleon.Gallery, error) {
		on := true
		g := &galleon.Gallery{ID: id, Location: "eastus", Properties: galleon.GalleryProperties{
			SoftDeletePolicy: &galleon.SoftDeletePolicy{IsSoftDeleteEnabled: &on}}}
		g.ApplyDefaults()
		return g, nil
	})
	if err != nil {
		t.Fatalf("PutGallery(%s/%s): %v", rg, name, err)
	}
	return g
}

func testSoftDelete(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutGallery(t, "rg", "plain")
	f.MustPutImage(t, "rg", "plain", "img")
	f.MustPutSoftDeleteGallery(t, "rg", "soft")
	f.MustPutImage(t, "rg", "soft", "img")
	const week = 7 * 24 * time.Hour
	mustPut := func(t *testing.T, id galleon.ImageVersionID) {
		t.Helper()
		if _, _, err := f.PutVersion(id, "v-"+id.Version); err != nil {
			t.Fatalf("PutVersion(%s): %v", id, err)
		}
	}
	softNames := func(t *testing.T, def galleon.ImageDefinitionID) []string {
		t.Helper()
		sds, _, err := f.Store.ListSoftDeletedImageVersions(ctx(), def, galleon.Page{})
		if err != nil {
			t.Fatalf("ListSoftDeletedImageVersions(%s): %v", def, err)
		}
		return names(sds, func(sd *galleon.SoftDeletedImageVersion) string { return sd.Version.ID.Version })
	}

	t.Run("PolicyOff", func(t *testing.T) {
		id := f.Version("rg", "plain", "img", "1.0.0")
		mustPut(t, id)
		kept, err := f.Store.SoftDeleteImageVersion(ctx(), id, week)
		if err != nil || kept {
			t.Fatalf("SoftDeleteImageVersion() = %v, %v; want deleted for good", kept, err)
		}
		if _, err := f.Store.GetImageVersion(ctx(), id); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("GetImageVersion after delete: %v", err)
		}
		if got := softNames(t, id.ImageDefinitionID); len(got) != 0 {
			t.Errorf("soft-deleted versions with the policy off: %v", got)
		}
		if kept, err := f.Store.SoftDeleteImageVersion(ctx(), id, week); err != nil || kept {
			t.Errorf("deleting it again: %v, %v", kept, err)
		}
	})

	t.Run("KeptAndRestored", func(t *testing.T) {
		id := f.Version("rg", "soft", "img", "1.0.0")
		mustPut(t, id)
		mustPut(t, f.Version("rg", "soft", "img", "2.0.0"))
		before := time.Now().UTC().Add(-time.Second)
		kept, err := f.Store.SoftDeleteImageVersion(ctx(), f.Version("RG", "SOFT", "IMG", "1.0.0"), week)
		if err != nil || !kept {
			t.Fatalf("SoftDeleteImageVersion() = %v, %v; want kept", kept, err)
		}
		if _, err := f.Store.GetImageVersion(ctx(), id); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("GetImageVersion of a soft-deleted version: %v, want ResourceNotFound", err)
		}
		vs, _, err := f.Store.ListImageVersions(ctx(), id.ImageDefinitionID, galleon.Page{})
		if got := names(vs, func(v *galleon.ImageVersion) string { return v.ID.Version }); err != nil || len(got) != 1 || got[0] != "2.0.0" {
			t.Errorf("ListImageVersions = %v, %v; want only 2.0.0", got, err)
		}
		sds, _, err := f.Store.ListSoftDeletedImageVersions(ctx(), f.Image("rg", "Soft", "Img"), galleon.Page{})
		if err != nil || len(sds) != 1 {
			t.Fatalf("ListSoftDeletedImageVersions = %+v, %v", sds, err)
		}
		sd := sds[0]
		if sd.Version.ID != id || sd.Version.Tags["t"] != "v-1.0.0" || sd.DeletedAt.Before(before) ||
			sd.ExpiresAt.Sub(sd.DeletedAt) != week {
			t.Errorf("soft-deleted version = %+v", sd)
		}

		// The name is held: a new version cannot take it.
		if _, _, err := f.PutVersion(id, "new"); galleon.ErrorCode(err) != galleon.CodeConflict {
			t.Errorf("PutVersion over a soft-deleted name: %v, want Conflict", err)
		}
		// An update of the live version only (replication's) still learns
		// that it is gone.
		_, _, err = f.Store.PutImageVersion(ctx(), id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
			if old == nil {
				return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
			}
			return old, nil
		})
		if galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("an update of a soft-deleted version: %v, want its own ResourceNotFound", err)
		}
		// The definition cannot go while it holds soft-deleted versions.
		if _, err := f.Store.SoftDeleteImageVersion(ctx(), f.Version("rg", "soft", "img", "2.0.0"), week); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Store.DeleteImageDefinition(ctx(), id.ImageDefinitionID); galleon.ErrorCode(err) != galleon.CodeCannotDeleteResource {
			t.Errorf("DeleteImageDefinition with soft-deleted versions: %v, want CannotDeleteResource", err)
		}

		v, _, err := f.Store.RestoreImageVersion(ctx(), f.Version("rg", "soft", "img", "1.0.0"), nil)
		if err != nil || v.ID != id || v.Tags["t"] != "v-1.0.0" || v.Properties.StorageProfile.Source.ID != "/snap" {
			t.Fatalf("RestoreImageVersion() = %+v, %v", v, err)
		}
		if got, err := f.Store.GetImageVersion(ctx(), id); err != nil || got.Tags["t"] != "v-1.0.0" {
			t.Errorf("GetImageVersion after restore: %+v, %v", got, err)
		}
		if got := softNames(t, id.ImageDefinitionID); len(got) != 1 || got[0] != "2.0.0" {
			t.Errorf("soft-deleted after restoring 1.0.0: %v", got)
		}
		if _, _, err := f.Store.RestoreImageVersion(ctx(), id, nil); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("restoring twice: %v, want ResourceNotFound", err)
		}
		if _, _, err := f.Store.RestoreImageVersion(ctx(), f.Version("rg", "soft", "img", "9.9.9"), nil); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("restoring what was never deleted: %v", err)
		}

		// Purged for good: not restorable, and the definition may go once
		// its live versions are gone too.
		sdp, err := f.Store.PurgeImageVersion(ctx(), f.Version("rg", "soft", "img", "2.0.0"))
		if err != nil || sdp == nil || sdp.Version.ID.Version != "2.0.0" {
			t.Fatalf("PurgeImageVersion() = %+v, %v", sdp, err)
		}
		if sdp, err := f.Store.PurgeImageVersion(ctx(), f.Version("rg", "soft", "img", "2.0.0")); err != nil || sdp != nil {
			t.Errorf("purging twice: %+v, %v", sdp, err)
		}
		if _, _, err := f.Store.RestoreImageVersion(ctx(), f.Version("rg", "soft", "img", "2.0.0"), nil); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("restoring a purged version: %v", err)
		}
		if _, err := f.Store.DeleteImageVersion(ctx(), id); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.Store.DeleteImageDefinition(ctx(), id.ImageDefinitionID); err != nil || !ok {
			t.Errorf("DeleteImageDefinition once nothing is left: %v, %v", ok, err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		f.MustPutImage(t, "rg", "soft", "short")
		id := f.Version("rg", "soft", "short", "1.0.0")
		mustPut(t, id)
		if kept, err := f.Store.SoftDeleteImageVersion(ctx(), id, time.Millisecond); err != nil || !kept {
			t.Fatalf("SoftDeleteImageVersion() = %v, %v", kept, err)
		}
		time.Sleep(20 * time.Millisecond)
		// Listed until purged (its bytes are still there), but gone for
		// restoring.
		if got := softNames(t, id.ImageDefinitionID); len(got) != 1 {
			t.Errorf("an expired version not yet purged: %v", got)
		}
		if _, _, err := f.Store.RestoreImageVersion(ctx(), id, nil); galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
			t.Errorf("restoring an expired version: %v, want ResourceNotFound", err)
		}
		// A long-lived one in the same definition is not expired.
		keep := f.Version("rg", "soft", "short", "2.0.0")
		mustPut(t, keep)
		if _, err := f.Store.SoftDeleteImageVersion(ctx(), keep, week); err != nil {
			t.Fatal(err)
		}
		exp, err := f.Store.ListExpiredImageVersions(ctx(), 10)
		if err != nil || len(exp) != 1 || exp[0].Version.ID != id || exp[0].Version.Tags["t"] != "v-1.0.0" {
			t.Fatalf("ListExpiredImageVersions() = %+v, %v; want only %s", exp, err, id)
		}
		if sd, err := f.Store.PurgeImageVersion(ctx(), exp[0].Version.ID); err != nil || sd == nil {
			t.Fatalf("PurgeImageVersion() = %+v, %v", sd, err)
		}
		if exp, err := f.Store.ListExpiredImageVersions(ctx(), 10); err != nil || len(exp) != 0 {
			t.Errorf("ListExpiredImageVersions after the purge = %+v, %v", exp, err)
		}
		if got := softNames(t, id.ImageDefinitionID); len(got) != 1 || got[0] != "2.0.0" {
			t.Errorf("the unexpired one: %v", got)
		}
	})

	t.Run("ErrParentNotFound", func(t *testing.T) {
		if _, _, err := f.Store.ListSoftDeletedImageVersions(ctx(), f.Image("rg", "soft", "nope"), galleon.Page{}); galleon.ErrorCode(err) != galleon.CodeParentResourceNotFound {
			t.Errorf("ListSoftDeletedImageVersions of a missing definition: %v", err)
		}
		if kept, err := f.Store.SoftDeleteImageVersion(ctx(), f.Version("rg", "nope", "img", "1.0.0"), week); err != nil || kept {
			t.Errorf("SoftDeleteImageVersion in a missing gallery: %v, %v", kept, err)
		}
	})

	t.Run("ResourceGroupDeletion", func(t *testing.T) {
		f.MustPutResourceGroup(t, "gone")
		f.MustPutSoftDeleteGallery(t, "gone", "g2")
		f.MustPutImage(t, "gone", "g2", "img")
		id := f.Version("gone", "g2", "img", "1.0.0")
		mustPut(t, id)
		if _, err := f.Store.SoftDeleteImageVersion(ctx(), id, week); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.DeleteResourceGroupContents(ctx(), f.RG("gone")); err != nil {
			t.Fatalf("DeleteResourceGroupContents with a soft-deleted version: %v", err)
		}
		f.MustPutResourceGroup(t, "gone")
		f.MustPutSoftDeleteGallery(t, "gone", "g2")
		f.MustPutImage(t, "gone", "g2", "img")
		if got := softNames(t, id.ImageDefinitionID); len(got) != 0 {
			t.Errorf("a recreated definition inherits soft-deleted versions: %v", got)
		}
	})
}

// testRestoreStartsReplication: a version soft-deleted while it
// replicated comes back with its replication started in the same
// transaction; a version that had finished does not start one.
func testRestoreStartsReplication(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutSoftDeleteGallery(t, "rg", "soft")
	f.MustPutImage(t, "rg", "soft", "img")
	id := f.Version("rg", "soft", "img", "1.0.0")
	if _, _, err := f.PutVersion(id, ""); err != nil { // Creating
		t.Fatal(err)
	}
	if kept, err := f.Store.SoftDeleteImageVersion(ctx(), id, time.Hour); err != nil || !kept {
		t.Fatalf("SoftDeleteImageVersion() = %v, %v", kept, err)
	}
	op := &galleon.Operation{ID: "restore-op", SubscriptionID: f.Sub, Kind: galleon.OperationReplicateImageVersion,
		Status: galleon.OperationInProgress, StartTime: time.Now().UTC()}
	v, started, err := f.Store.RestoreImageVersion(ctx(), id, op)
	if err != nil || !started || v == nil {
		t.Fatalf("RestoreImageVersion() = %v, %v, %v; want the version back with its replication started", v, started, err)
	}
	got, err := f.Store.GetOperation(ctx(), f.Sub, op.ID)
	if err != nil || got.Target != v.ID.String() || got.Location != "eastus" {
		t.Fatalf("GetOperation() = %+v, %v; want one working on %s in eastus", got, err, v.ID)
	}
	if items, err := f.Store.ClaimWork(ctx(), galleon.WorkOperation, "node", time.Minute, 10); err != nil || len(items) != 1 {
		t.Fatalf("ClaimWork() = %v, %v; want the restore's work item", items, err)
	}
}
