package replication_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/replication"
)

// TestReconcile_DamagedTargetChunkIsCopiedAgain: a chunk damaged in a
// target region's store, shared by the replica of an earlier version, is
// read back when a new version is replicated over it, found bad and copied
// again from the source: the new version's replica there holds the right
// bytes. Before, the chunk was trusted because it was present, and the
// version reported Succeeded over bytes its digest no longer had.
func TestReconcile_DamagedTargetChunkIsCopiedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.publish(t, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	w.damage(t, "westus2", w.m.Chunks[1].Digest)
	id, err := w.publish(t, "2.0.0")
	if err != nil {
		t.Fatalf("Reconcile(2.0.0) = %v", err)
	}
	v := w.version(t, id)
	if state, _ := regionState(v, "westus2"); v.Properties.ProvisioningState != galleon.ProvisioningSucceeded || state != galleon.ReplicationCompleted {
		t.Fatalf("2.0.0 is %s, westus2 %s", v.Properties.ProvisioningState, state)
	}
	m := w.replica(t, id, "westus2")
	if m.Digest != w.m.Digest {
		t.Fatalf("replica digest %s, want %s", m.Digest, w.m.Digest)
	}
	if err := w.store("westus2").Verify(ctx, m); err != nil {
		t.Fatalf("2.0.0 Completed in westus2 over a damaged chunk: %v", err)
	}
}

// TestReconcile_RecheckOwnCopyDigest: the version's own copy of its source
// present in the source region is checked against the digest recorded
// when the version was created; another manifest there fails the version.
func TestReconcile_RecheckOwnCopyDigest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id := w.f.Version("rg", "g", "img", "1.0.0")
	other, _, err := w.store("eastus").Ingest(ctx, "other", strings.NewReader("other bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store("eastus").PutManifest(ctx, galleon.VersionManifestID(id, "os", -1), other); err != nil {
		t.Fatal(err)
	}
	if _, err := w.publish(t, "1.0.0"); galleon.ErrorCode(err) != galleon.CodeInternal {
		t.Fatalf("Reconcile() = %v, want the version failed", err)
	}
	if v := w.version(t, id); v.Properties.ProvisioningState != galleon.ProvisioningFailed {
		t.Fatalf("version %s, want Failed", v.Properties.ProvisioningState)
	}
}

