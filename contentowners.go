package galleon

import (
	"context"
	"strings"
)

// ContentOwners are the resources that own manifests in the region stores,
// across every subscription: a disk or snapshot owns disk-{uniqueId}, a
// managed image image-{uniqueId}-{disk}, an image version every id that
// starts with its VersionManifestPrefix. The collector deletes old
// manifests no resource owns; the scrubber finds which version a damaged
// replica belongs to.
type ContentOwners struct {
	Disks    map[string]bool           // uniqueIds of disks and snapshots
	Images   map[string]bool           // uniqueIds of managed images
	Versions map[string]ImageVersionID // by VersionManifestPrefix
}

// ContentOwnerStore lists the owners of content.
type ContentOwnerStore interface {
	// ListContentOwners returns every disk, snapshot, managed image and
	// image version of the installation, whatever its state.
	ListContentOwners(ctx context.Context) (*ContentOwners, error)
}

// uniqueIDLen is the length of a uniqueId (a UUID in text form).
const uniqueIDLen = 36

// Owns reports whether a resource in o owns the manifest id. An id of a
// shape it does not know is reported owned: what cannot be accounted for
// is never collected.
func (o *ContentOwners) Owns(manifestID string) bool {
	if rest, ok := strings.CutPrefix(manifestID, "disk-"); ok {
		return o.Disks[rest]
	}
	if rest, ok := strings.CutPrefix(manifestID, "image-"); ok {
		if len(rest) <= uniqueIDLen || rest[uniqueIDLen] != '-' {
			return true
		}
		return o.Images[rest[:uniqueIDLen]]
	}
	if _, ok, known := o.version(manifestID); known {
		return ok
	}
	return true
}

// VersionOf returns the version that owns a version manifest id.
func (o *ContentOwners) VersionOf(manifestID string) (ImageVersionID, bool) {
	id, ok, _ := o.version(manifestID)
	return id, ok
}

func (o *ContentOwners) version(manifestID string) (id ImageVersionID, ok, known bool) {
	// "v-" + 32 hex digits + "-": see VersionManifestPrefix.
	const n = len("v-") + 32 + len("-")
	if !strings.HasPrefix(manifestID, "v-") || len(manifestID) <= n || manifestID[n-1] != '-' {
		return id, false, false
	}
	id, ok = o.Versions[manifestID[:n]]
	return id, ok, true
}
