package armapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/netguard"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// refFixture is the real ARM handler over a fresh SQLite store and a
// data plane over an in-memory bucket for eastus, with a victim's
// resources in the bootstrapped subscription (resource group "victim":
// a snapshot and a disk with content, a managed image, a gallery with a
// definition and a replicated version) and two attackers, each with a
// resource group of their own holding a snapshot, a managed image, a
// gallery with a definition and a version, all made from their own
// snapshot:
//
//   - mallory, a user of the victim's tenant who is Contributor of
//     resource group "mallory" only;
//   - eve, the service principal of another tenant, Owner of its own
//     subscription (resource group "eve").
type refFixture struct {
	*storetest.Fixture
	db      *sqlstore.DB
	handler http.Handler
	bucket  *blob.Bucket
	tokens  map[string]galleon.Principal
	eve     *galleon.NewTenant
	mallory galleon.Principal
	// the victim's resources, by what they are
	snapshot, disk, image, gallery, definition, version, vm, account string
}

const refUnknownSnapshot = "nope"

func newRefFixture(t *testing.T) *refFixture {
	t.Helper()
	db, fx := mustOpenTestStore(t)
	f := &refFixture{Fixture: fx, db: db, bucket: memblob.OpenBucket(nil)}
	t.Cleanup(func() { f.bucket.Close() })
	f.eve = f.MustCreateTenant(t, "eve.example")
	f.mallory = galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
		UserPrincipalName: "mallory@example.test"}
	f.tokens = map[string]galleon.Principal{"owner": f.Bootstrap.ServicePrincipal, "eve": f.eve.ServicePrincipal, "mallory": f.mallory}
	guard, err := netguard.NewPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(db, f.tokens)
	s.DiskData = &blobapi.Disks{Signer: &blobapi.Signer{Key: []byte("test key")}, PublicURL: testPublicURL,
		Stores: map[string]*chunkstore.Store{"eastus": {Bucket: f.bucket}}, Importer: blobapi.NewImporter(guard)}
	f.handler = s.Handler()

	victim := "/subscriptions/" + f.Sub + "/resourceGroups/victim/providers/"
	f.snapshot, f.disk, f.image = victim+"Microsoft.Compute/snapshots/snap", victim+"Microsoft.Compute/disks/disk", victim+"Microsoft.Compute/images/image"
	// Gallery names are unique in a subscription: the victim's is not
	// mallory's.
	f.gallery = victim + "Microsoft.Compute/galleries/victimgal"
	f.definition, f.version = f.gallery+"/images/linux", f.gallery+"/images/linux/versions/1.0.0"
	f.vm, f.account = victim+"Microsoft.Compute/virtualMachines/vm", victim+"Microsoft.Storage/storageAccounts/acct"
	f.MustPutResourceGroup(t, "victim")
	f.MustPutResourceGroup(t, "mallory")
	f.assign(t, f.mallory.ObjectID, "/subscriptions/"+f.Sub+"/resourceGroups/mallory", galleon.RoleContributor)
	f.mustDo(t, "eve", http.MethodPut, "/subscriptions/"+f.eve.Subscription.ID+"/resourcegroups/eve?api-version=2021-04-01", map[string]any{"location": "eastus"})
	f.populate(t, "owner", victim)
	f.populate(t, "mallory", f.prefix("mallory"))
	f.populate(t, "eve", f.prefix("eve"))
	f.mustDo(t, "owner", http.MethodPut, f.disk+"?api-version=2025-01-02", copyOf(f.snapshot))
	f.mustDo(t, "owner", http.MethodPut, f.image+"?api-version=2024-11-01", imageOf(f.snapshot, nil))

	// The victim's version as the replication would leave it: Succeeded,
	// with replica 0 of its OS disk in eastus.
	vid, err := galleon.ParseImageVersionID(f.version)
	if err != nil {
		t.Fatal(err)
	}
	f.completeVersion(t, vid)
	return f
}

