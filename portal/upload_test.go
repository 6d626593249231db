package portal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galleon-project/galleon/vhd"
)

// scriptedARM answers the requests a test scripts, by "METHOD path", and
// the pages' other reads as fakeARM does; it records every request.
type scriptedARM struct {
	mu      sync.Mutex
	answers map[string]scriptedAnswer
	calls   []string
	bodies  map[string]string
}

type scriptedAnswer struct {
	status int
	body   string
	header map[string]string
}

func newScriptedARM() *scriptedARM {
	return &scriptedARM{answers: map[string]scriptedAnswer{}, bodies: map[string]string{}}
}

func (a *scriptedARM) answer(method, path string, status int, body string, header ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	a.answers[method+" "+path] = scriptedAnswer{status, body, h}
}

func (a *scriptedARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	a.mu.Lock()
	ans, ok := a.answers[key]
	a.calls = append(a.calls, key)
	a.bodies[key] = body.String()
	a.mu.Unlock()
	if !ok {
		if r.Method == http.MethodGet {
			(&fakeARM{}).ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":"Unscripted","message":"` + key + `"}}`))
		return
	}
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_, _ = w.Write([]byte(ans.body))
}

// writes are the requests other than GET, in order.
func (a *scriptedARM) writes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, c := range a.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func (a *scriptedARM) body(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bodies[key]
}

// newScriptedPortal is a portal on a scripted ARM with alice signed in.
func newScriptedPortal(t *testing.T) (*testBrowser, *scriptedARM) {
	t.Helper()
	s, _, _ := newTestServer(t)
	arm := newScriptedARM()
	s.ARM = arm
	b := &testBrowser{t: t, h: s.Handler()}
	if w := b.signIn(alicePassword); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", w.Code)
	}
	return b, arm
}

// footerOf is a fixed VHD footer for a disk of size bytes.
func footerOf(t *testing.T, size int64, mutate func(f *vhd.Footer)) []byte {
	t.Helper()
	f, err := vhd.NewFixedFooter(size, time.Unix(1_700_000_000, 0), [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(f)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlanUpload(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	id := [16]byte{9, 9, 9}
	const mib = 1 << 20
	for _, tt := range []struct {
		name       string
		size       int64
		head, tail []byte
		wantKind   string
		wantUpload int64
		wantPad    int64
		wantErr    string
	}{
		{name: "OKFixedVHD", size: 24*mib + 512, tail: footerOf(t, 24*mib, nil), wantKind: uploadVHD, wantUpload: 24*mib + 512},
		{name: "OKRawWholeMiB", size: 24 * mib, tail: make([]byte, 512), wantKind: uploadRaw, wantUpload: 24*mib + 512},
		{name: "OKRawPadded", size: 21*mib - 3*512, tail: make([]byte, 512), wantKind: uploadRaw, wantUpload: 21*mib + 512, wantPad: 3 * 512},
		{name: "OKRawTiny", size: 512, tail: make([]byte, 512), wantKind: uploadRaw, wantUpload: mib + 512, wantPad: mib - 512},
		{name: "ErrEmpty", size: 0, wantErr: "is empty"},
		{name: "ErrQcow2", size: 24 * mib, head: []byte("QFI\xfb\x00\x00\x00\x03"), wantErr: "is a QCOW2 image"},
		{name: "ErrVHDX", size: 24 * mib, head: []byte("vhdxfile"), wantErr: "qemu-img convert -f vhdx"},
		{name: "ErrNotSectors", size: 24*mib + 1000, wantErr: "not a whole number of 512-byte sectors"},
		{name: "ErrDynamicVHD", size: 24*mib + 512, tail: footerOf(t, 24*mib, func(f *vhd.Footer) { f.DiskType = vhd.DiskTypeDynamic }),
			wantErr: "ends with a VHD footer, but the VHD is dynamic"},
		{name: "ErrVHDSizeMismatch", size: 25*mib + 512, tail: footerOf(t, 24*mib, nil), wantErr: "the file holds 26214400 bytes before its footer"},
		{name: "ErrVHDNotWholeMiB", size: 24*mib + 1024, tail: footerOf(t, 24*mib+512, nil), wantErr: "whole number of MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planUpload("disk.img", tt.size, tt.head, tt.tail, now, id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("planUpload = %+v, %v; want an error with %q", p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.wantKind || p.UploadSize != tt.wantUpload || p.Padding != tt.wantPad || p.FileSize != tt.size {
				t.Fatalf("plan = %+v; want %s, upload %d, padding %d", p, tt.wantKind, tt.wantUpload, tt.wantPad)
			}
			if p.Kind == uploadVHD {
				if p.Footer != nil {
					t.Errorf("a VHD's plan carries a footer")
				}
				return
			}
			// A raw image's footer describes the padded disk and sits at
			// its end, where the server's check will find it.
			if p.FooterOffset != p.UploadSize-vhd.FooterSize || p.FileSize+p.Padding != p.FooterOffset {
				t.Errorf("footer at %d, upload %d, file %d + padding %d", p.FooterOffset, p.UploadSize, p.FileSize, p.Padding)
			}
			f, err := vhd.ValidateForAzure(&tailReader{tail: p.Footer, size: p.UploadSize}, p.UploadSize)
			if err != nil {
				t.Fatalf("the generated footer does not pass Azure's rules: %v", err)
			}
			if f.UniqueID != id || !f.Timestamp.Equal(now) {
				t.Errorf("footer id %x at %v, want %x at %v", f.UniqueID, f.Timestamp, id, now)
			}
		})
	}
}

func TestTailReader(t *testing.T) {
	r := &tailReader{tail: []byte("abcd"), size: 10}
	for _, tt := range []struct {
		off     int64
		n       int
		want    string
		wantErr bool
	}{
		{6, 4, "abcd", false},
		{8, 2, "cd", false},
		{8, 4, "cd", true}, // past the end: io.EOF with what there is
		{5, 1, "", true},   // before the tail
	} {
		p := make([]byte, tt.n)
		n, err := r.ReadAt(p, tt.off)
		if string(p[:n]) != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ReadAt(%d, %d) = %q, %v; want %q (error %v)", tt.off, tt.n, p[:n], err, tt.want, tt.wantErr)
		}
	}
}

