package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/galleon-project/galleon/vhd"
)

// imageFile is a local disk image as upload sends it: a fixed VHD as it
// is, or a raw image as the fixed VHD it becomes (its bytes, zeros up to a
// whole MiB, then a generated footer), so that nobody needs to convert a
// raw image first. ReadAt reads the VHD as it is uploaded.
type imageFile struct {
	Name     string // the file, in messages
	FileSize int64  // bytes in the file
	// Raw says the file is a raw image; Padding is how many zero bytes
	// follow its bytes to make the virtual size a whole MiB.
	Raw     bool
	Padding int64
	// Size is the fixed VHD's size, footer included: uploadSizeBytes.
	Size int64

	r      io.ReaderAt
	footer []byte // raw images only
}

// Magic numbers of formats upload refuses, at the start of the file.
const (
	qcow2Magic = "QFI\xfb"
	vhdxMagic  = "vhdxfile"
	vhdCookie  = "conectix" // opens every VHD footer, the last 512 bytes
)

// convertHint is how to make an uploadable VHD out of another format.
func convertHint(format, name string) string {
	return fmt.Sprintf("qemu-img convert -f %s -O vpc -o subformat=fixed,force_size %s %s", format, name, "out.vhd")
}

// openImage opens path and inspects it. A raw image's footer is made from
// the file's size and modification time, so that running upload again on
// an unchanged file produces the same bytes, and a resumed upload agrees
// with the part sent before.
func openImage(path string) (*imageFile, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	abs, _ := filepath.Abs(path)
	seed := sha256.Sum256([]byte(abs + "\x00" + strconv.FormatInt(st.Size(), 10) + "\x00" + st.ModTime().UTC().Format(time.RFC3339Nano)))
	var id [16]byte
	copy(id[:], seed[:])
	im, err := inspectImage(path, f, st.Size(), st.ModTime(), id)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return im, f, nil
}

// inspectImage decides how the size bytes of r are uploaded: a fixed VHD
// Azure accepts as it is; a raw image wrapped into one (footer dated
// created, with unique id id); anything else (qcow2, VHDX, a dynamic or
// differencing VHD, a VHD Azure would refuse) is an error that says how
// to convert it.
func inspectImage(name string, r io.ReaderAt, size int64, created time.Time, id [16]byte) (*imageFile, error) {
	if size == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	head := make([]byte, 8)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte(qcow2Magic)):
		return nil, fmt.Errorf("%s is a qcow2 image; upload takes a fixed VHD or a raw image: convert it with %s", name, convertHint("qcow2", name))
	case bytes.HasPrefix(head, []byte(vhdxMagic)):
		return nil, fmt.Errorf("%s is a VHDX image; upload takes a fixed VHD or a raw image: convert it with %s", name, convertHint("vhdx", name))
	}
	if size >= vhd.FooterSize {
		tail := make([]byte, len(vhdCookie))
		if _, err := r.ReadAt(tail, size-vhd.FooterSize); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if string(tail) == vhdCookie {
			_, err := vhd.ValidateForAzure(r, size)
			var fe *vhd.FormatError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("%s ends with a VHD footer, but %s", name, fe.Problem)
			}
			if err != nil {
				return nil, err
			}
			return &imageFile{Name: name, FileSize: size, Size: size, r: r}, nil
		}
	}
	virtual := vhd.FixedSizeFor(size)
	footer, err := vhd.NewFixedFooter(virtual, created, id)
	if err != nil {
		return nil, err
	}
	b, err := footer.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &imageFile{Name: name, FileSize: size, Raw: true, Padding: virtual - size, Size: virtual + vhd.FooterSize, r: r, footer: b}, nil
}

// ReadAt reads the VHD as uploaded: for a raw image, the file's bytes,
// then the padding, then the footer.
func (im *imageFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("imageFile.ReadAt: negative offset")
	}
	if !im.Raw {
		return im.r.ReadAt(p, off)
	}
	n := 0
	for len(p) > 0 && off < im.Size {
		var k int
		switch footerAt := im.Size - vhd.FooterSize; {
		case off < im.FileSize:
			want := int(min(int64(len(p)), im.FileSize-off))
			got, err := im.r.ReadAt(p[:want], off)
			if got < want {
				if err == nil || errors.Is(err, io.EOF) {
					err = fmt.Errorf("%s: %w (did the file shrink?)", im.Name, io.ErrUnexpectedEOF)
				}
				return n + got, err
			}
			k = want
		case off < footerAt:
			k = int(min(int64(len(p)), footerAt-off))
			clear(p[:k])
		default:
			k = copy(p, im.footer[off-footerAt:])
		}
		n += k
		off += int64(k)
		p = p[k:]
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// describe says what upload will send, for the person running it.
func (im *imageFile) describe() string {
	if !im.Raw {
		return fmt.Sprintf("%s: fixed VHD, %d bytes (virtual size %d bytes)", im.Name, im.Size, im.Size-vhd.FooterSize)
	}
	s := fmt.Sprintf("%s: raw image of %d bytes, uploaded as a fixed VHD of %d bytes (a generated %d-byte footer added", im.Name, im.FileSize, im.Size, vhd.FooterSize)
	if im.Padding > 0 {
		s += fmt.Sprintf("; padded with %d zero bytes to a whole MiB, as Azure requires", im.Padding)
	}
	return s + ")"
}
