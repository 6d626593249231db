package vhd

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// MustFixedVHD returns a fixed VHD of size zero bytes, its footer
// changed by edit (which may leave the checksum invalid; fixChecksum
// repairs it).
func MustFixedVHD(tb testing.TB, size int64, edit func(footer []byte)) []byte {
	tb.Helper()
	footer := MustFooter(tb, max(size, 512))
	if edit != nil {
		edit(footer)
	}
	return append(make([]byte, size), footer...)
}

func TestValidateForAzure(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		img := MustFixedVHD(t, 3<<20, nil)
		f, err := ValidateForAzure(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		if f.CurrentSize != 3<<20 || f.DiskType != DiskTypeFixed {
			t.Errorf("got %+v", f)
		}
	})
	setType := func(typ DiskType) func([]byte) {
		return func(b []byte) {
			b[offDiskType+3] = byte(typ)
			fixChecksum(b)
		}
	}
	setSize := func(size uint64) func([]byte) {
		return func(b []byte) {
			for i := range 8 {
				b[offCurrentSize+i] = byte(size >> (56 - 8*i))
			}
			fixChecksum(b)
		}
	}
	for _, tt := range []struct {
		name    string
		img     []byte
		problem string
	}{
		{"ErrTooShort", make([]byte, 511),
			"the file is 511 bytes, too short to hold the 512-byte footer every VHD ends with"},
		{"ErrEmpty", nil,
			"the file is 0 bytes, too short to hold the 512-byte footer every VHD ends with"},
		{"ErrNoFooter", make([]byte, 2<<20),
			`the last 512 bytes are not a VHD footer: the cookie is "\x00\x00\x00\x00\x00\x00\x00\x00", not "conectix"`},
		{"ErrWrongCookie", MustFixedVHD(t, 1<<20, func(b []byte) { copy(b, "vhdxfile"); fixChecksum(b) }),
			`the last 512 bytes are not a VHD footer: the cookie is "vhdxfile", not "conectix"`},
		{"ErrBadChecksum", MustFixedVHD(t, 1<<20, func(b []byte) { b[offUniqueID] ^= 1 }),
			"the VHD footer's checksum is 0xffffe75d but its bytes sum to 0xffffe75e: the footer is corrupt"},
		{"ErrDynamic", MustFixedVHD(t, 1<<20, setType(DiskTypeDynamic)),
			`the VHD is dynamic; Azure accepts only fixed-size VHDs: convert it with "qemu-img convert -O vpc -o subformat=fixed,force_size in.vhd out.vhd"`},
		{"ErrDifferencing", MustFixedVHD(t, 1<<20, setType(DiskTypeDifferencing)),
			`the VHD is differencing; Azure accepts only fixed-size VHDs: convert it, with its parent next to it, with "qemu-img convert -O vpc -o subformat=fixed,force_size in.vhd out.vhd"`},
		{"ErrUnknownType", MustFixedVHD(t, 1<<20, setType(1)),
			"the VHD footer's disk type is 1, which is none of fixed (2), dynamic (3) or differencing (4)"},
		{"ErrSizeMismatch", MustFixedVHD(t, 1<<20, setSize(2<<20)),
			"the VHD footer gives a virtual size of 2097152 bytes but the file holds 1048576 bytes before its footer; a fixed VHD is its virtual size followed by the 512-byte footer"},
		{"ErrZeroSize", MustFixedVHD(t, 0, setSize(0)),
			"the VHD's virtual size is 0 bytes; a disk must hold at least 1 MiB"},
		{"ErrNotWholeMiB", MustFixedVHD(t, 1<<20+512, nil),
			"the VHD's virtual size must be a whole number of MiB; it is 1049088 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateForAzure(bytes.NewReader(tt.img), int64(len(tt.img)))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FormatError", err)
			}
			if fe.Problem != tt.problem {
				t.Errorf("got  %q\nwant %q", fe.Problem, tt.problem)
			}
			if err.Error() != tt.problem {
				t.Errorf("Error() = %q, want the problem verbatim", err.Error())
			}
		})
	}
}

// errReaderAt fails every read.
type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }

// A read failure is the storage's problem, not the file's: it must not
// come back as a *FormatError, which the API would answer with 400.
func TestValidateForAzure_ReadErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		name string
		r    io.ReaderAt
		size int64
		want error
	}{
		{"ErrRead", errReaderAt{boom}, 4 << 20, boom},
		{"ErrFileShorterThanSaid", bytes.NewReader(MustFixedVHD(t, 1<<20, nil)), 2<<20 + 512, io.ErrUnexpectedEOF},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateForAzure(tt.r, tt.size)
			var fe *FormatError
			if errors.As(err, &fe) || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
