package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

// The portal driven by Debian's Chromium, headless, through chromedp: the
// seed's steps as a person does them in a browser.

// chromiumPath finds the browser, or fails (CI) or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	requireService(t, "chromium", errors.New("no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)"))
	return ""
}

// browser is a headless Chromium tab that trusts the server's certificate
// (by its public key's hash, not by ignoring certificate errors at large).
type browser struct {
	t   *testing.T
	ctx context.Context
	s   *Server
	// shots is the folder of this test's screenshots.
	shots string
	n     int
}

func newBrowser(t *testing.T, s *Server) *browser {
	t.Helper()
	exe := chromiumPath(t)
	resp, err := s.Client.Get(s.URL + "/portal/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	spki := sha256.Sum256(resp.TLS.PeerCertificates[0].RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, s: s}
	b.shots = filepath.Join(artifactsDir(), "portal", t.Name())
	if err := os.RemoveAll(b.shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each step: %s", b.shots)
	// Start the browser now, so a broken installation fails here.
	if err := chromedp.Do(ctx); err != nil {
		requireService(t, "chromium", err)
	}
	return b
}

// run runs actions in the tab and fails the test, with the page's text,
// if one fails.
func (b *browser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tctx, tcancel := context.WithTimeout(b.ctx, 5*time.Second)
		loc, _ := chromedp.Run(tctx, chromedp.Location())
		text, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
		tcancel()
		b.t.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, text)
	}
	b.screenshot(step)
}

// artifactsDir is where tests leave what a person may want to look at
// afterwards: GALLEON_TEST_ARTIFACTS (CI sets it), else a folder in the
// system's temporary directory.
func artifactsDir() string {
	if dir := os.Getenv("GALLEON_TEST_ARTIFACTS"); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), "galleon-test-artifacts")
}

// screenshot saves the page as NN-step.png (quality 100 makes a PNG).
func (b *browser) screenshot(step string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", step, err)
		return
	}
	b.n++
	name := fmt.Sprintf("%02d-%s.png", b.n, strings.ReplaceAll(step, " ", "-"))
	_ = os.WriteFile(filepath.Join(b.shots, name), png, 0o644)
}

// text returns the text of the element sel (CSS).
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// value returns the value of the form control sel (CSS).
func (b *browser) value(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// waitText waits until the element sel's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want),
		chromedp.WithPollingInterval(100*time.Millisecond))
}

// clearInput empties the text input id as a user selecting all and
// deleting would (chromedp.Clear only resets an untouched input).
func clearInput(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = ""; e.dispatchEvent(new Event("input")); return true; })()`, id))(ctx, t)
		return err
	})
}

// selectOption chooses value in the select id as a user would, so that
// the page's change handlers run.
func selectOption(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); return e.value === %q; })()`, id, value, value))(ctx, t)
		return err
	})
}

