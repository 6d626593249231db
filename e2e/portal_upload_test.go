package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/galleon-project/galleon/vhd"
)

// TestPortal_UploadAndDelete uploads disk images from the browser and
// deletes resources with confirmation, in headless Chromium:
//
//   - a qemu-made fixed VHD from a local file to a new snapshot, from the
//     home page's Upload tile: the progress bar reaches 100 %, the page
//     shows the digest, which is ARM's and the file's sha256; the
//     snapshot's page shows its properties;
//   - a raw image (with 8 MiB of zeros the page does not send) sent as a
//     fixed VHD, its footer written by the page: it reads back as the raw
//     bytes, zeros to a whole MiB and a valid footer, with the digest shown;
//   - a file that is not whole sectors and a taken name, refused in the page;
//   - deleting a gallery that holds an image definition is refused with
//     ARM's reason and nothing is deleted; the definition is deleted once
//     its name is typed exactly (a wrong name keeps Delete disabled, and is
//     refused by the server when sent anyway); a snapshot, the then empty
//     gallery, and the resource group (a long-running operation the page
//     follows) are deleted, each gone from ARM, each leaving a notice on
//     the page the browser lands on.
func TestPortal_UploadAndDelete(t *testing.T) {
	t.Parallel()
	started := time.Now()
	vhdPath, vhdBytes := makeFixedVHD(t, 24<<20)
	dir := t.TempDir()
	raw := make([]byte, 21<<20-3*512) // padded to 21 MiB
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	clear(raw[4<<20 : 12<<20]) // two 4 MiB chunks of zeros, not sent
	rawPath := filepath.Join(dir, "disk.img")
	oddPath := filepath.Join(dir, "notes.txt")
	for path, data := range map[string][]byte{rawPath: raw, oddPath: []byte(strings.Repeat("not a disk\n", 100))} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s := StartServer(t)
	b := newBrowser(t, s)
	grantOwner(t, s)
	token := s.Token(t)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	group := sub + "/resourceGroups/uploads"
	gallery := group + "/providers/Microsoft.Compute/galleries/myGallery"
	image := gallery + "/images/myImageDefinition"
	snapshot := func(name string) string { return group + "/providers/Microsoft.Compute/snapshots/" + name }
	for _, put := range []struct {
		path, api string
		body      map[string]any
	}{
		{group, "2022-09-01", map[string]any{"location": "eastus"}},
		{gallery, "2025-03-03", map[string]any{"location": "eastus"}},
		{image, "2025-03-03", map[string]any{"location": "eastus", "properties": map[string]any{"osType": "Linux", "osState": "Generalized",
			"identifier": map[string]any{"publisher": "myPublisher", "offer": "myOffer", "sku": "mySKU"}}}},
	} {
		if status, _, out := s.Do(t, http.MethodPut, put.path+"?api-version="+put.api, token, put.body); status/100 != 2 {
			t.Fatalf("PUT %s: %d %v", put.path, status, out)
		}
	}
	getSnapshot := func(name string) (int, map[string]any) {
		t.Helper()
		status, _, body := s.Do(t, http.MethodGet, snapshot(name)+"?api-version=2023-10-02", token, nil)
		props, _ := body["properties"].(map[string]any)
		return status, props
	}

	b.signIn(s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword)

	// A fixed VHD, from the home page's Upload tile.
	b.run("open upload",
		chromedp.Click(chromedp.CSS(`.tiles a[href="/portal/upload"]`)),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.WaitEnabled(chromedp.ID("upload")))
	b.checkAccessible("upload page")
	b.run("a bad name is refused as typed",
		chromedp.SetValue(chromedp.ID("resource_group"), "uploads"),
		chromedp.SetValue(chromedp.ID("region"), "eastus"),
		chromedp.SendKeys(chromedp.ID("name"), "os snap"),
		waitText("#name-error", "The name 'os snap' is invalid"))
	b.run("fill the form",
		clearInput("name"),
		chromedp.SendKeys(chromedp.ID("name"), "osSnap"),
		waitEmpty("#name-error"),
		chromedp.SetValue(chromedp.ID("os_type"), "Linux"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{vhdPath}))
	b.run("upload the VHD",
		chromedp.Click(chromedp.ID("upload")),
		waitText("#upload-kind", "A fixed VHD of 24 MiB"),
		waitText("#upload-status", "100 %"),
		chromedp.WaitVisible(chromedp.ID("upload-done")),
		waitText("#upload-digest", "sha256:"))
	if v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.getElementById("upload-progress").value`)); err != nil || v != 100 {
		t.Errorf("progress bar at %v (%v), want 100", v, err)
	}
	t.Logf("VHD upload in the browser: %s", b.text("#upload-status"))
	digest := b.text("#upload-digest")
	status, props := getSnapshot("osSnap")
	if want := "sha256:" + sha256Hex(vhdBytes); status != http.StatusOK || props["diskState"] != "Unattached" || props["galleonSha256"] != want || digest != want {
		t.Fatalf("snapshot after the upload: %d %v; page shows %s, want the file's %s", status, props, digest, want)
	}

	// The snapshot's page.
	b.run("go to the snapshot",
		chromedp.Click(chromedp.ID("go-to-resource")),
		chromedp.WaitVisible(chromedp.ID("disk-properties")),
		waitText("h1", "osSnap"))
	for sel, want := range map[string]string{
		"#disk-state": "Unattached", "#disk-digest": digest, "#disk-size": "24 MiB (25,165,824 bytes)", "#disk-size-gb": "1 GiB",
		"#disk-os-type": "Linux", "#disk-generation": "Gen 1", "#disk-create-option": "Upload", "#disk-location": "East US",
		".type": "Snapshot",
	} {
		if got := b.text(sel); got != want {
			t.Errorf("snapshot page %s = %q, want %q", sel, got, want)
		}
	}
	b.checkAccessible("snapshot page")

	// A raw image, sent as the fixed VHD it becomes.
	b.run("upload a raw image",
		chromedp.Navigate(s.URL+"/portal/upload?resourceGroup=uploads"),
		chromedp.WaitEnabled(chromedp.ID("upload")),
		chromedp.SendKeys(chromedp.ID("name"), "rawSnap"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{rawPath}),
		chromedp.Click(chromedp.ID("upload")),
		waitText("#upload-kind", "A raw disk image of 20.99 MiB"),
		waitText("#upload-status", "100 %"),
		chromedp.WaitVisible(chromedp.ID("upload-done")),
		waitText("#upload-digest", "sha256:"))
	rawStatus := b.text("#upload-status")
	t.Logf("raw upload in the browser: %s", rawStatus)
	if !strings.Contains(rawStatus, "8.0 MiB of zeros skipped") {
		t.Errorf("raw upload status %q, want 8 MiB of zeros skipped (and the 1.5 KiB of padding)", rawStatus)
	}
	rawDigest := b.text("#upload-digest")
	status, props = getSnapshot("rawSnap")
	if status != http.StatusOK || props["diskState"] != "Unattached" || props["galleonSha256"] != rawDigest {
		t.Fatalf("raw snapshot: %d %v; page shows %s", status, props, rawDigest)
	}
	got := downloadSnapshot(t, s, token, snapshot("rawSnap"))
	if len(got) != 21<<20+vhd.FooterSize || !bytes.Equal(got[:len(raw)], raw) || !bytes.Equal(got[len(raw):21<<20], make([]byte, 21<<20-len(raw))) {
		t.Fatalf("the raw snapshot reads back as %d bytes, want the raw bytes, zeros to 21 MiB and a footer", len(got))
	}
	if _, err := vhd.ValidateForAzure(bytes.NewReader(got), int64(len(got))); err != nil {
		t.Errorf("the raw snapshot's footer: %v", err)
	}
	if d := "sha256:" + sha256Hex(got); d != rawDigest {
		t.Errorf("the raw snapshot's bytes hash to %s, the page shows %s", d, rawDigest)
	}

	// Refusals in the page: a file that is not a disk, a name taken.
	b.run("a file of part sectors is refused",
		chromedp.Navigate(s.URL+"/portal/upload?resourceGroup=uploads"),
		chromedp.WaitEnabled(chromedp.ID("upload")),
		chromedp.SendKeys(chromedp.ID("name"), "notesSnap"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{oddPath}),
		chromedp.Click(chromedp.ID("upload")),
		waitText("#upload-error", "'notes.txt' is 1,100 bytes, which is not a whole number of 512-byte sectors"),
		waitText("#file-error", "not a whole number of 512-byte sectors"))
	b.run("a taken name is refused",
		clearInput("name"),
		chromedp.SendKeys(chromedp.ID("name"), "osSnap"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{rawPath}),
		chromedp.Click(chromedp.ID("upload")),
		waitText("#upload-error", "A snapshot named 'osSnap' already exists in resource group 'uploads'"))
	if status, _ := getSnapshot("notesSnap"); status != http.StatusNotFound {
		t.Errorf("a refused upload left a snapshot: %d", status)
	}

	// The new pages in a phone-sized window.
	b.run("narrow window", chromedp.EmulateViewport(390, 800))
	for _, pg := range []struct{ name, path, ready string }{
		{"upload page", "/portal/upload", "#file"},
		{"snapshot page", "/portal/resource" + snapshot("osSnap"), "#disk-properties"},
		{"delete page", "/portal/delete?id=" + url.QueryEscape(snapshot("osSnap")), "#confirm-name"},
	} {
		b.run(pg.name+" at 390 px", chromedp.Navigate(s.URL+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
		b.checkAccessible(pg.name + " at 390 px")
	}
	b.run("wide window", chromedp.EmulateViewport(1280, 900))

	// All resources lists the snapshots.
	b.run("all resources", chromedp.Navigate(s.URL+"/portal/resources"), waitText("main table", "rawSnap"), waitText("main table", "Snapshot"))

	// A gallery that holds an image definition is not deleted.
	b.run("delete the gallery",
		chromedp.Navigate(s.URL+"/portal/resource"+gallery),
		chromedp.Click(chromedp.ID("delete")),
		chromedp.WaitVisible(chromedp.ID("confirm-name")),
		waitText("#delete-explain", "only when it holds no image definitions"))
	b.checkAccessible("delete page")
	b.submitted("refused because of its image definition",
		"#delete-error", "The gallery 'myGallery' cannot be deleted because it contains image definitions ('myImageDefinition'). Delete them first.",
		chromedp.SendKeys(chromedp.ID("confirm-name"), "myGallery"),
		chromedp.WaitEnabled(chromedp.ID("confirm-delete")),
		chromedp.Click(chromedp.ID("confirm-delete")))
	if status, _, body := s.Do(t, http.MethodGet, gallery+"?api-version=2025-03-03", token, nil); status != http.StatusOK {
		t.Fatalf("the gallery after a refused delete: %d %v", status, body)
	}

	// The image definition: a wrong name keeps Delete disabled, and the
	// server refuses it too.
	b.run("delete the image definition",
		chromedp.Navigate(s.URL+"/portal/resource"+image),
		chromedp.Click(chromedp.ID("delete")),
		chromedp.WaitVisible(chromedp.ID("confirm-name")),
		chromedp.SendKeys(chromedp.ID("confirm-name"), "myImage"))
	if disabled, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById("confirm-delete").disabled`)); err != nil || !disabled {
		t.Errorf("Delete with a wrong name typed: disabled=%v (%v), want disabled", disabled, err)
	}
	b.submitted("a wrong name sent anyway is refused",
		"#confirm-name-error", "'myImage' is not the name of this resource. Type 'myImageDefinition' to confirm.",
		evalVoid(`(() => { const b = document.getElementById("confirm-delete"); b.disabled = false; b.click(); return true; })()`))
	if status, _, _ := s.Do(t, http.MethodGet, image+"?api-version=2025-03-03", token, nil); status != http.StatusOK {
		t.Fatalf("the image definition after a wrong name: %d", status)
	}
	b.submitted("the right name deletes it", "#deleted", "The VM image definition 'myImageDefinition' was deleted.",
		clearInput("confirm-name"),
		chromedp.SendKeys(chromedp.ID("confirm-name"), "myImageDefinition"),
		chromedp.WaitEnabled(chromedp.ID("confirm-delete")),
		chromedp.Click(chromedp.ID("confirm-delete")))
	b.run("back on the gallery", waitText("h1", "myGallery"), waitText("main", "No image definitions yet"))
	if status, _, _ := s.Do(t, http.MethodGet, image+"?api-version=2025-03-03", token, nil); status != http.StatusNotFound {
		t.Errorf("the image definition after deleting it: %d, want 404", status)
	}

	// The snapshot, from its page; the resource group's page is next.
	b.run("delete the raw snapshot",
		chromedp.Navigate(s.URL+"/portal/resource"+snapshot("rawSnap")),
		chromedp.Click(chromedp.ID("delete")),
		chromedp.WaitVisible(chromedp.ID("confirm-name")),
		chromedp.SendKeys(chromedp.ID("confirm-name"), "rawSnap"),
		chromedp.WaitEnabled(chromedp.ID("confirm-delete")))
	b.submitted("snapshot deleted", "#deleted", "The snapshot 'rawSnap' was deleted.", chromedp.Click(chromedp.ID("confirm-delete")))
	b.run("on the resource group's page", waitText("h1", "uploads"), waitText("main table", "osSnap"))
	if status, _ := getSnapshot("rawSnap"); status != http.StatusNotFound {
		t.Errorf("the snapshot after deleting it: %d, want 404", status)
	}
	if strings.Contains(b.text("main table"), "rawSnap") {
		t.Error("the resource group's page still lists the deleted snapshot")
	}

	// The gallery, empty now.
	b.submitted("delete the empty gallery", "#deleted", "The Azure compute gallery 'myGallery' was deleted.",
		chromedp.Navigate(s.URL+"/portal/delete?id="+url.QueryEscape(gallery)),
		chromedp.SendKeys(chromedp.ID("confirm-name"), "myGallery"),
		chromedp.WaitEnabled(chromedp.ID("confirm-delete")),
		chromedp.Click(chromedp.ID("confirm-delete")))
	b.run("on the galleries page", chromedp.WaitVisible(chromedp.ID("add-gallery")))
	if status, _, _ := s.Do(t, http.MethodGet, gallery+"?api-version=2025-03-03", token, nil); status != http.StatusNotFound {
		t.Errorf("the gallery after deleting it: %d, want 404", status)
	}

	// The resource group and what is left in it, in the background.
	b.run("delete the resource group",
		chromedp.Navigate(s.URL+"/portal/resource"+group),
		chromedp.Click(chromedp.ID("delete")),
		chromedp.WaitVisible(chromedp.ID("confirm-name")),
		waitText("#delete-explain", "everything in it"),
		chromedp.SendKeys(chromedp.ID("confirm-name"), "uploads"),
		chromedp.WaitEnabled(chromedp.ID("confirm-delete")))
	// The deletion page follows the operation and moves on by itself.
	b.submitted("resource group deleted", "#deleted", "The resource group 'uploads' was deleted.", chromedp.Click(chromedp.ID("confirm-delete")))
	if status, _, _ := s.Do(t, http.MethodGet, group+"?api-version=2022-09-01", token, nil); status != http.StatusNotFound {
		t.Errorf("the resource group after deleting it: %d, want 404", status)
	}
	if status, _ := getSnapshot("osSnap"); status != http.StatusNotFound {
		t.Errorf("a snapshot in the deleted resource group: %d, want 404", status)
	}
	t.Logf("done in %s", time.Since(started).Round(time.Millisecond))
}

