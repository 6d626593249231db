package portal

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestSizeText(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{512, "512 bytes"},
		{1536, "1.5 KiB (1,536 bytes)"},
		{24 << 20, "24 MiB (25,165,824 bytes)"},
		{24<<20 + 512, "24 MiB (25,166,336 bytes)"},
		{21<<20 - 1536, "20.99 MiB (22,018,560 bytes)"},
		{3 << 30, "3 GiB (3,221,225,472 bytes)"},
		{1<<40 + 1<<39, "1.5 TiB (1,649,267,441,664 bytes)"},
	} {
		if got := sizeText(tt.n); got != tt.want {
			t.Errorf("sizeText(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestNewDiskView(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		want       diskView
	}{
		{"SealedUpload", `{"type":"Microsoft.Compute/snapshots","properties":{"diskState":"Unattached","osType":"Linux","hyperVGeneration":"V2",
			"diskSizeGB":1,"diskSizeBytes":25165824,"galleonSha256":"sha256:ab","timeCreated":"2025-01-02T03:04:05Z",
			"creationData":{"createOption":"Upload","uploadSizeBytes":25166336}}}`,
			diskView{Kind: "snapshot", State: "Unattached", OSType: "Linux", Generation: "Gen 2", SizeGB: "1 GiB", Size: "24 MiB (25,165,824 bytes)",
				Digest: "sha256:ab", TimeCreated: "2025-01-02 03:04:05 UTC", CreateOption: "Upload",
				Source: "An upload of 24 MiB (25,166,336 bytes), a fixed VHD with its footer"}},
		{"WaitingUpload", `{"type":"Microsoft.Compute/disks","properties":{"diskState":"ActiveUpload","creationData":{"createOption":"Upload","uploadSizeBytes":512}}}`,
			diskView{Kind: "disk", State: "ActiveUpload", CreateOption: "Upload", Waiting: true, Source: "An upload of 512 bytes, a fixed VHD with its footer"}},
		{"Copy", `{"type":"Microsoft.Compute/disks","properties":{"diskState":"Unattached","creationData":{"createOption":"Copy","sourceResourceId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/snapshots/src"}}}`,
			diskView{Kind: "disk", State: "Unattached", CreateOption: "Copy", Source: "src", SourceID: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/snapshots/src"}},
		{"Import", `{"type":"Microsoft.Compute/disks","properties":{"creationData":{"createOption":"Import","sourceUri":"https://x/y.vhd"}}}`,
			diskView{Kind: "disk", CreateOption: "Import", Source: "https://x/y.vhd"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d diskJSON
			if err := json.Unmarshal([]byte(tt.json), &d); err != nil {
				t.Fatal(err)
			}
			if got := newDiskView(d); got != tt.want {
				t.Errorf("newDiskView = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A snapshot's page shows its properties and a Delete button; All
// resources lists disks and snapshots, leaving out a list it may not read.
func TestDiskPages(t *testing.T) {
	b, arm := newScriptedPortal(t)
	arm.answer(http.MethodGet, snapID, http.StatusOK, `{"id":"`+snapID+`","name":"mySnap","type":"Microsoft.Compute/snapshots","location":"eastus",
		"properties":{"diskState":"Unattached","osType":"Linux","diskSizeBytes":25165824,"galleonSha256":"sha256:ab","creationData":{"createOption":"Upload","uploadSizeBytes":25166336}}}`)
	w := b.do(http.MethodGet, "/portal/resource"+snapID, nil)
	body := w.Body.String()
	for _, want := range []string{`<p class="type">Snapshot</p>`, `id="disk-state">Unattached`, `id="disk-size">24 MiB (25,165,824 bytes)`,
		`<code id="disk-digest">sha256:ab</code>`, `id="delete" href="/portal/delete?id=%2fsubscriptions%2fsub1%2fresourceGroups%2frg1%2fproviders%2fMicrosoft.Compute%2fsnapshots%2fmySnap"`, `id="disk-os-type">Linux`, "JSON view"} {
		if w.Code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("snapshot page (%d) lacks %s", w.Code, want)
		}
	}

	// All resources is one generic list per subscription, whose items ARM
	// has narrowed to what the user may read; a nested resource shows its
	// own name, a type the portal does not know is left out, and so is a
	// subscription the user may read nothing in.
	arm.answer(http.MethodGet, "/subscriptions", http.StatusOK,
		`{"value":[{"subscriptionId":"sub1","displayName":"Galleon"},{"subscriptionId":"sub2","displayName":"Other"}]}`)
	const versionID = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/gal/images/img/versions/1.0.0"
	arm.answer(http.MethodGet, "/subscriptions/sub1/resources", http.StatusOK, `{"value":[
		{"id":"`+snapID+`","name":"mySnap","type":"Microsoft.Compute/snapshots","location":"eastus"},
		{"id":"`+versionID+`","name":"gal/img/1.0.0","type":"Microsoft.Compute/galleries/images/versions","location":"westus2"},
		{"id":"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/net","name":"net","type":"Microsoft.Network/virtualNetworks","location":"eastus"}]}`)
	arm.answer(http.MethodGet, "/subscriptions/sub2/resources", http.StatusForbidden,
		`{"error":{"code":"AuthorizationFailed","message":"no"}}`)
	w = b.do(http.MethodGet, "/portal/resources", nil)
	body = w.Body.String()
	for _, want := range []string{`<a href="/portal/resource` + snapID + `">mySnap</a></td><td>Snapshot</td><td>rg1</td>`,
		`<a href="/portal/resource` + versionID + `">1.0.0</a></td><td>VM image version</td><td>rg1</td>`} {
		if w.Code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("all resources = %d, lacks %s\n%s", w.Code, want, body)
		}
	}
	if strings.Contains(body, "virtualNetworks") || strings.Count(body, "<tr") != 3 {
		t.Errorf("all resources, want a header and two rows:\n%s", body)
	}
	var lists []string
	arm.mu.Lock()
	calls := slices.Clone(arm.calls)
	arm.mu.Unlock()
	for _, c := range calls {
		if strings.HasPrefix(c, "GET /subscriptions/sub") && !strings.Contains(c, "/resourceGroups/") {
			lists = append(lists, c)
		}
	}
	if want := []string{"GET /subscriptions/sub1/resources", "GET /subscriptions/sub2/resources"}; !slices.Equal(lists, want) {
		t.Errorf("all resources asked ARM %v, want %v", lists, want)
	}
}

func TestNewManagedImageView(t *testing.T) {
	var img managedImageJSON
	if err := json.Unmarshal([]byte(`{"properties":{"hyperVGeneration":"V2","provisioningState":"Succeeded","storageProfile":{
		"osDisk":{"osType":"Linux","osState":"Generalized","snapshot":{"id":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/snapshots/os"},"diskSizeGB":1,"galleonSha256":"sha256:01"},
		"dataDisks":[{"lun":2,"blobUri":"https://x/d.vhd","galleonSha256":"sha256:02"}]}}}`), &img); err != nil {
		t.Fatal(err)
	}
	got := newManagedImageView(img)
	want := managedImageView{Generation: "Gen 2", Provisioning: "Succeeded", Disks: []managedImageDiskView{
		{Name: "OS disk", OSType: "Linux", OSState: "Generalized", Source: "os", SourceID: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/snapshots/os", SizeGB: "1 GiB", Digest: "sha256:01"},
		{Name: "Data disk, LUN 2", Source: "https://x/d.vhd", Digest: "sha256:02"},
	}}
	if len(got.Disks) != len(want.Disks) || got.Generation != want.Generation || got.Provisioning != want.Provisioning {
		t.Fatalf("newManagedImageView = %+v\nwant %+v", got, want)
	}
	for i := range want.Disks {
		if got.Disks[i] != want.Disks[i] {
			t.Errorf("disk %d = %+v\nwant %+v", i, got.Disks[i], want.Disks[i])
		}
	}
}