// waitEmpty waits until the element sel has no text.
func waitEmpty(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.trim() === ""; })()`, sel),
		chromedp.WithPollingInterval(100*time.Millisecond))
}

// grantOwner makes sure the admin user is Owner of the subscription,
// assigning it as the bootstrap service principal through ARM; an
// installation whose bootstrap already made it Owner answers 409
// RoleAssignmentExists, which is as good.
func grantOwner(t *testing.T, s *Server) {
	t.Helper()
	u := graph(t, s, graphToken(t, s), http.MethodGet, "/users/"+s.Creds.AdminUserPrincipalName, nil)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	status, _, body := s.Do(t, http.MethodPut, sub+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
		s.Token(t), map[string]any{"properties": map[string]any{
			"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
			"principalId":      u["id"], "principalType": "User"}})
	if status != http.StatusCreated && status != http.StatusOK && errorCode(body) != "RoleAssignmentExists" {
		t.Fatalf("assigning Owner to the admin user: %d %v", status, body)
	}
}

// signIn signs the browser in as upn.
func (b *browser) signIn(upn, password string) {
	b.t.Helper()
	b.run("open the portal", chromedp.Navigate(b.s.URL+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	b.run("sign in",
		chromedp.SendKeys(chromedp.ID("username"), upn),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("search-box")))
}

// TestPortal_SeedGalleryAndImageDefinition follows the seed's first two
// sections in the browser: sign in, find the galleries by searching
// "compute gallery", Add, fill the form (a dash in the name is refused
// with the rule's message as it is typed and again by Review + create),
// pass validation, Create, watch the deployment complete, Go to resource,
// then Add a new image definition the same way; and checks through ARM
// that both exist as entered.
func TestPortal_SeedGalleryAndImageDefinition(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	b := newBrowser(t, s)
	grantOwner(t, s)
	b.signIn(s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword)

	// Find the service.
	b.run("search compute gallery",
		chromedp.SendKeys(chromedp.ID("search-box"), "compute gallery"),
		chromedp.WaitVisible(chromedp.CSS(`#search-suggestions a[href="/portal/galleries"]`)))
	if got := b.text(`#search-suggestions a[href="/portal/galleries"]`); !strings.Contains(got, "Azure compute galleries") {
		t.Errorf("suggestion = %q, want Azure compute galleries", got)
	}
	b.run("open galleries",
		chromedp.Click(chromedp.CSS(`#search-suggestions a[href="/portal/galleries"]`)),
		chromedp.WaitVisible(chromedp.ID("add-gallery")))

	// Create a gallery.
	b.run("add gallery", chromedp.Click(chromedp.ID("add-gallery")), chromedp.WaitVisible(chromedp.ID("name")))
	if region := b.value("#region"); region != "eastus" {
		t.Errorf("preselected region = %q, want eastus", region)
	}
	b.run("new resource group",
		chromedp.Click(chromedp.ID("rg-new")),
		chromedp.SendKeys(chromedp.ID("new_resource_group"), "myGalleryRG"))
	b.run("a dash is refused as typed",
		chromedp.SendKeys(chromedp.ID("name"), "my-Gallery"),
		waitText("#name-error", "Gallery names cannot contain dashes"))
	b.run("and by Review + create",
		chromedp.SendKeys(chromedp.ID("description"), "My image gallery for testing."),
		chromedp.Click(chromedp.ID("review")),
		chromedp.WaitVisible(chromedp.ID("validation-failed")),
		waitText("#name-error", "The gallery name 'my-Gallery' is invalid. Gallery names cannot contain dashes."))
	b.run("a good name",
		clearInput("name"),
		chromedp.SendKeys(chromedp.ID("name"), "myGallery"),
		waitEmpty("#name-error"))
	b.run("review + create",
		chromedp.Click(chromedp.ID("review")),
		chromedp.WaitVisible(chromedp.ID("validation-passed")),
		waitText("#review-name", "myGallery"))
	b.run("create",
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("deployment")),
		waitText("#deployment-title", "Your deployment is complete"),
		chromedp.WaitVisible(chromedp.ID("go-to-resource")))
	b.run("go to resource",
		chromedp.Click(chromedp.ID("go-to-resource")),
		chromedp.WaitVisible(chromedp.ID("add-image-definition")),
		waitText("h1", "myGallery"),
		waitText("#gallery-description", "My image gallery for testing."))

	// Create an image definition.
	b.run("add image definition",
		chromedp.Click(chromedp.ID("add-image-definition")),
		chromedp.WaitVisible(chromedp.ID("publisher")))
	b.run("fill image definition",
		chromedp.SetValue(chromedp.ID("region"), "eastus"),
		chromedp.SendKeys(chromedp.ID("name"), "myImageDefinition"),
		chromedp.Click(chromedp.ID("os_type-Linux")),
		chromedp.Click(chromedp.ID("generation-V1")),
		chromedp.Click(chromedp.ID("os_state-Generalized")),
		chromedp.SendKeys(chromedp.ID("publisher"), "myPublisher"),
		chromedp.SendKeys(chromedp.ID("offer"), "myOffer"),
		chromedp.SendKeys(chromedp.ID("sku"), "mySKU"),
		waitEmpty("#name-error"))
	b.run("review image definition",
		chromedp.Click(chromedp.ID("review")),
		chromedp.WaitVisible(chromedp.ID("validation-passed")),
		waitText("#review-name", "myImageDefinition"))
	b.run("create image definition",
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("deployment")),
		waitText("#deployment-title", "Your deployment is complete"),
		chromedp.WaitVisible(chromedp.ID("go-to-resource")))
	b.run("go to image definition",
		chromedp.Click(chromedp.ID("go-to-resource")),
		chromedp.WaitVisible(chromedp.ID("image-publisher")),
		waitText("h1", "myImageDefinition"),
		waitText("#image-publisher", "myPublisher"))

	// What the browser made is what ARM serves.
	token := s.Token(t)
	gallery := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/myGalleryRG/providers/Microsoft.Compute/galleries/myGallery"
	status, _, g := s.Do(t, http.MethodGet, gallery+"?api-version=2025-03-03", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET gallery: %d %v", status, g)
	}
	props := g["properties"].(map[string]any)
	if g["location"] != "eastus" || props["description"] != "My image gallery for testing." || props["provisioningState"] != "Succeeded" {
		t.Errorf("gallery = %v", g)
	}
	status, _, d := s.Do(t, http.MethodGet, gallery+"/images/myImageDefinition?api-version=2025-03-03", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET image definition: %d %v", status, d)
	}
	dp := d["properties"].(map[string]any)
	id := dp["identifier"].(map[string]any)
	if dp["osType"] != "Linux" || dp["osState"] != "Generalized" || dp["hyperVGeneration"] != "V1" ||
		id["publisher"] != "myPublisher" || id["offer"] != "myOffer" || id["sku"] != "mySKU" || d["location"] != "eastus" {
		t.Errorf("image definition = %v", d)
	}

	// The search box finds resources by name too.
	b.run("search by name",
		chromedp.Navigate(s.URL+"/portal/"),
		chromedp.WaitVisible(chromedp.ID("search-box")),
		chromedp.SendKeys(chromedp.ID("search-box"), "myImage"),
		waitText("#search-suggestions", "myImageDefinition"))

	// Sign out: the portal sends the browser back to sign in, and a copy
	// of the session cookie taken before is refused too.
	var copied string
	b.run("copy the session cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{s.URL + "/portal/"}})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == "__Host-galleon-session" {
				copied = c.Value
			}
		}
		return nil
	}))
	withCopy := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/portal/galleries", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-galleon-session", Value: copied})
		resp, err := noRedirects(s.Client).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := withCopy(); copied == "" || resp.StatusCode != http.StatusOK {
		t.Fatalf("the copied session cookie (%d bytes) before sign-out: %d, want 200", len(copied), resp.StatusCode)
	}
	b.run("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/portal/signout"] button`)),
		chromedp.WaitVisible(chromedp.ID("username")),
		waitText(".banner", "You have signed out."),
		chromedp.Navigate(s.URL+"/portal/galleries"),
		chromedp.WaitVisible(chromedp.ID("username")))
	if resp := withCopy(); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/signin") {
		t.Errorf("the copied session cookie after sign-out: %d to %q, want 303 to sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// noRedirects is c without following redirects, to see them.
func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// TestPortal_ImageVersion follows the seed's "Create an image version" in
// the browser: from the definition's page, Add version; a malformed version
// number is refused with the rule's message; the region chosen becomes the
// source region at the top of the replication list, and a form without it
// is refused with the domain's rule; the source is a snapshot
// uploaded beforehand; the Replication tab lists the source region first
// and adds West US 2 with two replicas; Review + create, Create; the
// deployment page follows replication until it completes; the version's
// page shows every region Completed at 100 % and the disk's digest, as ARM
// reports them.
func TestPortal_ImageVersion(t *testing.T) {
	t.Parallel()
	_, vhdBytes := makeFixedVHD(t, 32<<20)
	s := StartServer(t)
	b := newBrowser(t, s)
	grantOwner(t, s)
	sdk := NewSDK(t, s)
	sdk.createGroup(t, "images")
	snap := uploadSnapshot(t, s, sdk, "images", "osSnap", vhdBytes)
	token := s.Token(t)
	gallery := "/subscriptions/" + s.Creds.SubscriptionID + "/resourceGroups/images/providers/Microsoft.Compute/galleries/myGallery"
	image := gallery + "/images/myImageDefinition"
	for _, put := range []struct {
		path string
		body map[string]any
	}{
		{gallery, map[string]any{"location": "eastus"}},
		{image, map[string]any{"location": "eastus", "properties": map[string]any{"osType": "Linux", "osState": "Generalized",
			"identifier": map[string]any{"publisher": "myPublisher", "offer": "myOffer", "sku": "mySKU"}}}},
	} {
		if status, _, out := s.Do(t, http.MethodPut, put.path+"?api-version=2025-03-03", token, put.body); status/100 != 2 {
			t.Fatalf("PUT %s: %d %v", put.path, status, out)
		}
	}

	b.signIn(s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword)
	b.run("open the image definition",
		chromedp.Navigate(s.URL+"/portal/resource"+image),
		chromedp.WaitVisible(chromedp.ID("add-version")))
	b.run("add version",
		chromedp.Click(chromedp.ID("add-version")),
		chromedp.WaitVisible(chromedp.ID("version")))
	if region := b.value("#region"); region != "eastus" {
		t.Errorf("preselected region = %q, want eastus", region)
	}
	b.run("a malformed version number is refused",
		chromedp.SendKeys(chromedp.ID("version"), "1.0"),
		waitText("#version-error", "It must be in the format <MajorVersion>.<MinorVersion>.<Patch>"))
	b.run("a good version number",
		clearInput("version"),
		chromedp.SendKeys(chromedp.ID("version"), "1.0.0"),
		waitEmpty("#version-error"))
	b.run("fill basics",
		chromedp.Click(chromedp.ID("source_kind-disks")),
		chromedp.SetValue(chromedp.ID("os_disk"), *snap.ID),
		chromedp.Click(chromedp.ID("exclude-no")),
		chromedp.SetValue(chromedp.ID("end_of_life"), time.Now().AddDate(0, 3, 0).Format("2006-01-02")))
	b.run("the region chosen is the source region",
		selectOption("region", "westeurope"),
		waitText("#replication tbody tr:first-child td:first-child", "West Europe (source region)"),
		selectOption("region", "eastus"),
		waitText("#replication tbody tr:first-child td:first-child", "East US (source region)"))
	b.run("replication tab",
		chromedp.Click(chromedp.ID("replication-tab")),
		chromedp.WaitVisible(chromedp.ID("replication-heading")),
		waitText("#replication tbody tr:first-child td:first-child", "East US (source region)"),
		chromedp.SetValue(chromedp.ID("storage_type"), "Standard_LRS"),
		chromedp.Click(chromedp.ID("target_westus2")),
		chromedp.SendKeys(chromedp.ID("count_westus2"), "2"))
	// A form that arrives without its source region (here: the page's
	// own hidden field removed) but with another target is refused with
	// the domain's rule; the form comes back as it was sent.
	b.run("a missing source region is refused",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.getElementById("source-target").remove() || true`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.ID("review")),
		chromedp.WaitVisible(chromedp.ID("validation-failed")),
		waitText("#targets-error", "The image version's location 'eastus' (its source region) must be one of the target regions."),
		waitText("#replication tbody tr:first-child td:first-child", "East US (source region)"))
	if got := b.value("#count_westus2"); got != "2" {
		t.Errorf("West US 2's replica count after the refusal = %q, want 2", got)
	}
	b.run("review + create",
		chromedp.Click(chromedp.ID("review")),
		chromedp.WaitVisible(chromedp.ID("validation-passed")),
		waitText("#review-name", "1.0.0"),
		waitText("#review-targets", "West US 2"))
	b.run("create",
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("deployment")))
	// The page reloads itself when the deployment ends, which interrupts
	// a poll running in it: poll again until the final page shows.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.getElementById("go-to-resource") !== null || document.getElementById("deployment")?.dataset.state === "Failed"`,
			chromedp.WithPollingInterval(200*time.Millisecond)))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the deployment: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.run("deployment complete", waitText("#deployment-title", "Your deployment is complete"))
	b.run("go to the version",
		chromedp.Click(chromedp.ID("go-to-resource")),
		chromedp.WaitVisible(chromedp.ID("aggregated-state")),
		waitText("h1", "1.0.0"),
		waitText("#provisioning-state", "Succeeded"),
		waitText("#aggregated-state", "Completed"),
		waitText(`#replication tr[data-region="westus2"] .pct`, "100 %"),
		waitText(`#replication tr[data-region="eastus"] .state`, "Completed"))

	// The browser shows what ARM reports.
	status, _, v := s.Do(t, http.MethodGet, image+"/versions/1.0.0?api-version=2025-03-03&$expand=ReplicationStatus", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET version: %d %v", status, v)
	}
	props := v["properties"].(map[string]any)
	pp := props["publishingProfile"].(map[string]any)
	regions := map[string]float64{}
	for _, tr := range pp["targetRegions"].([]any) {
		r := tr.(map[string]any)
		regions[r["name"].(string)] = r["regionalReplicaCount"].(float64)
	}
	if len(regions) != 2 || regions["eastus"] != 1 || regions["westus2"] != 2 || pp["excludeFromLatest"] != false || pp["endOfLifeDate"] == nil {
		t.Errorf("publishingProfile = %v", pp)
	}
	digest := props["storageProfile"].(map[string]any)["osDiskImage"].(map[string]any)["galleonSha256"]
	if got := b.text("#os-digest"); digest == nil || got != digest {
		t.Errorf("digest on the page = %q, ARM's = %v", got, digest)
	}
}
