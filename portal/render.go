package portal

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
)

// view is what every page template gets: the layout's fields and the
// page's own Data.
type view struct {
	Title string
	// User is the signed-in user's name; empty on the sign-in page.
	User string
	CSRF string
	// Query is the search box's text.
	Query  string
	Crumbs []crumb
	// Notice is a banner on top of the page: what was just deleted.
	Notice string
	Data   any
}

type crumb struct{ Name, URL string }

var funcs = template.FuncMap{
	"resourceURL": resourceURL,
	"region":      galleon.DisplayNameFor,
	"json": func(v any) string {
		data, _ := json.MarshalIndent(v, "", "  ")
		return string(data)
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"generation": generationName,
	"query":      url.QueryEscape,
	"list":       func(v ...string) []string { return v },
	"deref":      func(b *bool) bool { return b != nil && *b },
	"dict": func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	},
}

// parsePages parses every page with the layout: each page file defines
// "content" (and may define "head"), and is executed through "layout".
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// render executes page with data inside the layout and writes it with
// status. It renders into a buffer first, so a template error is a clean
// 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *visit, status int, page, title string, data any) {
	vw := view{Title: title, Data: data, Query: r.URL.Query().Get("q"), Notice: deletedNotice(r.URL.Query())}
	if v != nil {
		vw.CSRF = v.CSRF
		if v.sess.signedIn() {
			vw.User = v.sess.DisplayName
			if vw.User == "" {
				vw.User = v.sess.UPN
			}
		}
	}
	if c, ok := data.(interface{ crumbs() []crumb }); ok {
		vw.Crumbs = c.crumbs()
	}
	var buf bytes.Buffer
	t := s.pages[page]
	if t == nil {
		s.logger().Error("portal: no such page template", slog.String("page", page))
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		s.logger().Error("portal: rendering", slog.String("page", page), slog.Any("err", err))
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeJSON answers a script's request.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// resourceURL is the portal page of an ARM resource id.
func resourceURL(id string) string {
	return "/portal/resource" + id
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// formErrors are the messages shown next to form fields, by field name;
// the key "" holds those that name no field.
type formErrors map[string]string

// add puts msg next to field, or among the general errors.
func (e formErrors) add(field, msg string) {
	if prev, ok := e[field]; ok && prev != "" {
		msg = prev + " " + msg
	}
	e[field] = msg
}

// addAPI places an API error next to the field its target names (the last
// segment of the target, through fields), or among the general errors.
func (e formErrors) addAPI(err error, fields map[string]string) bool {
	ae, ok := err.(*apiError)
	if !ok {
		return false
	}
	msg := ae.Message
	if ae.Code != "" {
		msg = ae.Code + ": " + ae.Message
	}
	e.add(fieldFor(ae.Target, fields), msg)
	for _, d := range ae.Details {
		e.add(fieldFor(d.Target, fields), d.Code+": "+d.Message)
	}
	return true
}

// fieldFor maps an ARM error target ("galleryName",
// "galleryImage.properties.identifier.publisher", "location") to a form
// field: the whole target, or its last segment, through fields.
func fieldFor(target string, fields map[string]string) string {
	if target == "" {
		return ""
	}
	if f, ok := fields[target]; ok {
		return f
	}
	last := target[strings.LastIndex(target, ".")+1:]
	if f, ok := fields[last]; ok {
		return f
	}
	return ""
}

// general returns the errors that name no field, for the top of a form.
func (e formErrors) General() string { return e[""] }

// Any reports whether there are errors.
func (e formErrors) Any() bool {
	for _, m := range e {
		if m != "" {
			return true
		}
	}
	return false
}

// apiMessage is an error as a form shows it: "Code: message" for an API
// refusal.
func apiMessage(err error) string {
	if ae, ok := err.(*apiError); ok {
		return ae.Code + ": " + ae.Message
	}
	return err.Error()
}
