package armapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/galleon-project/galleon"
)

// decodeBody reads a JSON request body into v, refusing bodies that are
// empty, too large, malformed or followed by trailing data.
func decodeBody(w http.ResponseWriter, r *request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return galleon.Errorf(galleon.CodeRequestTooLarge,
				"The request content size exceeds the maximum of %d bytes.", maxBodyBytes)
		}
		return galleon.Errorf(galleon.CodeInvalidRequestContent, "The request content could not be read: %v.", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return galleon.Errorf(galleon.CodeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: the body is empty.")
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD silently, and
	// store something other than what was sent.
	if !utf8.Valid(data) {
		return galleon.Errorf(galleon.CodeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: it is not valid UTF-8.")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(v); err != nil {
		return galleon.Errorf(galleon.CodeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: %s.", describeJSONError(err))
	}
	if dec.More() {
		return galleon.Errorf(galleon.CodeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: unexpected data after the JSON object.")
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "malformed JSON at byte " + itoa(syntax.Offset) + ": " + syntax.Error()
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the request body"
		}
		return "could not convert a JSON " + typ.Value + " into the type of '" + field + "'"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends unexpectedly"
	}
	return err.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// page returns the page a list request asks for, decoding $skiptoken.
func (s *Server) page(r *request) (galleon.Page, error) {
	p := galleon.Page{Limit: s.pageSize()}
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return p, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$skiptoken", "The $skiptoken '%s' is invalid.", tok)
		}
		p.After = string(after)
	}
	if top := r.URL.Query().Get("$top"); top != "" {
		var n int
		if err := json.Unmarshal([]byte(top), &n); err != nil || n < 1 || n > 1000 {
			return p, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$top", "The $top value '%s' must be an integer from 1 to 1000.", top)
		}
		p.Limit = n
	}
	return p, nil
}

// writeList answers one page of items, with a nextLink to the following page
// when the store reports one.
func (s *Server) writeList(w http.ResponseWriter, r *request, items any, next string) error {
	if r.visible != nil {
		items = visibleItems(items, r.visible)
	}
	link := ""
	if next != "" {
		link = s.nextLink(r, next)
	}
	writeJSON(w, http.StatusOK, struct {
		Value    any    `json:"value"`
		NextLink string `json:"nextLink,omitempty"`
	}{items, link})
	return nil
}

// nextLink is the URL of the page after the key next: the request again,
// with every query parameter it carried (api-version, $top, $filter,
// sharedTo, $expand, whatever the list reads) and a $skiptoken for next in
// place of its own, as Azure's nextLinks carry the original query. The
// parameters are the ones the request's handler saw (url.Values drops pairs
// it cannot parse) and are encoded again, so a value cannot add a parameter,
// a fragment or a path; the origin is PublicURL and the path the one that
// was routed. Every spelling of $skiptoken is replaced, so the link holds
// exactly one.
func (s *Server) nextLink(r *request, next string) string {
	q := r.URL.Query()
	for k := range q {
		if strings.EqualFold(k, "$skiptoken") {
			delete(q, k)
		}
	}
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(next)))
	path := (&url.URL{Path: "/" + strings.Trim(r.URL.Path, "/")}).EscapedPath()
	return s.PublicURL + path + "?" + q.Encode()
}

// visibleItems keeps the items of a slice whose ID field (every resource's
// JSON shape has one) the caller may read.
func visibleItems(items any, visible func(id string) bool) any {
	v := reflect.ValueOf(items)
	if v.Kind() != reflect.Slice {
		return items
	}
	out := reflect.MakeSlice(v.Type(), 0, v.Len())
	for i := range v.Len() {
		item := v.Index(i)
		if id := item.FieldByName("ID"); id.IsValid() && id.Kind() == reflect.String && visible(id.String()) {
			out = reflect.Append(out, item)
		}
	}
	return out.Interface()
}