// prefix is where a caller's own resources are.
func (f *refFixture) prefix(caller string) string {
	sub := f.Sub
	if caller == "eve" {
		sub = f.eve.Subscription.ID
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + caller + "/providers/"
}

// populate gives a resource group a snapshot with content, a gallery, a
// definition and a version made from the snapshot, as caller.
func (f *refFixture) populate(t *testing.T, caller, prefix string) {
	t.Helper()
	snap := prefix + "Microsoft.Compute/snapshots/snap"
	if caller != "owner" {
		snap = prefix + "Microsoft.Compute/snapshots/own"
	}
	gallery := prefix + "Microsoft.Compute/galleries/gal"
	if caller == "owner" {
		gallery = prefix + "Microsoft.Compute/galleries/victimgal"
	}
	f.mustDo(t, caller, http.MethodPut, snap+"?api-version=2025-01-02", map[string]any{"location": "eastus",
		"properties": map[string]any{"osType": "Linux", "diskSizeGB": 1, "creationData": map[string]any{"createOption": "Empty"}}})
	f.mustDo(t, caller, http.MethodPut, gallery+"?api-version=2025-03-03", map[string]any{"location": "eastus"})
	f.mustDo(t, caller, http.MethodPut, gallery+"/images/linux?api-version=2025-03-03", map[string]any{"location": "eastus",
		"properties": map[string]any{"osType": "Linux", "osState": "Generalized", "identifier": map[string]any{"publisher": "p", "offer": "o", "sku": caller}}})
	f.mustDo(t, caller, http.MethodPut, gallery+"/images/linux/versions/1.0.0?api-version=2025-03-03", versionOf(map[string]any{"source": map[string]any{"id": snap}}))
	if caller != "owner" {
		f.mustDo(t, caller, http.MethodPut, prefix+"Microsoft.Compute/images/own?api-version=2024-11-01", imageOf(snap, nil))
	}
}

// completeVersion marks a version replicated to eastus and gives it a
// replica of its OS disk there, its source snapshot's bytes.
func (f *refFixture) completeVersion(t *testing.T, vid galleon.ImageVersionID) {
	t.Helper()
	ctx := context.Background()
	v, _, err := f.db.PutImageVersion(ctx, vid, func(old *galleon.ImageVersion) (*galleon.ImageVersion, error) {
		n := *old
		n.Properties.ProvisioningState = galleon.ProvisioningSucceeded
		n.Properties.ReplicationStatus = &galleon.ReplicationStatus{AggregatedState: galleon.ReplicationCompleted,
			Summary: []galleon.RegionReplicationStatus{{Region: "eastus", State: galleon.ReplicationCompleted, Progress: 100}}}
		return &n, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := galleon.ParseResourceRef(v.Properties.StorageProfile.Source.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.db.GetDisk(ctx, src.DiskID())
	if err != nil {
		t.Fatal(err)
	}
	store := &chunkstore.Store{Bucket: f.bucket}
	m, err := store.GetManifest(ctx, "disk-"+d.Properties.UniqueID)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutManifest(ctx, galleon.VersionManifestID(vid, galleon.VersionDisk(nil), 0), m); err != nil {
		t.Fatal(err)
	}
}

func (f *refFixture) assign(t *testing.T, principal, scope, role string) {
	t.Helper()
	if _, err := f.db.CreateRoleAssignment(context.Background(), &galleon.RoleAssignment{Name: uuid.NewString(), Scope: scope,
		RoleDefinitionID: galleon.RoleDefinitionID(f.Sub, role), PrincipalID: principal, PrincipalType: galleon.PrincipalUser}); err != nil {
		t.Fatalf("assigning %s at %s: %v", role, scope, err)
	}
}

// do sends a request as the caller with token and decodes the answer.
func (f *refFixture) do(t *testing.T, token, method, target string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func (f *refFixture) mustDo(t *testing.T, token, method, target string, body any) map[string]any {
	t.Helper()
	status, out := f.do(t, token, method, target, body)
	if status >= 300 {
		t.Fatalf("%s %s as %s: %d %v", method, target, token, status, out)
	}
	return out
}

// keys lists every object in the region's bucket: chunks, manifests and
// staged pages.
func (f *refFixture) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	it := f.bucket.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
}

func copyOf(source string) map[string]any {
	return map[string]any{"location": "eastus", "properties": map[string]any{"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": source}}}
}

func fromImage(ref, id string) map[string]any {
	return map[string]any{"location": "eastus", "properties": map[string]any{"creationData": map[string]any{"createOption": "FromImage", ref: map[string]any{"id": id}}}}
}

// imageOf is a managed image whose OS disk is the snapshot os, with
// more in its properties.
func imageOf(os string, more map[string]any) map[string]any {
	props := map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"osType": "Linux", "osState": "Generalized", "snapshot": map[string]any{"id": os}}}}
	for k, v := range more {
		props[k] = v
	}
	return map[string]any{"location": "eastus", "properties": props}
}

