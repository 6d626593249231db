package armapi

import (
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

func TestMatchesEventFilter(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	e := &galleon.AuditEvent{At: at, PrincipalName: "o'brien@galleon.local"}
	for _, tt := range []struct {
		name, filter string
		want         bool
	}{
		{"CallerQuoted", "caller eq 'o''brien@galleon.local'", true},
		{"CallerOtherCase", "caller eq 'O''Brien@Galleon.local'", true},
		{"ErrCallerOther", "caller eq 'alice@galleon.local'", false},
		{"InRange", "eventTimestamp ge '2026-11-27T02:00:00Z' and eventTimestamp le '2026-11-27T04:00:00Z'", true},
		{"ErrBefore", "eventTimestamp ge '2026-11-27T03:00:01Z'", false},
		{"ErrAfter", "eventTimestamp le '2026-11-27T02:59:59Z'", false},
		{"RangeAndCaller", "eventTimestamp ge '2026-11-27T02:00:00Z' and caller eq 'o''brien@galleon.local'", true},
		{"OtherTermsIgnored", "resourceProvider eq 'Microsoft.Compute'", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchesEventFilter(tt.filter, e); got != tt.want {
				t.Errorf("matchesEventFilter(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestODataString(t *testing.T) {
	for in, want := range map[string]string{
		"'plain'":      "plain",
		"'o''brien'":   "o'brien",
		"''":           "",
		"'''quoted'''": "'quoted'",
		"unquoted":     "unquoted",
		"'":            "'",
	} {
		if got := odataString(in); got != want {
			t.Errorf("odataString(%q) = %q, want %q", in, got, want)
		}
	}
}
