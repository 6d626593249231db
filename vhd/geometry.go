package vhd

// sectorSize is the VHD sector size; geometry counts these.
const sectorSize = 512

// Geometry is a disk's cylinder/head/sector geometry as the footer
// records it. BIOS-era guests size the disk from it; modern readers use
// Footer.CurrentSize, which is why the geometry of a large disk covers
// less than the whole disk.
type Geometry struct {
	Cylinders       uint16
	Heads           uint8
	SectorsPerTrack uint8
}

// Sectors is the number of sectors the geometry addresses.
func (g Geometry) Sectors() int64 {
	return int64(g.Cylinders) * int64(g.Heads) * int64(g.SectorsPerTrack)
}

// GeometryFor computes the geometry of a disk of size bytes with the
// algorithm of the VHD specification (appendix "CHS Calculation"),
// rounding size down to whole sectors. Disks larger than the geometry can
// address (about 127 GiB) get the largest geometry, 65535/16/255.
func GeometryFor(size int64) Geometry {
	total := size / sectorSize
	if total > 65535*16*255 {
		total = 65535 * 16 * 255
	}
	var spt, heads, cth int64 // sectors per track, heads, cylinders × heads
	if total >= 65535*16*63 {
		spt = 255
		heads = 16
		cth = total / spt
	} else {
		spt = 17
		cth = total / spt
		heads = max((cth+1023)/1024, 4)
		if cth >= heads*1024 || heads > 16 {
			spt = 31
			heads = 16
			cth = total / spt
		}
		if cth >= heads*1024 {
			spt = 63
			heads = 16
			cth = total / spt
		}
	}
	return Geometry{Cylinders: uint16(cth / heads), Heads: uint8(heads), SectorsPerTrack: uint8(spt)}
}
