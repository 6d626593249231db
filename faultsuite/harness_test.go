package faultsuite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/armapi"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/netguard"
	"github.com/galleon-project/galleon/operations"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/replication"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
	"github.com/galleon-project/galleon/vhd"
)

const (
	diskAPI    = "?api-version=2025-01-02"
	versionAPI = "?api-version=2025-03-03"
	groupAPI   = "?api-version=2021-04-01"
	// vhdSize is the smallest upload Azure takes: 20 MiB and the footer,
	// six staged pages when written 4 MiB at a time.
	vhdSize = galleon.MinUploadSizeBytes
)

// env is one installation: a store, buckets (two in eastus, one in
// westus2) and the parts of cmd/galleon that move bytes, built by start
// and built again, over the same store and buckets, by restart.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *sqlstore.DB
	f      *storetest.Fixture
	stores map[string][]*chunkstore.Store
	key    []byte
	srv    *httptest.Server
	source *httptest.Server // serves source.vhd for imports
	vhd    []byte           // what source serves

	handler    atomic.Pointer[http.Handler]
	disks      *blobapi.Disks
	reconciler *replication.Reconciler
	runner     *operations.Runner
	collector  *replication.Collector
	deleteRG   operations.Handler
}

// dialects runs fn on a SQLite store and on a PostgreSQL one (skipped
// without PostgreSQL unless GALLEON_REQUIRE_SERVICES is set).
func dialects(t *testing.T, fn func(t *testing.T, open func(t *testing.T) *sqlstore.DB)) {
	open := func(t *testing.T, url string) *sqlstore.DB {
		db, err := sqlstore.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("SQLite", func(t *testing.T) {
		fn(t, func(t *testing.T) *sqlstore.DB { return open(t, filepath.Join(t.TempDir(), "galleon.db")) })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		fn(t, func(t *testing.T) *sqlstore.DB { return open(t, pgtest.NewDatabase(t)) })
	})
}

func newEnv(t *testing.T, db *sqlstore.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: db, stores: map[string][]*chunkstore.Store{}, key: []byte("fault-suite-sas-key")}
	e.f = storetest.MustFixture(t, func(*testing.T) galleon.Store { return db })
	for region, n := range map[string]int{"eastus": 2, "westus2": 1} {
		for range n {
			// In-memory buckets (mem://, a driver Galleon supports) outlive
			// the restart as files would, and keep the suite fast.
			b := memblob.OpenBucket(nil)
			t.Cleanup(func() { b.Close() })
			e.stores[region] = append(e.stores[region], &chunkstore.Store{Bucket: b})
		}
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.vhd = makeVHD(t, 7)
	e.source = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "source.vhd", time.Time{}, bytes.NewReader(e.vhd))
	}))
	t.Cleanup(e.source.Close)
	e.start()
	return e
}

// start builds the server side as cmd/galleon wires it.
func (e *env) start() {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	guard, err := netguard.NewPolicy([]string{strings.TrimPrefix(e.source.URL, "http://")})
	if err != nil {
		e.t.Fatal(err)
	}
	importer := blobapi.NewImporter(guard)
	signer := &blobapi.Signer{Key: e.key}
	e.disks = &blobapi.Disks{Signer: signer, PublicURL: e.srv.URL, Stores: map[string]*chunkstore.Store{}, AllStores: e.stores,
		Importer: importer, Generation: e.db.DiskAccessGeneration}
	for region, ss := range e.stores {
		e.disks.Stores[region] = ss[0]
	}
	e.reconciler = &replication.Reconciler{Store: e.db, Regions: e.stores, Logger: logger, Import: importer.ImportVHD}
	e.deleteRG = operations.DeleteResourceGroup(e.db, e.disks)
	e.runner = &operations.Runner{Store: e.db, Holder: "node-" + uuid.NewString()[:8], Lease: time.Minute, MaxAttempts: 3, Logger: logger,
		Handlers: map[string]operations.Handler{
			galleon.OperationDeleteResourceGroup:   e.deleteRG,
			galleon.OperationReplicateImageVersion: e.reconciler.Handle,
		}}
	e.collector = &replication.Collector{Regions: e.stores, Logger: logger}
	blobs := &blobapi.Server{Authorize: signer.Authorize, Upload: e.disks.Upload, Content: e.disks.Content, Logger: logger}
	arm := &armapi.Server{
		Store:      e.db,
		Authorizer: &authz.Authorizer{Assignments: e.db, Roles: e.db},
		VerifyToken: func(token string) (galleon.Principal, error) {
			if token == "owner" {
				return e.f.Bootstrap.ServicePrincipal, nil
			}
			return galleon.Principal{}, fmt.Errorf("unknown token")
		},
		Regions:   galleon.Regions{{Name: "eastus", DisplayName: "East US"}, {Name: "westus2", DisplayName: "West US 2"}},
		PublicURL: e.srv.URL,
		Logger:    logger,
		DiskData:  e.disks,
	}
	armHandler, blobHandler := arm.Handler(), blobs.Handler()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, blobapi.PathPrefix) {
			blobHandler.ServeHTTP(w, r)
			return
		}
		armHandler.ServeHTTP(w, r)
	})
	e.handler.Store(&h)
}

