package replication

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
)

// ScrubStore is what the scrubber needs from the metadata store: the
// owners of manifests (to find the version of a damaged replica), the
// version update the reconciler uses too (one transaction per change, so
// concurrent writers compose), and the audit log.
type ScrubStore interface {
	galleon.ContentOwnerStore
	PutImageVersion(ctx context.Context, id galleon.ImageVersionID, update galleon.Update[galleon.ImageVersion]) (*galleon.ImageVersion, bool, error)
	AppendAudit(ctx context.Context, e *galleon.AuditEvent) error
}

// Scrubber re-reads every chunk of every region store on a timer and
// checks it against its sha256 name, because storage rots silently and
// a chunk is shared by every image in its bucket that needs it. A damaged
// or missing chunk is noted in its bucket (chunkstore's quarantine notes,
// so every node and a restart know, and PutManifest refuses to build on
// it), then repaired from any other bucket, of any region, that holds a
// good copy (read whole and verified before it is written, atomically).
// A chunk no bucket holds whole keeps its note, and every version replica
// that names it is marked Failed in its region, with the reason.
//
// Each finding is counted in Metrics and written to the audit log: a
// damaged chunk found and one repaired in the installation's subscription
// (SubscriptionID), a replica failed in its version's. Reads are paced to
// Rate bytes a second, so a pass does not starve the requests that share
// the disks.
//
// Several nodes may scrub at once; each does the whole work (repairs and
// notes are idempotent), which costs reads but nothing else.
type Scrubber struct {
	Store   ScrubStore
	Regions map[string][]*chunkstore.Store
	// Interval is the time between passes; zero or less: no passes.
	Interval time.Duration
	// Rate bounds the bytes a second a pass reads; zero or less: no bound.
	Rate int64
	// SubscriptionID is where chunk findings are audited: a chunk belongs
	// to no one resource.
	SubscriptionID string
	Metrics        *ScrubMetrics
	Logger         *slog.Logger

	timer passTimer
}

// ScrubStats says what a pass did.
type ScrubStats struct {
	Chunks, Bytes int64 // read and verified (damaged ones included)
	Damaged       int64 // damaged or missing chunks found that had no note yet
	Repaired      int64
	Unrepairable  int64 // damaged, named by a manifest, and no good copy anywhere
	Noted         int64 // chunks with a note after the pass
	FailedRegions int64 // version regions marked Failed
}

// The audit log's actions and principal for scrub findings.
const (
	ActionChunkDamaged  = "Galleon.Scrub/chunks/damaged"
	ActionChunkRepaired = "Galleon.Scrub/chunks/repaired"
	ActionReplicaFailed = "Galleon.Scrub/replicas/failed"
	// ScrubPrincipalID is the object id recorded for the scrubber: no
	// directory object has it, so no one can sign in as it.
	ScrubPrincipalID   = "00000000-0000-0000-0000-000000000000"
	ScrubPrincipalName = "Galleon scrub (system)"
)

// Open starts the timer; Close stops it. The time the next pass is due
// is kept in the region stores (FirstDelay), so a node restarted more
// often than Interval still scrubs, and nodes restarted together do not
// all start reading at once on a new installation.
func (s *Scrubber) Open() error {
	if s.Interval <= 0 {
		return nil
	}
	first, err := s.FirstDelay(context.Background(), time.Now())
	if err != nil {
		s.logger().Warn("reading when the next scrub pass is due; it runs one interval from now", slog.Any("err", err))
		first = s.Interval
	}
	s.timer.start(first, s.Interval, func(ctx context.Context) {
		st, err := s.ScrubOnce(ctx)
		if err == nil {
			s.setDue(ctx, time.Now().Add(s.Interval))
		}
		switch {
		case errors.Is(err, context.Canceled):
		case err != nil:
			s.logger().Warn("scrub pass", slog.Any("err", err))
		default:
			s.logger().Info("scrub pass done", slog.Int64("chunks", st.Chunks), slog.Int64("bytes", st.Bytes),
				slog.Int64("damaged", st.Damaged), slog.Int64("repaired", st.Repaired), slog.Int64("unrepairable", st.Unrepairable))
		}
	})
	return nil
}

// Close stops the timer and waits for a pass in progress to stop.
func (s *Scrubber) Close() error {
	s.timer.stop()
	return nil
}

// dueStore is the store that records when the next pass is due: the
// first bucket of the first region, the same on every node.
func (s *Scrubber) dueStore() *chunkstore.Store {
	for _, region := range sortedRegions(s.Regions) {
		if stores := s.Regions[region]; len(stores) > 0 {
			return stores[0]
		}
	}
	return nil
}

