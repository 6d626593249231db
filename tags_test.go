package galleon

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateTags(t *testing.T) {
	t.Parallel()
	many := func(n int) map[string]string {
		tags := map[string]string{}
		for i := range n {
			tags[fmt.Sprintf("t%d", i)] = "v"
		}
		return tags
	}
	for _, tt := range []struct {
		name string
		tags map[string]string
		code string
	}{
		{"OKNone", nil, ""},
		{"OKFifty", many(MaxTags), ""},
		{"OKLongest", map[string]string{strings.Repeat("k", MaxTagNameLength): strings.Repeat("v", MaxTagValueLength)}, ""},
		// Lengths are characters, not bytes.
		{"OKLongestMultibyte", map[string]string{strings.Repeat("é", MaxTagNameLength): strings.Repeat("ü", MaxTagValueLength)}, ""},
		{"OKEmptyValue", map[string]string{"k": ""}, ""},
		{"ErrFiftyOne", many(MaxTags + 1), CodeTooManyTags},
		{"ErrNameTooLong", map[string]string{strings.Repeat("k", MaxTagNameLength+1): "v"}, CodeInvalidTagNameLength},
		{"ErrValueTooLong", map[string]string{"k": strings.Repeat("v", MaxTagValueLength+1)}, CodeInvalidTagValueLength},
		{"ErrEmptyName", map[string]string{"": "v"}, CodeInvalidTagName},
		{"ErrBlankName", map[string]string{"  ": "v"}, CodeInvalidTagName},
		{"ErrSlash", map[string]string{"a/b": "v"}, CodeInvalidTagNameCharacters},
		{"ErrAngle", map[string]string{"<script>": "v"}, CodeInvalidTagNameCharacters},
		{"ErrPercent", map[string]string{"a%20": "v"}, CodeInvalidTagNameCharacters},
		{"ErrControl", map[string]string{"a\nb": "v"}, CodeInvalidTagNameCharacters},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTags(tt.tags)
			if ErrorCode(err) != tt.code {
				t.Fatalf("ValidateTags = %v, want code %q", err, tt.code)
			}
			if err != nil && len(err.Error()) > 1024 {
				t.Errorf("the message is %d bytes long", len(err.Error()))
			}
		})
	}
}
