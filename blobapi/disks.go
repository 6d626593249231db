package blobapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/vhd"
)

// Disks is the data plane of disks and snapshots: it signs their SAS URLs,
// stages their uploads and seals them into content-addressed chunks in the
// disk's region. Blob ids carry what the data plane needs, under the
// signature:
//
//	<region>/upload-<uniqueId>-<bytes>   an upload in progress (write SAS)
//	<region>/disk-<uniqueId>             sealed content (read SAS)
//
// A disk's SAS also carries the disk's access generation (si, signed); the
// one read of the metadata store the data plane makes is Generation, to
// refuse a SAS that revokeAccess or a seal has ended since.
//
// Sealing is two steps around the store's record, so that a crash at any
// point leaves something a retry can finish (see Seal and FinishSeal):
//
//	seal-<uniqueId>-<generation>         a pending copy of the content, until the seal is recorded
type Disks struct {
	Signer    *Signer
	PublicURL string
	// Stores are each region's store for disk content: its first bucket.
	Stores map[string]*chunkstore.Store
	// AllStores are every bucket of each region, where version replicas
	// are spread; nil means only Stores.
	AllStores map[string][]*chunkstore.Store
	// Importer reads the VHDs of imports and of managed image disks
	// given by blob URI.
	Importer *Importer
	// Generation returns the current access generation of the disk with
	// a uniqueId (galleon.DiskStore.DiskAccessGeneration); a SAS of any
	// other generation is refused. Nil checks nothing: tests only.
	Generation func(ctx context.Context, uniqueID string) (int64, error)
}

var _ galleon.DiskData = (*Disks)(nil)

func uploadName(d *galleon.Disk) string {
	return fmt.Sprintf("upload-%s-%d", d.Properties.UniqueID, *d.Properties.CreationData.UploadSizeBytes)
}

func contentName(uniqueID string) string { return "disk-" + uniqueID }

func pendingPrefix(uniqueID string) string { return "seal-" + uniqueID + "-" }

func pendingName(d *galleon.Disk) string {
	return pendingPrefix(d.Properties.UniqueID) + strconv.FormatInt(d.AccessGeneration, 10)
}

// errRevoked answers a SAS whose disk has moved to another access
// generation, or is gone.
func errRevoked() *StorageError {
	return &StorageError{http.StatusForbidden, "AuthenticationFailed",
		"Server failed to authenticate the request. The SAS was revoked: access to the disk was ended, or its upload sealed, since it was granted."}
}

// checkGeneration refuses a request whose SAS (already verified) is not
// of the disk's current access generation.
func (x *Disks) checkGeneration(r *http.Request, uniqueID string) error {
	if x.Generation == nil {
		return nil
	}
	si := r.URL.Query().Get("si")
	signed, err := strconv.ParseInt(si, 10, 64)
	if err != nil {
		return errRevoked()
	}
	gen, err := x.Generation(r.Context(), uniqueID)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return errRevoked()
	}
	if err != nil {
		return err
	}
	if gen != signed {
		return errRevoked()
	}
	return nil
}

// AccessURL signs a URL for the disk's upload (write) or content (read).
func (x *Disks) AccessURL(d *galleon.Disk, write bool, expiry time.Time) (string, error) {
	region := galleon.NormalizeLocation(d.Location)
	if _, ok := x.Stores[region]; !ok {
		return "", fmt.Errorf("no store for region %s", region)
	}
	id, perm := region+"/"+contentName(d.Properties.UniqueID), PermissionRead
	if write {
		if d.Properties.CreationData.UploadSizeBytes == nil {
			return "", errors.New("the disk was not created for upload")
		}
		// The page blob client reads properties and page ranges as it writes.
		id, perm = region+"/"+uploadName(d), PermissionRead|PermissionWrite
	}
	si := strconv.FormatInt(d.AccessGeneration, 10)
	return x.PublicURL + PathPrefix + id + "?" + x.Signer.SignIdentifier(PathPrefix+id, perm, expiry, si).Encode(), nil
}

