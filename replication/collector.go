package replication

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/galleon-project/galleon/chunkstore"
)

// Collector garbage-collects the region stores on a timer: each pass runs
// chunkstore's GC on every bucket, deleting chunks that no manifest names
// any more (those of deleted versions, images and disks). A pass is safe
// to run on several nodes at once and to interrupt: GC deletes only
// unreferenced chunks and steps aside while writers hold the bucket.
type Collector struct {
	Regions  map[string][]*chunkstore.Store
	Interval time.Duration
	Logger   *slog.Logger
	// Collected, if set, is told what each bucket's pass deleted.
	Collected func(region string, st chunkstore.GCStats)

	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs passes every Interval until Stop; an Interval of zero or
// less disables collection.
func (c *Collector) Start() {
	if c.Interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.Collect(ctx)
			}
		}
	}()
}

// Stop ends the timer and waits for a pass in progress.
func (c *Collector) Stop() {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
}

// Collect makes one pass over every bucket, a few at a time. A busy bucket
// (writers at work) is skipped until the next pass; other errors are
// logged.
func (c *Collector) Collect(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for region, stores := range c.Regions {
		for _, st := range stores {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
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

func (c *Collector) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
