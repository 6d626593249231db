package galleon

import (
	"net/url"
	"strings"
)

// maxURILength bounds a URI property, as the community gallery's fields.
const maxURILength = 2048

// validateWebURI checks an optional property that Azure documents as a
// web address (an image definition's privacyStatementUri and
// releaseNoteUri): empty, or an absolute http or https URI with a host.
// Clients and the portal show these as links, so a javascript: or data:
// URI would run in whoever follows it.
func validateWebURI(target, name, value string) error {
	if value == "" {
		return nil
	}
	if len(value) > maxURILength {
		return TargetErrorf(CodeInvalidParameter, target, "The value of '%s' may be at most %d characters long.", name, maxURILength)
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http") ||
		strings.ContainsAny(value, " \t\r\n") {
		return TargetErrorf(CodeInvalidParameter, target, "The value '%s' of '%s' is not an absolute http or https URI.", value, name)
	}
	return nil
}
