package vhd

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galleon-project/galleon/internal/testenv"
)

// These tests pin interoperability with the VHDs people actually make,
// and with a reader that takes the format seriously, using the real
// qemu-img: skipped where it is missing, a failure in CI.

func requireQemuImg(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("qemu-img")
	testenv.RequireService(t, "qemu-img (Debian qemu-utils)", err)
}

func qemuImg(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// MustRandomFile writes size random bytes to a file in a temporary
// folder and returns its path and contents.
func MustRandomFile(tb testing.TB, name string, size int64) (string, []byte) {
	tb.Helper()
	b := make([]byte, size)
	rand.Read(b)
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, b
}

// validateFile runs ValidateForAzure on the file at path.
func validateFile(t *testing.T, path string) (*Footer, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return ValidateForAzure(f, fi.Size())
}

func TestQemuImg_FixedVHDAccepted(t *testing.T) {
	requireQemuImg(t)
	raw, data := MustRandomFile(t, "disk.raw", 64*MiB)
	vhdPath := filepath.Join(t.TempDir(), "disk.vhd")
	qemuImg(t, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size", raw, vhdPath)

	f, err := validateFile(t, vhdPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.CurrentSize != 64*MiB || f.DiskType != DiskTypeFixed {
		t.Errorf("got %+v", f)
	}
	img, err := os.ReadFile(vhdPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[:64*MiB], data) {
		t.Error("the fixed VHD does not start with the raw bytes")
	}
}

func TestQemuImg_DynamicVHDRefused(t *testing.T) {
	requireQemuImg(t)
	raw, _ := MustRandomFile(t, "disk.raw", 64*MiB)
	vhdPath := filepath.Join(t.TempDir(), "disk.vhd")
	qemuImg(t, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", raw, vhdPath)

	_, err := validateFile(t, vhdPath)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Problem, "the VHD is dynamic; Azure accepts only fixed-size VHDs") {
		t.Errorf("got %v, want the dynamic-disk refusal", err)
	}
}

// Without force_size, qemu-img rounds the size up to a whole CHS geometry,
// which is not a whole number of MiB: Azure's best-known upload mistake.
// The geometry qemu-img picks is also a check on GeometryFor.
func TestQemuImg_CHSRoundedVHDRefused(t *testing.T) {
	requireQemuImg(t)
	raw, _ := MustRandomFile(t, "disk.raw", 64*MiB)
	vhdPath := filepath.Join(t.TempDir(), "disk.vhd")
	qemuImg(t, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", raw, vhdPath)

	_, err := validateFile(t, vhdPath)
	var fe *FormatError
	const want = "the VHD's virtual size must be a whole number of MiB; it is 67125248 bytes"
	if !errors.As(err, &fe) || fe.Problem != want {
		t.Errorf("got %v, want %q", err, want)
	}
	img, err := os.ReadFile(vhdPath)
	if err != nil {
		t.Fatal(err)
	}
	footer, err := ParseFooter(img[len(img)-FooterSize:])
	if err != nil {
		t.Fatal(err)
	}
	if got := GeometryFor(int64(footer.CurrentSize)); got != footer.Geometry {
		t.Errorf("GeometryFor(%d) = %+v; qemu-img wrote %+v", footer.CurrentSize, got, footer.Geometry)
	}
}

// TestQemuImg_ReadsWrapRaw: qemu-img opens what WrapRaw makes as a VHD of
// the expected virtual size, and converting it back to raw gives the
// original bytes and the zero padding.
func TestQemuImg_ReadsWrapRaw(t *testing.T) {
	requireQemuImg(t)
	for _, rawSize := range []int64{64 * MiB, 5*MiB + 1234} {
		_, data := MustRandomFile(t, "disk.raw", rawSize)
		r, n, err := WrapRaw(bytes.NewReader(data), rawSize, testNow)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		vhdPath := filepath.Join(dir, "disk.vhd")
		out, err := os.Create(vhdPath)
		if err != nil {
			t.Fatal(err)
		}
		if written, err := io.Copy(out, r); err != nil || written != n {
			t.Fatalf("wrote %d of %d bytes: %v", written, n, err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}

		// A fixed VHD has no header, so qemu-img's probe sees raw bytes;
		// naming the format makes it read the footer, and it refuses a
		// footer it does not accept.
		var info struct {
			Format      string `json:"format"`
			VirtualSize int64  `json:"virtual-size"`
		}
		if err := json.Unmarshal(qemuImg(t, "info", "--output=json", "-f", "vpc", vhdPath), &info); err != nil {
			t.Fatal(err)
		}
		if want := FixedSizeFor(rawSize); info.Format != "vpc" || info.VirtualSize != want {
			t.Errorf("raw %d: qemu-img info says format %q, virtual size %d; want vpc, %d", rawSize, info.Format, info.VirtualSize, want)
		}

		back := filepath.Join(dir, "back.raw")
		qemuImg(t, "convert", "-f", "vpc", "-O", "raw", vhdPath, back)
		got, err := os.ReadFile(back)
		if err != nil {
			t.Fatal(err)
		}
		want := append(bytes.Clone(data), make([]byte, FixedSizeFor(rawSize)-rawSize)...)
		if !bytes.Equal(got, want) {
			t.Errorf("raw %d: qemu-img convert gave %d bytes that differ from the %d raw bytes and padding", rawSize, len(got), len(want))
		}
	}
}
