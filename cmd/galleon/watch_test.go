package main

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

func TestOutcome(t *testing.T) {
	completed := regionStatus{"eastus", "Completed", 100, ""}
	tests := []struct {
		name     string
		status   versionStatus
		wantDone bool
		wantErr  []string
	}{
		{"Creating", versionStatus{"Creating", []regionStatus{completed, {"westus2", "Replicating", 40, ""}}}, false, nil},
		{"Updating", versionStatus{"Updating", nil}, false, nil},
		{"Succeeded", versionStatus{"Succeeded", []regionStatus{completed, {"westus2", "Completed", 100, ""}}}, true, nil},
		{"ErrFailed", versionStatus{"Failed", []regionStatus{completed, {"westus2", "Failed", 30, "bucket unreachable"}}}, true,
			[]string{"Failed", "westus2: Failed 30% bucket unreachable"}},
		{"ErrFailedNoRegion", versionStatus{"Failed", []regionStatus{completed}}, true, []string{"no region reports a failure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := outcome("gal/img/1.0.0", tt.status)
			if done != tt.wantDone || (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("got %v, %v; want done %v, error %v", done, err, tt.wantDone, tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if err != nil && strings.Contains(err.Error(), "eastus") {
				t.Errorf("error %q names a region that completed", err)
			}
		})
	}
}

func TestLineDisplay_PrintsChangesOnly(t *testing.T) {
	var b strings.Builder
	d := &lineDisplay{w: &b, last: map[string]regionStatus{}}
	polls := []versionStatus{
		{"Creating", []regionStatus{{"eastus", "Replicating", 0, ""}, {"westus2", "Replicating", 0, ""}}},
		{"Creating", []regionStatus{{"eastus", "Replicating", 0, ""}, {"westus2", "Replicating", 0, ""}}},
		{"Creating", []regionStatus{{"eastus", "Completed", 100, ""}, {"westus2", "Replicating", 50, "copying"}}},
		{"Succeeded", []regionStatus{{"eastus", "Completed", 100, ""}, {"westus2", "Completed", 100, ""}}},
	}
	for _, p := range polls {
		d.update(p)
	}
	want := `provisioningState: Creating
eastus: Replicating 0%
westus2: Replicating 0%
eastus: Completed 100%
westus2: Replicating 50% copying
provisioningState: Succeeded
westus2: Completed 100%
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestStatusOf(t *testing.T) {
	v := &armcompute.GalleryImageVersion{Properties: &armcompute.GalleryImageVersionProperties{
		ProvisioningState: to.Ptr(armcompute.GalleryProvisioningStateCreating),
		ReplicationStatus: &armcompute.ReplicationStatus{Summary: []*armcompute.RegionalReplicationStatus{
			{Region: to.Ptr("eastus"), State: to.Ptr(armcompute.ReplicationStateCompleted), Progress: to.Ptr[int32](100)},
			nil,
			{Region: to.Ptr("westus2"), State: to.Ptr(armcompute.ReplicationStateReplicating), Details: to.Ptr("copying")},
		}},
	}}
	got := statusOf(v)
	want := versionStatus{"Creating", []regionStatus{{"eastus", "Completed", 100, ""}, {"westus2", "Replicating", 0, "copying"}}}
	if got.ProvisioningState != want.ProvisioningState || len(got.Regions) != 2 || got.Regions[0] != want.Regions[0] || got.Regions[1] != want.Regions[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s := summary("g/i/1.0.0", want); s != "image version g/i/1.0.0: Creating (eastus Completed, westus2 Replicating)" {
		t.Errorf("summary = %q", s)
	}
	if got := statusOf(&armcompute.GalleryImageVersion{}); got.ProvisioningState != "" || got.Regions != nil {
		t.Errorf("an empty version: %+v", got)
	}
}

func TestParseVersionID(t *testing.T) {
	ref, err := parseVersionID("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal/images/img/versions/1.0.0")
	if err != nil || ref != (versionRef{"sub", "rg", "gal", "img", "1.0.0"}) {
		t.Errorf("got %+v, %v", ref, err)
	}
	for _, id := range []string{"", "not an id", "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal/images/img"} {
		if _, err := parseVersionID(id); err == nil {
			t.Errorf("parseVersionID(%q) accepted it", id)
		}
	}
}
