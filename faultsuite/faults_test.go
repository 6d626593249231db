package faultsuite

import (
	"net/http"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/sqlstore"
)

// TestFaults stops each multi-step write at each of its failpoints, on
// SQLite and on PostgreSQL, restarts, resumes, and checks that no disk or
// version is reported with bytes other than the ones written, before the
// restart and after. Failpoints are process-wide, so these subtests do
// not run in parallel.
func TestFaults(t *testing.T) {
	scenarios := []struct {
		point string
		run   func(e *env, point string)
	}{
		{"seal/after-ingest", sealAfterCrash},
		{"seal/after-record", sealAfterCrash},
		{"seal/during-staging-delete", sealAfterCrash},
		{"import/after-ingest", importAfterCrash},
		{"version-put/after-store", versionPutAfterCrash},
		{"replication/after-copy", replicationAfterCrash},
		{"replication/before-progress", replicationAfterCrash},
		{"replication/before-complete", replicationAfterCrash},
		{"gc/before-delete", gcAfterFailure},
		{"rg-delete/between-children", deleteGroupAfterCrash},
	}
	dialects(t, func(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
		for _, sc := range scenarios {
			t.Run(strings.ReplaceAll(sc.point, "/", "-"), func(t *testing.T) {
				sc.run(newEnv(t, open(t)), sc.point)
			})
		}
	})
}

// sealAfterCrash: endGetAccess dies at point; a retry after the restart
// completes the same seal, and nothing of the upload is left behind.
func sealAfterCrash(e *env, point string) {
	e.f.MustPutResourceGroup(e.t, "rg")
	data := makeVHD(e.t, 1)
	e.upload(e.createUpload("rg", "s"), data)
	if !e.crash(point, func() {
		if code, out := e.endGetAccess("rg", "s"); code != http.StatusInternalServerError {
			e.t.Errorf("the crashed endGetAccess = %d %v", code, out)
		}
	}) {
		e.t.Fatalf("%s was not reached", point)
	}
	// A copy made before anything else touches the crashed seal (no read
	// grant has finished it) has the written bytes, or is refused.
	code, out := e.do("PUT", e.snapshotPath("rg", "copy")+diskAPI, map[string]any{"location": "eastus", "properties": map[string]any{
		"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": e.snapshotPath("rg", "s")}}})
	if code != http.StatusOK && code != http.StatusBadRequest {
		e.t.Errorf("copying the crashed seal = %d %v", code, out)
	}
	e.checkDisk("rg", "copy", data)
	e.checkDisk("rg", "s", data)
	e.restart()
	if code, out := e.endGetAccess("rg", "s"); code != http.StatusOK {
		e.t.Fatalf("endGetAccess after the restart = %d %v", code, out)
	}
	if !e.checkDisk("rg", "s", data) {
		e.t.Fatal("the retried seal did not seal the disk")
	}
	// The staged pages and pending copies are gone: the retry cleaned up.
	for _, prefix := range []string{"uploads/", "manifests/seal-"} {
		it := e.stores["eastus"][0].Bucket.List(&blob.ListOptions{Prefix: prefix})
		if obj, err := it.Next(e.ctx); err == nil {
			e.t.Errorf("left behind after the retry: %s", obj.Key)
		}
	}
}

// importAfterCrash: PUT of an Import snapshot dies after the ingest; the
// snapshot does not exist until the PUT is retried.
func importAfterCrash(e *env, point string) {
	e.f.MustPutResourceGroup(e.t, "rg")
	body := map[string]any{"location": "eastus", "properties": map[string]any{"osType": "Linux",
		"creationData": map[string]any{"createOption": "Import", "sourceUri": e.source.URL + "/source.vhd"}}}
	if !e.crash(point, func() {
		if code, out := e.do("PUT", e.snapshotPath("rg", "imp")+diskAPI, body); code != http.StatusInternalServerError {
			e.t.Errorf("the crashed import = %d %v", code, out)
		}
	}) {
		e.t.Fatalf("%s was not reached", point)
	}
	if e.checkDisk("rg", "imp", e.vhd) {
		e.t.Error("a snapshot whose import crashed is reported")
	}
	e.restart()
	e.mustDo("PUT", e.snapshotPath("rg", "imp")+diskAPI, body, http.StatusOK)
	if !e.checkDisk("rg", "imp", e.vhd) {
		e.t.Fatal("the retried import is not sealed")
	}
}

// versionPutAfterCrash: PUT of a version dies after storing it and its
// replication (one transaction), before answering; the restarted runner
// finishes it, and a retried PUT replicates again to the same bytes.
func versionPutAfterCrash(e *env, point string) {
	e.setupGallery("rg")
	data := makeVHD(e.t, 2)
	e.sealedSnapshot("rg", "s", data)
	if !e.crash(point, func() {
		if code, out := e.putVersion("rg", "1.0.0", "s"); code != http.StatusInternalServerError {
			e.t.Errorf("the crashed PUT = %d %v", code, out)
		}
	}) {
		e.t.Fatalf("%s was not reached", point)
	}
	// The version and its operation were stored in one transaction, so
	// the runner of the restarted server finishes it without a retry.
	e.restart()
	e.runPending()
	if !e.checkVersion("rg", "1.0.0", data) {
		e.t.Fatal("a version stored before the crash was not finished by the restarted runner")
	}
	// A retried PUT (a client that saw the 500) is an update that
	// replicates again to the same bytes.
	if code, out := e.putVersion("rg", "1.0.0", "s"); code != http.StatusOK && code != http.StatusCreated {
		e.t.Fatalf("retrying the PUT = %d %v", code, out)
	}
	e.runPending()
	if !e.checkVersion("rg", "1.0.0", data) {
		e.t.Fatal("the version did not succeed after the retried PUT")
	}
}

