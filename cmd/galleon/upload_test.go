package main

import "testing"

func TestCovers(t *testing.T) {
	merged := mergeSpans([]span{{8, 12}, {0, 4}, {4, 6}, {20, 30}, {25, 28}, {40, 40}})
	if want := []span{{0, 6}, {8, 12}, {20, 30}}; !equalSpans(merged, want) {
		t.Fatalf("mergeSpans = %v, want %v", merged, want)
	}
	tests := []struct {
		start, end int64
		want       bool
	}{
		{0, 6, true},
		{1, 5, true},
		{0, 7, false},
		{5, 9, false},
		{8, 12, true},
		{12, 20, false},
		{21, 30, true},
		{29, 31, false},
		{50, 60, false},
	}
	for _, tt := range tests {
		if got := covers(merged, tt.start, tt.end); got != tt.want {
			t.Errorf("covers [%d,%d) = %v, want %v", tt.start, tt.end, got, tt.want)
		}
	}
	if covers(nil, 0, 1) {
		t.Error("nothing covers something")
	}
}

func equalSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAllZero(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 4096, 4099} {
		b := make([]byte, n)
		if !allZero(b) {
			t.Errorf("%d zeros: not all zero", n)
		}
		for i := 0; i < n; i += max(1, n/5) {
			b[i] = 1
			if allZero(b) {
				t.Errorf("%d bytes with byte %d set: all zero", n, i)
			}
			b[i] = 0
		}
	}
}
