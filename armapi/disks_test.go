package armapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/storetest"
)

// diskFixture is a Server with a real data plane (blobapi.Disks over an
// in-memory eastus bucket) on a fresh SQLite store, and a sealed snapshot.
type diskFixture struct {
	*storetest.Fixture
	handler  http.Handler
	store    *chunkstore.Store
	snapshot *galleon.Disk
	m        *chunkstore.Manifest
}

func newDiskFixture(t *testing.T) *diskFixture {
	t.Helper()
	ctx := context.Background()
	db, fx := mustOpenTestStore(t)
	f := &diskFixture{Fixture: fx}
	f.store = &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	t.Cleanup(func() { f.store.Close() })
	s := newTestServer(db, map[string]galleon.Principal{"publisher": f.Bootstrap.ServicePrincipal})
	s.DiskData = &blobapi.Disks{Stores: map[string]*chunkstore.Store{"eastus": f.store}}
	f.handler = s.Handler()
	f.MustPutResourceGroup(t, "rg")
	var err error
	f.m, _, err = f.store.Ingest(ctx, "seed", bytes.NewReader(bytes.Repeat([]byte("galleon "), 1<<17)))
	if err != nil {
		t.Fatal(err)
	}
	uid := uuid.NewString()
	if err := f.store.PutManifest(ctx, "disk-"+uid, f.m); err != nil {
		t.Fatal(err)
	}
	size := f.m.Size
	id := f.Disk("rg", galleon.TypeSnapshot, "snap")
	f.snapshot, _, err = db.PutDisk(ctx, id, func(*galleon.Disk) (*galleon.Disk, error) {
		return &galleon.Disk{ID: id, Location: "eastus", Properties: galleon.DiskProperties{UniqueID: uid, SHA256: f.m.Digest.String(),
			DiskSizeBytes: &size, DiskState: galleon.DiskUnattached, OSType: "Linux",
			CreationData: galleon.CreationData{CreateOption: galleon.CreateCopy}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *diskFixture) putDisk(t *testing.T, rg, name string, creationData map[string]any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"location": "eastus", "properties": map[string]any{"creationData": creationData}})
	target := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s?api-version=2023-04-02", f.Sub, rg, name)
	req := httptest.NewRequest(http.MethodPut, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer publisher")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (f *diskFixture) diskManifests(t *testing.T) []string {
	t.Helper()
	ids, err := f.store.ListManifests(context.Background(), "disk-")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestServer_PutDisk_RefusedLeavesNoContent: a Copy whose content was
// written but whose disk the store then refused (its group does not
// exist) deletes that content again, instead of leaving a manifest that
// keeps its chunks from collection forever.
func TestServer_PutDisk_RefusedLeavesNoContent(t *testing.T) {
	t.Parallel()
	f := newDiskFixture(t)
	code, body := f.putDisk(t, "missing", "d", map[string]any{"createOption": "Copy", "sourceResourceId": f.snapshot.ID.String()})
	if code != http.StatusNotFound || !strings.Contains(body, galleon.CodeResourceGroupNotFound) {
		t.Fatalf("PUT into a missing group = %d %s, want 404 ResourceGroupNotFound", code, body)
	}
	if ids := f.diskManifests(t); len(ids) != 1 {
		t.Fatalf("disk manifests after a refused PUT: %v, want the snapshot's alone", ids)
	}
	if code, body := f.putDisk(t, "rg", "d", map[string]any{"createOption": "Copy", "sourceResourceId": f.snapshot.ID.String()}); code != http.StatusOK {
		t.Fatalf("PUT = %d %s", code, body)
	}
	if ids := f.diskManifests(t); len(ids) != 2 {
		t.Fatalf("disk manifests after a stored copy: %v, want two", ids)
	}
}

// TestServer_PutDisk_FromImageReplicaMismatch: a FromImage disk whose
// version's replica holds other bytes than the version published is
// refused with a conflict, and its content deleted.
func TestServer_PutDisk_FromImageReplicaMismatch(t *testing.T) {
	t.Parallel()
	f := newDiskFixture(t)
	ctx := context.Background()
	f.MustPutGallery(t, "rg", "g")
	f.MustPutImage(t, "rg", "g", "img")
	vid := f.Version("rg", "g", "img", "1.0.0")
	other, _, err := f.store.Ingest(ctx, galleon.VersionManifestID(vid, "os", 0), strings.NewReader("not the published bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.PutImageVersion(ctx, vid, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
		return &galleon.ImageVersion{ID: vid, Location: "eastus", Properties: galleon.ImageVersionProperties{
			PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}}},
			StorageProfile: galleon.VersionStorageProfile{OSDiskImage: &galleon.DiskImage{
				Source: &galleon.DiskSource{ID: f.snapshot.ID.String()}, SHA256: f.m.Digest.String()}},
			ProvisioningState: galleon.ProvisioningSucceeded,
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"createOption": "FromImage", "galleryImageReference": map[string]any{"id": vid.String()}}
	code, body := f.putDisk(t, "rg", "d", ref)
	if code != http.StatusConflict || !strings.Contains(body, "damaged") || !strings.Contains(body, other.Digest.String()) {
		t.Fatalf("FromImage from a mismatched replica = %d %s, want 409 naming the replica's digest", code, body)
	}
	if ids := f.diskManifests(t); len(ids) != 1 {
		t.Fatalf("disk manifests after a refused FromImage: %v, want the snapshot's alone", ids)
	}
	// The replica as published: the disk is made.
	if err := f.store.PutManifest(ctx, galleon.VersionManifestID(vid, "os", 0), f.m); err != nil {
		t.Fatal(err)
	}
	if code, body := f.putDisk(t, "rg", "d", ref); code != http.StatusOK || !strings.Contains(body, f.m.Digest.String()) {
		t.Fatalf("FromImage = %d %s", code, body)
	}
}
