package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPortal_ShareWithGuest follows the seed's "Share" step in the browser,
// as two people. The admin opens a gallery's Access control (IAM), adds
// Reader for an e-mail address outside the organisation (the page says an
// invitation will be sent) and sees it listed at the gallery beside the
// Owner inherited from the subscription; adds Reader for a directory group
// picked from the suggestions, then removes it. The guest gets the
// invitation at a real SMTP server, opens the link in a browser of its own,
// chooses a password, follows Continue, signs in, and finds under All
// resources the shared gallery with its definition and version and nothing
// else; another gallery's page, typed in, is refused.
func TestPortal_ShareWithGuest(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t)
	s := startServerWithMail(t, ms)
	grantOwner(t, s)

	// What is shared, and what is not, made through the API.
	_, vhd := makeFixedVHD(t, 20<<20)
	sdk := NewSDK(t, s)
	ctx := context.Background()
	sdk.createGroup(t, "shareRG")
	shared, err := sdk.createGallery(ctx, "shareRG", "sharedGallery", armcompute.Gallery{})
	if err != nil {
		t.Fatal(err)
	}
	private, err := sdk.createGallery(ctx, "shareRG", "privateGallery", armcompute.Gallery{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "shareRG", "sharedGallery", "sharedImage", linuxImage("sharePublisher", "shareOffer", "shareSku")); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.createImage(ctx, "shareRG", "privateGallery", "privateImage", linuxImage("privatePublisher", "privateOffer", "privateSku")); err != nil {
		t.Fatal(err)
	}
	snap := uploadSnapshot(t, s, sdk, "shareRG", "shareSnap", vhd)
	token := s.Token(t)
	version := *shared.ID + "/images/sharedImage/versions/1.0.0"
	if status, _, out := s.Do(t, http.MethodPut, version+"?api-version=2025-03-03", token, map[string]any{"location": "eastus",
		"properties": map[string]any{
			"publishingProfile": map[string]any{"targetRegions": []any{map[string]any{"name": "eastus", "regionalReplicaCount": 1}}},
			"storageProfile":    map[string]any{"osDiskImage": map[string]any{"source": map[string]any{"id": *snap.ID}}}}}); status/100 != 2 {
		t.Fatalf("PUT version: %d %v", status, out)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, _, v := s.Do(t, http.MethodGet, version+"?api-version=2025-03-03", token, nil)
		state, _ := v["properties"].(map[string]any)["provisioningState"].(string)
		if state == "Succeeded" {
			break
		}
		if state == "Failed" || time.Now().After(deadline) {
			t.Fatalf("the version did not replicate: %v", v)
		}
	}
	graphToken := s.GraphToken(t)
	group := graph(t, s, graphToken, http.MethodPost, "/groups", map[string]any{"displayName": "Gallery Readers", "mailNickname": "galleryreaders",
		"securityEnabled": true, "mailEnabled": false})

	const guestMail, guestPassword = "guest@example.org", "guest passw0rd long"
	const readerGUID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	// Each person has a browser of their own (no cookies shared), closed
	// when their part ends.
	if !t.Run("Admin", func(t *testing.T) {
		shareAsAdmin(t, s, newBrowser(t, s), *shared.ID, group["id"], guestMail, readerGUID)
	}) {
		return
	}

	// What the browser did is what ARM has.
	status, _, list := s.Do(t, http.MethodGet, *shared.ID+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", token, nil)
	var here []string
	for _, a := range values(list) {
		p := a["properties"].(map[string]any)
		if strings.EqualFold(p["scope"].(string), *shared.ID) {
			here = append(here, fmt.Sprintf("%s %s", p["principalType"], p["roleDefinitionId"].(string)[strings.LastIndex(p["roleDefinitionId"].(string), "/")+1:]))
		}
	}
	if status != http.StatusOK || strings.Join(here, ",") != "User "+readerGUID {
		t.Errorf("assignments at the gallery: %d %v, want only Reader for the guest", status, here)
	}

	t.Run("Guest", func(t *testing.T) {
		guest := newBrowser(t, s)
		openInvitationAsGuest(t, s, guest, ms, guestMail, guestPassword)
		guestSeesOnlyTheSharedGallery(t, s, guest, *shared.ID, *private.ID, version)
	})
}

// shareAsAdmin: Access control (IAM) on the gallery, Reader for an
// address outside the organisation (invited), Reader for a directory
// group picked from the suggestions, which is then removed.
func shareAsAdmin(t *testing.T, s *Server, admin *browser, gallery string, groupID any, guestMail, readerGUID string) {
	admin.signIn(s.Creds.AdminUserPrincipalName, s.Creds.AdminPassword)
	admin.run("open the shared gallery",
		chromedp.Navigate(s.URL+"/portal/resource"+gallery),
		waitText("h1", "sharedGallery"))
	admin.run("access control",
		chromedp.Click(chromedp.ID("access-control")),
		chromedp.WaitVisible(chromedp.ID("add-role-assignment")),
		waitText("h1", "sharedGallery | Access control (IAM)"),
		waitText(`#role-assignments tr[data-role="Owner"] .scope`, "Inherited from Subscription"))
	admin.checkAccessible("IAM page")
	admin.run("add role assignment",
		chromedp.Click(chromedp.ID("add-role-assignment")),
		chromedp.WaitVisible(chromedp.ID("member")))
	admin.checkAccessible("add role assignment")
	admin.run("narrow window", chromedp.EmulateViewport(390, 800))
	admin.checkAccessible("add role assignment at 390 px")
	admin.run("wide window", chromedp.EmulateViewport(1280, 900))
	admin.run("pick Reader",
		chromedp.Click(chromedp.ID("role-"+readerGUID)),
		waitText("#role-"+readerGUID+"-description", "View all resources, but does not allow you to make any changes."))
	admin.run("an address outside the organisation",
		chromedp.Click(chromedp.ID("kind-user")),
		chromedp.SendKeys(chromedp.ID("member"), guestMail),
		chromedp.WaitVisible(chromedp.ID("invite-notice")),
		waitText("#invite-notice", guestMail+" is outside the organisation. When you save, they will be sent an e-mail invitation"))
	admin.run("save the invitation",
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("access-banner")),
		waitText("#access-banner", "Added the role assignment: Reader for guest "+guestMail),
		waitText("#access-banner", "An invitation was sent to "+guestMail+"."))
	guestRow := admin.text(`#role-assignments tr[data-role="Reader"][data-here="true"]`)
	ownerRows := admin.text(`#role-assignments tr[data-role="Owner"]`)
	if !strings.Contains(guestRow, guestMail) || !strings.Contains(guestRow, "Guest") || !strings.Contains(guestRow, "This resource") ||
		!strings.Contains(ownerRows, "Inherited from Subscription") {
		t.Errorf("the IAM page lists Reader as %q and Owner as %q", guestRow, ownerRows)
	}

	// A directory group, picked from the suggestions, then removed.
	admin.run("add Reader for a group",
		chromedp.Navigate(s.URL+"/portal/access/add?role=Reader&scope="+url.QueryEscape(gallery)),
		chromedp.WaitVisible(chromedp.ID("member")),
		chromedp.Click(chromedp.ID("kind-group")),
		chromedp.SendKeys(chromedp.ID("member"), "Gallery Rea"),
		waitText(`#member-suggestions [role="option"]`, "Gallery Readers"))
	if !admin.checked("#role-" + readerGUID) {
		t.Error("?role=Reader does not preselect Reader")
	}
	admin.run("pick the group with the keyboard",
		chromedp.KeyEvent(kb.ArrowDown),
		waitText(`#member-suggestions [role="option"][aria-selected="true"]`, "Gallery Readers"),
		chromedp.KeyEvent(kb.Enter),
		waitText("#member-selected", "Selected: Gallery Readers"))
	if loc := admin.location(); !strings.Contains(loc, "/portal/access/add") {
		t.Errorf("Enter on a suggestion submitted the form: the browser is at %s", loc)
	}
	if got := admin.value("#principal_id"); got != groupID {
		t.Errorf("picked principal = %q, want the group %v", got, groupID)
	}
	admin.run("save the group",
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("access-banner")),
		waitText("#access-banner", "Added the role assignment: Reader for group Gallery Readers at this resource."),
		waitText(`#role-assignments tr[data-principal="Gallery Readers"]`, "This resource"))
	admin.run("remove the group",
		chromedp.Click(chromedp.CSS(`#role-assignments tr[data-principal="Gallery Readers"] button.remove`)),
		chromedp.WaitVisible(chromedp.ID("confirm-remove")),
		waitText("#remove-confirm", "Reader for Gallery Readers"))
	admin.run("confirm removing",
		chromedp.Click(chromedp.ID("confirm-remove")),
		chromedp.WaitVisible(chromedp.ID("access-banner")),
		waitText("#access-banner", "Removed the role assignment: Reader for Gallery Readers (Group)."),
		chromedp.Poll[chromedp.Void](`document.querySelector('#role-assignments tr[data-principal="Gallery Readers"]') === null`))

}

