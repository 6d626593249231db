package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/galleon-project/galleon"
)

type watchConfig struct {
	conn          connection
	VersionID     string
	ResourceGroup string
	Gallery       string
	Image         string
	Version       string
	Interval      time.Duration
}

func newWatchCommand() *cobra.Command {
	var c watchConfig
	cmd := &cobra.Command{
		Use:   "watch (--version-id ID | -g RG --gallery G --image I --version V)",
		Short: "Follow an image version's replication to its target regions",
		Long: `Follow an image version's replication: GET the version with
$expand=ReplicationStatus every --interval and show each target region's state,
progress and details, as a progress bar per region when stderr is a terminal,
or else as one line on stderr per change ("region: state progress% details").

Exits 0 once the version's provisioningState is Succeeded, printing a summary
line on stdout; exits non-zero when it is Failed, naming the regions that
failed and why.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			return serverError(runWatch(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &c))
		},
	}
	f := cmd.Flags()
	c.conn.addFlags(f)
	f.StringVar(&c.VersionID, "version-id", "", "resource id of the image version")
	f.StringVarP(&c.ResourceGroup, "resource-group", "g", "", "resource group of the gallery (instead of --version-id)")
	f.StringVar(&c.Gallery, "gallery", "", "gallery name (instead of --version-id)")
	f.StringVar(&c.Image, "image", "", "image definition name (instead of --version-id)")
	f.StringVar(&c.Version, "version", "", "version name, e.g. 1.0.0 (instead of --version-id)")
	f.DurationVar(&c.Interval, "interval", time.Second, "time between polls")
	cmd.MarkFlagsMutuallyExclusive("version-id", "resource-group")
	cmd.MarkFlagsMutuallyExclusive("version-id", "gallery")
	cmd.MarkFlagsMutuallyExclusive("version-id", "image")
	cmd.MarkFlagsMutuallyExclusive("version-id", "version")
	cmd.MarkFlagsRequiredTogether("resource-group", "gallery", "image", "version")
	return cmd
}

// versionRef names an image version.
type versionRef struct {
	Subscription, ResourceGroup, Gallery, Image, Version string
}

func (c *watchConfig) ref() (versionRef, error) {
	if c.VersionID == "" {
		if c.ResourceGroup == "" {
			return versionRef{}, errors.New("name the version with --version-id, or with --resource-group, --gallery, --image and --version")
		}
		return versionRef{"", c.ResourceGroup, c.Gallery, c.Image, c.Version}, nil
	}
	return parseVersionID(c.VersionID)
}

func parseVersionID(id string) (versionRef, error) {
	v, err := galleon.ParseImageVersionID(id)
	if err != nil {
		return versionRef{}, err
	}
	return versionRef{v.SubscriptionID, v.ResourceGroup, v.Name, v.Image, v.Version}, nil
}

// regionStatus is one target region's replication, as last seen.
type regionStatus struct {
	Region   string
	State    string
	Progress int32
	Details  string
}

func (r regionStatus) String() string {
	s := fmt.Sprintf("%s: %s %d%%", r.Region, r.State, r.Progress)
	if r.Details != "" {
		s += " " + r.Details
	}
	return s
}

// versionStatus is what one poll saw.
type versionStatus struct {
	ProvisioningState string
	Regions           []regionStatus
}

func statusOf(v *armcompute.GalleryImageVersion) versionStatus {
	var s versionStatus
	if v.Properties == nil {
		return s
	}
	if v.Properties.ProvisioningState != nil {
		s.ProvisioningState = string(*v.Properties.ProvisioningState)
	}
	if rs := v.Properties.ReplicationStatus; rs != nil {
		for _, r := range rs.Summary {
			if r == nil {
				continue
			}
			st := regionStatus{Region: deref(r.Region), Details: deref(r.Details)}
			if r.State != nil {
				st.State = string(*r.State)
			}
			if r.Progress != nil {
				st.Progress = *r.Progress
			}
			s.Regions = append(s.Regions, st)
		}
	}
	return s
}

// watchDisplay shows region statuses as they change.
type watchDisplay interface {
	update(versionStatus)
	// close ends the display; ok says replication succeeded.
	close(ok bool)
}

func runWatch(ctx context.Context, stdout, stderr io.Writer, c *watchConfig) error {
	ref, err := c.ref()
	if err != nil {
		return err
	}
	if c.Interval <= 0 {
		return errors.New("--interval must be positive")
	}
	client, err := c.conn.open()
	if err != nil {
		return err
	}
	versions, err := client.versions(ref.Subscription)
	if err != nil {
		return err
	}
	var display watchDisplay
	if stderrIsTerminal() {
		display = newBarDisplay(ctx)
	} else {
		display = &lineDisplay{w: stderr, last: map[string]regionStatus{}}
	}
	name := fmt.Sprintf("%s/%s/%s", ref.Gallery, ref.Image, ref.Version)
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		resp, err := versions.Get(ctx, ref.ResourceGroup, ref.Gallery, ref.Image, ref.Version,
			&armcompute.GalleryImageVersionsClientGetOptions{Expand: to.Ptr(armcompute.ReplicationStatusTypesReplicationStatus)})
		if err != nil {
			display.close(false)
			return fmt.Errorf("image version %s: %w", name, err)
		}
		s := statusOf(&resp.GalleryImageVersion)
		display.update(s)
		if done, err := outcome(name, s); done {
			display.close(err == nil)
			if err == nil {
				fmt.Fprintln(stdout, summary(name, s))
			}
			return err
		}
		select {
		case <-ctx.Done():
			display.close(false)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// outcome says whether s is final: Succeeded (nil) or Failed (an error
// naming the regions that did not complete, with their details).
func outcome(name string, s versionStatus) (done bool, err error) {
	switch s.ProvisioningState {
	case string(armcompute.GalleryProvisioningStateSucceeded):
		return true, nil
	case string(armcompute.GalleryProvisioningStateFailed):
		var failed []string
		for _, r := range s.Regions {
			if r.State != string(armcompute.ReplicationStateCompleted) {
				failed = append(failed, r.String())
			}
		}
		if len(failed) == 0 {
			failed = append(failed, "no region reports a failure")
		}
		return true, fmt.Errorf("image version %s: replication Failed: %s", name, strings.Join(failed, "; "))
	}
	return false, nil
}

// summary is the line watch ends with on success.
func summary(name string, s versionStatus) string {
	regions := make([]string, len(s.Regions))
	for i, r := range s.Regions {
		regions[i] = r.Region + " " + r.State
	}
	return fmt.Sprintf("image version %s: %s (%s)", name, s.ProvisioningState, strings.Join(regions, ", "))
}

// lineDisplay prints a line per region whose status changed.
type lineDisplay struct {
	w     io.Writer
	last  map[string]regionStatus
	state string
}

func (d *lineDisplay) update(s versionStatus) {
	if s.ProvisioningState != d.state {
		fmt.Fprintf(d.w, "provisioningState: %s\n", s.ProvisioningState)
		d.state = s.ProvisioningState
	}
	for _, r := range s.Regions {
		if d.last[r.Region] != r {
			fmt.Fprintln(d.w, r)
			d.last[r.Region] = r
		}
	}
}

func (d *lineDisplay) close(bool) {}

// barDisplay draws a bar per region.
type barDisplay struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*mpb.Bar
	last map[string]regionStatus
}

func newBarDisplay(ctx context.Context) *barDisplay {
	return &barDisplay{p: newProgress(ctx), bars: map[string]*mpb.Bar{}, last: map[string]regionStatus{}}
}

func (d *barDisplay) status(region string) regionStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last[region]
}

func (d *barDisplay) update(s versionStatus) {
	for _, r := range s.Regions {
		d.mu.Lock()
		d.last[r.Region] = r
		b, ok := d.bars[r.Region]
		d.mu.Unlock()
		if !ok {
			region := r.Region
			b = d.p.AddBar(100,
				mpb.PrependDecorators(
					decor.Name(region, decor.WCSyncSpaceR),
					decor.Any(func(decor.Statistics) string { return d.status(region).State }, decor.WCSyncSpaceR),
				),
				mpb.AppendDecorators(
					decor.Percentage(decor.WCSyncSpace),
					decor.Any(func(decor.Statistics) string { return " " + d.status(region).Details }),
				),
			)
			d.mu.Lock()
			d.bars[r.Region] = b
			d.mu.Unlock()
		}
		progress := int64(r.Progress)
		if r.State == string(armcompute.ReplicationStateCompleted) {
			progress = 100
		}
		b.SetCurrent(progress)
	}
}

func (d *barDisplay) close(bool) {
	d.mu.Lock()
	bars := make([]*mpb.Bar, 0, len(d.bars))
	for _, b := range d.bars {
		bars = append(bars, b)
	}
	d.mu.Unlock()
	for _, b := range bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	d.p.Wait()
}
