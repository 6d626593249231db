package replication

import (
	"context"
	"time"
)

// passTimer runs a background pass every interval until stopped: the
// loop the collector and the scrubber share.
type passTimer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs pass first after first, then every interval after the end
// of the one before; an interval of zero or less runs nothing.
func (p *passTimer) start(first, interval time.Duration, pass func(context.Context)) {
	if interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pass(ctx)
				t.Reset(interval)
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