// restart is a process that died and came back: every object that lived
// in memory is built anew; only the store and the buckets remain. An
// in-process crash leaves exactly what was persisted, because the
// failpoint's panic (or error) stops the operation there: nothing after
// the point ran, as nothing after a kill -9 would.
func (e *env) restart() { e.start() }

// crash runs fn with point armed to panic, and reports whether the point
// was reached (and fn stopped there).
func (e *env) crash(point string, fn func()) (hit bool) {
	return e.fail(point, failpoint.Panic, fn)
}

// fail runs fn with point armed with action, and reports whether the
// point was reached.
func (e *env) fail(point string, action failpoint.Action, fn func()) (hit bool) {
	e.t.Helper()
	off := failpoint.Enable(point, action, 0)
	defer off()
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(failpoint.Crash); !ok {
					panic(v)
				}
			}
		}()
		fn()
	}()
	return failpoint.Hits(point) > 0
}

func (e *env) sub() string { return "/subscriptions/" + e.f.Sub }

func (e *env) snapshotPath(rg, name string) string {
	return e.sub() + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/snapshots/" + name
}

func (e *env) versionPath(rg, version string) string {
	return e.sub() + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/galleries/g/images/img/versions/" + version
}

// do makes an ARM request as the installation's owner and decodes the
// answer.
func (e *env) do(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer owner")
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) mustDo(method, path string, body any, want ...int) map[string]any {
	e.t.Helper()
	code, out := e.do(method, path, body)
	for _, w := range want {
		if code == w {
			return out
		}
	}
	e.t.Fatalf("%s %s = %d %v, want %v", method, path, code, out, want)
	return nil
}

