package blobapi_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
)

// TestDisks_RefuseDamagedSource: FromImage (CopyFromVersion), Copy
// (CopyContent) and a managed image's copy of a disk (ImageDiskContent)
// are refused with a conflict naming the chunk while a scrub's note says
// a chunk of the source is damaged, and succeed once it is repaired (the
// note gone). Before, they answered 200 with a digest the bytes no longer
// had.
func TestDisks_RefuseDamagedSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	t.Cleanup(func() { store.Close() })
	x := &blobapi.Disks{Stores: map[string]*chunkstore.Store{"eastus": store}}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<17)
	v := galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{SubscriptionID: "s", ResourceGroup: "rg", Name: "g"}, Image: "i"}, Version: "1.0.0"}
	m, _, err := store.Ingest(ctx, galleon.VersionManifestID(v, "os", 0), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	source := &galleon.Disk{ID: galleon.DiskID{SubscriptionID: "s", ResourceGroup: "rg", Type: galleon.TypeSnapshot, Name: "snap"},
		Location: "eastus", Properties: galleon.DiskProperties{UniqueID: uuid.NewString()}}
	if err := store.PutManifest(ctx, "disk-"+source.Properties.UniqueID, m); err != nil {
		t.Fatal(err)
	}
	newDisk := func() *galleon.Disk {
		return &galleon.Disk{Location: "eastus", Properties: galleon.DiskProperties{UniqueID: uuid.NewString()}}
	}
	img := &galleon.ManagedImage{Location: "eastus", Properties: galleon.ManagedImageProperties{UniqueID: uuid.NewString()}}
	copies := map[string]func() (string, error){
		"FromImage": func() (string, error) { return x.CopyFromVersion(ctx, newDisk(), v, "os") },
		"Copy":      func() (string, error) { return x.CopyContent(ctx, newDisk(), source) },
		"ManagedImage": func() (string, error) {
			sha, _, err := x.ImageDiskContent(ctx, img, galleon.ManagedImageDisk{Name: "os"}, source, "properties.storageProfile.osDisk")
			return sha, err
		},
	}
	d := m.Chunks[0].Digest
	if err := store.MarkDamaged(ctx, d, "content hashes to something else"); err != nil {
		t.Fatal(err)
	}
	for name, copyFn := range copies {
		_, err := copyFn()
		var ge *galleon.Error
		if !errors.As(err, &ge) || ge.Code != galleon.CodeConflict || ge.Target == "" || !strings.Contains(ge.Message, d.String()) {
			t.Errorf("%s from a damaged source = %v, want a Conflict naming chunk %s", name, err, d)
		}
	}
	if err := store.ClearDamaged(ctx, d); err != nil {
		t.Fatal(err)
	}
	for name, copyFn := range copies {
		if sha, err := copyFn(); err != nil || sha != m.Digest.String() {
			t.Errorf("%s after repair = %q, %v; want %s", name, sha, err, m.Digest)
		}
	}
}