// Seal ingests the assembled upload into a pending copy named after the
// disk's access generation (which the caller raised to claim the seal),
// checks it is a VHD Azure would take, and returns its digest. It changes
// neither the disk's content nor the staged pages: until the store records
// the digest, a crash leaves only a pending copy, which a retry replaces.
func (x *Disks) Seal(ctx context.Context, d *galleon.Disk) (string, error) {
	store, ok := x.Stores[galleon.NormalizeLocation(d.Location)]
	if !ok {
		return "", fmt.Errorf("no store for region %s", d.Location)
	}
	id := pendingName(d)
	m, err := x.ingestUpload(ctx, store, d, id)
	if err != nil {
		return "", err
	}
	r, err := store.Open(ctx, m)
	if err != nil {
		return "", err
	}
	_, err = vhd.ValidateForAzure(r, m.Size)
	r.Close()
	var fe *vhd.FormatError
	if errors.As(err, &fe) {
		_ = store.DeleteManifest(ctx, id)
		return "", galleon.TargetErrorf(galleon.CodeInvalidParameter, "vhd",
			"The uploaded bytes are not a VHD Azure accepts: %s", fe.Problem)
	}
	if err != nil {
		return "", err
	}
	if err := failpoint.Hit("seal/after-ingest"); err != nil {
		return "", err
	}
	return m.Digest.String(), nil
}

// ingestUpload reads the staged pages of d's upload into manifest id.
func (x *Disks) ingestUpload(ctx context.Context, store *chunkstore.Store, d *galleon.Disk, id string) (*chunkstore.Manifest, error) {
	staging := &Staging{Bucket: store.Bucket}
	rc, err := staging.Open(ctx, uploadName(d), *d.Properties.CreationData.UploadSizeBytes)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, _, err := store.Ingest(ctx, id, rc)
	return m, err
}

// FinishSeal makes the seal recorded in d (Unattached with SHA256) the
// disk's content and removes what the seal left: pending copies and staged
// pages. Each step is safe to repeat, in this order: the content is written
// before anything it could be rebuilt from is deleted.
func (x *Disks) FinishSeal(ctx context.Context, d *galleon.Disk) error {
	store, ok := x.Stores[galleon.NormalizeLocation(d.Location)]
	if !ok || d.Properties.CreationData.UploadSizeBytes == nil || d.Properties.SHA256 == "" {
		return nil
	}
	content := contentName(d.Properties.UniqueID)
	m, err := store.GetManifest(ctx, content)
	if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return err
	}
	if m == nil || m.Digest.String() != d.Properties.SHA256 {
		if m, err = x.recordedManifest(ctx, store, d); err != nil {
			return err
		}
		if err := store.PutManifest(ctx, content, m); err != nil {
			return err
		}
	}
	if err := deletePending(ctx, store, d.Properties.UniqueID); err != nil {
		return err
	}
	return (&Staging{Bucket: store.Bucket}).Delete(ctx, uploadName(d))
}