// FirstDelay is how long after now the first pass of a starting node is
// due: what is left of the interval recorded by the last pass (or by the
// first node to start, which records one interval from now), never more
// than Interval.
func (s *Scrubber) FirstDelay(ctx context.Context, now time.Time) (time.Duration, error) {
	store := s.dueStore()
	if store == nil {
		return s.Interval, nil
	}
	due, ok, err := store.ScrubDue(ctx)
	if err != nil {
		return 0, err
	}
	if !ok {
		due = now.Add(s.Interval)
		if err := store.SetScrubDue(ctx, due); err != nil {
			return 0, err
		}
	}
	return min(max(due.Sub(now), 0), s.Interval), nil
}

func (s *Scrubber) setDue(ctx context.Context, due time.Time) {
	if store := s.dueStore(); store != nil {
		if err := store.SetScrubDue(ctx, due); err != nil {
			s.logger().Warn("recording when the next scrub pass is due", slog.Any("err", err))
		}
	}
}

// ScrubOnce makes one pass over every bucket of every region, one bucket
// at a time (the rate bounds the pass, not each bucket). An error in one
// bucket is logged and the others are still scrubbed; the first error is
// returned.
func (s *Scrubber) ScrubOnce(ctx context.Context) (ScrubStats, error) {
	p := &pass{s: s, id: uuid.NewString(), pace: pacer{rate: s.Rate, start: time.Now()}, noted: map[string]int{}}
	owners, err := s.Store.ListContentOwners(ctx)
	if err != nil {
		return p.st, err
	}
	p.owners = owners
	var first error
	for _, region := range sortedRegions(s.Regions) {
		for i, st := range s.Regions[region] {
			if err := p.bucket(ctx, region, st); err != nil {
				if ctx.Err() != nil {
					return p.st, ctx.Err()
				}
				s.logger().Warn("scrubbing a bucket", slog.String("region", region), slog.Int("bucket", i), slog.Any("err", err))
				first = cmp.Or(first, fmt.Errorf("scrubbing %s bucket %d: %w", region, i, err))
			}
		}
	}
	for region, n := range p.noted {
		s.Metrics.noted(region, n)
	}
	s.Metrics.passDone(time.Now())
	return p.st, first
}

func sortedRegions(m map[string][]*chunkstore.Store) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// pass is the state of one ScrubOnce.
type pass struct {
	s      *Scrubber
	id     string // the audit events' correlation id
	pace   pacer
	owners *galleon.ContentOwners
	st     ScrubStats
	noted  map[string]int // chunks with a note after the pass, by region
}

// finding is a chunk found bad in a bucket.
type finding struct {
	d       chunkstore.Digest
	reason  string
	missing bool // rather than damaged
}

