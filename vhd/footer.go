// Package vhd reads and writes the footer of Microsoft's Virtual Hard Disk
// format and checks a disk image against the rules Azure applies to
// uploaded and imported VHDs: fixed format, a valid footer, and a virtual
// size that is a whole number of MiB.
//
// A fixed VHD is the raw disk bytes followed by a 512-byte footer, which
// is why Galleon can store, chunk and serve it as plain bytes and only
// needs to understand the last sector. The layout follows Microsoft's
// "Virtual Hard Disk Image Format Specification"; every field is
// big-endian.
package vhd

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// FooterSize is the size of a VHD footer, the last bytes of every VHD.
const FooterSize = 512

// cookie opens every footer ("Connectix", Virtual PC's first vendor).
const cookie = "conectix"

// Field values the specification fixes.
const (
	featuresReserved  = 0x00000002 // the "reserved" feature bit must always be set
	fileFormatVersion = 0x00010000
	fixedDataOffset   = math.MaxUint64 // fixed disks have no dynamic header
)

// Footer offsets, from the specification's table.
const (
	offCookie        = 0
	offFeatures      = 8
	offVersion       = 12
	offDataOffset    = 16
	offTimestamp     = 24
	offCreatorApp    = 28
	offCreatorVer    = 32
	offCreatorHostOS = 36
	offOriginalSize  = 40
	offCurrentSize   = 48
	offGeometry      = 56
	offDiskType      = 60
	offChecksum      = 64
	offUniqueID      = 68
	offSavedState    = 84
	offReserved      = 85
)

// epoch is the origin of footer timestamps.
var epoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// DiskType says how the disk's blocks are laid out in the file.
type DiskType uint32

// The disk types of the specification; only fixed disks are accepted by
// Azure.
const (
	DiskTypeFixed        DiskType = 2
	DiskTypeDynamic      DiskType = 3
	DiskTypeDifferencing DiskType = 4
)

func (t DiskType) String() string {
	switch t {
	case DiskTypeFixed:
		return "fixed"
	case DiskTypeDynamic:
		return "dynamic"
	case DiskTypeDifferencing:
		return "differencing"
	}
	return fmt.Sprintf("DiskType(%d)", uint32(t))
}

// Footer is a decoded VHD footer. Every field of the 512 bytes is kept,
// reserved ones included, so that a parsed footer marshals back to the
// bytes it came from; the checksum is not a field because MarshalBinary
// always computes it.
type Footer struct {
	Features           uint32
	FileFormatVersion  uint32
	DataOffset         uint64 // math.MaxUint64 for fixed disks
	Timestamp          time.Time
	CreatorApplication [4]byte
	CreatorVersion     uint32
	CreatorHostOS      [4]byte
	OriginalSize       uint64 // bytes, at creation
	CurrentSize        uint64 // bytes: the disk's virtual size
	Geometry           Geometry
	DiskType           DiskType
	UniqueID           [16]byte
	SavedState         uint8
	Reserved           [427]byte // zero in every footer the specification allows
}

// Galleon's creator fields. The application is "win " (the tag Hyper-V
// writes) on purpose: readers such as qemu take the disk size from the
// CHS geometry unless the creator is one they know uses CurrentSize, and
// geometry cannot express most whole-MiB sizes, so any other tag would
// make them see a disk smaller than the one we wrote.
var (
	creatorApplication = [4]byte{'w', 'i', 'n', ' '}
	creatorHostOS      = [4]byte{'W', 'i', '2', 'k'} // Windows, as Azure's own tools write
)

const creatorVersion = 0x000a0000 // 10.0, as Hyper-V on Windows Server 2016+

// NewFixedFooter returns the footer of a fixed disk of size bytes created
// at now, with the geometry the specification computes for that size.
// size must be a positive whole number of 512-byte sectors.
func NewFixedFooter(size int64, now time.Time, id [16]byte) (*Footer, error) {
	if size <= 0 || size%sectorSize != 0 {
		return nil, fmt.Errorf("vhd: a disk size must be a positive multiple of %d bytes; got %d", sectorSize, size)
	}
	return &Footer{
		Features:           featuresReserved,
		FileFormatVersion:  fileFormatVersion,
		DataOffset:         fixedDataOffset,
		Timestamp:          now.UTC().Truncate(time.Second),
		CreatorApplication: creatorApplication,
		CreatorVersion:     creatorVersion,
		CreatorHostOS:      creatorHostOS,
		OriginalSize:       uint64(size),
		CurrentSize:        uint64(size),
		Geometry:           GeometryFor(size),
		DiskType:           DiskTypeFixed,
		UniqueID:           id,
	}, nil
}

