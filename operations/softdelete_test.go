package operations_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/operations"
	"github.com/galleon-project/galleon/storetest"
)

// versionBytes stands in for the data plane: a fake that records whose
// version bytes were deleted and fails when told to, to show that a row
// outlives a failed delete of its bytes. Every other DiskData method is
// the nil interface's, and panics if called.
type versionBytes struct {
	galleon.DiskData
	mu      sync.Mutex
	deleted []string
	fail    error
}

func (b *versionBytes) DeleteVersionContent(_ context.Context, v *galleon.ImageVersion) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.deleted = append(b.deleted, v.ID.String())
	return nil
}

// softDeleted puts a version under rg/g/img (a soft-delete gallery) and
// soft-deletes it with the given retention.
func softDeleted(t *testing.T, f *storetest.Fixture, rg, version string, retention time.Duration) galleon.ImageVersionID {
	t.Helper()
	id := f.Version(rg, "g", "img", version)
	if _, _, err := f.PutVersion(id, ""); err != nil {
		t.Fatal(err)
	}
	if kept, err := f.Store.SoftDeleteImageVersion(context.Background(), id, retention); err != nil || !kept {
		t.Fatalf("SoftDeleteImageVersion(%s) = %v, %v", id, kept, err)
	}
	return id
}

func TestPurger_PurgeExpired(t *testing.T) {
	t.Parallel()
	f := fixture(t)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutSoftDeleteGallery(t, "rg", "g")
	f.MustPutImage(t, "rg", "g", "img")
	expired := softDeleted(t, f, "rg", "1.0.0", time.Millisecond)
	kept := softDeleted(t, f, "rg", "2.0.0", time.Hour)
	time.Sleep(10 * time.Millisecond)

	data := &versionBytes{fail: errors.New("bucket unreachable")}
	p := &operations.Purger{Store: f.Store, Data: data}
	if n, err := p.PurgeExpired(context.Background()); err == nil || n != 0 {
		t.Fatalf("PurgeExpired with the bytes unreachable = %d, %v; want an error", n, err)
	}
	if exp, err := f.Store.ListExpiredImageVersions(context.Background(), 10); err != nil || len(exp) != 1 {
		t.Fatalf("after a failed pass the expired version must still be there (its bytes are): %+v, %v", exp, err)
	}

	data.fail = nil
	n, err := p.PurgeExpired(context.Background())
	if err != nil || n != 1 || !slices.Equal(data.deleted, []string{expired.String()}) {
		t.Fatalf("PurgeExpired = %d, %v; bytes deleted %v, want only %s", n, err, data.deleted, expired)
	}
	sds, _, err := f.Store.ListSoftDeletedImageVersions(context.Background(), kept.ImageDefinitionID, galleon.Page{})
	if err != nil || len(sds) != 1 || sds[0].Version.ID != kept {
		t.Errorf("soft-deleted after the pass: %+v, %v; want only %s", sds, err, kept)
	}
	if n, err := p.PurgeExpired(context.Background()); err != nil || n != 0 {
		t.Errorf("a second pass: %d, %v", n, err)
	}
}

// Deleting a resource group deletes the bytes its soft-deleted versions
// kept, not only those of its live ones.
func TestDeleteResourceGroup_SoftDeletedVersions(t *testing.T) {
	t.Parallel()
	f := fixture(t)
	f.MustPutResourceGroup(t, "rg")
	f.MustPutSoftDeleteGallery(t, "rg", "g")
	f.MustPutImage(t, "rg", "g", "img")
	soft := softDeleted(t, f, "rg", "1.0.0", time.Hour)
	op := begin(t, f, "rg", galleon.OperationDeleteResourceGroup)
	data := &versionBytes{}
	if err := operations.DeleteResourceGroup(f.Store, data)(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data.deleted, []string{soft.String()}) {
		t.Errorf("bytes deleted %v, want %s", data.deleted, soft)
	}
}
