package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon/vhd"
)

const mib = 1 << 20

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// mustFooter returns the footer of a disk of size bytes, with typ as its
// disk type.
func mustFooter(t *testing.T, size int64, typ vhd.DiskType) []byte {
	t.Helper()
	f, err := vhd.NewFixedFooter(size, testTime, [16]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	f.DiskType = typ
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInspectImage(t *testing.T) {
	data := randomBytes(t, 3*mib)
	fixed := append(append([]byte{}, data...), mustFooter(t, 3*mib, vhd.DiskTypeFixed)...)
	corrupt := append([]byte{}, fixed...)
	corrupt[len(corrupt)-1] ^= 0xff // a reserved byte: the checksum no longer matches
	notMiB := append(randomBytes(t, 3*mib+512), mustFooter(t, 3*mib+512, vhd.DiskTypeFixed)...)
	// A dynamic VHD: a footer copy, a dynamic header, a BAT, blocks, and
	// the footer at the end; only the footer matters here.
	dynamic := append(append(mustFooter(t, 3*mib, vhd.DiskTypeDynamic), make([]byte, 4096)...), mustFooter(t, 3*mib, vhd.DiskTypeDynamic)...)
	qcow2 := append([]byte("QFI\xfb\x00\x00\x00\x03"), make([]byte, 1024)...)
	vhdx := append([]byte("vhdxfile"), make([]byte, 1024)...)

	tests := []struct {
		name        string
		file        []byte
		wantRaw     bool
		wantSize    int64 // the VHD as uploaded, footer included
		wantPadding int64
		wantErr     []string // substrings of the error
	}{
		{name: "FixedVHD", file: fixed, wantSize: int64(len(fixed))},
		{name: "RawWholeMiB", file: data, wantRaw: true, wantSize: 3*mib + 512},
		{name: "RawPadded", file: data[:2*mib+1000], wantRaw: true, wantSize: 3*mib + 512, wantPadding: mib - 1000},
		{name: "RawTiny", file: []byte("x"), wantRaw: true, wantSize: mib + 512, wantPadding: mib - 1},
		{name: "ErrEmpty", file: nil, wantErr: []string{"is empty"}},
		{name: "ErrQcow2", file: qcow2, wantErr: []string{"qcow2", "qemu-img convert -f qcow2 -O vpc -o subformat=fixed"}},
		{name: "ErrVHDX", file: vhdx, wantErr: []string{"VHDX", "qemu-img convert -f vhdx -O vpc -o subformat=fixed"}},
		{name: "ErrDynamicVHD", file: dynamic, wantErr: []string{"dynamic", "qemu-img convert -O vpc -o subformat=fixed"}},
		{name: "ErrCorruptFooter", file: corrupt, wantErr: []string{"checksum"}},
		{name: "ErrVirtualSizeNotMiB", file: notMiB, wantErr: []string{"whole number of MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := inspectImage("disk.img", bytes.NewReader(tt.file), int64(len(tt.file)), testTime, [16]byte{9})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %+v, want an error mentioning %q", im, tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if im.Raw != tt.wantRaw || im.Size != tt.wantSize || im.Padding != tt.wantPadding {
				t.Fatalf("got raw %v size %d padding %d, want raw %v size %d padding %d",
					im.Raw, im.Size, im.Padding, tt.wantRaw, tt.wantSize, tt.wantPadding)
			}
			// What is uploaded: the file, zeros, a footer Azure accepts.
			got, err := io.ReadAll(io.NewSectionReader(im, 0, im.Size))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != im.Size {
				t.Fatalf("read %d bytes, want %d", len(got), im.Size)
			}
			if !tt.wantRaw {
				if !bytes.Equal(got, tt.file) {
					t.Fatal("a fixed VHD is not uploaded as it is")
				}
				return
			}
			if !bytes.Equal(got[:len(tt.file)], tt.file) {
				t.Error("the raw bytes do not open the upload")
			}
			if pad := got[len(tt.file) : im.Size-vhd.FooterSize]; int64(len(pad)) != tt.wantPadding || !allZero(pad) {
				t.Errorf("padding: %d bytes, all zero %v; want %d zero bytes", len(pad), allZero(pad), tt.wantPadding)
			}
			f, err := vhd.ValidateForAzure(bytes.NewReader(got), im.Size)
			if err != nil {
				t.Fatalf("the generated VHD is refused: %v", err)
			}
			if f.DiskType != vhd.DiskTypeFixed || int64(f.CurrentSize) != im.Size-vhd.FooterSize || !f.Timestamp.Equal(testTime) {
				t.Errorf("footer: %+v", f)
			}
		})
	}
}

func TestImageFile_ReadAt(t *testing.T) {
	raw := randomBytes(t, mib+1000)
	im, err := inspectImage("disk.raw", bytes.NewReader(raw), int64(len(raw)), testTime, [16]byte{9})
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]byte, im.Size)
	if n, err := im.ReadAt(whole, 0); n != len(whole) || err != nil {
		t.Fatalf("ReadAt(all) = %d, %v", n, err)
	}
	tests := []struct {
		name    string
		off     int64
		n       int
		wantN   int
		wantEOF bool
	}{
		{"InFile", 10, 100, 100, false},
		{"FileIntoPadding", int64(len(raw)) - 10, 30, 30, false},
		{"PaddingIntoFooter", 2*mib - 10, 30, 30, false},
		{"FileToEnd", 5, int(im.Size) - 5, int(im.Size) - 5, false},
		{"FooterPastEnd", im.Size - 100, 200, 100, true},
		{"AtEnd", im.Size, 10, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.n)
			n, err := im.ReadAt(p, tt.off)
			if n != tt.wantN || (err == io.EOF) != tt.wantEOF || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, EOF %v", tt.n, tt.off, n, err, tt.wantN, tt.wantEOF)
			}
			if !bytes.Equal(p[:n], whole[tt.off:tt.off+int64(n)]) {
				t.Error("the bytes differ from a whole read")
			}
		})
	}
	t.Run("ErrFileShrank", func(t *testing.T) {
		im, err := inspectImage("disk.raw", bytes.NewReader(raw[:mib]), int64(len(raw)), testTime, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.ReadAt(make([]byte, 4096), mib-100); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

func TestOpenImage_RawFooterIsStable(t *testing.T) {
	path := t.TempDir() + "/disk.raw"
	if err := os.WriteFile(path, randomBytes(t, mib+512), 0o600); err != nil {
		t.Fatal(err)
	}
	footer := func() []byte {
		im, f, err := openImage(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, vhd.FooterSize)
		if _, err := im.ReadAt(b, im.Size-vhd.FooterSize); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := footer(), footer()
	if !bytes.Equal(a, b) {
		t.Fatal("two opens of an unchanged raw image made different footers; a resumed upload would not match its first part")
	}
	if id := a[68:84]; binary.BigEndian.Uint64(id) == 0 {
		t.Error("the footer has no unique id")
	}
}