func imageWithDataDisk(os, kind, id string) map[string]any {
	return imageOf(os, map[string]any{"storageProfile": map[string]any{
		"osDisk":    map[string]any{"osType": "Linux", "osState": "Generalized", "snapshot": map[string]any{"id": os}},
		"dataDisks": []any{map[string]any{"lun": 0, kind: map[string]any{"id": id}}}}})
}

func versionOf(storageProfile map[string]any) map[string]any {
	return map[string]any{"location": "eastus", "properties": map[string]any{"storageProfile": storageProfile}}
}

// refCase is one request that names one of the victim's resources in one
// field.
type refCase struct {
	name   string
	method string
	path   string // under the caller's own resource group's providers
	body   func(own, victim string) any
	source func(f *refFixture) string
	field  string
	// exists: the target exists before the request (a PATCH).
	exists bool
	// okStatus is the answer once the caller may use the source: the
	// request goes on and succeeds, or meets the rules that follow.
	okStatus int
}

const (
	diskAPIVersion    = "?api-version=2025-01-02"
	imageAPIVersion   = "?api-version=2024-11-01"
	versionAPIVersion = "?api-version=2025-03-03"
	storageURI        = "https://acct.blob.core.windows.net/vhds/os.vhd"
	versionField      = "galleryImageVersion.properties.storageProfile"
)