func TestSASPath(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		wantErr  bool
	}{
		{"https://galleon.example.com/blobs/eastus/upload-abc-25166336?sv=1&sig=x%2By", "/blobs/eastus/upload-abc-25166336?sv=1&sig=x%2By", false},
		{"https://127.0.0.1:8443/blobs/eastus/upload-abc-1?sig=z", "/blobs/eastus/upload-abc-1?sig=z", false},
		{"https://evil.example/elsewhere?sig=z", "", true},
		{"https://galleon.example.com/blobs/eastus/upload-abc-1", "", true}, // no signature
		{"::", "", true},
	} {
		got, err := sasPath(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("sasPath(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

const snapID = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/snapshots/mySnap"

func startForm(csrf string, mutate func(url.Values)) url.Values {
	f := url.Values{"csrf_token": {csrf}, "subscription": {"sub1"}, "resource_group": {"rg1"}, "name": {"mySnap"},
		"region": {"eastus"}, "os_type": {"Linux"}, "generation": {"V1"}, "file_name": {"disk.raw"},
		"file_size": {"25165824"}, "head": {base64.StdEncoding.EncodeToString([]byte("\xeb\x63\x90\x00\x00\x00\x00\x00"))},
		"tail": {base64.StdEncoding.EncodeToString(make([]byte, 512))}}
	if mutate != nil {
		mutate(f)
	}
	return f
}

func TestUpload_Start(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodPut, snapID, http.StatusOK, `{"id":"`+snapID+`"}`)
		arm.answer(http.MethodPost, snapID+"/beginGetAccess", http.StatusOK,
			`{"accessSAS":"https://public.example/blobs/eastus/upload-u1-25166336?sp=rw&sig=abc"}`)
		w := b.do(http.MethodPost, "/portal/upload/start", startForm(b.csrf("/portal/upload"), nil))
		if w.Code != http.StatusOK {
			t.Fatalf("start = %d\n%s", w.Code, w.Body)
		}
		var got uploadStarted
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != snapID || got.SAS != "/blobs/eastus/upload-u1-25166336?sp=rw&sig=abc" || got.Kind != uploadRaw ||
			got.UploadSize != 24<<20+512 || len(got.Footer) != 512 || got.FooterOffset != 24<<20 || got.ResourceURL != "/portal/resource"+snapID {
			t.Errorf("started = %+v", got)
		}
		var put struct {
			Location   string `json:"location"`
			Properties struct {
				OSType           string `json:"osType"`
				HyperVGeneration string `json:"hyperVGeneration"`
				CreationData     struct {
					CreateOption    string `json:"createOption"`
					UploadSizeBytes int64  `json:"uploadSizeBytes"`
				} `json:"creationData"`
			} `json:"properties"`
		}
		if err := json.Unmarshal([]byte(arm.body("PUT "+snapID)), &put); err != nil {
			t.Fatal(err)
		}
		if put.Location != "eastus" || put.Properties.OSType != "Linux" || put.Properties.HyperVGeneration != "V1" ||
			put.Properties.CreationData.CreateOption != "Upload" || put.Properties.CreationData.UploadSizeBytes != 24<<20+512 {
			t.Errorf("PUT snapshot body = %+v", put)
		}
		if access := arm.body("POST " + snapID + "/beginGetAccess"); !strings.Contains(access, `"access":"Write"`) {
			t.Errorf("beginGetAccess body = %s", access)
		}
	})
	for _, tt := range []struct {
		name      string
		mutate    func(url.Values)
		script    func(a *scriptedARM)
		wantCode  int
		wantField string
		wantMsg   string
		// wantWrites are the ARM writes made; none unless listed.
		wantWrites []string
	}{
		{name: "ErrBadName", mutate: func(f url.Values) { f.Set("name", "-bad name") }, wantCode: 422, wantField: "name", wantMsg: "Disk and snapshot names may contain"},
		{name: "ErrNoFile", mutate: func(f url.Values) { f.Del("file_size") }, wantCode: 422, wantField: "file", wantMsg: "Choose a file"},
		{name: "ErrNotSectors", mutate: func(f url.Values) { f.Set("file_size", "25166000") }, wantCode: 422, wantField: "file", wantMsg: "not a whole number of 512-byte sectors"},
		{name: "ErrQcow2", mutate: func(f url.Values) { f.Set("head", base64.StdEncoding.EncodeToString([]byte("QFI\xfb"))) }, wantCode: 422, wantField: "file", wantMsg: "qemu-img convert -f qcow2"},
		{name: "ErrBadGroup", mutate: func(f url.Values) { f.Set("resource_group", "../x") }, wantCode: 422, wantField: "resource_group", wantMsg: "Resource group '../x' is invalid"},
		{name: "ErrExists", script: func(a *scriptedARM) { a.answer(http.MethodGet, snapID, http.StatusOK, `{"id":"`+snapID+`"}`) },
			wantCode: 409, wantField: "name", wantMsg: "A snapshot named 'mySnap' already exists"},
		{name: "ErrTooSmall", mutate: func(f url.Values) { f.Set("file_size", "1048576") },
			script: func(a *scriptedARM) {
				a.answer(http.MethodPut, snapID, http.StatusBadRequest, `{"error":{"code":"InvalidParameter","target":"properties.creationData.uploadSizeBytes","message":"The upload size 1049088 bytes is invalid"}}`)
			},
			wantCode: 400, wantField: "file", wantMsg: "InvalidParameter: The upload size 1049088 bytes is invalid", wantWrites: []string{"PUT " + snapID}},
		{name: "ErrForbidden", script: func(a *scriptedARM) {
			a.answer(http.MethodPut, snapID, http.StatusForbidden, `{"error":{"code":"AuthorizationFailed","message":"no write"}}`)
		}, wantCode: 403, wantMsg: "AuthorizationFailed: no write", wantWrites: []string{"PUT " + snapID}},
		{name: "ErrGrantRefusedDeletesSnapshot", script: func(a *scriptedARM) {
			a.answer(http.MethodPut, snapID, http.StatusOK, `{}`)
			a.answer(http.MethodPost, snapID+"/beginGetAccess", http.StatusConflict, `{"error":{"code":"OperationNotAllowed","message":"no"}}`)
			a.answer(http.MethodDelete, snapID, http.StatusOK, ``)
		}, wantCode: 409, wantMsg: "OperationNotAllowed: no", wantWrites: []string{"PUT " + snapID, "POST " + snapID + "/beginGetAccess", "DELETE " + snapID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, arm := newScriptedPortal(t)
			if tt.script != nil {
				tt.script(arm)
			}
			w := b.do(http.MethodPost, "/portal/upload/start", startForm(b.csrf("/portal/upload"), tt.mutate))
			var got uploadFailure
			_ = json.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tt.wantCode || got.Field != tt.wantField || !strings.Contains(got.Error, tt.wantMsg) {
				t.Errorf("start = %d %+v; want %d about %q with %q", w.Code, got, tt.wantCode, tt.wantField, tt.wantMsg)
			}
			if got := arm.writes(); strings.Join(got, "\n") != strings.Join(tt.wantWrites, "\n") {
				t.Errorf("ARM writes = %q, want %q", got, tt.wantWrites)
			}
		})
	}
	t.Run("ErrNoCSRF", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		for _, path := range []string{"/portal/upload/start", "/portal/upload/finish"} {
			form := startForm("", nil)
			form.Set("id", snapID)
			if w := b.do(http.MethodPost, path, form); w.Code != http.StatusForbidden {
				t.Errorf("%s without a CSRF token = %d, want 403", path, w.Code)
			}
		}
		if got := arm.writes(); len(got) != 0 {
			t.Errorf("ARM writes without a CSRF token: %v", got)
		}
	})
}

