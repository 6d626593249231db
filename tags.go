package galleon

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Azure's limits on the tags of a resource or resource group. Every
// resource with tags checks them, on creation and on every change, with
// ValidateTags: without them one PUT could store megabytes of tags that
// every list answer then carries.
const (
	MaxTags           = 50
	MaxTagNameLength  = 512
	MaxTagValueLength = 256
)

// tagNameReserved are the characters Azure refuses in tag names.
const tagNameReserved = `<>%&\?/`

// ValidateTags checks tags against Azure's limits: at most 50, names of 1
// to 512 characters without <, >, %, &, \, ?, / or control characters,
// values of at most 256 characters. Names are checked in sorted order, so
// the same tags always give the same error.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return TargetErrorf(CodeTooManyTags, "tags",
			"The resource has %d tags; a resource or resource group may have at most %d.", len(tags), MaxTags)
	}
	names := make([]string, 0, len(tags))
	for name := range tags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case strings.TrimSpace(name) == "":
			return TargetErrorf(CodeInvalidTagName, "tags", "A tag name cannot be empty or only white space.")
		case utf8.RuneCountInString(name) > MaxTagNameLength:
			return TargetErrorf(CodeInvalidTagNameLength, "tags",
				"The tag name '%s…' exceeds the maximum length of %d characters.", truncateRunes(name, 40), MaxTagNameLength)
		case strings.ContainsAny(name, tagNameReserved) || strings.ContainsFunc(name, unicode.IsControl):
			return TargetErrorf(CodeInvalidTagNameCharacters, "tags",
				"The tag name '%s' has reserved characters '<,>,%%,&,\\,?,/' or control characters.", strings.ToValidUTF8(strings.Map(visibleRune, name), "?"))
		case utf8.RuneCountInString(tags[name]) > MaxTagValueLength:
			return TargetErrorf(CodeInvalidTagValueLength, "tags",
				"The value of tag '%s' exceeds the maximum length of %d characters.", name, MaxTagValueLength)
		}
	}
	return nil
}

// truncateRunes is s cut to at most n characters, for quoting in a message.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// visibleRune shows a control character as '?' in a message.
func visibleRune(r rune) rune {
	if unicode.IsControl(r) {
		return '?'
	}
	return r
}
