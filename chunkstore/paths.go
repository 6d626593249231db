package chunkstore

import (
	"fmt"
	"strings"
)

// The layout of one bucket. Every key this package reads or writes is built
// by a function in this file, and by no other code.
//
//	<bucket>/
//	├── chunks/
//	│   └── sha256/
//	│       └── <aa>/                  the first two hex digits of the digest: 256 folders keep
//	│           │                      each listing and each file-system directory small
//	│           └── <64 hex digits>    one chunk's bytes, exactly; written once, never changed;
//	│                                  shared by every manifest in this bucket that names it
//	├── manifests/
//	│   └── <id>.json                  one image (a disk, a snapshot, one replica of a version):
//	│                                  a Manifest in JSON; written only after every chunk it names
//	│                                  is present, so a visible manifest is always readable
//	├── quarantine/
//	│   └── sha256/<aa>/<64 hex>       a chunk that a scrub found damaged or missing here: a small
//	│                                  JSON note (why, when); it stays until the chunk is good again
//	│                                  (repaired from another bucket, or re-copied), so that every
//	│                                  node, and a restarted one, refuses to build on the chunk
//	├── scrub/
//	│   └── due                        when the next scrub pass is due (RFC 3339), kept in the
//	│                                  first bucket of the first region, so that restarts do not
//	│                                  put the next pass off again and again
//	└── locks/
//	    ├── writer/<token>             an Ingest, Copy or PutManifest in progress (empty; its
//	    │                              modification time is refreshed while it runs)
//	    └── gc/<token>                 a GC pass in progress (the same)
//
// A fileblob bucket opened with no_tmp_dir (Galleon's default) also holds,
// beside any key while it is written, "<key>.<hex nanoseconds>.tmp": the
// temporary file renamed into place on Close. A process killed mid-write
// leaves it behind; CollectTemp removes old ones (isTempKey).
//
// A chunk key is derived from content, so a chunk that is present is the
// right content unless storage corrupted it, which every read detects. A
// manifest id is chosen by the caller (see ValidateID); this package never
// interprets it. Lock tokens are random.
const (
	chunksPrefix     = "chunks/sha256/"
	manifestsPrefix  = "manifests/"
	manifestSuffix   = ".json"
	writerLockPrefix = "locks/writer/"
	gcLockPrefix     = "locks/gc/"
	quarantinePrefix = "quarantine/sha256/"
	tempSuffix       = ".tmp"
	scrubDueKey      = "scrub/due"
)

// maxIDLen keeps keys well inside every backend's limit (Azure: 1024,
// S3: 1024 bytes, file systems: 255 per path element).
const maxIDLen = 128

// ValidateID reports whether id can name a manifest: 1 to 128 characters of
// lowercase letters, digits, '.', '_' and '-', starting with a letter or a
// digit. That makes an id exactly one key element: no '/', no "..", no
// hidden files, and no two ids that a case-insensitive file system (a
// fileblob bucket on macOS or Windows) would take for one.
func ValidateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("chunkstore: manifest id %q: want 1 to %d characters", id, maxIDLen)
	}
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("chunkstore: manifest id %q: want lowercase letters, digits, '.', '_' and '-', starting with a letter or digit", id)
		}
	}
	return nil
}

// chunkKey is where the chunk with digest d lives.
func chunkKey(d Digest) string {
	h := d.Hex()
	return chunksPrefix + h[:2] + "/" + h
}

// parseChunkKey is chunkKey backwards. Keys that are not exactly a chunk key
// (a driver's temporary file, say) report false, and GC leaves them alone.
func parseChunkKey(key string) (Digest, bool) {
	rest, ok := strings.CutPrefix(key, chunksPrefix)
	if !ok || len(rest) != 3+2*len(Digest{}) || rest[2] != '/' || rest[:2] != rest[3:5] {
		return Digest{}, false
	}
	d, err := ParseDigest(digestPrefix + rest[3:])
	return d, err == nil
}

// manifestKey is where the manifest with the given id lives.
func manifestKey(id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return manifestsPrefix + id + manifestSuffix, nil
}

// parseManifestKey is manifestKey backwards.
func parseManifestKey(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, manifestsPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, manifestSuffix)
	return id, ok && ValidateID(id) == nil
}

// writerLockKey and gcLockKey are where a lock with a random token lives.
func writerLockKey(token string) string { return writerLockPrefix + token }
func gcLockKey(token string) string     { return gcLockPrefix + token }

// quarantineKey is where the note on a damaged chunk with digest d lives.
func quarantineKey(d Digest) string {
	h := d.Hex()
	return quarantinePrefix + h[:2] + "/" + h
}

// parseQuarantineKey is quarantineKey backwards.
func parseQuarantineKey(key string) (Digest, bool) {
	rest, ok := strings.CutPrefix(key, quarantinePrefix)
	if !ok {
		return Digest{}, false
	}
	return parseChunkKey(chunksPrefix + rest)
}

// isTempKey reports whether key is a temporary file that fileblob writes
// beside a key ("<key>.<hex nanoseconds>.tmp") and renames into place.
// Nothing this package names ends in ".tmp", so nothing else matches.
func isTempKey(key string) bool {
	rest, ok := strings.CutSuffix(key, tempSuffix)
	i := strings.LastIndexByte(rest, '.')
	if !ok || i < 0 || i == len(rest)-1 {
		return false
	}
	for _, c := range rest[i+1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
