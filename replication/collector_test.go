package replication_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

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
	c.Start()
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
	c.Stop()
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
