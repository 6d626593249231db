package blobapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/netguard"
	"github.com/galleon-project/galleon/vhd"
)

// AllowFlag is the `galleon serve` flag that lets imports reach hosts the
// guard refuses; refusals name it.
const AllowFlag = "--import-allow-hosts"

// importTimeout gives up on a source that stalls.
const importTimeout = 6 * time.Hour

// Importer reads the VHDs users name by URL (a disk's or snapshot's
// sourceUri, a managed image disk's blobUri, an image version's source
// uri). Every connection it makes, redirects included, goes through Guard,
// so that a user cannot make the server fetch from its loopback, link-local
// (cloud metadata) or private addresses unless the operator allowed them.
type Importer struct {
	Guard  *netguard.Policy
	Client *http.Client
}

// NewImporter returns an Importer that fetches through guard (nil: public
// addresses only).
func NewImporter(guard *netguard.Policy) *Importer {
	c := guard.Client()
	c.Timeout = importTimeout
	return &Importer{Guard: guard, Client: c}
}

// CheckSource refuses, before anything is fetched, a source URI that will
// not be: not http(s), with user information, or naming a loopback,
// private or link-local address the operator has not allowed. A host name
// is decided when it is connected to. The error is an InvalidParameter
// naming target.
func (im *Importer) CheckSource(uri, target string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source URI is not a valid URL: %v.", err)
	}
	return refusal(im.Guard.CheckURL(u), target, "The source URI is refused")
}

// refusal turns a netguard refusal into an InvalidParameter error naming
// target and, where an allow-list entry would help, the flag; other
// errors are returned as they are.
func refusal(err error, target, what string) error {
	var re *netguard.RefusedError
	if !errors.As(err, &re) {
		return err
	}
	if re.Entry() == "" {
		return galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "%s: %s.", what, re)
	}
	return galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
		"%s: %s. Galleon imports only from public addresses unless the operator allows the host with `galleon serve %s %s`.",
		what, re, AllowFlag, re.Entry())
}

// ImportVHD streams the VHD at uri into manifest id of store and checks
// that it is a VHD Azure would take. A refused, unreadable or oversized
// source or a malformed VHD is an InvalidParameter error with the given
// target, and leaves no manifest behind.
func (im *Importer) ImportVHD(ctx context.Context, store *chunkstore.Store, id, uri, target string) (*chunkstore.Manifest, error) {
	if err := im.CheckSource(uri, target); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source URI is not a valid URL: %v.", err)
	}
	req.Header.Set("x-ms-version", storageVersion)
	resp, err := im.Client.Do(req)
	if err != nil {
		what := "The source URI is refused"
		if ue := (*url.Error)(nil); errors.As(err, &ue) && ue.URL != uri {
			what = "The source URI redirects to a refused URL"
		}
		if r := refusal(err, target, what); r != err {
			return nil, r
		}
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source could not be read: %v.", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"Reading the source answered %s; check that the URL and its SAS are valid.", resp.Status)
	}
	// The largest VHD Azure takes bounds what is read: by the declared
	// length up front, and by counting when the length is not declared.
	if resp.ContentLength > galleon.MaxUploadSizeBytes {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source is %d bytes, more than the largest VHD Azure takes (%d bytes).", resp.ContentLength, int64(galleon.MaxUploadSizeBytes))
	}
	m, _, err := store.Ingest(ctx, id, io.LimitReader(resp.Body, galleon.MaxUploadSizeBytes+1))
	if err != nil {
		return nil, err
	}
	// From here on, a refused or failed import deletes what it stored,
	// so that no manifest keeps the chunks of bytes no one will use.
	ok := false
	defer func() {
		if !ok {
			_ = store.DeleteManifest(context.WithoutCancel(ctx), id)
		}
	}()
	if m.Size > galleon.MaxUploadSizeBytes {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source is more than the largest VHD Azure takes (%d bytes).", int64(galleon.MaxUploadSizeBytes))
	}
	if resp.ContentLength >= 0 && m.Size != resp.ContentLength {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target,
			"The source ended after %d of its %d bytes.", m.Size, resp.ContentLength)
	}
	r, err := store.Open(ctx, m)
	if err != nil {
		return nil, err
	}
	_, err = vhd.ValidateForAzure(r, m.Size)
	r.Close()
	var fe *vhd.FormatError
	if errors.As(err, &fe) {
		return nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, target, "The source is not a VHD Azure accepts: %s", fe.Problem)
	}
	if err != nil {
		return nil, err
	}
	if err := failpoint.Hit("import/after-ingest"); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// importVHD imports through x's Importer.
func (x *Disks) importVHD(ctx context.Context, store *chunkstore.Store, id, uri, target string) (*chunkstore.Manifest, error) {
	if x.Importer == nil {
		return nil, errors.New("blobapi: Disks has no Importer")
	}
	return x.Importer.ImportVHD(ctx, store, id, uri, target)
}

// CheckSourceURI refuses, when a resource is created, a source URI that
// will not be fetched (see Importer.CheckSource).
func (x *Disks) CheckSourceURI(uri, target string) error {
	if x.Importer == nil {
		return errors.New("blobapi: Disks has no Importer")
	}
	return x.Importer.CheckSource(uri, target)
}
