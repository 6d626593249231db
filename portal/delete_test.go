package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	galleryID = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/myGallery"
	groupID   = "/subscriptions/sub1/resourceGroups/rg1"
)

func TestParseDeletable(t *testing.T) {
	for _, tt := range []struct {
		id, wantLabel, wantParent string
	}{
		{groupID, "resource group", "/portal/resources"},
		{galleryID, "Azure compute gallery", "/portal/galleries"},
		{galleryID + "/images/def", "VM image definition", "/portal/resource" + galleryID},
		{galleryID + "/images/def/versions/1.0.0", "VM image version", "/portal/resource" + galleryID + "/images/def"},
		{snapID, "snapshot", "/portal/resource" + groupID},
		{"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/disks/d", "disk", "/portal/resource" + groupID},
		{"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/images/i", "image", "/portal/resource" + groupID},
		{"/subscriptions/SUB1/resourcegroups/rg1/providers/microsoft.compute/SNAPSHOTS/s", "snapshot", "/portal/resource/subscriptions/SUB1/resourceGroups/rg1"},
		{"/subscriptions/sub1", "", ""},
		{"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Authorization/roleAssignments/x", "", ""},
		{"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v", "", ""},
		{"https://evil.example" + snapID, "", ""},
		{"", "", ""},
	} {
		id, k := parseDeletable(tt.id)
		switch {
		case tt.wantLabel == "" && (id != nil || k != nil):
			t.Errorf("parseDeletable(%q) = %v, %+v; want nothing", tt.id, id, k)
		case tt.wantLabel != "" && k == nil:
			t.Errorf("parseDeletable(%q) = nothing; want a %s", tt.id, tt.wantLabel)
		case k != nil && (k.Label != tt.wantLabel || k.parent(id) != tt.wantParent):
			t.Errorf("parseDeletable(%q) = %s going to %s; want %s going to %s", tt.id, k.Label, k.parent(id), tt.wantLabel, tt.wantParent)
		}
	}
}

func TestDeletedNotice(t *testing.T) {
	for _, tt := range []struct{ deleted, want string }{
		{snapID, "The snapshot 'mySnap' was deleted."},
		{galleryID, "The Azure compute gallery 'myGallery' was deleted."},
		{groupID, "The resource group 'rg1' was deleted."},
		{"", ""},
		{"/subscriptions/sub1", ""},
		{"not an id", ""},
		// A crafted link cannot put words of its own on the page.
		{"/subscriptions/sub1/resourceGroups/Your account is locked call 555", ""},
		{"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/snapshots/<b>x</b>", ""},
	} {
		if got := deletedNotice(url.Values{"deleted": {tt.deleted}}); got != tt.want {
			t.Errorf("deletedNotice(%q) = %q, want %q", tt.deleted, got, tt.want)
		}
	}
}

func TestConfirmMismatch(t *testing.T) {
	for _, tt := range []struct{ name, typed, want string }{
		{"mySnap", "mySnap", ""},
		{"mySnap", "", "Type the name 'mySnap' to confirm."},
		{"mySnap", "mysnap", "with the same capitals"},
		{"mySnap", "other", "'other' is not the name of this resource"},
	} {
		got := confirmMismatch(tt.name, tt.typed)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("confirmMismatch(%q, %q) = %q, want %q", tt.name, tt.typed, got, tt.want)
		}
	}
}

func TestDeletedURL(t *testing.T) {
	for _, tt := range []struct{ page, id, want string }{
		{"/portal/galleries", galleryID, "/portal/galleries?deleted=" + url.QueryEscape(galleryID)},
		{"/portal/x?a=b", snapID, "/portal/x?a=b&deleted=" + url.QueryEscape(snapID)},
	} {
		if got := deletedURL(tt.page, tt.id); got != tt.want {
			t.Errorf("deletedURL(%q, %q) = %q, want %q", tt.page, tt.id, got, tt.want)
		}
	}
}

// deleteForm is the confirmation page's form for id, with name typed.
func deleteForm(b *testBrowser, id, typed string) url.Values {
	return url.Values{"csrf_token": {b.csrf("/portal/delete?id=" + url.QueryEscape(id))}, "id": {id}, "confirm_name": {typed}}
}

