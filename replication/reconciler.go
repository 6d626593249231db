// Package replication brings image versions' replicas to what their
// publishing profiles ask for. Reconcile is level-triggered: each pass
// re-reads the version and the buckets, copies what is missing, and is
// safe to repeat or interrupt; chunks verified in a bucket are never
// copied again.
package replication

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/operations"
)

// Store is what replication needs from the metadata store.
type Store interface {
	GetImageVersion(ctx context.Context, id galleon.ImageVersionID) (*galleon.ImageVersion, error)
	PutImageVersion(ctx context.Context, id galleon.ImageVersionID, update galleon.Update[galleon.ImageVersion]) (*galleon.ImageVersion, bool, error)
	GetDisk(ctx context.Context, id galleon.DiskID) (*galleon.Disk, error)
	GetManagedImage(ctx context.Context, id galleon.DiskID) (*galleon.ManagedImage, error)
}

// ImportFunc reads the VHD at uri into manifest id of store; a source that
// cannot be read or is not a VHD Azure would take is a *galleon.Error
// naming target.
type ImportFunc func(ctx context.Context, store *chunkstore.Store, id, uri, target string) (*chunkstore.Manifest, error)

// Reconciler copies versions' bytes between region stores.
type Reconciler struct {
	Store Store
	// Regions are each region's stores; replica n of a region lives in
	// store n modulo their number. Disk content lives in the first.
	Regions map[string][]*chunkstore.Store
	Logger  *slog.Logger
	// Import reads sources given by blob uri.
	Import ImportFunc
	// ProgressInterval is how often progress is written to the store.
	ProgressInterval time.Duration
}

// versionDisk is one disk of a version with its source: a resource id (a
// disk, snapshot, managed image or image version) or a VHD blob's uri, and
// the digest recorded when the version was created, if known.
type versionDisk struct {
	name   string // galleon.VersionDisk
	source string
	uri    string
	sha256 string
}

func disksOf(v *galleon.ImageVersion) []versionDisk {
	sp := v.Properties.StorageProfile
	var out []versionDisk
	add := func(name string, img *galleon.DiskImage) {
		d := versionDisk{name: name, sha256: img.SHA256}
		switch {
		case sp.Source != nil && sp.Source.ID != "":
			d.source = sp.Source.ID
		case img.Source != nil:
			d.source, d.uri = img.Source.ID, img.Source.URI
		default:
			return
		}
		out = append(out, d)
	}
	if sp.OSDiskImage != nil {
		add(galleon.VersionDisk(nil), sp.OSDiskImage)
	} else if sp.Source != nil && sp.Source.ID != "" {
		add(galleon.VersionDisk(nil), &galleon.DiskImage{})
	}
	for i := range sp.DataDiskImages {
		lun := sp.DataDiskImages[i].Lun
		add(galleon.VersionDisk(&lun), &sp.DataDiskImages[i].DiskImage)
	}
	return out
}

// Handle is the operations handler for OperationReplicateImageVersion.
func (r *Reconciler) Handle(ctx context.Context, op *galleon.Operation) error {
	id, err := galleon.ParseImageVersionID(op.Target)
	if err != nil {
		return galleon.Errorf(galleon.CodeInternal, "%v", err)
	}
	return r.Reconcile(ctx, id)
}

// Reconcile makes one pass over a version: it takes the version's own copy
// of each source disk, then every replica of every target region, and
// records progress and the outcome. A plain error means "try again later";
// a *galleon.Error means the version failed.
func (r *Reconciler) Reconcile(ctx context.Context, id galleon.ImageVersionID) error {
	v, err := r.Store.GetImageVersion(ctx, id)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil // deleted meanwhile: nothing left to do
	}
	if err != nil {
		return err
	}
	srcRegion := galleon.NormalizeLocation(v.Location)
	src := r.store(srcRegion, 0)
	if src == nil {
		return r.fail(ctx, id, srcRegion, fmt.Sprintf("the source region %s has no store", srcRegion))
	}
	manifests := map[string]*chunkstore.Manifest{}
	unrecorded := false
	for _, d := range disksOf(v) {
		unrecorded = unrecorded || d.sha256 == ""
		m, err := r.sourceManifest(ctx, id, src, srcRegion, d)
		if err != nil {
			var ge *galleon.Error
			switch {
			case errors.As(err, &ge):
				return r.fail(ctx, id, srcRegion, ge.Message)
			case operations.LastAttempt(ctx):
				return r.fail(ctx, id, srcRegion, "Reading the source failed repeatedly; the last error: "+err.Error())
			}
			return err
		}
		manifests[d.name] = m
	}
	if unrecorded {
		if err := r.recordDisks(ctx, id, manifests); err != nil {
			return err
		}
	}
	var total int64
	for _, m := range manifests {
		total += m.Size
	}
	// One region's trouble does not hold up the others: each is tried,
	// and the pass ends with the first failure, or a retry if any region
	// failed transiently (regions already complete cost a manifest read
	// each when retried).
	var failed, transient error
	for _, tr := range v.Properties.PublishingProfile.TargetRegions {
		err := r.replicateRegion(ctx, id, src, tr, manifests, total)
		var ge *galleon.Error
		switch {
		case err == nil:
		case errors.As(err, &ge):
			failed = cmp.Or(failed, err)
		case operations.LastAttempt(ctx):
			failed = cmp.Or(failed, r.fail(ctx, id, galleon.NormalizeLocation(tr.Name),
				"Copying failed repeatedly; the last error: "+err.Error()))
		default:
			transient = errors.Join(transient, err)
		}
	}
	if failed != nil {
		return failed
	}
	if transient != nil {
		return transient
	}
	if err := r.prune(ctx, id); err != nil {
		return err
	}
	if err := failpoint.Hit("replication/before-complete"); err != nil {
		return err
	}
	_, _, err = r.Store.PutImageVersion(ctx, id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
		}
		n := *old
		n.Properties.ProvisioningState = galleon.ProvisioningSucceeded
		n.Properties.ReplicationStatus = aggregate(n.Properties.ReplicationStatus)
		return &n, nil
	})
	return err
}

