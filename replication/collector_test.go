package replication_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/replication"
)

// TestCollector_DeletesOnlyUnreferencedChunks runs the timer against two
// in-memory buckets: the chunks of a deleted manifest go, those of a kept
// one stay readable.
func TestCollector_DeletesOnlyUnreferencedChunks(t *testing.T) {
	ctx := context.Background()
	kept, gone := make([]byte, 3<<20), make([]byte, 2<<20)
	rand.Read(kept)
	rand.Read(gone)
	a := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	b := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	for _, st := range []*chunkstore.Store{a, b} {
		if _, _, err := st.Ingest(ctx, "kept", bytes.NewReader(kept)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Ingest(ctx, "gone", bytes.NewReader(gone)); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteManifest(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	deleted := map[string]int64{}
	c := &replication.Collector{Regions: map[string][]*chunkstore.Store{"eastus": {a}, "westus2": {b}}, Interval: 10 * time.Millisecond,
		Collected: func(region string, st chunkstore.GCStats) {
			mu.Lock()
			deleted[region] += st.BytesDeleted
			mu.Unlock()
		}}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := deleted["eastus"] > 0 && deleted["westus2"] > 0
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for region, n := range deleted {
		if n != int64(len(gone)) {
			t.Errorf("%s: collected %d bytes, want the deleted image's %d", region, n, len(gone))
		}
	}
	for _, st := range []*chunkstore.Store{a, b} {
		m, err := st.GetManifest(ctx, "kept")
		if err != nil {
			t.Fatal(err)
		}
		r, err := st.Open(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), kept) {
			t.Fatalf("the kept image after collection: %v", err)
		}
	}
}

// TestCollector_UnownedManifests: a manifest no resource owns (a request
// failed after it wrote content) is deleted once it is older than
// ManifestAge, and its chunks with it; owned ones and young ones stay.
func TestCollector_UnownedManifests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.publish(t, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	orphan := "disk-" + uuid.NewString()
	if _, _, err := w.store("eastus").Ingest(ctx, orphan, strings.NewReader(strings.Repeat("orphan bytes ", 1<<16))); err != nil {
		t.Fatal(err)
	}
	c := &replication.Collector{Regions: w.regions, Owners: w.db, ManifestAge: time.Hour}
	c.Collect(ctx)
	if _, err := w.store("eastus").GetManifest(ctx, orphan); err != nil {
		t.Fatalf("a young unowned manifest was collected: %v", err)
	}
	var gcBytes atomic.Int64 // Collected is called for several buckets at once
	c = &replication.Collector{Regions: w.regions, Owners: w.db, ManifestAge: time.Nanosecond,
		Collected: func(_ string, st chunkstore.GCStats) { gcBytes.Add(st.BytesDeleted) }}
	time.Sleep(10 * time.Millisecond)
	c.Collect(ctx)
	if _, err := w.store("eastus").GetManifest(ctx, orphan); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("the unowned manifest after collection: %v", err)
	}
	if gcBytes.Load() == 0 {
		t.Error("the unowned manifest's chunks were not freed")
	}
	for _, region := range []string{"eastus", "westus2"} {
		if err := w.store(region).Verify(ctx, w.replica(t, id, region)); err != nil {
			t.Errorf("%s: an owned replica after collection: %v", region, err)
		}
	}
	ids, err := w.store("eastus").ListManifests(ctx, "disk-")
	if err != nil || len(ids) != 1 {
		t.Errorf("disk manifests left: %v, %v; want the snapshot's", ids, err)
	}
}
