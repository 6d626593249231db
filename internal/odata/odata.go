// Package odata reads the pieces of OData filter syntax that Galleon's
// filters share ($filter on ARM lists, Graph and the activity log).
package odata

import "strings"

// ReadString reads a string literal that starts at s[pos]: single quotes
// around it, each quote inside written as two quotes. It returns the
// value and the position after the closing quote; ok is false when s[pos]
// is not a quote or the literal is not closed.
func ReadString(s string, pos int) (value string, next int, ok bool) {
	if pos >= len(s) || s[pos] != '\'' {
		return "", pos, false
	}
	var b strings.Builder
	for i := pos + 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", pos, false
}
