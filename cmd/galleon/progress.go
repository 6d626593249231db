package main

import (
	"context"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// stderrIsTerminal says whether progress bars can be drawn on stderr.
func stderrIsTerminal() bool {
	fd := os.Stderr.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// newProgress draws bars on stderr when it is a terminal, and nowhere
// otherwise: the bars still count, so the commands work the same.
func newProgress(ctx context.Context) *mpb.Progress {
	var out io.Writer = io.Discard
	if stderrIsTerminal() {
		out = os.Stderr
	}
	return mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithWidth(48))
}

// bytesBar is a bar counting bytes towards total, with speed and ETA.
func bytesBar(p *mpb.Progress, name string, total int64) *mpb.Bar {
	return p.AddBar(total,
		mpb.PrependDecorators(
			decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
			decor.Counters(decor.SizeB1024(0), "% .1f / % .1f"),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WCSyncSpace),
			decor.Name(" "),
			decor.AverageSpeed(decor.SizeB1024(0), "% .1f"),
			decor.Name(" "),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done"),
		),
	)
}
