package operations

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/galleon-project/galleon"
)

// SoftDeleteStore is what purging expired soft-deleted versions needs.
type SoftDeleteStore interface {
	ListExpiredImageVersions(ctx context.Context, limit int) ([]galleon.SoftDeletedImageVersion, error)
	PurgeImageVersion(ctx context.Context, id galleon.ImageVersionID) (*galleon.SoftDeletedImageVersion, error)
}

// Purger deletes, on a timer, the soft-deleted image versions whose
// retention has passed: their manifests first, then their rows, so a pass
// that stops part way leaves nothing unnamed (a repeated manifest delete
// is harmless, and an expired version can no longer be restored). The
// chunks only they named then go with the region stores' garbage
// collection. Every node may run one: both steps are idempotent.
type Purger struct {
	Store SoftDeleteStore
	// Data deletes a version's bytes; nil deletes only the rows.
	Data     galleon.DiskData
	Interval time.Duration
	Logger   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// purgeBatch bounds the versions one query of a pass returns.
const purgeBatch = 100

// PurgeExpired is one pass: it purges every expired soft-deleted version
// and reports how many.
func (p *Purger) PurgeExpired(ctx context.Context) (int, error) {
	n := 0
	for {
		expired, err := p.Store.ListExpiredImageVersions(ctx, purgeBatch)
		if err != nil || len(expired) == 0 {
			return n, err
		}
		for i := range expired {
			v := &expired[i].Version
			if p.Data != nil {
				if err := p.Data.DeleteVersionContent(ctx, v); err != nil {
					return n, err
				}
			}
			if _, err := p.Store.PurgeImageVersion(ctx, v.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(expired) < purgeBatch {
			return n, nil
		}
	}
}

// Open runs a pass now and every Interval until Close; a zero Interval
// runs none.
func (p *Purger) Open() error {
	if p.Interval <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.Interval)
		defer t.Stop()
		for {
			n, err := p.PurgeExpired(ctx)
			logger := p.Logger
			if logger == nil {
				logger = slog.Default()
			}
			if err != nil && ctx.Err() == nil {
				logger.Warn("purging expired soft-deleted image versions", slog.Any("err", err))
			} else if n > 0 {
				logger.Info("purged expired soft-deleted image versions", slog.Int("versions", n))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Close ends the loop and waits for a pass under way.
func (p *Purger) Close() error {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
	}
	return nil
}