// ParseFooter decodes a footer, refusing anything that is not one: the
// wrong length, the wrong cookie or a checksum that does not match. It
// does not judge the disk (type, sizes); ValidateForAzure does.
func ParseFooter(b []byte) (*Footer, error) {
	if len(b) != FooterSize {
		return nil, &FormatError{fmt.Sprintf("a VHD footer is %d bytes; got %d", FooterSize, len(b))}
	}
	if c := string(b[offCookie : offCookie+8]); c != cookie {
		return nil, &FormatError{fmt.Sprintf("the last %d bytes are not a VHD footer: the cookie is %q, not %q", FooterSize, c, cookie)}
	}
	stored := binary.BigEndian.Uint32(b[offChecksum:])
	if sum := checksum(b); stored != sum {
		return nil, &FormatError{fmt.Sprintf("the VHD footer's checksum is 0x%08x but its bytes sum to 0x%08x: the footer is corrupt", stored, sum)}
	}
	be := binary.BigEndian
	f := &Footer{
		Features:          be.Uint32(b[offFeatures:]),
		FileFormatVersion: be.Uint32(b[offVersion:]),
		DataOffset:        be.Uint64(b[offDataOffset:]),
		Timestamp:         epoch.Add(time.Duration(be.Uint32(b[offTimestamp:])) * time.Second),
		CreatorVersion:    be.Uint32(b[offCreatorVer:]),
		OriginalSize:      be.Uint64(b[offOriginalSize:]),
		CurrentSize:       be.Uint64(b[offCurrentSize:]),
		Geometry: Geometry{
			Cylinders:       be.Uint16(b[offGeometry:]),
			Heads:           b[offGeometry+2],
			SectorsPerTrack: b[offGeometry+3],
		},
		DiskType:   DiskType(be.Uint32(b[offDiskType:])),
		SavedState: b[offSavedState],
	}
	copy(f.CreatorApplication[:], b[offCreatorApp:])
	copy(f.CreatorHostOS[:], b[offCreatorHostOS:])
	copy(f.UniqueID[:], b[offUniqueID:])
	copy(f.Reserved[:], b[offReserved:])
	return f, nil
}

// MarshalBinary encodes the footer with a freshly computed checksum.
func (f *Footer) MarshalBinary() ([]byte, error) {
	b := make([]byte, FooterSize)
	be := binary.BigEndian
	copy(b[offCookie:], cookie)
	be.PutUint32(b[offFeatures:], f.Features)
	be.PutUint32(b[offVersion:], f.FileFormatVersion)
	be.PutUint64(b[offDataOffset:], f.DataOffset)
	be.PutUint32(b[offTimestamp:], timestamp(f.Timestamp))
	copy(b[offCreatorApp:], f.CreatorApplication[:])
	be.PutUint32(b[offCreatorVer:], f.CreatorVersion)
	copy(b[offCreatorHostOS:], f.CreatorHostOS[:])
	be.PutUint64(b[offOriginalSize:], f.OriginalSize)
	be.PutUint64(b[offCurrentSize:], f.CurrentSize)
	be.PutUint16(b[offGeometry:], f.Geometry.Cylinders)
	b[offGeometry+2] = f.Geometry.Heads
	b[offGeometry+3] = f.Geometry.SectorsPerTrack
	be.PutUint32(b[offDiskType:], uint32(f.DiskType))
	copy(b[offUniqueID:], f.UniqueID[:])
	b[offSavedState] = f.SavedState
	copy(b[offReserved:], f.Reserved[:])
	be.PutUint32(b[offChecksum:], checksum(b))
	return b, nil
}

// checksum is the specification's: the one's complement of the sum of
// every footer byte, the checksum field itself counted as zero.
func checksum(b []byte) uint32 {
	var sum uint32
	for i, c := range b {
		if i >= offChecksum && i < offChecksum+4 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

// timestamp is t in seconds since 2000-01-01 UTC, clamped to what the
// 32-bit field holds (until 2136).
func timestamp(t time.Time) uint32 {
	s := t.Sub(epoch) / time.Second
	switch {
	case s < 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s)
}