func TestDelete(t *testing.T) {
	t.Run("Page", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodGet, snapID, http.StatusOK, `{}`)
		w := b.do(http.MethodGet, "/portal/delete?id="+url.QueryEscape(snapID), nil)
		body := w.Body.String()
		for _, want := range []string{"<h1>Delete mySnap</h1>", `id="confirm-name"`, `data-name="mySnap"`, `id="confirm-delete"`,
			"Deleting a snapshot deletes its bytes", `<script src="/portal/static/delete.js" defer></script>`} {
			if w.Code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("delete page (%d) lacks %s", w.Code, want)
			}
		}
	})
	t.Run("OK", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodGet, snapID, http.StatusOK, `{}`)
		arm.answer(http.MethodDelete, snapID, http.StatusOK, ``)
		w := b.do(http.MethodPost, "/portal/delete", deleteForm(b, snapID, "mySnap"))
		want := "/portal/resource" + groupID + "?deleted=" + url.QueryEscape(snapID)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("delete = %d to %q, want 303 to %s", w.Code, w.Header().Get("Location"), want)
		}
		if got := arm.writes(); len(got) != 1 || got[0] != "DELETE "+snapID {
			t.Errorf("ARM writes = %v", got)
		}
	})
	t.Run("OKBackground", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		op := "/subscriptions/sub1/providers/Microsoft.Compute/locations/eastus/capsOperations/op1"
		arm.answer(http.MethodGet, groupID, http.StatusOK, `{}`)
		arm.answer(http.MethodDelete, groupID, http.StatusAccepted, ``, "Azure-AsyncOperation", "https://public.example"+op+"?api-version=2025-03-03")
		w := b.do(http.MethodPost, "/portal/delete", deleteForm(b, groupID, "rg1"))
		loc := w.Header().Get("Location")
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/deletion?") {
			t.Fatalf("delete = %d to %q, want 303 to the deletion page", w.Code, loc)
		}
		arm.answer(http.MethodGet, op, http.StatusOK, `{"status":"InProgress"}`)
		w = b.do(http.MethodGet, loc, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-state="InProgress"`) {
			t.Errorf("deletion page = %d\n%s", w.Code, w.Body)
		}
		arm.answer(http.MethodGet, op, http.StatusOK, `{"status":"Succeeded"}`)
		w = b.do(http.MethodGet, strings.Replace(loc, "/portal/deletion?", "/portal/deletion/status?", 1), nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"next":"/portal/resources?deleted=`) {
			t.Errorf("deletion status = %d %s", w.Code, w.Body)
		}
		w = b.do(http.MethodGet, loc, nil)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/portal/resources?deleted=") {
			t.Errorf("finished deletion page = %d to %q", w.Code, w.Header().Get("Location"))
		}
		arm.answer(http.MethodGet, op, http.StatusOK, `{"status":"Failed","error":{"code":"Conflict","message":"stuck"}}`)
		w = b.do(http.MethodGet, loc, nil)
		if !strings.Contains(w.Body.String(), "Conflict: stuck") {
			t.Errorf("failed deletion page = %d\n%s", w.Code, w.Body)
		}
	})
	for _, tt := range []struct {
		name, id, typed string
		script          func(a *scriptedARM)
		wantCode        int
		wantBody        string
		wantWrites      int
	}{
		{name: "ErrWrongName", id: snapID, typed: "otherSnap", wantCode: 422, wantBody: "&#39;otherSnap&#39; is not the name of this resource"},
		{name: "ErrNameCase", id: snapID, typed: "MYSNAP", wantCode: 422, wantBody: "with the same capitals"},
		{name: "ErrBlocked", id: galleryID, typed: "myGallery", script: func(a *scriptedARM) {
			a.answer(http.MethodDelete, galleryID, http.StatusConflict,
				`{"error":{"code":"CannotDeleteResource","message":"The gallery 'myGallery' cannot be deleted because it contains image definitions ('def'). Delete them first."}}`)
		}, wantCode: 409, wantBody: `id="delete-error"><strong>Nothing was deleted.</strong> CannotDeleteResource: The gallery &#39;myGallery&#39; cannot be deleted because it contains image definitions`, wantWrites: 1},
		{name: "ErrForbidden", id: galleryID, typed: "myGallery", script: func(a *scriptedARM) {
			a.answer(http.MethodDelete, galleryID, http.StatusForbidden, `{"error":{"code":"AuthorizationFailed","message":"no delete"}}`)
		}, wantCode: 403, wantBody: "AuthorizationFailed: no delete", wantWrites: 1},
		{name: "ErrGone", id: snapID, typed: "mySnap", script: func(a *scriptedARM) {
			a.answer(http.MethodGet, snapID, http.StatusNotFound, `{"error":{"code":"ResourceNotFound","message":"gone"}}`)
		}, wantCode: 404, wantBody: "gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, arm := newScriptedPortal(t)
			arm.answer(http.MethodGet, tt.id, http.StatusOK, `{}`)
			if tt.script != nil {
				tt.script(arm)
			}
			form := url.Values{"csrf_token": {b.csrf("/portal/upload")}, "id": {tt.id}, "confirm_name": {tt.typed}}
			w := b.do(http.MethodPost, "/portal/delete", form)
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("delete = %d, want %d with %s\n%s", w.Code, tt.wantCode, tt.wantBody, w.Body)
			}
			if got := arm.writes(); len(got) != tt.wantWrites {
				t.Errorf("ARM writes = %v, want %d", got, tt.wantWrites)
			}
		})
	}
	t.Run("ErrNotDeletable", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		w := b.do(http.MethodGet, "/portal/delete?id=%2Fsubscriptions%2Fsub1", nil)
		if w.Code != http.StatusBadRequest || len(arm.writes()) != 0 {
			t.Errorf("deleting a subscription = %d, writes %v", w.Code, arm.writes())
		}
	})
	t.Run("ErrNoCSRF", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodGet, snapID, http.StatusOK, `{}`)
		w := b.do(http.MethodPost, "/portal/delete", url.Values{"id": {snapID}, "confirm_name": {"mySnap"}})
		if w.Code != http.StatusForbidden || len(arm.writes()) != 0 {
			t.Errorf("delete without a CSRF token = %d, writes %v", w.Code, arm.writes())
		}
	})
	t.Run("Notice", func(t *testing.T) {
		b, _ := newScriptedPortal(t)
		w := b.do(http.MethodGet, "/portal/galleries?deleted="+url.QueryEscape(galleryID), nil)
		if !strings.Contains(w.Body.String(), `id="deleted">The Azure compute gallery &#39;myGallery&#39; was deleted.</div>`) {
			t.Errorf("galleries page after a delete lacks the notice\n%s", w.Body)
		}
	})
}