// makeVHD returns a fixed VHD of vhdSize: 64 KiB of pseudo-random bytes
// from seed at the start of every 4 MiB page (so a page read as zeros
// changes the digest), zeros elsewhere (few chunks to store, as real disks
// have), and a valid footer.
func makeVHD(t *testing.T, seed uint64) []byte {
	t.Helper()
	b := make([]byte, vhdSize)
	rnd := mrand.New(mrand.NewPCG(seed, seed))
	for i := 0; i < len(b)-512; i += 8 {
		if i%blobapi.MaxPageWrite >= 64<<10 {
			continue
		}
		v := rnd.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	footer, err := vhd.NewFixedFooter(vhdSize-512, time.Unix(1700000000, 0), [16]byte{byte(seed)})
	if err != nil {
		t.Fatal(err)
	}
	tail, err := footer.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	copy(b[len(b)-512:], tail)
	return b
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// createUpload creates a snapshot for upload and returns its write SAS.
func (e *env) createUpload(rg, name string) string {
	e.t.Helper()
	e.mustDo("PUT", e.snapshotPath(rg, name)+diskAPI, map[string]any{"location": "eastus", "properties": map[string]any{
		"osType": "Linux", "creationData": map[string]any{"createOption": "Upload", "uploadSizeBytes": vhdSize}}}, 200)
	return e.grant(rg, name, "Write")
}

func (e *env) grant(rg, name, access string) string {
	e.t.Helper()
	out := e.mustDo("POST", e.snapshotPath(rg, name)+"/beginGetAccess"+diskAPI, map[string]any{"access": access, "durationInSeconds": 3600}, 200)
	sas, _ := out["accessSAS"].(string)
	if sas == "" {
		e.t.Fatalf("beginGetAccess %s answered %v", access, out)
	}
	return sas
}

// putPage writes data at off through a SAS, as the page blob client does.
func (e *env) putPage(sas string, off int64, data []byte) (int, string) {
	e.t.Helper()
	u, err := url.Parse(sas)
	if err != nil {
		e.t.Fatal(err)
	}
	q := u.Query()
	q.Set("comp", "page")
	u.RawQuery = q.Encode()
	req, err := http.NewRequest("PUT", u.String(), bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("x-ms-page-write", "update")
	req.Header.Set("x-ms-range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(data))-1))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("x-ms-error-code")
}

// sasGet reads a blob (or with comp=pagelist, its page ranges) through a SAS.
func (e *env) sasGet(sas, comp string) (int, string, []byte) {
	e.t.Helper()
	if comp != "" {
		sas += "&comp=" + comp
	}
	resp, err := e.srv.Client().Get(sas)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), b
}

// upload writes data through a write SAS, 4 MiB at a time.
func (e *env) upload(sas string, data []byte) {
	e.t.Helper()
	for off := 0; off < len(data); off += blobapi.MaxPageWrite {
		e.upload2(sas, int64(off), data[off:min(off+blobapi.MaxPageWrite, len(data))])
	}
}

// upload2 writes data at off through a SAS in one Put Page.
func (e *env) upload2(sas string, off int64, data []byte) {
	e.t.Helper()
	if code, ec := e.putPage(sas, off, data); code != http.StatusCreated {
		e.t.Fatalf("Put Page at %d = %d %s", off, code, ec)
	}
}

func (e *env) endGetAccess(rg, name string) (int, map[string]any) {
	e.t.Helper()
	return e.do("POST", e.snapshotPath(rg, name)+"/endGetAccess"+diskAPI, nil)
}

// sealedSnapshot uploads data to a new snapshot and seals it.
func (e *env) sealedSnapshot(rg, name string, data []byte) {
	e.t.Helper()
	e.upload(e.createUpload(rg, name), data)
	if code, out := e.endGetAccess(rg, name); code != 200 {
		e.t.Fatalf("sealing %s = %d %v", name, code, out)
	}
}

// checkDisk asserts the invariant for a disk: either it is not reported
// good (no digest), or its digest is written's and its bytes, read back
// through a read SAS, have that digest. It reports whether it is good.
func (e *env) checkDisk(rg, name string, written []byte) bool {
	e.t.Helper()
	code, out := e.do("GET", e.snapshotPath(rg, name)+diskAPI, nil)
	if code == http.StatusNotFound {
		return false
	}
	if code != http.StatusOK {
		// Neither gone nor there: the check would pass without looking.
		e.t.Errorf("GET %s = %d %v, want 200 or 404", name, code, out)
		return false
	}
	props, _ := out["properties"].(map[string]any)
	sha, _ := props["galleonSha256"].(string)
	if sha == "" {
		return false
	}
	if props["diskState"] != galleon.DiskUnattached {
		e.t.Errorf("%s reports a digest in state %v", name, props["diskState"])
	}
	if want := digest(written); sha != want {
		e.t.Errorf("%s reports %s, but %s was written", name, sha, want)
		return true
	}
	rc, _, b := e.sasGet(e.grant(rg, name, "Read"), "")
	if rc != 200 || digest(b) != sha {
		e.t.Errorf("%s reads back %d bytes with digest %s (status %d), reports %s", name, len(b), digest(b), rc, sha)
	}
	return true
}

// putVersion creates version 1.0.0's from a snapshot: two replicas in
// eastus (one per bucket), one in westus2.
func (e *env) putVersion(rg, version, snapshot string) (int, map[string]any) {
	e.t.Helper()
	return e.do("PUT", e.versionPath(rg, version)+versionAPI, map[string]any{"location": "eastus", "properties": map[string]any{
		"publishingProfile": map[string]any{"targetRegions": []any{
			map[string]any{"name": "eastus", "regionalReplicaCount": 2}, map[string]any{"name": "westus2"}}},
		"storageProfile": map[string]any{"source": map[string]any{"id": e.snapshotPath(rg, snapshot)}}}})
}

func (e *env) versionID(rg, version string) galleon.ImageVersionID {
	return galleon.ImageVersionID{ImageDefinitionID: e.f.Image(rg, "g", "img"), Version: version}
}

// checkVersion asserts the invariant for a version: either it is not
// reported Succeeded, or every replica in every target region holds
// bytes with written's digest. It reports whether it is good.
func (e *env) checkVersion(rg, version string, written []byte) bool {
	e.t.Helper()
	code, out := e.do("GET", e.versionPath(rg, version)+versionAPI, nil)
	if code != http.StatusOK && code != http.StatusNotFound {
		// Neither gone nor there: the check would pass without looking.
		e.t.Errorf("GET version %s = %d %v, want 200 or 404", version, code, out)
	}
	props, _ := out["properties"].(map[string]any)
	if code != http.StatusOK || props["provisioningState"] != galleon.ProvisioningSucceeded {
		return false
	}
	want := digest(written)
	id := e.versionID(rg, version)
	for region, replicas := range map[string]int{"eastus": 2, "westus2": 1} {
		for n := range replicas {
			st := e.stores[region][n%len(e.stores[region])]
			m, err := st.GetManifest(e.ctx, galleon.VersionManifestID(id, galleon.VersionDisk(nil), n))
			if err != nil {
				e.t.Errorf("version %s is Succeeded but replica %d in %s: %v", version, n, region, err)
				continue
			}
			r, err := st.Open(e.ctx, m)
			if err != nil {
				e.t.Errorf("opening replica %d in %s: %v", n, region, err)
				continue
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil || m.Digest.String() != want || digest(b) != want {
				e.t.Errorf("version %s replica %d in %s: manifest %s, bytes %s (%v); %s was written", version, n, region, m.Digest, digest(b), err, want)
			}
		}
	}
	return true
}

// setupGallery makes rg, a gallery g and a Linux definition img.
func (e *env) setupGallery(rg string) {
	e.t.Helper()
	e.f.MustPutResourceGroup(e.t, rg)
	e.f.MustPutGallery(e.t, rg, "g")
	e.f.MustPutImage(e.t, rg, "g", "img")
}

// runPending runs the runner's due work once.
func (e *env) runPending() {
	e.t.Helper()
	if err := e.runner.RunPending(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}