// refCases cover every field of galleon's reference table (reference.go).
var refCases = []refCase{
	{name: "SnapshotCopy", path: "Microsoft.Compute/snapshots/c", body: func(_, v string) any { return copyOf(v) },
		source: func(f *refFixture) string { return f.snapshot }, field: "properties.creationData.sourceResourceId", okStatus: 200},
	{name: "DiskCopy", path: "Microsoft.Compute/disks/c", body: func(_, v string) any { return copyOf(v) },
		source: func(f *refFixture) string { return f.disk }, field: "properties.creationData.sourceResourceId", okStatus: 200},
	{name: "DiskFromVersion", path: "Microsoft.Compute/disks/v", body: func(_, v string) any { return fromImage("galleryImageReference", v) },
		source: func(f *refFixture) string { return f.version }, field: "properties.creationData.galleryImageReference.id", okStatus: 200},
	{name: "DiskFromLatest", path: "Microsoft.Compute/disks/l", body: func(_, v string) any { return fromImage("galleryImageReference", v) },
		source: func(f *refFixture) string { return f.definition }, field: "properties.creationData.galleryImageReference.id", okStatus: 200},
	{name: "DiskFromImageReference", path: "Microsoft.Compute/disks/r", body: func(_, v string) any { return fromImage("imageReference", v) },
		source: func(f *refFixture) string { return f.version }, field: "properties.creationData.imageReference.id", okStatus: 200},
	// Once authorized, the import itself would fetch the URL: the
	// positive case stops short of that (okStatus 0).
	{name: "DiskImportStorageAccount", path: "Microsoft.Compute/disks/i", body: func(_, v string) any {
		return map[string]any{"location": "eastus", "properties": map[string]any{"creationData": map[string]any{
			"createOption": "Import", "sourceUri": storageURI, "storageAccountId": v}}}
	}, source: func(f *refFixture) string { return f.account }, field: "properties.creationData.storageAccountId"},
	{name: "ImageOSSnapshot", path: "Microsoft.Compute/images/i", body: func(_, v string) any { return imageOf(v, nil) },
		source: func(f *refFixture) string { return f.snapshot }, field: "properties.storageProfile.osDisk.snapshot.id", okStatus: 201},
	{name: "ImageOSManagedDisk", path: "Microsoft.Compute/images/i", body: func(_, v string) any {
		return imageOf("", map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"osType": "Linux", "osState": "Generalized",
			"managedDisk": map[string]any{"id": v}}}})
	}, source: func(f *refFixture) string { return f.disk }, field: "properties.storageProfile.osDisk.managedDisk.id", okStatus: 201},
	{name: "ImageDataSnapshot", path: "Microsoft.Compute/images/i", body: func(o, v string) any { return imageWithDataDisk(o, "snapshot", v) },
		source: func(f *refFixture) string { return f.snapshot }, field: "properties.storageProfile.dataDisks[0].snapshot.id", okStatus: 201},
	{name: "ImageDataManagedDisk", path: "Microsoft.Compute/images/i", body: func(o, v string) any { return imageWithDataDisk(o, "managedDisk", v) },
		source: func(f *refFixture) string { return f.disk }, field: "properties.storageProfile.dataDisks[0].managedDisk.id", okStatus: 201},
	// Galleon has no virtual machines: once authorized, the source is
	// refused as unsupported.
	{name: "ImageSourceVirtualMachine", path: "Microsoft.Compute/images/i", body: func(o, v string) any {
		return imageOf(o, map[string]any{"sourceVirtualMachine": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.vm }, field: "properties.sourceVirtualMachine.id", okStatus: 400},
	{name: "VersionSourceSnapshot", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.0", body: func(_, v string) any {
		return versionOf(map[string]any{"source": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.snapshot }, field: versionField + ".source.id", okStatus: 201},
	{name: "VersionSourceDisk", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.1", body: func(_, v string) any {
		return versionOf(map[string]any{"source": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.disk }, field: versionField + ".source.id", okStatus: 201},
	{name: "VersionSourceManagedImage", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.2", body: func(_, v string) any {
		return versionOf(map[string]any{"source": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.image }, field: versionField + ".source.id", okStatus: 201},
	{name: "VersionSourceVersion", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.3", body: func(_, v string) any {
		return versionOf(map[string]any{"source": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.version }, field: versionField + ".source.id", okStatus: 201},
	{name: "VersionSourceVirtualMachine", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.4", body: func(_, v string) any {
		return versionOf(map[string]any{"source": map[string]any{"id": v}})
	}, source: func(f *refFixture) string { return f.vm }, field: versionField + ".source.id", okStatus: 400},
	{name: "VersionOSDiskSource", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.5", body: func(_, v string) any {
		return versionOf(map[string]any{"osDiskImage": map[string]any{"source": map[string]any{"id": v}}})
	}, source: func(f *refFixture) string { return f.snapshot }, field: versionField + ".osDiskImage.source.id", okStatus: 201},
	{name: "VersionDataDiskSource", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.6", body: func(o, v string) any {
		return versionOf(map[string]any{"osDiskImage": map[string]any{"source": map[string]any{"id": o}},
			"dataDiskImages": []any{map[string]any{"lun": 0, "source": map[string]any{"id": v}}}})
	}, source: func(f *refFixture) string { return f.disk }, field: versionField + ".dataDiskImages[0].source.id", okStatus: 201},
	{name: "VersionOSDiskStorageAccount", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.7", body: func(_, v string) any {
		return versionOf(map[string]any{"osDiskImage": map[string]any{"source": map[string]any{"uri": storageURI, "storageAccountId": v}}})
	}, source: func(f *refFixture) string { return f.account }, field: versionField + ".osDiskImage.source.storageAccountId", okStatus: 201},
	{name: "VersionDataDiskStorageAccount", path: "Microsoft.Compute/galleries/gal/images/linux/versions/2.0.8", body: func(o, v string) any {
		return versionOf(map[string]any{"osDiskImage": map[string]any{"source": map[string]any{"id": o}},
			"dataDiskImages": []any{map[string]any{"lun": 0, "source": map[string]any{"uri": storageURI, "storageAccountId": v}}}})
	}, source: func(f *refFixture) string { return f.account }, field: versionField + ".dataDiskImages[0].source.storageAccountId", okStatus: 201},
	// A resource that does not exist is refused exactly as one that
	// does: an outsider learns nothing; once authorized, it is not found.
	{name: "SnapshotCopyOfNothing", path: "Microsoft.Compute/snapshots/n", body: func(_, v string) any { return copyOf(v) },
		source: func(f *refFixture) string { return strings.TrimSuffix(f.snapshot, "snap") + refUnknownSnapshot },
		field:  "properties.creationData.sourceResourceId", okStatus: 400},
	// PATCH is checked as PUT is; sources never change, so once
	// authorized the rules refuse the change.
	{name: "PatchSnapshotSource", method: http.MethodPatch, path: "Microsoft.Compute/snapshots/own", body: func(_, v string) any {
		return map[string]any{"properties": map[string]any{"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": v}}}
	}, source: func(f *refFixture) string { return f.snapshot }, field: "properties.creationData.sourceResourceId", exists: true, okStatus: 409},
	{name: "PatchImageSource", method: http.MethodPatch, path: "Microsoft.Compute/images/own", body: func(_, v string) any {
		return map[string]any{"properties": map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"snapshot": map[string]any{"id": v}}}}}
	}, source: func(f *refFixture) string { return f.snapshot }, field: "properties.storageProfile.osDisk.snapshot.id", exists: true, okStatus: 409},
	{name: "PatchVersionSource", method: http.MethodPatch, path: "Microsoft.Compute/galleries/gal/images/linux/versions/1.0.0", body: func(_, v string) any {
		return map[string]any{"properties": map[string]any{"storageProfile": map[string]any{"source": map[string]any{"id": v}}}}
	}, source: func(f *refFixture) string { return f.snapshot }, field: versionField + ".source.id", exists: true, okStatus: 409},
}