// downloadSnapshot reads a snapshot's sealed bytes through a read SAS.
func downloadSnapshot(t *testing.T, s *Server, token, id string) []byte {
	t.Helper()
	status, _, body := s.Do(t, http.MethodPost, id+"/beginGetAccess?api-version=2023-10-02", token,
		map[string]any{"access": "Read", "durationInSeconds": 600})
	sas, _ := body["accessSAS"].(string)
	if status != http.StatusOK || sas == "" {
		t.Fatalf("read access to %s: %d %v", id, status, body)
	}
	resp, err := s.Client.Get(sas)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading %s: %s %v", id, resp.Status, err)
	}
	if status, _, body := s.Do(t, http.MethodPost, id+"/endGetAccess?api-version=2023-10-02", token, nil); status != http.StatusOK {
		t.Fatalf("ending read access: %d %v", status, body)
	}
	return data
}

// submitted runs the actions that end in a form's submission, then waits
// until the element sel of the page it leads to contains want: a wait
// started while the old page is still there is cut short when it goes, so
// it starts again until the new page shows.
func (b *browser) submitted(step, sel, want string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if len(actions) > 0 {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Do(ctx, actions...)
		cancel()
		if err != nil {
			b.t.Fatalf("%s: %v", step, err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := chromedp.Do(ctx, waitText(sel, want))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.run(step, waitText(sel, want)) // fails with the page's text
		}
	}
	b.screenshot(step)
}

// evalVoid runs a script in the page for its effect.
func evalVoid(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}
