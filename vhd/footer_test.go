package vhd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

var testID = [16]byte{0x6f, 0x95, 0x4c, 0x70, 0x9b, 0xb9, 0x92, 0x38, 0xa6, 0x1d, 0x26, 0xe6, 0xaa, 0xb1, 0xfe, 0xf6}

var testNow = time.Date(2026, time.March, 4, 5, 6, 7, 0, time.UTC)

// MustFooter returns the marshalled footer of a fixed disk of size bytes.
func MustFooter(tb testing.TB, size int64) []byte {
	tb.Helper()
	f, err := NewFixedFooter(size, testNow, testID)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fixChecksum rewrites b's checksum field so that it is valid.
func fixChecksum(b []byte) {
	binary.BigEndian.PutUint32(b[offChecksum:], checksum(b))
}

func TestFooter_RoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    Footer
	}{
		{"fixed 64 MiB", Footer{Features: 2, FileFormatVersion: 0x00010000, DataOffset: fixedDataOffset,
			Timestamp: testNow, CreatorApplication: [4]byte{'w', 'i', 'n', ' '}, CreatorVersion: 0x000a0000,
			CreatorHostOS: [4]byte{'W', 'i', '2', 'k'}, OriginalSize: 64 << 20, CurrentSize: 64 << 20,
			Geometry: Geometry{963, 8, 17}, DiskType: DiskTypeFixed, UniqueID: testID}},
		{"dynamic, qemu", Footer{Features: 2, FileFormatVersion: 0x00010000, DataOffset: 512,
			Timestamp: epoch.Add(848000501 * time.Second), CreatorApplication: [4]byte{'q', 'e', 'm', 'u'},
			CreatorVersion: 0x00050003, CreatorHostOS: [4]byte{'W', 'i', '2', 'k'}, OriginalSize: 67125248,
			CurrentSize: 67125248, Geometry: Geometry{964, 8, 17}, DiskType: DiskTypeDynamic, UniqueID: testID}},
		{"saved state and reserved bytes kept", Footer{Timestamp: epoch, SavedState: 1, DiskType: 9,
			Reserved: [427]byte{0: 1, 426: 0xff}}},
		{"largest timestamp", Footer{Timestamp: epoch.Add(0xffffffff * time.Second), DiskType: DiskTypeFixed,
			CurrentSize: 1<<64 - 1, Geometry: Geometry{65535, 16, 255}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != FooterSize || string(b[:8]) != "conectix" {
				t.Fatalf("marshalled footer is %d bytes starting %q", len(b), b[:8])
			}
			got, err := ParseFooter(b)
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.f {
				t.Errorf("got %+v, want %+v", *got, tt.f)
			}
			again, _ := got.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Error("re-marshalled footer differs")
			}
		})
	}
}