// replicationAfterCrash: the reconciler dies at point; a new runner
// finishes the operation.
func replicationAfterCrash(e *env, point string) {
	e.setupGallery("rg")
	data := makeVHD(e.t, 3)
	e.sealedSnapshot("rg", "s", data)
	if code, out := e.putVersion("rg", "1.0.0", "s"); code != http.StatusCreated {
		e.t.Fatalf("PUT version = %d %v", code, out)
	}
	if !e.crash(point, func() { _ = e.reconciler.Reconcile(e.ctx, e.versionID("rg", "1.0.0")) }) {
		e.t.Fatalf("%s was not reached", point)
	}
	e.checkVersion("rg", "1.0.0", data)
	e.restart()
	e.runPending()
	if !e.checkVersion("rg", "1.0.0", data) {
		e.t.Fatal("the version did not succeed after the restart")
	}
}

// gcAfterFailure: a collection stops between listing and deleting. The
// point returns an error rather than panicking: in process, a panic would
// leave the GC lock's refresher running, which a real crash would not (the
// lock would expire after its TTL).
func gcAfterFailure(e *env, point string) {
	e.setupGallery("rg")
	data, kept := makeVHD(e.t, 4), makeVHD(e.t, 5)
	e.sealedSnapshot("rg", "s", data)
	e.sealedSnapshot("rg", "kept", kept)
	if code, out := e.putVersion("rg", "1.0.0", "s"); code != http.StatusCreated {
		e.t.Fatalf("PUT version = %d %v", code, out)
	}
	e.runPending()
	// Garbage: a sealed snapshot, deleted; and the version's source, whose
	// chunks the version still names.
	e.sealedSnapshot("rg", "junk", makeVHD(e.t, 6))
	e.mustDo("DELETE", e.snapshotPath("rg", "junk")+diskAPI, nil, http.StatusOK)
	e.mustDo("DELETE", e.snapshotPath("rg", "s")+diskAPI, nil, http.StatusOK)
	st := e.stores["eastus"][0]
	if !e.fail(point, failpoint.ReturnError, func() {
		if _, err := st.GC(e.ctx); !failpoint.IsInjected(err) {
			e.t.Errorf("the failed GC = %v", err)
		}
	}) {
		e.t.Fatalf("%s was not reached", point)
	}
	e.restart()
	e.collector.Collect(e.ctx)
	stats, err := st.GC(e.ctx)
	if err != nil || stats.ChunksDeleted != 0 {
		e.t.Errorf("a second GC after the collector: %+v, %v; want nothing left to delete", stats, err)
	}
	if !e.checkVersion("rg", "1.0.0", data) || !e.checkDisk("rg", "kept", kept) {
		e.t.Fatal("GC took what a version or a disk needs")
	}
	if got := countChunks(e, st); got == 0 {
		e.t.Error("no chunks left at all")
	}
}

func countChunks(e *env, st *chunkstore.Store) int {
	n := 0
	it := st.Bucket.List(&blob.ListOptions{Prefix: "chunks/"})
	for {
		if _, err := it.Next(e.ctx); err != nil {
			return n
		}
		n++
	}
}

// deleteGroupAfterCrash: deleting a group dies after its first disk's
// bytes are gone; a new runner finishes, and another group is untouched.
func deleteGroupAfterCrash(e *env, point string) {
	e.setupGallery("doomed")
	a, b, k := makeVHD(e.t, 8), makeVHD(e.t, 9), makeVHD(e.t, 10)
	e.sealedSnapshot("doomed", "a", a)
	e.sealedSnapshot("doomed", "b", b)
	if code, out := e.putVersion("doomed", "1.0.0", "a"); code != http.StatusCreated {
		e.t.Fatalf("PUT version = %d %v", code, out)
	}
	e.runPending()
	e.f.MustPutResourceGroup(e.t, "keep")
	e.sealedSnapshot("keep", "k", k)
	e.mustDo("DELETE", e.sub()+"/resourceGroups/doomed"+groupAPI, nil, http.StatusAccepted)
	op := &galleon.Operation{Kind: galleon.OperationDeleteResourceGroup, Target: e.sub() + "/resourceGroups/doomed"}
	if !e.crash(point, func() { _ = e.deleteRG(e.ctx, op) }) {
		e.t.Fatalf("%s was not reached", point)
	}
	e.restart()
	e.runPending()
	if e.checkDisk("doomed", "a", a) || e.checkDisk("doomed", "b", b) || e.checkVersion("doomed", "1.0.0", a) {
		e.t.Error("something of the deleted group is still reported")
	}
	if code, _ := e.do("GET", e.sub()+"/resourceGroups/doomed"+groupAPI, nil); code != http.StatusNotFound {
		e.t.Errorf("the deleted group answers %d", code)
	}
	if !e.checkDisk("keep", "k", k) {
		e.t.Error("another group's snapshot was harmed")
	}
}