// TestScrub_RepairsFromAnotherRegion: a damaged and a missing chunk in
// westus2 are found by a pass, repaired from eastus, counted in the
// metrics and written to the audit log.
func TestScrub_RepairsFromAnotherRegion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.publish(t, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	damaged, missing := w.m.Chunks[0].Digest, w.m.Chunks[2].Digest
	w.damage(t, "westus2", damaged)
	if err := os.Remove(w.chunkPath("westus2", missing)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := &replication.Scrubber{Store: w.db, Regions: w.regions, SubscriptionID: w.f.Sub, Metrics: replication.NewScrubMetrics(reg)}
	st, err := s.ScrubOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Damaged != 2 || st.Repaired != 2 || st.Unrepairable != 0 || st.Noted != 0 {
		t.Errorf("ScrubOnce() = %+v, want 2 damaged, 2 repaired", st)
	}
	if want := 2*w.m.Size - w.m.Chunks[2].Size; st.Bytes < want {
		t.Errorf("scrubbed %d bytes, want at least both regions' %d, less the missing chunk", st.Bytes, want)
	}
	if err := w.store("westus2").Verify(ctx, w.replica(t, id, "westus2")); err != nil {
		t.Fatalf("after the scrub: %v", err)
	}
	for name, want := range map[string]float64{"galleon_scrub_damaged_chunks_total": 2, "galleon_scrub_repaired_chunks_total": 2} {
		if got := series(t, reg, name, "westus2"); got != want {
			t.Errorf("%s{region=westus2} = %v, want %v", name, got, want)
		}
	}
	events := auditActions(t, w)
	if events[replication.ActionChunkDamaged] != 2 || events[replication.ActionChunkRepaired] != 2 {
		t.Errorf("audit events %v, want 2 damaged and 2 repaired", events)
	}
	// A second pass finds nothing more.
	if st, err := s.ScrubOnce(ctx); err != nil || st.Damaged != 0 || st.Repaired != 0 {
		t.Errorf("second ScrubOnce() = %+v, %v; want nothing found", st, err)
	}
}

// TestScrub_UnrepairableMarksReplicasFailed: a chunk damaged in every
// region cannot be repaired: it keeps its note, every region whose replica
// names it is Failed with the reason, and the finding is audited. Once a
// good copy is back in one store (restored by an operator, say), the next
// pass repairs the other and clears the notes.
func TestScrub_UnrepairableMarksReplicasFailed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.publish(t, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	d := w.m.Chunks[1].Digest
	good := w.damage(t, "eastus", d)
	w.damage(t, "westus2", d)
	reg := prometheus.NewRegistry()
	s := &replication.Scrubber{Store: w.db, Regions: w.regions, SubscriptionID: w.f.Sub, Metrics: replication.NewScrubMetrics(reg)}
	st, err := s.ScrubOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Damaged != 2 || st.Unrepairable != 2 || st.Repaired != 0 || st.Noted != 2 || st.FailedRegions != 2 {
		t.Errorf("ScrubOnce() = %+v, want 2 damaged and unrepairable, 2 regions failed", st)
	}
	v := w.version(t, id)
	for _, region := range []string{"eastus", "westus2"} {
		state, details := regionState(v, region)
		if state != galleon.ReplicationFailed || !strings.Contains(details, d.String()) {
			t.Errorf("%s: %s %q, want Failed naming the chunk", region, state, details)
		}
		if de, err := w.store(region).Damaged(ctx, d); err != nil || de == nil {
			t.Errorf("%s: no note on the damaged chunk: %v", region, err)
		}
	}
	if got := series(t, reg, "galleon_scrub_quarantined_chunks", "eastus"); got != 1 {
		t.Errorf("galleon_scrub_quarantined_chunks{region=eastus} = %v, want 1", got)
	}
	if events := auditActions(t, w); events[replication.ActionReplicaFailed] != 2 || events[replication.ActionChunkDamaged] != 2 {
		t.Errorf("audit events %v, want 2 damaged chunks and 2 failed replicas", events)
	}
	// A new disk cannot be built on the chunk meanwhile.
	var de *chunkstore.DamagedError
	if err := w.store("eastus").PutManifest(ctx, "disk-new", w.replica(t, id, "eastus")); !errors.As(err, &de) {
		t.Errorf("PutManifest over the noted chunk = %v, want a *DamagedError", err)
	}
	// A second pass reports the same finding once only.
	if st, err := s.ScrubOnce(ctx); err != nil || st.Damaged != 0 || st.FailedRegions != 0 || st.Noted != 2 {
		t.Errorf("second ScrubOnce() = %+v, %v; want no new finding, 2 noted", st, err)
	}

	if err := os.WriteFile(w.chunkPath("westus2", d), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err = s.ScrubOnce(ctx); err != nil || st.Repaired != 1 || st.Noted != 0 {
		t.Fatalf("ScrubOnce() after a restore = %+v, %v; want eastus repaired, no notes", st, err)
	}
	for _, region := range []string{"eastus", "westus2"} {
		if err := w.store(region).Verify(ctx, w.replica(t, id, region)); err != nil {
			t.Errorf("%s after repair: %v", region, err)
		}
	}
	if err := w.store("eastus").PutManifest(ctx, "disk-new", w.replica(t, id, "eastus")); err != nil {
		t.Errorf("PutManifest after repair = %v", err)
	}
}

// series returns the value of the one series name{region=…} of reg, a
// counter or a gauge.
func series(t *testing.T, reg *prometheus.Registry, name, region string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "region" && l.GetValue() == region {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{region=%q}", name, region)
	return 0
}

// auditActions counts the subscription's audit events by action.
func auditActions(t *testing.T, w *world) map[string]int {
	t.Helper()
	events, _, err := w.db.ListAudit(context.Background(), w.f.Sub, galleon.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range events {
		if e.PrincipalID != replication.ScrubPrincipalID || e.CorrelationID == "" {
			t.Errorf("audit event %+v: want the scrub's principal and a pass id", e)
		}
		out[e.Action]++
	}
	return out
}

// TestReconcile_PresentReplicaIsVerified: a pass over a version whose
// replica manifest is present (a retry, an update) does not take the
// manifest's presence for a whole replica: a chunk damaged since is copied
// again.
func TestReconcile_PresentReplicaIsVerified(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id, err := w.publish(t, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	w.damage(t, "westus2", w.m.Chunks[0].Digest)
	if err := w.rec.Reconcile(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := w.store("westus2").Verify(context.Background(), w.replica(t, id, "westus2")); err != nil {
		t.Fatalf("a second pass left a damaged replica: %v", err)
	}
}

// TestScrubber_FirstDelay: when the next pass is due is kept in the first
// region's first bucket, so a node restarted more often than the interval
// still scrubs: each start waits only for what is left of it.
func TestScrubber_FirstDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	other := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	t.Cleanup(func() { first.Close(); other.Close() })
	s := &replication.Scrubber{Regions: map[string][]*chunkstore.Store{"westus2": {other}, "eastus": {first}}, Interval: 24 * time.Hour}
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"NewInstallation", now, 24 * time.Hour}, // and records now + 24h
		{"RestartedAfter10h", now.Add(10 * time.Hour), 14 * time.Hour},
		{"RestartedAfterItWasDue", now.Add(30 * time.Hour), 0},
	} {
		got, err := s.FirstDelay(ctx, tt.at)
		if err != nil || got != tt.want {
			t.Errorf("%s: FirstDelay() = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if _, ok, _ := other.ScrubDue(ctx); ok {
		t.Error("the due time was recorded in the second region's bucket, not the first's")
	}
	// A due time further off than one interval (a clock set back) waits
	// one interval at most; a damaged record counts as none.
	if err := first.SetScrubDue(ctx, now.Add(100*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FirstDelay(ctx, now); got != 24*time.Hour {
		t.Errorf("FirstDelay() with a due time 100h off = %v, want 24h", got)
	}
	if err := first.Bucket.WriteAll(ctx, "scrub/due", []byte("garbage"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FirstDelay(ctx, now); err != nil || got != 24*time.Hour {
		t.Errorf("FirstDelay() over a damaged record = %v, %v; want 24h", got, err)
	}
}