// openInvitationAsGuest: the e-mail at the SMTP server, its link in the
// guest's browser, a password, Continue, sign-in.
func openInvitationAsGuest(t *testing.T, s *Server, guest *browser, ms *mailServer, guestMail, guestPassword string) {
	msg := parseMail(t, ms.wait(t, guestMail, 0).Data)
	if !strings.Contains(msg.Text, "sharedGallery") {
		t.Errorf("the invitation does not name the gallery:\n%s", msg.Text)
	}
	link := linkIn(t, msg.Text)
	guest.run("open the invitation",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		waitText("body", "invited "+guestMail+" to"))
	guest.run("choose a password",
		chromedp.SendKeys(chromedp.ID("password"), guestPassword),
		chromedp.SendKeys(chromedp.ID("confirm"), guestPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href*="/portal/resource/"]`)),
		waitText("h1", "Your account is ready"))
	guest.run("continue",
		chromedp.Click(chromedp.CSS(`a[href*="/portal/resource/"]`)),
		chromedp.WaitVisible(chromedp.ID("username")))
	guest.run("sign in as the guest",
		chromedp.SendKeys(chromedp.ID("username"), guestMail),
		chromedp.SendKeys(chromedp.ID("password"), guestPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("access-control")),
		waitText("h1", "sharedGallery"),
		waitText("#image-definitions", "sharedImage"))
}

// guestSeesOnlyTheSharedGallery: All resources lists the shared gallery,
// its definition and version and nothing else; another gallery's page is
// refused; the version's page opens.
func guestSeesOnlyTheSharedGallery(t *testing.T, s *Server, guest *browser, shared, private, version string) {
	guest.run("all resources",
		chromedp.Navigate(s.URL+"/portal/resources"),
		waitText("h1", "All resources"),
		waitText("main tbody", "sharedGallery"))
	rows, err := chromedp.Run(guest.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main tbody tr")].map((tr) => tr.cells[0].textContent.trim() + " " + tr.cells[1].textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.0.0 VM image version", "sharedGallery Azure compute gallery", "sharedImage VM image definition"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("the guest's All resources:\n%s\nwant exactly:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	guest.run("another gallery by its address",
		chromedp.Navigate(s.URL+"/portal/resource"+private),
		waitText(".banner.error", "AuthorizationFailed"))
	if page := guest.text("main"); strings.Contains(page, "privateImage") || strings.Contains(page, "Image definitions") || strings.Contains(page, "eastus") {
		t.Errorf("the refusal shows the gallery's data:\n%s", page)
	}
	// A Reader reads the assignments too; the directory, which a guest may
	// not read, names no one but the guest itself.
	guest.run("the shared gallery's access control",
		chromedp.Navigate(s.URL+"/portal/access?scope="+url.QueryEscape(shared)),
		waitText("#access-notice", "Names are not shown"),
		waitText(`#role-assignments tr[data-role="Reader"]`, "(you)"),
		waitText(`#role-assignments tr[data-role="Reader"]`, "This resource"),
		waitText(`#role-assignments tr[data-role="Owner"]`, "Inherited from Subscription"))
	guest.run("the shared version",
		chromedp.Navigate(s.URL+"/portal/resource"+version),
		waitText("h1", "1.0.0"),
		waitText("#provisioning-state", "Succeeded"))
}

// checked reports whether the checkbox or radio sel (CSS) is checked.
func (b *browser) checked(sel string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q)?.checked === true`, sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return ok
}
