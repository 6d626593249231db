package graph

import (
	"fmt"
	"strings"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/odata"
)

// ParseFilter parses the subset of OData $filter that az and Graph
// clients send for directory look-ups: clauses joined by "and", each one of
//
//	prop eq 'value'
//	startswith(prop,'value')
//	prop/any(x:x eq 'value')
//
// Literals are single-quoted with ” standing for a quote; keywords and
// property names match case-insensitively (property names are returned
// in Graph's spelling when known).
func ParseFilter(s string) (galleon.DirectoryFilter, error) {
	p := &filterParser{s: s}
	p.space()
	if p.done() {
		return nil, nil
	}
	var f galleon.DirectoryFilter
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		f = append(f, c)
		p.space()
		if p.done() {
			return f, nil
		}
		if !p.keyword("and") {
			return nil, p.errorf("expected 'and'")
		}
	}
}

type filterParser struct {
	s   string
	pos int
}

func (p *filterParser) done() bool { return p.pos >= len(p.s) }

// FilterError is a $filter Graph cannot answer; its text is Graph's
// message for the client.
type FilterError struct{ Message string }

func (e *FilterError) Error() string { return e.Message }

func (p *filterParser) errorf(format string, args ...any) error {
	return &FilterError{fmt.Sprintf("Invalid filter clause: %s at position %d.", fmt.Sprintf(format, args...), p.pos)}
}

func (p *filterParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// keyword consumes word (case-insensitively) when it stands alone there.
func (p *filterParser) keyword(word string) bool {
	p.space()
	end := p.pos + len(word)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], word) {
		return false
	}
	if end < len(p.s) && isIdent(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *filterParser) expect(c byte) error {
	p.space()
	if p.pos >= len(p.s) || p.s[p.pos] != c {
		return p.errorf("expected '%c'", c)
	}
	p.pos++
	return nil
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *filterParser) ident() (string, error) {
	p.space()
	start := p.pos
	for p.pos < len(p.s) && isIdent(p.s[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return "", p.errorf("expected a property name")
	}
	return p.s[start:p.pos], nil
}

func (p *filterParser) literal() (string, error) {
	p.space()
	if p.pos >= len(p.s) || p.s[p.pos] != '\'' {
		return "", p.expect('\'')
	}
	v, next, ok := odata.ReadString(p.s, p.pos)
	if !ok {
		p.pos = len(p.s)
		return "", p.errorf("unterminated string literal")
	}
	p.pos = next
	return v, nil
}

func (p *filterParser) clause() (galleon.FilterClause, error) {
	if p.keyword("startswith") {
		if err := p.expect('('); err != nil {
			return galleon.FilterClause{}, err
		}
		field, err := p.ident()
		if err != nil {
			return galleon.FilterClause{}, err
		}
		if err := p.expect(','); err != nil {
			return galleon.FilterClause{}, err
		}
		p.space()
		v, err := p.literal()
		if err != nil {
			return galleon.FilterClause{}, err
		}
		if err := p.expect(')'); err != nil {
			return galleon.FilterClause{}, err
		}
		return galleon.FilterClause{Field: canonicalField(field), Op: galleon.FilterStartsWith, Value: v}, nil
	}
	field, err := p.ident()
	if err != nil {
		return galleon.FilterClause{}, err
	}
	if p.pos < len(p.s) && p.s[p.pos] == '/' {
		// prop/any(x:x eq 'value')
		p.pos++
		if !p.keyword("any") {
			return galleon.FilterClause{}, p.errorf("only the any() lambda operator is supported")
		}
		if err := p.expect('('); err != nil {
			return galleon.FilterClause{}, err
		}
		v1, err := p.ident()
		if err != nil {
			return galleon.FilterClause{}, err
		}
		if err := p.expect(':'); err != nil {
			return galleon.FilterClause{}, err
		}
		v2, err := p.ident()
		if err != nil {
			return galleon.FilterClause{}, err
		}
		if v1 != v2 {
			return galleon.FilterClause{}, p.errorf("the lambda variable %q is not %q", v2, v1)
		}
		if !p.keyword("eq") {
			return galleon.FilterClause{}, p.errorf("expected 'eq'")
		}
		p.space()
		v, err := p.literal()
		if err != nil {
			return galleon.FilterClause{}, err
		}
		if err := p.expect(')'); err != nil {
			return galleon.FilterClause{}, err
		}
		return galleon.FilterClause{Field: canonicalField(field), Op: galleon.FilterAnyEq, Value: v}, nil
	}
	if !p.keyword("eq") {
		return galleon.FilterClause{}, p.errorf("only the eq operator, startswith() and any() are supported")
	}
	p.space()
	v, err := p.literal()
	if err != nil {
		return galleon.FilterClause{}, err
	}
	return galleon.FilterClause{Field: canonicalField(field), Op: galleon.FilterEq, Value: v}, nil
}

var knownFields = []string{galleon.FieldID, galleon.FieldUserPrincipalName, galleon.FieldDisplayName, galleon.FieldMail,
	galleon.FieldMailNickname, galleon.FieldUserType, galleon.FieldAppID, galleon.FieldServicePrincipalNames, "identifierUris"}

func canonicalField(name string) string {
	for _, f := range knownFields {
		if strings.EqualFold(f, name) {
			return f
		}
	}
	return name
}

// filterRule says which clauses a collection answers.
type filterRule struct {
	resource   string // Graph's type name, for error messages
	eq         []string
	startsWith []string
	any        []string
}

func (r filterRule) check(f galleon.DirectoryFilter) error {
	for _, c := range f {
		var allowed []string
		switch c.Op {
		case galleon.FilterEq:
			allowed = r.eq
		case galleon.FilterStartsWith:
			allowed = r.startsWith
		case galleon.FilterAnyEq:
			allowed = r.any
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == c.Field
		}
		if !ok {
			return &FilterError{fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", c.Field, r.resource)}
		}
	}
	return nil
}

var (
	userFilter = filterRule{resource: "User",
		eq:         []string{galleon.FieldID, galleon.FieldUserPrincipalName, galleon.FieldDisplayName, galleon.FieldMail, galleon.FieldMailNickname, galleon.FieldUserType},
		startsWith: []string{galleon.FieldDisplayName, galleon.FieldUserPrincipalName, galleon.FieldMail}}
	groupFilter = filterRule{resource: "Group",
		eq:         []string{galleon.FieldID, galleon.FieldDisplayName, galleon.FieldMailNickname},
		startsWith: []string{galleon.FieldDisplayName}}
	applicationFilter = filterRule{resource: "Application",
		eq:         []string{galleon.FieldID, galleon.FieldAppID, galleon.FieldDisplayName},
		startsWith: []string{galleon.FieldDisplayName},
		any:        []string{"identifierUris"}}
	servicePrincipalFilter = filterRule{resource: "ServicePrincipal",
		eq:         []string{galleon.FieldID, galleon.FieldAppID, galleon.FieldDisplayName},
		startsWith: []string{galleon.FieldDisplayName},
		any:        []string{galleon.FieldServicePrincipalNames}}
)