func apiVersionOf(path string) string {
	switch {
	case strings.Contains(path, "/galleries/"):
		return versionAPIVersion
	case strings.Contains(path, "/images/"):
		return imageAPIVersion
	}
	return diskAPIVersion
}

// request is the method and the target of c, sent by caller: the path
// under the caller's own resource group, with its api-version.
func (c refCase) request(f *refFixture, caller string) (method, target string) {
	method = c.method
	if method == "" {
		method = http.MethodPut
	}
	return method, f.prefix(caller) + c.path + apiVersionOf(c.path)
}

// refused runs c as caller and checks that it is refused, naming the field
// and the source, with nothing created, changed or copied.
func (f *refFixture) refused(t *testing.T, caller string, c refCase, wantMissing string) {
	t.Helper()
	method, target := c.request(f, caller)
	_, before := f.do(t, caller, http.MethodGet, target, nil)
	keys := f.keys(t)
	source := c.source(f)
	status, body := f.do(t, caller, method, target, c.body(f.prefix(caller)+"Microsoft.Compute/snapshots/own", source))
	e, _ := body["error"].(map[string]any)
	canonical, err := galleon.ParseResourceRef(source)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusForbidden || e["code"] != galleon.CodeLinkedAuthorizationFailed || e["target"] != c.field {
		t.Fatalf("%s %s naming %s: %d %v; want 403 LinkedAuthorizationFailed at %s", method, c.path, source, status, body, c.field)
	}
	msg, _ := e["message"].(string)
	if !strings.Contains(msg, "on the linked scope(s) '"+canonical.String()+"'") || !strings.Contains(msg, wantMissing) {
		t.Errorf("message %q should name the linked scope %s and the action %s", msg, canonical, wantMissing)
	}
	getStatus, after := f.do(t, caller, http.MethodGet, target, nil)
	switch {
	case !c.exists && getStatus != http.StatusNotFound:
		t.Errorf("GET of the target after the refusal: %d %v, want 404", getStatus, after)
	case c.exists && (getStatus != http.StatusOK || fmt.Sprint(after) != fmt.Sprint(before)):
		t.Errorf("the target changed: %v, was %v", after, before)
	}
	if got := f.keys(t); !slices.Equal(got, keys) {
		t.Errorf("the region's bucket changed: %d objects, was %d", len(got), len(keys))
	}
}

// allowed runs c as caller and checks the answer of a request whose
// sources are authorized.
func (f *refFixture) allowed(t *testing.T, caller string, c refCase) {
	t.Helper()
	method, target := c.request(f, caller)
	status, body := f.do(t, caller, method, target, c.body(f.prefix(caller)+"Microsoft.Compute/snapshots/own", c.source(f)))
	if status != c.okStatus {
		t.Fatalf("%s %s as %s: %d %v; want %d", method, c.path, caller, status, body, c.okStatus)
	}
	if e, _ := body["error"].(map[string]any); e != nil && e["code"] == galleon.CodeLinkedAuthorizationFailed {
		t.Fatalf("refused: %v", e)
	}
	if status < 300 && method == http.MethodPut {
		// Clean up, so that the next caller's case starts afresh.
		if st, _ := f.do(t, caller, http.MethodDelete, target, nil); st >= 300 {
			t.Fatalf("deleting %s: %d", target, st)
		}
	}
}

