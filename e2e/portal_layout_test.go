package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// accessibilityProblems is run in the page: it lists what would stop a
// keyboard or screen-reader user — a visible form control without a label,
// a button or link without a name, an image without alt text, not exactly
// one h1, a heading level skipped — and content wider than the window
// (a table may scroll inside its own wrapper; the page itself must not).
const accessibilityProblems = `(() => {
  const problems = [];
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && getComputedStyle(e).visibility !== "hidden";
  const named = (e) => (e.getAttribute("aria-label") || "").trim() !== "" ||
    (e.getAttribute("aria-labelledby") || "").split(/\s+/).some((id) => id && document.getElementById(id)) ||
    (e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]')) || e.closest("label") ||
    (e.getAttribute("title") || "").trim() !== "";
  for (const e of document.querySelectorAll("input, select, textarea")) {
    if (e.type === "hidden" || !visible(e)) continue;
    if (!named(e)) problems.push("unlabelled " + e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.name ? "[name=" + e.name + "]" : ""));
  }
  for (const e of document.querySelectorAll("button, a[href]")) {
    if (!visible(e)) continue;
    if (e.textContent.trim() === "" && !named(e)) problems.push("nameless " + e.tagName.toLowerCase() + " " + e.outerHTML.slice(0, 80));
  }
  for (const e of document.querySelectorAll("img")) {
    if (!e.hasAttribute("alt")) problems.push("image without alt " + e.src);
  }
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(h1 + " h1 headings");
  let last = 1;
  for (const h of document.querySelectorAll("main h1, main h2, main h3, main h4")) {
    if (!visible(h)) continue;
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push("heading " + h.tagName + " '" + h.textContent.trim() + "' skips a level");
    last = level;
  }
  if (!document.documentElement.lang) problems.push("no lang on html");
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 1) problems.push("page wider than the window by " + overflow + "px");
  return problems;
})()`

// checkAccessible fails the test with every problem accessibilityProblems
// finds on the current page.
func (b *browser) checkAccessible(page string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](accessibilityProblems))
	if err != nil {
		b.t.Fatalf("%s: checking the page: %v", page, err)
	}
	for _, p := range problems {
		b.t.Errorf("%s: %s", page, p)
	}
}

// TestPortal_LayoutAndAccessibility opens every kind of page the seed's
// steps go through, at 1280 px and in a phone-sized window, and checks
// each for unlabelled controls, nameless buttons and links, heading order
// and horizontal overflow; then uses the search box with the keyboard
// alone.
func TestPortal_LayoutAndAccessibility(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	b := newBrowser(t, s)
	grantOwner(t, s)
	token := s.Token(t)
	sub := "/subscriptions/" + s.Creds.SubscriptionID
	gallery := sub + "/resourceGroups/layoutRG/providers/Microsoft.Compute/galleries/layoutGallery"
	image := gallery + "/images/layoutImage"
	for _, put := range []struct {
		path, api string
		body      map[string]any
	}{
		{sub + "/resourceGroups/layoutRG", "2022-09-01", map[string]any{"location": "eastus"}},
		{gallery, "2025-03-03", map[string]any{"location": "eastus", "properties": map[string]any{"description": "Pages at two widths."}}},
		{image, "2025-03-03", map[string]any{"location": "eastus", "properties": map[string]any{"osType": "Linux", "osState": "Generalized",
			"hyperVGeneration": "V2", "identifier": map[string]any{"publisher": "layoutPublisher", "offer": "layoutOffer", "sku": "layoutSku"}}}},
	} {
		if status, _, out := s.Do(t, http.MethodPut, put.path+"?api-version="+put.api, token, put.body); status/100 != 2 {
			t.Fatalf("PUT %s: %d %v", put.path, status, out)
		}
	}

	// The sign-in page is checked before signing in.
	b.run("sign-in page", chromedp.Navigate(s.URL+"/portal/signin"), chromedp.WaitVisible(chromedp.ID("username")))
	b.checkAccessible("sign-in")
	b.signIn(s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword)

	pages := []struct{ name, path, ready string }{
		{"home", "/portal/", "#search-box"},
		{"galleries", "/portal/galleries", "#add-gallery"},
		{"create gallery", "/portal/galleries/create", "#name"},
		{"gallery", "/portal/resource" + gallery, "#add-image-definition"},
		{"create image definition", "/portal/images/create?gallery=" + gallery, "#publisher"},
		{"image definition", "/portal/resource" + image, "#add-version"},
		{"create image version", "/portal/versions/create?image=" + image, "#version"},
		{"all resources", "/portal/resources", "main table"},
		{"search", "/portal/search?q=layout", "main"},
	}
	for _, width := range []int64{1280, 390} {
		b.run(fmt.Sprintf("window %d px", width), chromedp.EmulateViewport(width, 800))
		for _, p := range pages {
			step := fmt.Sprintf("%s at %d px", p.name, width)
			b.run(step, chromedp.Navigate(s.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			b.checkAccessible(step)
		}
	}
	b.run("desktop again", chromedp.EmulateViewport(1280, 900))

	// The check finds what it looks for: an unlabelled input and an
	// element wider than the window, added to a page that passed.
	b.run("a page with problems", chromedp.Navigate(s.URL+"/portal/galleries"), chromedp.WaitVisible(chromedp.ID("add-gallery")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => {
				const main = document.querySelector("main");
				main.append(Object.assign(document.createElement("input"), {id: "stray"}));
				const wide = document.createElement("div");
				wide.style.width = "3000px";
				wide.textContent = "wide";
				main.append(wide);
				return true; })()`)(ctx, tg)
			return err
		}))
	problems, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](accessibilityProblems))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(problems, "; "); !strings.Contains(got, "unlabelled input#stray") || !strings.Contains(got, "page wider than the window") {
		t.Errorf("the check on a page with problems found %q", got)
	}

	// The search box with the keyboard alone: type, arrow down to the
	// suggestion, Enter.
	b.run("keyboard search",
		chromedp.Navigate(s.URL+"/portal/"),
		chromedp.WaitVisible(chromedp.ID("search-box")),
		chromedp.Focus(chromedp.ID("search-box")),
		chromedp.KeyEvent("compute gallery"),
		chromedp.WaitVisible(chromedp.CSS(`#search-suggestions a[href="/portal/galleries"]`)),
		chromedp.KeyEvent(kb.ArrowDown),
		waitText(`#search-suggestions a[aria-selected="true"]`, "Azure compute galleries"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("add-gallery")))
	if loc := b.location(); !strings.HasSuffix(loc, "/portal/galleries") {
		t.Errorf("after the keyboard search the browser is at %s, want the galleries page", loc)
	}
}

// location is the tab's current URL.
func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("reading the location: %v", err)
	}
	return loc
}
