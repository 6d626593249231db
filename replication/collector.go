package replication

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
)

// Collector garbage-collects the region stores on a timer: each pass runs
// chunkstore's GC on every bucket, deleting chunks that no manifest names
// any more (those of deleted versions, images and disks). A pass is safe
// to run on several nodes at once and to interrupt: GC deletes only
// unreferenced chunks and steps aside while writers hold the bucket.
//
// Before that, with Owners set, it deletes the manifests older than
// ManifestAge that no resource owns (left by a request that failed after
// it wrote content, or by a node that died in between), so that their
// chunks are freed too, and the temporary files older than TempAge that a
// file bucket's killed writer left behind.
type Collector struct {
	Regions  map[string][]*chunkstore.Store
	Interval time.Duration
	Logger   *slog.Logger
	// Collected, if set, is told what each bucket's pass deleted.
	Collected func(region string, st chunkstore.GCStats)

	// Owners lists the resources that own manifests; nil: no manifest is
	// collected.
	Owners galleon.ContentOwnerStore
	// ManifestAge is how old an unowned manifest must be to be deleted,
	// so that one written by a request whose resource is not committed
	// yet is spared; zero means DefaultManifestAge.
	ManifestAge time.Duration
	// TempAge is how old a temporary file must be to be deleted; zero
	// means DefaultTempAge.
	TempAge time.Duration
	// Tidied, if set, is told how many unowned manifests and temporary
	// files (and their bytes) each bucket's pass deleted.
	Tidied func(region string, manifests, temps int, tempBytes int64)

	timer passTimer
}

// Open runs passes every Interval until Close; an Interval of zero or
// less disables collection.
func (c *Collector) Open() error {
	c.timer.start(c.Interval, c.Interval, c.Collect)
	return nil
}

// Close ends the timer and waits for a pass in progress.
func (c *Collector) Close() error {
	c.timer.stop()
	return nil
}

// Defaults for Collector's ages.
const (
	DefaultManifestAge = time.Hour
	DefaultTempAge     = time.Hour
)

// Collect makes one pass over every bucket, a few at a time. A busy bucket
// (writers at work) is skipped until the next pass; other errors are
// logged.
func (c *Collector) Collect(ctx context.Context) {
	// The owners are read before any manifest is listed: a resource
	// created after this read has manifests younger than ManifestAge.
	var owners *galleon.ContentOwners
	if c.Owners != nil {
		var err error
		if owners, err = c.Owners.ListContentOwners(ctx); err != nil {
			c.logger().Warn("listing the owners of content; no manifest is collected this pass", slog.Any("err", err))
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for region, stores := range c.Regions {
		for _, st := range stores {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				c.tidy(ctx, region, st, owners)
				stats, err := st.GC(ctx)
				switch {
				case errors.Is(err, chunkstore.ErrBusy), errors.Is(err, context.Canceled):
				case err != nil:
					c.logger().Warn("collecting unreferenced chunks", slog.String("region", region), slog.Any("err", err))
				default:
					if stats.ChunksDeleted > 0 {
						c.logger().Info("collected unreferenced chunks", slog.String("region", region),
							slog.Int64("chunks", stats.ChunksDeleted), slog.Int64("bytes", stats.BytesDeleted))
					}
					if c.Collected != nil {
						c.Collected(region, stats)
					}
				}
			}()
		}
	}
	wg.Wait()
}

// tidy deletes a bucket's old unowned manifests and stale temporary files.
func (c *Collector) tidy(ctx context.Context, region string, st *chunkstore.Store, owners *galleon.ContentOwners) {
	now := time.Now()
	manifests := 0
	if owners != nil {
		n, err := st.CollectManifests(ctx, now.Add(-cmp.Or(c.ManifestAge, DefaultManifestAge)), owners.Owns)
		if err != nil && !errors.Is(err, context.Canceled) {
			c.logger().Warn("collecting unowned manifests", slog.String("region", region), slog.Any("err", err))
		}
		manifests = n
	}
	temps, bytes, err := st.CollectTemp(ctx, now.Add(-cmp.Or(c.TempAge, DefaultTempAge)))
	if err != nil && !errors.Is(err, context.Canceled) {
		c.logger().Warn("collecting stale temporary files", slog.String("region", region), slog.Any("err", err))
	}
	if manifests > 0 || temps > 0 {
		c.logger().Info("collected unowned manifests and stale temporary files", slog.String("region", region),
			slog.Int("manifests", manifests), slog.Int("tempFiles", temps), slog.Int64("tempBytes", bytes))
	}
	if c.Tidied != nil {
		c.Tidied(region, manifests, temps, bytes)
	}
}

func (c *Collector) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