// TestServer_References is the attack on sources: a Contributor of only
// their own resource group, and a service principal of another tenant in
// its own subscription, name the victim's resources in every field that
// takes one (and in PATCHes), through the real handler and store. Each
// request is refused with LinkedAuthorizationFailed naming the field,
// nothing is stored and no byte moves, and a source that does not exist
// is refused the same way. With the roles that reading the bytes takes
// (Reader plus beginGetAccess, or plus the download data action) the same
// requests go through; Reader alone does not do. Across tenants, roles
// never count, and a share of the gallery with the attacker's
// subscription lets its versions and definitions be used until the
// subscription rejects it.
func TestServer_References(t *testing.T) {
	t.Parallel()
	f := newRefFixture(t)
	missing := func(c refCase) string {
		switch {
		case strings.Contains(c.source(f), "/snapshots/"):
			return "Microsoft.Compute/snapshots/read,Microsoft.Compute/snapshots/beginGetAccess/action"
		case strings.Contains(c.source(f), "/disks/"):
			return "Microsoft.Compute/disks/read,Microsoft.Compute/disks/beginGetAccess/action"
		case strings.Contains(c.source(f), "/versions/"):
			return "Microsoft.Compute/galleries/images/versions/read," + galleon.ActionDownloadVersion
		case strings.Contains(c.source(f), "/images/linux"):
			return "Microsoft.Compute/galleries/images/read," + galleon.ActionDownloadVersion
		case strings.Contains(c.source(f), "/images/"):
			return "Microsoft.Compute/images/read"
		case strings.Contains(c.source(f), "/virtualMachines/"):
			return "Microsoft.Compute/virtualMachines/read"
		}
		return "Microsoft.Storage/storageAccounts/read"
	}
	for _, caller := range []string{"mallory", "eve"} {
		t.Run(caller, func(t *testing.T) {
			for _, c := range refCases {
				t.Run(c.name, func(t *testing.T) { f.refused(t, caller, c, missing(c)) })
			}
		})
	}

	// Reader of the victim's group is not enough where bytes flow.
	victimGroup := "/subscriptions/" + f.Sub + "/resourceGroups/victim"
	f.assign(t, f.mallory.ObjectID, victimGroup, galleon.RoleReader)
	for _, c := range refCases {
		if name := c.name; name == "SnapshotCopy" || name == "DiskCopy" || name == "DiskFromVersion" || name == "DiskFromLatest" || name == "VersionSourceVersion" {
			want := "beginGetAccess/action"
			if !strings.Contains(name, "Copy") {
				want = galleon.ActionDownloadVersion
			}
			t.Run("ReaderOnly/"+name, func(t *testing.T) { f.refused(t, "mallory", c, want) })
		}
	}
	// Reader, plus beginGetAccess on disks and snapshots (a custom role)
	// and the download data action on the gallery: every source can be
	// used.
	exporter := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "Disk exporter", RoleType: galleon.CustomRole,
		Permissions:      []galleon.RolePermission{{Actions: []string{"Microsoft.Compute/disks/beginGetAccess/action", "Microsoft.Compute/snapshots/beginGetAccess/action"}}},
		AssignableScopes: []string{"/subscriptions/" + f.Sub}}
	if _, err := f.db.PutRoleDefinition(context.Background(), exporter, f.Sub, nil); err != nil {
		t.Fatal(err)
	}
	f.assign(t, f.mallory.ObjectID, victimGroup, exporter.ID)
	f.assign(t, f.mallory.ObjectID, f.gallery, galleon.RoleComputeGalleryImageDownloader)
	for _, c := range refCases {
		if c.okStatus != 0 {
			t.Run("Authorized/"+c.name, func(t *testing.T) { f.allowed(t, "mallory", c) })
		}
	}

	// Across tenants roles do not count: Owner of the victim's group
	// still cannot copy its snapshot into another tenant.
	f.assign(t, f.eve.ServicePrincipal.ObjectID, victimGroup, galleon.RoleOwner)
	t.Run("CrossTenantOwner", func(t *testing.T) { f.refused(t, "eve", refCases[0], missing(refCases[0])) }) // SnapshotCopy
	// A share of the victim's gallery with eve's subscription lets eve
	// use its versions and definitions; a rejection of the share by the
	// subscription takes that back.
	gid, err := galleon.ParseGalleryID(f.gallery)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Share(gid, galleon.SharingUpdate{OperationType: galleon.SharingAdd,
		Groups: []galleon.SharingProfileGroup{{Type: galleon.SharingGroupSubscriptions, IDs: []string{f.eve.Subscription.ID}}}}, ""); err != nil {
		t.Fatal(err)
	}
	shareable := func(c refCase) bool { s := c.source(f); return s == f.version || s == f.definition }
	for _, c := range refCases {
		if shareable(c) {
			t.Run("Shared/"+c.name, func(t *testing.T) { f.allowed(t, "eve", c) })
		} else if c.name == "SnapshotCopy" || c.name == "VersionSourceManagedImage" {
			t.Run("SharedGalleryNotSnapshot/"+c.name, func(t *testing.T) { f.refused(t, "eve", c, missing(c)) })
		}
	}
	if _, err := f.db.RespondToShare(context.Background(), galleon.ShareConsumer{SubscriptionID: f.eve.Subscription.ID, TenantID: f.eve.Tenant.ID},
		f.Sub, "victimgal", false); err != nil {
		t.Fatal(err)
	}
	for _, c := range refCases {
		if shareable(c) {
			t.Run("Rejected/"+c.name, func(t *testing.T) { f.refused(t, "eve", c, missing(c)) })
		}
	}

	// A community gallery's versions may be used by anyone.
	community := "/subscriptions/" + f.Sub + "/resourceGroups/victim/providers/Microsoft.Compute/galleries/pub"
	f.mustDo(t, "owner", http.MethodPut, community+versionAPIVersion, map[string]any{"location": "eastus", "properties": map[string]any{
		"sharingProfile": map[string]any{"permissions": "Private", "communityGalleryInfo": map[string]any{"publisherUri": "https://victim.example",
			"publisherContact": "images@victim.example", "eula": "https://victim.example/eula", "publicNamePrefix": "Victim"}}}})
	f.mustDo(t, "owner", http.MethodPut, community+"/images/linux"+versionAPIVersion, map[string]any{"location": "eastus",
		"properties": map[string]any{"osType": "Linux", "osState": "Generalized", "identifier": map[string]any{"publisher": "p", "offer": "o", "sku": "pub"}}})
	f.mustDo(t, "owner", http.MethodPut, community+"/images/linux/versions/1.0.0"+versionAPIVersion, versionOf(map[string]any{"source": map[string]any{"id": f.snapshot}}))
	vid, err := galleon.ParseImageVersionID(community + "/images/linux/versions/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	f.completeVersion(t, vid)
	fromCommunity := refCases[slices.IndexFunc(refCases, func(c refCase) bool { return c.name == "DiskFromVersion" })]
	fromCommunity.source = func(*refFixture) string { return community + "/images/linux/versions/1.0.0" }
	t.Run("NotYetCommunity", func(t *testing.T) { f.refused(t, "eve", fromCommunity, galleon.ActionDownloadVersion) })
	f.mustDo(t, "owner", http.MethodPost, community+"/share"+versionAPIVersion, map[string]any{"operationType": "EnableCommunity"})
	t.Run("Community", func(t *testing.T) { f.allowed(t, "eve", fromCommunity) })
}

