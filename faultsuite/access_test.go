package faultsuite

import (
	"net/http"
	"testing"

	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/sqlstore"
)

// TestSeal_Concurrent: a second endGetAccess that runs while the first is
// between reading the bytes and recording them wins; the first answers
// 409 Conflict instead of recording its own result over it. The second
// runs inside the first's failpoint, so the interleaving is exact.
func TestSeal_Concurrent(t *testing.T) {
	dialects(t, func(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
		e := newEnv(t, open(t))
		e.f.MustPutResourceGroup(t, "rg")
		data := makeVHD(t, 11)
		e.upload(e.createUpload("rg", "s"), data)
		inner := 0
		var innerBody map[string]any
		off := failpoint.EnableFunc("seal/after-ingest", func() error {
			if failpoint.Hits("seal/after-ingest") == 1 {
				inner, innerBody = e.endGetAccess("rg", "s")
			}
			return nil
		})
		outer, body := e.endGetAccess("rg", "s")
		off()
		if inner != http.StatusOK {
			t.Errorf("the seal that started second = %d %v, want 200", inner, innerBody)
		}
		errBody, _ := body["error"].(map[string]any)
		if outer != http.StatusConflict || errBody["code"] != "Conflict" {
			t.Errorf("the seal that started first = %d %v, want 409 Conflict", outer, body)
		}
		if !e.checkDisk("rg", "s", data) {
			t.Error("the disk is not sealed")
		}
		// The loser's pending copy was cleaned up with the winner's.
		if ids, err := e.stores["eastus"][0].ListManifests(e.ctx, "seal-"); err != nil || len(ids) != 0 {
			t.Errorf("pending copies left: %v, %v", ids, err)
		}
		// Once sealed, endGetAccess is a revocation and answers 200.
		if code, out := e.endGetAccess("rg", "s"); code != http.StatusOK {
			t.Errorf("endGetAccess on the sealed disk = %d %v", code, out)
		}
	})
}

// TestSAS_EndsWithAccess: a write SAS stops at the seal, a read SAS at
// endGetAccess (revokeAccess), and neither comes back when the disk is
// PUT again; a new grant works. Before access generations, the write SAS
// still took pages (201) and listed them after the seal, and the read
// SAS still read (200) after revokeAccess.
func TestSAS_EndsWithAccess(t *testing.T) {
	dialects(t, func(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
		e := newEnv(t, open(t))
		e.f.MustPutResourceGroup(t, "rg")
		data := makeVHD(t, 12)
		write := e.createUpload("rg", "s")
		// A second write grant during the upload does not end the first.
		write2 := e.grant("rg", "s", "Write")
		e.upload(write, data[:len(data)-512])
		e.upload2(write2, int64(len(data)-512), data[len(data)-512:])
		if code, out := e.endGetAccess("rg", "s"); code != http.StatusOK {
			t.Fatalf("seal = %d %v", code, out)
		}
		wantRefused := func(what string, code int, ec string) {
			t.Helper()
			if code != http.StatusForbidden || ec != "AuthenticationFailed" {
				t.Errorf("%s = %d %s, want 403 AuthenticationFailed", what, code, ec)
			}
		}
		code, ec := e.putPage(write, 0, make([]byte, 512))
		wantRefused("Put Page with the write SAS after the seal", code, ec)
		code, ec, _ = e.sasGet(write2, "pagelist")
		wantRefused("Get Page Ranges with the write SAS after the seal", code, ec)

		read := e.grant("rg", "s", "Read")
		if code, _, b := e.sasGet(read, ""); code != http.StatusOK || digest(b) != digest(data) {
			t.Fatalf("reading with a read SAS = %d, %d bytes", code, len(b))
		}
		if code, out := e.endGetAccess("rg", "s"); code != http.StatusOK {
			t.Fatalf("revokeAccess = %d %v", code, out)
		}
		code, ec, _ = e.sasGet(read, "")
		wantRefused("reading after revokeAccess", code, ec)

		read2 := e.grant("rg", "s", "Read")
		e.mustDo("PUT", e.snapshotPath("rg", "s")+diskAPI, map[string]any{"location": "eastus", "tags": map[string]any{"t": "v"},
			"properties": map[string]any{"creationData": map[string]any{"createOption": "Upload", "uploadSizeBytes": vhdSize}}}, http.StatusOK)
		code, ec, _ = e.sasGet(read, "")
		wantRefused("the revoked SAS after a PUT of the disk", code, ec)
		if code, _, b := e.sasGet(read2, ""); code != http.StatusOK || digest(b) != digest(data) {
			t.Errorf("a SAS granted after the revocation = %d, %d bytes", code, len(b))
		}
		e.mustDo("DELETE", e.snapshotPath("rg", "s")+diskAPI, nil, http.StatusOK)
		code, ec, _ = e.sasGet(read2, "")
		wantRefused("reading a deleted snapshot", code, ec)
	})
}
