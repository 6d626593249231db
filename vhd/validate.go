package vhd

import (
	"errors"
	"fmt"
	"io"
)

// MiB is the unit Azure requires virtual sizes to be a whole number of.
const MiB = 1 << 20

// FormatError says why a file is not a VHD Azure would accept. Problem is
// written for the person who uploaded the file, so the API layer answers
// 400 with it verbatim.
type FormatError struct {
	Problem string
}

func (e *FormatError) Error() string { return e.Problem }

// convertHint is how to make an acceptable VHD out of any other kind.
const convertHint = `"qemu-img convert -O vpc -o subformat=fixed,force_size in.vhd out.vhd"`

// ValidateForAzure reads the footer at the end of a file of fileSize
// bytes and applies Azure's rules for uploaded and imported disks: a
// valid footer, a fixed disk, a virtual size that fills the file before
// the footer and is a whole, positive number of MiB. It returns the
// footer, a *FormatError naming the first rule broken, or the read error.
func ValidateForAzure(r io.ReaderAt, fileSize int64) (*Footer, error) {
	if fileSize < FooterSize {
		return nil, &FormatError{fmt.Sprintf("the file is %d bytes, too short to hold the %d-byte footer every VHD ends with", fileSize, FooterSize)}
	}
	b := make([]byte, FooterSize)
	if n, err := r.ReadAt(b, fileSize-FooterSize); n < FooterSize {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the file is shorter than fileSize says
		}
		return nil, fmt.Errorf("vhd: reading the footer: %w", err)
	}
	f, err := ParseFooter(b)
	if err != nil {
		return nil, err
	}
	switch f.DiskType {
	case DiskTypeFixed:
	case DiskTypeDynamic:
		return nil, &FormatError{"the VHD is dynamic; Azure accepts only fixed-size VHDs: convert it with " + convertHint}
	case DiskTypeDifferencing:
		return nil, &FormatError{"the VHD is differencing; Azure accepts only fixed-size VHDs: convert it, with its parent next to it, with " + convertHint}
	default:
		return nil, &FormatError{fmt.Sprintf("the VHD footer's disk type is %d, which is none of fixed (2), dynamic (3) or differencing (4)", uint32(f.DiskType))}
	}
	if data := uint64(fileSize - FooterSize); f.CurrentSize != data {
		return nil, &FormatError{fmt.Sprintf("the VHD footer gives a virtual size of %d bytes but the file holds %d bytes before its footer; a fixed VHD is its virtual size followed by the %d-byte footer", f.CurrentSize, data, FooterSize)}
	}
	if f.CurrentSize == 0 {
		return nil, &FormatError{"the VHD's virtual size is 0 bytes; a disk must hold at least 1 MiB"}
	}
	if f.CurrentSize%MiB != 0 {
		return nil, &FormatError{fmt.Sprintf("the VHD's virtual size must be a whole number of MiB; it is %d bytes", f.CurrentSize)}
	}
	return f, nil
}
