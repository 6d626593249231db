package replication

import (
	"context"
	"time"
)

// passTimer runs a background pass every interval until stopped: the
// loop the collector and the scrubber share. The first pass runs one
// interval after start, so that nodes restarted together do not all
// start reading at once.
type passTimer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs pass every interval; an interval of zero or less runs
// nothing.
func (p *passTimer) start(interval time.Duration, pass func(context.Context)) {
	if interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pass(ctx)
			}
		}
	}()
}

// stop ends the timer and waits for a pass in progress, which sees its
// context cancelled.
func (p *passTimer) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}