// TestServer_ReferencesKeptOnUpdate: updates that keep their sources,
// or leave them out as az sig image-version update does, need no rights
// on them: the victim's owner made mallory's resources from the victim's
// sources, and mallory, Contributor of her own group only, updates them.
func TestServer_ReferencesKeptOnUpdate(t *testing.T) {
	t.Parallel()
	f := newRefFixture(t)
	mine := f.prefix("mallory")
	// The owner of both groups makes them from the victim's resources.
	f.mustDo(t, "owner", http.MethodPut, mine+"Microsoft.Compute/snapshots/copied"+diskAPIVersion, copyOf(f.snapshot))
	f.mustDo(t, "owner", http.MethodPut, mine+"Microsoft.Compute/images/captured"+imageAPIVersion, imageOf(f.snapshot, nil))
	version := mine + "Microsoft.Compute/galleries/gal/images/linux/versions/3.0.0" + versionAPIVersion
	f.mustDo(t, "owner", http.MethodPut, version, versionOf(map[string]any{"source": map[string]any{"id": f.version}}))

	for _, tt := range []struct {
		name, method, target string
		body                 any
	}{
		{"SnapshotPutSameSource", http.MethodPut, mine + "Microsoft.Compute/snapshots/copied" + diskAPIVersion,
			map[string]any{"location": "eastus", "tags": map[string]string{"k": "v"}, "properties": map[string]any{"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": strings.ToUpper(f.snapshot)}}}},
		{"SnapshotPatchTags", http.MethodPatch, mine + "Microsoft.Compute/snapshots/copied" + diskAPIVersion, map[string]any{"tags": map[string]string{"k": "w"}}},
		{"ImagePutSameSources", http.MethodPut, mine + "Microsoft.Compute/images/captured" + imageAPIVersion,
			imageOf(f.snapshot, nil)},
		{"ImagePatchTags", http.MethodPatch, mine + "Microsoft.Compute/images/captured" + imageAPIVersion, map[string]any{"tags": map[string]string{"k": "w"}}},
		// az sig image-version update sends the version back without its
		// sources.
		{"VersionPutWithoutSources", http.MethodPut, version, map[string]any{"location": "eastus", "tags": map[string]string{"k": "v"},
			"properties": map[string]any{"publishingProfile": map[string]any{"targetRegions": []any{map[string]any{"name": "eastus"}}}, "storageProfile": map[string]any{}}}},
		{"VersionPutSameSource", http.MethodPut, version, versionOf(map[string]any{"source": map[string]any{"id": f.version}})},
		{"VersionPatchTags", http.MethodPatch, version, map[string]any{"tags": map[string]string{"k": "w"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := f.do(t, "mallory", tt.method, tt.target, tt.body); status >= 300 {
				t.Fatalf("%s as the Contributor of the group: %d %v", tt.method, status, body)
			}
		})
	}
	// Naming another of the victim's sources is still refused.
	status, body := f.do(t, "mallory", http.MethodPut, mine+"Microsoft.Compute/snapshots/copied"+diskAPIVersion, copyOf(f.disk))
	if e, _ := body["error"].(map[string]any); status != http.StatusForbidden || e["code"] != galleon.CodeLinkedAuthorizationFailed {
		t.Errorf("a changed source: %d %v, want 403 LinkedAuthorizationFailed", status, body)
	}
}

