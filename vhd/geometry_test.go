package vhd

import "testing"

// Expected values worked by hand through the specification's algorithm;
// the 64 MiB + 16 KiB row is also what qemu-img writes for a 64 MiB image
// without force_size.
func TestGeometryFor(t *testing.T) {
	for _, tt := range []struct {
		size int64
		want Geometry
	}{
		{512, Geometry{0, 4, 17}},
		{10 << 20, Geometry{301, 4, 17}},
		{64 << 20, Geometry{963, 8, 17}},
		{64<<20 + 16<<10, Geometry{964, 8, 17}},
		{1 << 30, Geometry{2080, 16, 63}},
		{(65535*16*63 - 1) * 512, Geometry{65534, 16, 63}},
		{65535 * 16 * 63 * 512, Geometry{16191, 16, 255}},
		{65535 * 16 * 255 * 512, Geometry{65535, 16, 255}},
		{200 << 30, Geometry{65535, 16, 255}},
		{4 << 40, Geometry{65535, 16, 255}},
	} {
		if got := GeometryFor(tt.size); got != tt.want {
			t.Errorf("GeometryFor(%d) = %+v, want %+v", tt.size, got, tt.want)
		}
	}
}

// TestGeometryFor_NeverOvershoots: the geometry addresses at most the
// disk, for sizes across every branch of the algorithm.
func TestGeometryFor_NeverOvershoots(t *testing.T) {
	for size := int64(512); size < 300<<30; size = size*3/2 + 512 {
		g := GeometryFor(size)
		if g.Sectors()*sectorSize > size {
			t.Errorf("GeometryFor(%d) = %+v addresses %d bytes", size, g, g.Sectors()*sectorSize)
		}
		if g.Heads == 0 || g.Heads > 16 || g.SectorsPerTrack == 0 {
			t.Errorf("GeometryFor(%d) = %+v", size, g)
		}
	}
}
