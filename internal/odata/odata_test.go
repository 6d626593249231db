package odata

import "testing"

func TestReadString(t *testing.T) {
	for _, tt := range []struct {
		s     string
		pos   int
		value string
		next  int
		ok    bool
	}{
		{"'plain'", 0, "plain", 7, true},
		{"'o''brien' and", 0, "o'brien", 10, true},
		{"x eq ''", 5, "", 7, true},
		{"'''quoted'''", 0, "'quoted'", 12, true},
		{"'unterminated", 0, "", 0, false},
		{"'ends in a doubled quote''", 0, "", 0, false},
		{"unquoted", 0, "", 0, false},
		{"'a'", 3, "", 3, false},
	} {
		value, next, ok := ReadString(tt.s, tt.pos)
		if value != tt.value || next != tt.next || ok != tt.ok {
			t.Errorf("ReadString(%q, %d) = %q, %d, %v; want %q, %d, %v", tt.s, tt.pos, value, next, ok, tt.value, tt.next, tt.ok)
		}
	}
}