// sourceManifest returns the version's own copy of a source disk in the
// source region, taking it from the source the first time: a disk's or a
// managed image's content, another version's replica in this region, or a
// VHD blob read from its uri. A copy whose digest differs from the one
// recorded when the version was created means the source changed since;
// that fails the version rather than publish other bytes.
func (r *Reconciler) sourceManifest(ctx context.Context, id galleon.ImageVersionID, src *chunkstore.Store, region string, d versionDisk) (*chunkstore.Manifest, error) {
	own := galleon.VersionManifestID(id, d.name, -1)
	m, err := src.GetManifest(ctx, own)
	if err == nil && d.sha256 != "" && m.Digest.String() != d.sha256 {
		return nil, galleon.Errorf(galleon.CodeInvalidParameter,
			"The version's own copy of its %s disk in %s is %s, not the %s recorded when it was created.", d.name, region, m.Digest, d.sha256)
	}
	if err == nil || !errors.Is(err, chunkstore.ErrNotFound) {
		return m, err
	}
	if d.uri != "" {
		if r.Import == nil {
			return nil, galleon.Errorf(galleon.CodeInvalidParameter, "Sources given by blob uri cannot be read: no importer is configured.")
		}
		return r.Import(ctx, src, own, d.uri, "storageProfile.source.uri")
	}
	name, err := r.sourceContent(ctx, id, region, d)
	if err != nil {
		return nil, err
	}
	m, err = src.GetManifest(ctx, name)
	if errors.Is(err, chunkstore.ErrNotFound) {
		return nil, galleon.Errorf(galleon.CodeInvalidParameter, "The source %s has no content for its %s disk in %s.", d.source, d.name, region)
	}
	if err != nil {
		return nil, err
	}
	if d.sha256 != "" && m.Digest.String() != d.sha256 {
		return nil, galleon.Errorf(galleon.CodeInvalidParameter,
			"The source %s changed since the image version was created: its %s disk is now %s, not %s.", d.source, d.name, m.Digest, d.sha256)
	}
	if err := src.PutManifest(ctx, own, m); err != nil {
		// A chunk noted damaged is retried like any transient error: the
		// scrub may repair it from another region meanwhile. The last
		// attempt fails the version with this reason.
		var damaged *chunkstore.DamagedError
		if errors.As(err, &damaged) {
			return nil, fmt.Errorf("the source %s is damaged in %s: chunk %s of its %s disk failed verification (%s)",
				d.source, region, damaged.Digest, d.name, damaged.Reason)
		}
		return nil, err
	}
	return m, nil
}

