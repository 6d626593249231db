package replication_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"gocloud.dev/blob/fileblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/replication"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// world is an installation in miniature: a real SQLite store, two regions
// of file buckets, and a snapshot in eastus whose content versions are
// published from.
type world struct {
	f        *storetest.Fixture
	db       *sqlstore.DB
	regions  map[string][]*chunkstore.Store
	dirs     map[string]string // region → its bucket's folder
	data     []byte            // the snapshot's bytes
	m        *chunkstore.Manifest
	snapshot galleon.DiskID
	rec      *replication.Reconciler
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{regions: map[string][]*chunkstore.Store{}, dirs: map[string]string{}}
	w.f = storetest.MustFixture(t, func(t *testing.T) galleon.Store {
		db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "galleon.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		w.db = db
		return db
	})
	for _, region := range []string{"eastus", "westus2"} {
		dir := t.TempDir()
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		w.regions[region] = []*chunkstore.Store{{Bucket: b}}
		w.dirs[region] = dir
	}
	w.f.MustPutResourceGroup(t, "rg")
	w.f.MustPutGallery(t, "rg", "g")
	w.f.MustPutImage(t, "rg", "g", "img")
	w.data = make([]byte, 3<<20)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(w.data)
	uid := uuid.NewString()
	w.snapshot = w.f.Disk("rg", galleon.TypeSnapshot, "snap")
	if _, _, err := w.db.PutDisk(ctx, w.snapshot, func(*galleon.Disk) (*galleon.Disk, error) {
		return &galleon.Disk{ID: w.snapshot, Location: "eastus", Properties: galleon.DiskProperties{UniqueID: uid,
			CreationData: galleon.CreationData{CreateOption: galleon.CreateEmpty}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	m, _, err := w.store("eastus").Ingest(ctx, "disk-"+uid, bytes.NewReader(w.data))
	if err != nil {
		t.Fatal(err)
	}
	w.m = m
	w.rec = &replication.Reconciler{Store: w.db, Regions: w.regions}
	return w
}

func (w *world) store(region string) *chunkstore.Store { return w.regions[region][0] }

// publish creates a version of the snapshot in eastus, replicated to both
// regions, and runs the reconciler over it.
func (w *world) publish(t *testing.T, version string) (galleon.ImageVersionID, error) {
	t.Helper()
	id := w.f.Version("rg", "g", "img", version)
	if _, _, err := w.db.PutImageVersion(context.Background(), id, func(*galleon.ImageVersion) (*galleon.ImageVersion, error) {
		return &galleon.ImageVersion{ID: id, Location: "eastus", Properties: galleon.ImageVersionProperties{
			PublishingProfile: &galleon.PublishingProfile{TargetRegions: []galleon.TargetRegion{{Name: "eastus"}, {Name: "westus2"}}},
			StorageProfile: galleon.VersionStorageProfile{OSDiskImage: &galleon.DiskImage{
				Source: &galleon.DiskSource{ID: w.snapshot.String()}, SHA256: w.m.Digest.String()}},
			ProvisioningState: galleon.ProvisioningCreating,
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return id, w.rec.Reconcile(context.Background(), id)
}

// replica returns the manifest of replica 0 of a version's OS disk in region.
func (w *world) replica(t *testing.T, id galleon.ImageVersionID, region string) *chunkstore.Manifest {
	t.Helper()
	m, err := w.store(region).GetManifest(context.Background(), galleon.VersionManifestID(id, "os", 0))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// damage overwrites bytes in the middle of a chunk's file in region's
// bucket, keeping its size, as a failing disk would, and returns the
// chunk's good bytes.
func (w *world) damage(t *testing.T, region string, d chunkstore.Digest) []byte {
	t.Helper()
	path := w.chunkPath(region, d)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	copy(bad[100:], "not what was stored")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	return good
}

func (w *world) chunkPath(region string, d chunkstore.Digest) string {
	return filepath.Join(w.dirs[region], "chunks", "sha256", d.Hex()[:2], d.Hex())
}

func (w *world) version(t *testing.T, id galleon.ImageVersionID) *galleon.ImageVersion {
	t.Helper()
	v, err := w.db.GetImageVersion(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func regionState(v *galleon.ImageVersion, region string) (state, details string) {
	if v.Properties.ReplicationStatus == nil {
		return "", ""
	}
	for _, s := range v.Properties.ReplicationStatus.Summary {
		if s.Region == region {
			return s.State, s.Details
		}
	}
	return "", ""
}