// TestFooter_Layout pins the byte offsets against the specification, so a
// symmetric mistake in both MarshalBinary and ParseFooter cannot hide.
func TestFooter_Layout(t *testing.T) {
	b := MustFooter(t, 64<<20)
	be := binary.BigEndian
	for _, tt := range []struct {
		name      string
		got, want uint64
	}{
		{"features", uint64(be.Uint32(b[8:])), 2},
		{"file format version", uint64(be.Uint32(b[12:])), 0x00010000},
		{"data offset", be.Uint64(b[16:]), 0xffffffffffffffff},
		{"timestamp", uint64(be.Uint32(b[24:])), uint64(testNow.Sub(epoch) / time.Second)},
		{"creator host OS", uint64(be.Uint32(b[36:])), 0x5769326b},
		{"original size", be.Uint64(b[40:]), 64 << 20},
		{"current size", be.Uint64(b[48:]), 64 << 20},
		{"cylinders", uint64(be.Uint16(b[56:])), 963},
		{"heads", uint64(b[58]), 8},
		{"sectors per track", uint64(b[59]), 17},
		{"disk type", uint64(be.Uint32(b[60:])), 2},
		{"saved state", uint64(b[84]), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	if string(b[28:32]) != "win " || !bytes.Equal(b[68:84], testID[:]) {
		t.Errorf("creator application %q, unique id %x", b[28:32], b[68:84])
	}
	var sum uint32
	for _, c := range b {
		sum += uint32(c)
	}
	// With the checksum bytes included, the sum of a valid footer is the
	// sum of the other bytes plus the bytes of their one's complement.
	cs := be.Uint32(b[64:])
	if want := ^cs + uint32(b[64]) + uint32(b[65]) + uint32(b[66]) + uint32(b[67]); sum != want {
		t.Errorf("checksum %#x does not complement the sum of the other bytes", cs)
	}
}

func TestParseFooter_Errors(t *testing.T) {
	good := MustFooter(t, 64<<20)
	for _, tt := range []struct {
		name    string
		b       func() []byte
		problem string
	}{
		{"short", func() []byte { return good[:511] }, "a VHD footer is 512 bytes; got 511"},
		{"wrong cookie", func() []byte {
			b := bytes.Clone(good)
			copy(b, "vhdxfile")
			return b
		}, `the last 512 bytes are not a VHD footer: the cookie is "vhdxfile", not "conectix"`},
		{"tampered size", func() []byte {
			b := bytes.Clone(good)
			b[offCurrentSize+7]++
			return b
		}, "the VHD footer's checksum is 0xffffe6c9 but its bytes sum to 0xffffe6c8: the footer is corrupt"},
		{"tampered checksum", func() []byte {
			b := bytes.Clone(good)
			b[offChecksum+3] ^= 0x10
			return b
		}, "the VHD footer's checksum is 0xffffe6d9 but its bytes sum to 0xffffe6c9: the footer is corrupt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFooter(tt.b())
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FormatError", err)
			}
			if fe.Problem != tt.problem {
				t.Errorf("got %q, want %q", fe.Problem, tt.problem)
			}
		})
	}
}

func TestNewFixedFooter(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		local := time.Date(2026, 3, 4, 6, 6, 7, 999, time.FixedZone("CET", 3600))
		f, err := NewFixedFooter(1<<30, local, testID)
		if err != nil {
			t.Fatal(err)
		}
		if f.DiskType != DiskTypeFixed || f.CurrentSize != 1<<30 || f.OriginalSize != 1<<30 ||
			f.DataOffset != 1<<64-1 || f.Geometry != (Geometry{2080, 16, 63}) || !f.Timestamp.Equal(testNow) {
			t.Errorf("got %+v", f)
		}
	})
	for _, size := range []int64{0, -512, 1000} {
		if _, err := NewFixedFooter(size, testNow, testID); err == nil {
			t.Errorf("NewFixedFooter(%d): no error", size)
		}
	}
}

func TestTimestamp_Clamps(t *testing.T) {
	if got := timestamp(time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("before 2000: got %d", got)
	}
	if got := timestamp(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0xffffffff {
		t.Errorf("after 2136: got %d", got)
	}
}

// FuzzParseFooter checks that parsing never panics, that a footer that
// parses marshals back to the same bytes, and, so that the fuzzer does not
// need to find a valid cookie and checksum by chance, that the same holds
// for the input with its cookie and checksum made valid.
func FuzzParseFooter(f *testing.F) {
	f.Add(MustFooter(f, 64<<20))
	f.Add(MustFooter(f, 512))
	f.Add(bytes.Repeat([]byte{0xff}, FooterSize))
	f.Add([]byte("conectix"))
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip := func(b []byte) {
			ft, err := ParseFooter(b)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FormatError", err)
				}
				return
			}
			out, err := ft.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("re-marshalled footer differs:\n got %x\nwant %x", out, b)
			}
		}
		roundTrip(b)
		if len(b) == FooterSize {
			fixed := bytes.Clone(b)
			copy(fixed, cookie)
			fixChecksum(fixed)
			roundTrip(fixed)
			if _, err := ParseFooter(fixed); err != nil {
				t.Fatalf("a footer with a valid cookie and checksum is refused: %v", err)
			}
		}
	})
}