// bucket scrubs one bucket.
func (p *pass) bucket(ctx context.Context, region string, st *chunkstore.Store) error {
	// What the manifests need. A manifest is stored only after its chunks
	// are, so every chunk needed here was present before the listing
	// below began.
	ids, err := st.ListManifests(ctx, "")
	if err != nil {
		return err
	}
	needed := map[chunkstore.Digest]bool{}
	if err := eachManifest(ctx, st, ids, func(_ string, m *chunkstore.Manifest) {
		for _, c := range m.Chunks {
			needed[c.Digest] = true
		}
	}); err != nil {
		return err
	}
	notes, err := st.ListDamaged(ctx)
	if err != nil {
		return err
	}
	noted := map[chunkstore.Digest]bool{}
	for _, d := range notes {
		noted[d] = true
	}

	// Every chunk present, read whole and verified.
	present := map[chunkstore.Digest]bool{}
	var bad []finding
	err = st.ListChunks(ctx, func(ci chunkstore.ChunkInfo) error {
		if err := p.pace.wait(ctx, ci.Size); err != nil {
			return err
		}
		n, err := st.CheckChunk(ctx, ci.Digest)
		p.st.Chunks++
		p.st.Bytes += n
		p.s.Metrics.scrubbed(region, n)
		switch {
		case err == nil:
			present[ci.Digest] = true
			if noted[ci.Digest] {
				// Good again: rewritten by a copy or an ingest since.
				delete(noted, ci.Digest)
				return st.ClearDamaged(ctx, ci.Digest)
			}
		case errors.Is(err, chunkstore.ErrNotFound): // collected since the listing
		case chunkstore.IsDamaged(err):
			present[ci.Digest] = true
			bad = append(bad, finding{d: ci.Digest, reason: err.Error()})
		default:
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	for d := range needed {
		if present[d] {
			continue
		}
		if ok, err := st.HasChunk(ctx, d); err != nil {
			return err
		} else if !ok {
			bad = append(bad, finding{d: d, reason: "the chunk is missing", missing: true})
		}
	}
	// Notes on chunks neither here nor needed any more (collected) are stale.
	for d := range noted {
		if !present[d] && !needed[d] {
			if err := st.ClearDamaged(ctx, d); err != nil {
				return err
			}
			delete(noted, d)
		}
	}
	if len(bad) > 0 {
		if err := p.handle(ctx, region, st, ids, bad, noted); err != nil {
			return err
		}
	}
	p.st.Noted += int64(len(noted))
	p.noted[region] += len(noted)
	return nil
}

// handle notes, repairs or gives up on the bad chunks of one bucket.
func (p *pass) handle(ctx context.Context, region string, st *chunkstore.Store, ids []string, bad []finding, noted map[chunkstore.Digest]bool) error {
	// Which manifests name each bad chunk, read again now: a chunk found
	// missing because its last manifest was deleted (and the chunk
	// collected) during the pass is no finding.
	set := map[chunkstore.Digest]bool{}
	for _, f := range bad {
		set[f.d] = true
	}
	namers := map[chunkstore.Digest][]string{}
	if err := eachManifest(ctx, st, ids, func(id string, m *chunkstore.Manifest) {
		for _, c := range m.Chunks {
			if set[c.Digest] && !slices.Contains(namers[c.Digest], id) {
				namers[c.Digest] = append(namers[c.Digest], id)
			}
		}
	}); err != nil {
		return err
	}
	for _, f := range bad {
		named := len(namers[f.d]) > 0
		if !named && f.missing {
			continue
		}
		if !noted[f.d] {
			p.st.Damaged++
			p.s.Metrics.damaged(region)
			p.audit(ctx, p.s.SubscriptionID, chunkScope(p.s.SubscriptionID, region, f.d), ActionChunkDamaged, 500, "Failed")
			p.s.logger().Warn("scrub found a damaged chunk", slog.String("region", region), slog.String("chunk", f.d.String()), slog.String("why", f.reason))
		}
		// The finding is noted before the repair, so that a crash in
		// between still leaves it known.
		if err := st.MarkDamaged(ctx, f.d, f.reason); err != nil {
			return err
		}
		noted[f.d] = true
		if p.repair(ctx, region, st, f.d) {
			delete(noted, f.d)
			p.st.Repaired++
			p.s.Metrics.repaired(region)
			p.audit(ctx, p.s.SubscriptionID, chunkScope(p.s.SubscriptionID, region, f.d), ActionChunkRepaired, 200, "Succeeded")
			p.s.logger().Info("scrub repaired a chunk", slog.String("region", region), slog.String("chunk", f.d.String()))
			continue
		}
		if !named {
			continue // garbage anyway: GC deletes it, and the note goes after
		}
		p.st.Unrepairable++
		p.s.Metrics.unrepairable(region)
		for _, id := range namers[f.d] {
			if err := p.failReplica(ctx, region, id, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// repair rewrites chunk d in st from the first other bucket, of any
// region, that holds it whole, and reports whether one did.
func (p *pass) repair(ctx context.Context, region string, st *chunkstore.Store, d chunkstore.Digest) bool {
	for _, r := range sortedRegions(p.s.Regions) {
		for _, src := range p.s.Regions[r] {
			if src == st || src.Bucket == st.Bucket {
				continue
			}
			if ok, err := src.HasChunk(ctx, d); err != nil || !ok {
				continue
			}
			if err := p.pace.wait(ctx, chunkstore.MaxChunkSize); err != nil {
				return false
			}
			if _, err := chunkstore.RepairChunk(ctx, st, src, d); err != nil {
				p.s.logger().Warn("repairing a chunk from another store", slog.String("region", region), slog.String("from", r),
					slog.String("chunk", d.String()), slog.Any("err", err))
				continue
			}
			return true
		}
	}
	return false
}

// failReplica marks the region of a version whose replica (or own source
// copy) names an unrepairable chunk Failed, with the reason. Manifests of
// disks and managed images have no status to mark; the audit event of the
// finding covers them.
func (p *pass) failReplica(ctx context.Context, region, manifestID string, f finding) error {
	vid, ok := p.owners.VersionOf(manifestID)
	if !ok {
		return nil
	}
	disk := strings.TrimPrefix(manifestID, galleon.VersionManifestPrefix(vid))
	if i := strings.LastIndex(disk, "-"); i > 0 {
		disk = disk[:i]
	}
	why := fmt.Sprintf("The %s disk's chunk %s is damaged in this region's store and no region's store holds a good copy (%s). "+
		"Publish the version again from its source.", disk, f.d, f.reason)
	changed := false
	_, _, err := p.s.Store.PutImageVersion(ctx, vid, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
		}
		n := *old
		n.Properties.ReplicationStatus = setRegion(n.Properties.ReplicationStatus, region, func(s *galleon.RegionReplicationStatus) {
			changed = s.State != galleon.ReplicationFailed || s.Details != why
			s.State, s.Details = galleon.ReplicationFailed, why
		})
		return &n, nil
	})
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if changed {
		p.st.FailedRegions++
		p.audit(ctx, vid.SubscriptionID, vid.String(), ActionReplicaFailed, 500, "Failed")
		p.s.logger().Warn("scrub marked a replica Failed", slog.String("version", vid.String()), slog.String("region", region),
			slog.String("chunk", f.d.String()))
	}
	return nil
}

// chunkScope is the audit scope of a chunk in a region, under the
// subscription its events are recorded in.
func chunkScope(sub, region string, d chunkstore.Digest) string {
	return galleon.SubscriptionScope(sub) + "/providers/Galleon.Scrub/locations/" + region + "/chunks/" + d.Hex()
}

// audit records a finding; recording must not stop the pass, so errors
// are logged.
func (p *pass) audit(ctx context.Context, sub, scope, action string, status int, result string) {
	if sub == "" {
		return
	}
	e := &galleon.AuditEvent{ID: uuid.NewString(), At: time.Now().UTC(), SubscriptionID: sub, PrincipalID: ScrubPrincipalID,
		PrincipalName: ScrubPrincipalName, Action: action, Scope: scope, Status: status, Result: result, CorrelationID: p.id}
	if err := p.s.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		p.s.logger().Error("recording an audit event", slog.Any("err", err), slog.String("action", action))
	}
}

// eachManifest reads the manifests ids of st in turn; one deleted since
// the listing is skipped, one that cannot be read or parsed is logged
// and skipped (its chunks are still scrubbed: they are listed).
func eachManifest(ctx context.Context, st *chunkstore.Store, ids []string, fn func(id string, m *chunkstore.Manifest)) error {
	for _, id := range ids {
		m, err := st.GetManifest(ctx, id)
		if errors.Is(err, chunkstore.ErrNotFound) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			slog.Default().Warn("scrub: reading a manifest", slog.String("id", id), slog.Any("err", err))
			continue
		}
		fn(id, m)
	}
	return nil
}

func (s *Scrubber) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// pacer spreads reads so that they average at most rate bytes a second
// since start.
type pacer struct {
	rate  int64
	start time.Time
	n     int64
}

// wait blocks until n more bytes may be read.
func (p *pacer) wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(p.n) / float64(p.rate) * float64(time.Second)))
	p.n += n
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ScrubMetrics exports what scrub passes find. A nil *ScrubMetrics
// records nothing.
type ScrubMetrics struct {
	chunks, bytes, damagedN, repairedN, unrepairableN *prometheus.CounterVec
	notedN                                            *prometheus.GaugeVec
	lastPass                                          prometheus.Gauge
}

// NewScrubMetrics registers the scrub metrics with reg.
func NewScrubMetrics(reg prometheus.Registerer) *ScrubMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"region"})
	}
	m := &ScrubMetrics{
		chunks:        counter("galleon_scrub_chunks_total", "Chunks read back and verified against their sha256 by scrub passes."),
		bytes:         counter("galleon_scrub_bytes_total", "Bytes of chunks read back and verified by scrub passes."),
		damagedN:      counter("galleon_scrub_damaged_chunks_total", "Chunks scrub passes found damaged or missing (each counted once, until repaired)."),
		repairedN:     counter("galleon_scrub_repaired_chunks_total", "Damaged or missing chunks scrub passes rewrote from a good copy in another store."),
		unrepairableN: counter("galleon_scrub_unrepairable_chunks_total", "Damaged or missing chunks, named by an image, that no store held a good copy of (counted each pass)."),
		notedN: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "galleon_scrub_quarantined_chunks",
			Help: "Chunks noted damaged and not repaired, after the last scrub pass of the region's stores."}, []string{"region"}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "galleon_scrub_last_pass_timestamp_seconds",
			Help: "When the last scrub pass ended, in seconds since the Unix epoch."}),
	}
	reg.MustRegister(m.chunks, m.bytes, m.damagedN, m.repairedN, m.unrepairableN, m.notedN, m.lastPass)
	return m
}

func (m *ScrubMetrics) scrubbed(region string, n int64) {
	if m != nil {
		m.chunks.WithLabelValues(region).Inc()
		m.bytes.WithLabelValues(region).Add(float64(n))
	}
}

func (m *ScrubMetrics) damaged(region string) {
	if m != nil {
		m.damagedN.WithLabelValues(region).Inc()
	}
}

func (m *ScrubMetrics) repaired(region string) {
	if m != nil {
		m.repairedN.WithLabelValues(region).Inc()
	}
}

func (m *ScrubMetrics) unrepairable(region string) {
	if m != nil {
		m.unrepairableN.WithLabelValues(region).Inc()
	}
}

func (m *ScrubMetrics) noted(region string, n int) {
	if m != nil {
		m.notedN.WithLabelValues(region).Set(float64(n))
	}
}

func (m *ScrubMetrics) passDone(t time.Time) {
	if m != nil {
		m.lastPass.Set(float64(t.Unix()))
	}
}