// deletePending deletes every pending copy a seal of the disk uniqueID
// left, of any generation.
func deletePending(ctx context.Context, store *chunkstore.Store, uniqueID string) error {
	pending, err := store.ListManifests(ctx, pendingPrefix(uniqueID))
	if err != nil {
		return err
	}
	for _, id := range pending {
		if err := store.DeleteManifest(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// recordedManifest finds the bytes whose digest the seal recorded: a
// pending copy, or else the staged pages read again. Other bytes are an
// error, never the disk's content.
func (x *Disks) recordedManifest(ctx context.Context, store *chunkstore.Store, d *galleon.Disk) (*chunkstore.Manifest, error) {
	pending, err := store.ListManifests(ctx, pendingPrefix(d.Properties.UniqueID))
	if err != nil {
		return nil, err
	}
	for _, id := range pending {
		m, err := store.GetManifest(ctx, id)
		if errors.Is(err, chunkstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.Digest.String() == d.Properties.SHA256 {
			return m, nil
		}
	}
	// Without staged pages there is nothing to rebuild from: reading
	// the upload's size in zeros would only prove that.
	exts, err := (&Staging{Bucket: store.Bucket}).extents(ctx, uploadName(d))
	if err != nil {
		return nil, err
	}
	if len(exts) == 0 {
		return nil, fmt.Errorf("the sealed content of %s (%s) is gone, and no staged pages are left to rebuild it from", d.ID, d.Properties.SHA256)
	}
	id := pendingPrefix(d.Properties.UniqueID) + "retry"
	m, err := x.ingestUpload(ctx, store, d, id)
	if err != nil {
		return nil, err
	}
	if m.Digest.String() != d.Properties.SHA256 {
		_ = store.DeleteManifest(ctx, id)
		return nil, fmt.Errorf("the staged pages of %s now read as %s, not the sealed %s: the seal cannot be finished", d.ID, m.Digest, d.Properties.SHA256)
	}
	return m, nil
}

// Upload resolves an upload id for Server.Upload.
func (x *Disks) Upload(r *http.Request, id string) (*Upload, error) {
	region, name, _ := strings.Cut(id, "/")
	store, ok := x.Stores[region]
	rest, isUpload := strings.CutPrefix(name, "upload-")
	i := strings.LastIndex(rest, "-")
	if !ok || !isUpload || i < 0 {
		return nil, &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
	}
	size, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil {
		return nil, &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
	}
	if err := x.checkGeneration(r, rest[:i]); err != nil {
		return nil, err
	}
	return &Upload{Staging: &Staging{Bucket: store.Bucket}, Size: size, Name: name}, nil
}

// Content resolves a content id for Server.Content; nil for uploads.
func (x *Disks) Content(r *http.Request, id string) (io.ReadSeekCloser, error) {
	region, name, _ := strings.Cut(id, "/")
	if strings.HasPrefix(name, "upload-") {
		return nil, nil
	}
	store, ok := x.Stores[region]
	if !ok || !strings.HasPrefix(name, "disk-") && !strings.HasPrefix(name, "v-") {
		return nil, &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
	}
	// A version's SAS is not checked: no call ends access to a version,
	// and its content goes with it.
	if uid, ok := strings.CutPrefix(name, "disk-"); ok {
		if err := x.checkGeneration(r, uid); err != nil {
			return nil, err
		}
	}
	m, err := store.GetManifest(r.Context(), name)
	if errors.Is(err, chunkstore.ErrNotFound) {
		return nil, &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
	}
	if err != nil {
		return nil, err
	}
	return store.Open(r.Context(), m)
}

// CopyFromVersion makes replica 0 of a version's disk in the disk's region
// the disk's content. Both live in the region's first bucket, so only the
// manifest is written; the chunks are shared.
func (x *Disks) CopyFromVersion(ctx context.Context, d *galleon.Disk, v galleon.ImageVersionID, disk string) (string, error) {
	region := galleon.NormalizeLocation(d.Location)
	store, ok := x.Stores[region]
	if !ok {
		return "", fmt.Errorf("no store for region %s", region)
	}
	m, err := store.GetManifest(ctx, galleon.VersionManifestID(v, disk, 0))
	if errors.Is(err, chunkstore.ErrNotFound) {
		return "", galleon.TargetErrorf(galleon.CodeInvalidParameter, "properties.creationData.galleryImageReference",
			"The image version %s has no replica of its %s disk in %s.", v.Version, disk, region)
	}
	if err != nil {
		return "", err
	}
	if err := store.PutManifest(ctx, contentName(d.Properties.UniqueID), m); err != nil {
		return "", damagedSource(err, "properties.creationData.galleryImageReference", "image version "+v.Version, region)
	}
	return m.Digest.String(), nil
}

// damagedSource turns PutManifest's refusal to build on a chunk that a
// scrub noted damaged, or that is missing, into the error the client
// sees: a conflict with the source's present state, which a repair (or a
// new publication) resolves. Other errors pass unchanged.
//
// Copies within a bucket write a manifest and read no chunk: reading
// every byte would make a copy cost the image's size. They consult the
// scrub's notes instead (one listing), and every read of the new disk
// verifies each chunk anyway, so damage not found yet is never served.
func damagedSource(err error, target, what, region string) error {
	var de *chunkstore.DamagedError
	switch {
	case errors.As(err, &de):
		return galleon.TargetErrorf(galleon.CodeConflict, target,
			"The %s's content in %s is damaged: chunk %s failed verification (%s). Scrub will repair it from another region's copy if one is good; try again later.",
			what, region, de.Digest, de.Reason)
	case errors.Is(err, chunkstore.ErrNotFound):
		return galleon.TargetErrorf(galleon.CodeConflict, target,
			"The %s's content in %s is damaged: a chunk of it is missing. Scrub will repair it from another region's copy if one is good; try again later.", what, region)
	}
	return err
}

// Import streams the VHD at the disk's sourceUri (a blob URL with a SAS,
// or any http(s) URL the Importer's guard allows) into the disk's content,
// checking it as it seals.
func (x *Disks) Import(ctx context.Context, d *galleon.Disk) (string, int64, error) {
	region := galleon.NormalizeLocation(d.Location)
	store, ok := x.Stores[region]
	if !ok {
		return "", 0, fmt.Errorf("no store for region %s", region)
	}
	m, err := x.importVHD(ctx, store, contentName(d.Properties.UniqueID), d.Properties.CreationData.SourceURI, "properties.creationData.sourceUri")
	if err != nil {
		return "", 0, err
	}
	return m.Digest.String(), m.Size, nil
}

// ImageDiskContent gives one disk of a managed image its own copy of the
// bytes: the content of source (a disk or snapshot in the image's region,
// which costs a manifest) or, when source is nil, the VHD at the disk's
// blob URI. It returns the content's sha256 and size in bytes.
func (x *Disks) ImageDiskContent(ctx context.Context, img *galleon.ManagedImage, disk galleon.ManagedImageDisk, source *galleon.Disk, target string) (string, int64, error) {
	region := galleon.NormalizeLocation(img.Location)
	store, ok := x.Stores[region]
	if !ok {
		return "", 0, fmt.Errorf("no store for region %s", region)
	}
	id := galleon.ManagedImageManifestID(img.Properties.UniqueID, disk.Name)
	if source == nil {
		m, err := x.importVHD(ctx, store, id, disk.BlobURI, target)
		if err != nil {
			return "", 0, err
		}
		return m.Digest.String(), m.Size, nil
	}
	m, err := store.GetManifest(ctx, contentName(source.Properties.UniqueID))
	if err != nil {
		return "", 0, err
	}
	if err := store.PutManifest(ctx, id, m); err != nil {
		return "", 0, damagedSource(err, target, "source "+source.ID.Name, region)
	}
	return m.Digest.String(), m.Size, nil
}

// VersionAccessURL signs a read URL for replica 0 of a version's disk in
// region, which lives in the region's first bucket.
func (x *Disks) VersionAccessURL(v galleon.ImageVersionID, region, disk string, expiry time.Time) (string, error) {
	region = galleon.NormalizeLocation(region)
	if _, ok := x.Stores[region]; !ok {
		return "", fmt.Errorf("no store for region %s", region)
	}
	id := region + "/" + galleon.VersionManifestID(v, disk, 0)
	return x.PublicURL + PathPrefix + id + "?" + x.Signer.Sign(PathPrefix+id, PermissionRead, expiry).Encode(), nil
}

// EmptyContent stores an all-zero fixed VHD of size bytes (plus footer)
// as the disk's content, without reading or writing the zeros.
func (x *Disks) EmptyContent(ctx context.Context, d *galleon.Disk, size int64) (string, error) {
	store, ok := x.Stores[galleon.NormalizeLocation(d.Location)]
	if !ok {
		return "", fmt.Errorf("no store for region %s", d.Location)
	}
	id, err := uuid.Parse(d.Properties.UniqueID)
	if err != nil {
		return "", err
	}
	footer, err := vhd.NewFixedFooter(size, time.Now(), id)
	if err != nil {
		return "", err
	}
	tail, err := footer.MarshalBinary()
	if err != nil {
		return "", err
	}
	m, _, err := store.IngestZerosThen(ctx, contentName(d.Properties.UniqueID), size, tail)
	if err != nil {
		return "", err
	}
	return m.Digest.String(), nil
}

// DeleteDiskContent removes a disk's content manifest and its staged
// upload, if any.
func (x *Disks) DeleteDiskContent(ctx context.Context, d *galleon.Disk) error {
	store, ok := x.Stores[galleon.NormalizeLocation(d.Location)]
	if !ok || d.Properties.UniqueID == "" {
		return nil
	}
	if d.Properties.CreationData.UploadSizeBytes != nil {
		if err := (&Staging{Bucket: store.Bucket}).Delete(ctx, uploadName(d)); err != nil {
			return err
		}
		if err := deletePending(ctx, store, d.Properties.UniqueID); err != nil {
			return err
		}
	}
	return store.DeleteManifest(ctx, contentName(d.Properties.UniqueID))
}

// DeleteImageContent removes a managed image's manifests; chunks they
// alone named become garbage for the region store's collection.
func (x *Disks) DeleteImageContent(ctx context.Context, img *galleon.ManagedImage) error {
	store, ok := x.Stores[galleon.NormalizeLocation(img.Location)]
	if !ok || img.Properties.UniqueID == "" {
		return nil
	}
	for _, d := range img.Disks() {
		if err := store.DeleteManifest(ctx, galleon.ManagedImageManifestID(img.Properties.UniqueID, d.Name)); err != nil {
			return err
		}
	}
	return nil
}

// CopyContent makes another disk's content this disk's: in one region
// store, only the manifest is written.
func (x *Disks) CopyContent(ctx context.Context, d, source *galleon.Disk) (string, error) {
	region := galleon.NormalizeLocation(d.Location)
	store, ok := x.Stores[region]
	if !ok {
		return "", fmt.Errorf("no store for region %s", region)
	}
	m, err := store.GetManifest(ctx, contentName(source.Properties.UniqueID))
	if err != nil {
		return "", err
	}
	if err := store.PutManifest(ctx, contentName(d.Properties.UniqueID), m); err != nil {
		return "", damagedSource(err, "properties.creationData.sourceResourceId", "source "+source.ID.Name, region)
	}
	return m.Digest.String(), nil
}

// DeleteVersionContent removes the version's manifests from every bucket
// of every region: all of them share the version's id prefix, so replicas
// of regions removed earlier or of counts since lowered go too.
func (x *Disks) DeleteVersionContent(ctx context.Context, v *galleon.ImageVersion) error {
	prefix := galleon.VersionManifestPrefix(v.ID)
	for region, stores := range x.allStores() {
		for _, st := range stores {
			ids, err := st.ListManifests(ctx, prefix)
			if err != nil {
				return fmt.Errorf("region %s: %w", region, err)
			}
			for _, id := range ids {
				if err := st.DeleteManifest(ctx, id); err != nil {
					return fmt.Errorf("region %s: %w", region, err)
				}
			}
		}
	}
	return nil
}

func (x *Disks) allStores() map[string][]*chunkstore.Store {
	if x.AllStores != nil {
		return x.AllStores
	}
	out := map[string][]*chunkstore.Store{}
	for r, s := range x.Stores {
		out[r] = []*chunkstore.Store{s}
	}
	return out
}