// TestServer_ReferencesExternalStorageAccount: a VHD import whose
// storageAccountId lies in a subscription Galleon does not have (an
// account in real Azure) is not refused for it, while one in a Galleon
// subscription the caller may not read is.
func TestServer_ReferencesExternalStorageAccount(t *testing.T) {
	t.Parallel()
	f := newRefFixture(t)
	external := "/subscriptions/" + uuid.NewString() + "/resourceGroups/azure/providers/Microsoft.Storage/storageAccounts/acct"
	for _, name := range []string{"DiskImportStorageAccount", "VersionOSDiskStorageAccount"} {
		c := refCases[slices.IndexFunc(refCases, func(c refCase) bool { return c.name == name })]
		t.Run(name, func(t *testing.T) {
			f.refused(t, "mallory", c, "Microsoft.Storage/storageAccounts/read")
			c.source = func(*refFixture) string { return external }
			_, target := c.request(f, "mallory")
			status, body := f.do(t, "mallory", http.MethodPut, target, c.body(f.prefix("mallory")+"Microsoft.Compute/snapshots/own", external))
			if e, _ := body["error"].(map[string]any); e != nil && e["code"] == galleon.CodeLinkedAuthorizationFailed {
				t.Fatalf("an account outside Galleon's subscriptions was refused: %d %v", status, e)
			}
		})
	}
}

// TestServer_RoleAssignmentPrincipalOfAnotherTenant: a role is given only
// to a principal of the directory that owns the scope. Before, the Owner
// of a subscription could assign a role to another tenant's service
// principal (and learn from the answer which object ids exist there).
func TestServer_RoleAssignmentPrincipalOfAnotherTenant(t *testing.T) {
	t.Parallel()
	f := newRefFixture(t)
	assign := func(principalID string) (int, map[string]any) {
		return f.do(t, "owner", http.MethodPut, f.gallery+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
			map[string]any{"properties": map[string]any{"principalId": principalID,
				"roleDefinitionId": "/subscriptions/" + f.Sub + "/providers/Microsoft.Authorization/roleDefinitions/" + galleon.RoleReader}})
	}
	for name, id := range map[string]string{"OtherTenant": f.eve.ServicePrincipal.ObjectID, "Nobody": uuid.NewString()} {
		status, body := assign(id)
		e, _ := body["error"].(map[string]any)
		if status != http.StatusBadRequest || e["code"] != galleon.CodePrincipalNotFound || e["target"] != "properties.principalId" {
			t.Errorf("%s: assigning Reader = %d %v, want 400 PrincipalNotFound", name, status, body)
		}
	}
	if status, body := assign(f.Bootstrap.Admin.ObjectID); status != http.StatusCreated {
		t.Errorf("assigning Reader to the tenant's own user = %d %v, want 201", status, body)
	}
}