// sourceContent names the manifest holding a source's bytes for one disk
// in the version's region store.
func (r *Reconciler) sourceContent(ctx context.Context, id galleon.ImageVersionID, region string, d versionDisk) (string, error) {
	rid, err := arm.ParseResourceID(d.source)
	if err != nil {
		return "", galleon.Errorf(galleon.CodeInvalidParameter, "The source %q is not a resource id.", d.source)
	}
	gone := galleon.Errorf(galleon.CodeInvalidParameter, "The source %s no longer exists.", d.source)
	switch typ := rid.ResourceType.String(); {
	case strings.EqualFold(typ, galleon.TypeManagedImage):
		img, err := r.Store.GetManagedImage(ctx, galleon.DiskID{SubscriptionID: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName,
			Type: galleon.TypeManagedImage, Name: rid.Name})
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return "", gone
		}
		if err != nil {
			return "", err
		}
		return galleon.ManagedImageManifestID(img.Properties.UniqueID, d.name), nil
	case strings.EqualFold(typ, galleon.TypeImageVersion):
		// Replica 0 of every region lives in its first store, which is
		// where this version's own copies are taken.
		srcID, err := galleon.ParseImageVersionID(d.source)
		if err != nil {
			return "", galleon.Errorf(galleon.CodeInvalidParameter, "%v", err)
		}
		if _, err := r.Store.GetImageVersion(ctx, srcID); galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return "", gone
		} else if err != nil {
			return "", err
		}
		return galleon.VersionManifestID(srcID, d.name, 0), nil
	default:
		disk, err := r.Store.GetDisk(ctx, diskIDOf(d.source))
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return "", gone
		}
		if err != nil {
			return "", err
		}
		return "disk-" + disk.Properties.UniqueID, nil
	}
}

// prune removes the replicas the publishing profile no longer asks for:
// every replica in a region that is no longer a target, and those beyond a
// region's replica count. The version's own source copies stay. The
// profile is read again here, so that a pass started before an update
// never removes replicas the update asked for.
func (r *Reconciler) prune(ctx context.Context, id galleon.ImageVersionID) error {
	v, err := r.Store.GetImageVersion(ctx, id)
	if err != nil {
		return err
	}
	want := map[string]int{}
	for _, tr := range v.Properties.PublishingProfile.TargetRegions {
		want[galleon.NormalizeLocation(tr.Name)] = 1
		if tr.RegionalReplicaCount != nil {
			want[galleon.NormalizeLocation(tr.Name)] = int(*tr.RegionalReplicaCount)
		}
	}
	prefix := galleon.VersionManifestPrefix(id)
	for region, stores := range r.Regions {
		for _, st := range stores {
			ids, err := st.ListManifests(ctx, prefix)
			if err != nil {
				return fmt.Errorf("pruning replicas in %s: %w", region, err)
			}
			for _, mid := range ids {
				if n, ok := galleon.VersionManifestReplica(mid); ok && n >= want[region] {
					if err := st.DeleteManifest(ctx, mid); err != nil {
						return fmt.Errorf("pruning replicas in %s: %w", region, err)
					}
					if r.Logger != nil {
						r.Logger.Info("removed a replica no longer asked for", slog.String("version", id.String()),
							slog.String("region", region), slog.Int("replica", n))
					}
				}
			}
		}
	}
	return nil
}

// recordDisks fills in the size and digest of disks whose source was only
// read now (VHD blobs given by uri).
func (r *Reconciler) recordDisks(ctx context.Context, id galleon.ImageVersionID, manifests map[string]*chunkstore.Manifest) error {
	fill := func(name string, img *galleon.DiskImage) {
		m := manifests[name]
		if m == nil || img.SHA256 != "" {
			return
		}
		img.SHA256 = m.Digest.String()
		gb := int32((m.Size - 512 + 1<<30 - 1) >> 30)
		img.SizeInGB = &gb
	}
	_, _, err := r.Store.PutImageVersion(ctx, id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
		}
		n := *old
		sp := &n.Properties.StorageProfile
		if sp.OSDiskImage != nil {
			os := *sp.OSDiskImage
			fill(galleon.VersionDisk(nil), &os)
			sp.OSDiskImage = &os
		}
		sp.DataDiskImages = slices.Clone(sp.DataDiskImages)
		for i := range sp.DataDiskImages {
			fill(galleon.VersionDisk(&sp.DataDiskImages[i].Lun), &sp.DataDiskImages[i].DiskImage)
		}
		return &n, nil
	})
	return err
}

func diskIDOf(s string) galleon.DiskID {
	id, err := arm.ParseResourceID(s)
	if err != nil {
		return galleon.DiskID{}
	}
	typ := galleon.TypeDisk
	if strings.EqualFold(id.ResourceType.String(), galleon.TypeSnapshot) {
		typ = galleon.TypeSnapshot
	}
	return galleon.DiskID{SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroupName, Type: typ, Name: id.Name}
}

func (r *Reconciler) store(region string, n int) *chunkstore.Store {
	stores := r.Regions[region]
	if len(stores) == 0 {
		return nil
	}
	return stores[n%len(stores)]
}