func TestUpload_Finish(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodPost, snapID+"/endGetAccess", http.StatusOK, ``)
		arm.answer(http.MethodGet, snapID, http.StatusOK, `{"id":"`+snapID+`","type":"Microsoft.Compute/snapshots","properties":{"diskState":"Unattached","galleonSha256":"sha256:abc"}}`)
		w := b.do(http.MethodPost, "/portal/upload/finish", url.Values{"csrf_token": {b.csrf("/portal/upload")}, "id": {snapID}})
		var got uploadSealed
		_ = json.Unmarshal(w.Body.Bytes(), &got)
		if w.Code != http.StatusOK || got.Digest != "sha256:abc" || got.State != "Unattached" || got.Name != "mySnap" || got.ResourceURL != "/portal/resource"+snapID {
			t.Errorf("finish = %d %+v", w.Code, got)
		}
	})
	t.Run("ErrNotAVHD", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		arm.answer(http.MethodPost, snapID+"/endGetAccess", http.StatusBadRequest,
			`{"error":{"code":"InvalidParameter","target":"vhd","message":"The uploaded bytes are not a VHD Azure accepts: the cookie is wrong"}}`)
		w := b.do(http.MethodPost, "/portal/upload/finish", url.Values{"csrf_token": {b.csrf("/portal/upload")}, "id": {snapID}})
		var got uploadFailure
		_ = json.Unmarshal(w.Body.Bytes(), &got)
		if w.Code != http.StatusBadRequest || !strings.Contains(got.Error, "not a VHD Azure accepts") {
			t.Errorf("finish = %d %+v", w.Code, got)
		}
	})
	t.Run("ErrNotASnapshot", func(t *testing.T) {
		b, arm := newScriptedPortal(t)
		w := b.do(http.MethodPost, "/portal/upload/finish", url.Values{"csrf_token": {b.csrf("/portal/upload")},
			"id": {"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/galleries/g"}})
		if w.Code != http.StatusBadRequest || len(arm.writes()) != 0 {
			t.Errorf("finish on a gallery = %d, writes %v", w.Code, arm.writes())
		}
	})
}

func TestUpload_Page(t *testing.T) {
	b, _ := newScriptedPortal(t)
	w := b.do(http.MethodGet, "/portal/upload?resourceGroup=rg1&return=%2Fportal%2Fversions%2Fcreate%3Fimage%3Dx", nil)
	body := w.Body.String()
	for _, want := range []string{`<script src="/portal/static/upload.js" defer></script>`, `id="upload-progress"`,
		`<option value="rg1" data-subscription="sub1" data-location="eastus" selected>`, `<option value="eastus" selected>`,
		`data-validate="snapshot"`, `href="/portal/versions/create?image=x" id="upload-back"`, `name="csrf_token"`} {
		if !strings.Contains(body, want) {
			t.Errorf("upload page lacks %s", want)
		}
	}
	// A return address elsewhere is dropped.
	w = b.do(http.MethodGet, "/portal/upload?return=https%3A%2F%2Fevil.example%2F", nil)
	if strings.Contains(w.Body.String(), "evil.example") {
		t.Error("the upload page links to a foreign return address")
	}
}