// replicateRegion brings one target region to its replica count.
func (r *Reconciler) replicateRegion(ctx context.Context, id galleon.ImageVersionID, src *chunkstore.Store, tr galleon.TargetRegion,
	manifests map[string]*chunkstore.Manifest, perReplica int64) error {
	region := galleon.NormalizeLocation(tr.Name)
	replicas := 1
	if tr.RegionalReplicaCount != nil {
		replicas = int(*tr.RegionalReplicaCount)
	}
	if r.store(region, 0) == nil {
		return r.fail(ctx, id, region, fmt.Sprintf("the region %s has no store", region))
	}
	total := perReplica * int64(replicas)
	var mu sync.Mutex
	var done int64
	last := time.Now()
	report := func(force bool) {
		mu.Lock()
		d := done
		due := force || time.Since(last) >= r.progressInterval()
		if due {
			last = time.Now()
		}
		mu.Unlock()
		if due {
			r.progress(ctx, id, region, d, total)
		}
	}
	for n := range replicas {
		dst := r.store(region, n)
		for name, m := range manifests {
			rid := galleon.VersionManifestID(id, name, n)
			// No shortcut for a replica whose manifest is present: Copy
			// reads back every chunk it finds in dst (storage may have
			// damaged one since), rewrites a bad one from src, and stores
			// the manifest of the bytes this version publishes.
			base := done
			_, err := chunkstore.Copy(ctx, dst, src, rid, m, chunkstore.CopyOptions{Progress: func(b int64) {
				mu.Lock()
				done = base + b
				mu.Unlock()
				report(false)
			}})
			if err != nil {
				var corrupt *chunkstore.CorruptError
				if errors.As(err, &corrupt) {
					return r.fail(ctx, id, region, err.Error())
				}
				return fmt.Errorf("replicating to %s: %w", region, err)
			}
			if err := failpoint.Hit("replication/after-copy"); err != nil {
				return err
			}
		}
	}
	mu.Lock()
	done = total
	mu.Unlock()
	if err := failpoint.Hit("replication/before-progress"); err != nil {
		return err
	}
	report(true)
	return nil
}

func (r *Reconciler) progressInterval() time.Duration {
	if r.ProgressInterval > 0 {
		return r.ProgressInterval
	}
	return time.Second
}

// progress records a region's bytes done.
func (r *Reconciler) progress(ctx context.Context, id galleon.ImageVersionID, region string, done, total int64) {
	pct := int32(100)
	if total > 0 {
		pct = int32(done * 100 / total)
	}
	_, _, err := r.Store.PutImageVersion(ctx, id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
		}
		n := *old
		n.Properties.ReplicationStatus = setRegion(n.Properties.ReplicationStatus, region, func(s *galleon.RegionReplicationStatus) {
			s.Progress = pct
			s.State = galleon.ReplicationReplicating
			s.Details = fmt.Sprintf("%d of %d bytes", done, total)
			if pct == 100 {
				s.State, s.Details = galleon.ReplicationCompleted, ""
			}
		})
		return &n, nil
	})
	if err != nil && r.Logger != nil {
		r.Logger.Warn("recording replication progress", slog.Any("err", err))
	}
}

// fail marks the region and the version Failed and fails the operation.
func (r *Reconciler) fail(ctx context.Context, id galleon.ImageVersionID, region, why string) error {
	_, _, err := r.Store.PutImageVersion(ctx, id, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		if old == nil {
			return nil, galleon.Errorf(galleon.CodeResourceNotFound, "deleted")
		}
		n := *old
		n.Properties.ProvisioningState = galleon.ProvisioningFailed
		n.Properties.ReplicationStatus = aggregate(setRegion(n.Properties.ReplicationStatus, region, func(s *galleon.RegionReplicationStatus) {
			s.State, s.Details = galleon.ReplicationFailed, why
		}))
		return &n, nil
	})
	if err != nil {
		return err
	}
	return galleon.Errorf(galleon.CodeInternal, "Replication to %s failed: %s", region, why)
}

func setRegion(rs *galleon.ReplicationStatus, region string, f func(*galleon.RegionReplicationStatus)) *galleon.ReplicationStatus {
	out := &galleon.ReplicationStatus{}
	if rs != nil {
		out.AggregatedState = rs.AggregatedState
		out.Summary = append(out.Summary, rs.Summary...)
	}
	for i := range out.Summary {
		if galleon.NormalizeLocation(out.Summary[i].Region) == region {
			f(&out.Summary[i])
			return aggregate(out)
		}
	}
	out.Summary = append(out.Summary, galleon.RegionReplicationStatus{Region: region})
	f(&out.Summary[len(out.Summary)-1])
	return aggregate(out)
}

// aggregate sets the aggregated state from the regions'.
func aggregate(rs *galleon.ReplicationStatus) *galleon.ReplicationStatus {
	if rs == nil {
		return nil
	}
	state := galleon.ReplicationCompleted
	for _, s := range rs.Summary {
		switch s.State {
		case galleon.ReplicationFailed:
			state = galleon.ReplicationFailed
		case galleon.ReplicationReplicating:
			if state != galleon.ReplicationFailed {
				state = galleon.ReplicationInProgress
			}
		}
	}
	rs.AggregatedState = state
	return rs
}
