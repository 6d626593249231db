package armapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/odata"
)

// ARM's generic resource list: "Resources - List" and "Resources - List By
// Resource Group" (Microsoft.Resources, resources.json), which `az resource
// list` and armresources.Client read. It lists galleon.ListedResourceTypes,
// nested ones under their full names as Azure does ("myGallery/myImage").

func resourceListRoutes() map[routeKey]route {
	return map[routeKey]route{
		{"microsoft.resources/subscriptions/resources", true}: {resourceGroupAPI, map[string]endpoint{
			http.MethodGet: {action: "Microsoft.Resources/subscriptions/resources/read", handle: (*Server).listResources, selfAuthorized: true},
		}},
		{"microsoft.resources/resourcegroups/resources", true}: {resourceGroupAPI, map[string]endpoint{
			http.MethodGet: {action: "Microsoft.Resources/subscriptions/resourceGroups/resources/read", handle: (*Server).listResources, selfAuthorized: true},
		}},
	}
}

// genericResourceJSON is GenericResourceExpanded: what every resource has,
// and with $expand its times and provisioning state.
type genericResourceJSON struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	Location          string            `json:"location"`
	Tags              map[string]string `json:"tags,omitempty"`
	SKU               *diskSKU          `json:"sku,omitempty"`
	CreatedTime       *time.Time        `json:"createdTime,omitempty"`
	ChangedTime       *time.Time        `json:"changedTime,omitempty"`
	ProvisioningState string            `json:"provisioningState,omitempty"`
}

// resourceExpand is what a list's $expand asks for.
type resourceExpand struct{ createdTime, changedTime, provisioningState bool }

// parseResourceExpand reads $expand: a comma-separated list of
// createdTime, changedTime and provisioningState (az asks for all three).
func parseResourceExpand(s string) (resourceExpand, error) {
	var e resourceExpand
	if strings.TrimSpace(s) == "" {
		return e, nil
	}
	for _, v := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "createdtime":
			e.createdTime = true
		case "changedtime":
			e.changedTime = true
		case "provisioningstate":
			e.provisioningState = true
		default:
			return e, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$expand",
				"The value '%s' of parameter '$expand' is not allowed. Allowed values are createdTime, changedTime and provisioningState, separated by commas.", s)
		}
	}
	return e, nil
}

func toGenericResourceJSON(r *galleon.GenericResource, e resourceExpand) genericResourceJSON {
	out := genericResourceJSON{ID: r.ID, Name: r.Name, Type: r.Type, Location: r.Location, Tags: r.Tags}
	if r.Type == galleon.TypeDisk || r.Type == galleon.TypeSnapshot {
		out.SKU = &diskSKU{Name: "Standard_LRS", Tier: "Standard"} // as toDiskJSON
	}
	if e.createdTime && !r.SystemData.CreatedAt.IsZero() {
		out.CreatedTime = &r.SystemData.CreatedAt
	}
	if e.changedTime && !r.SystemData.LastModifiedAt.IsZero() {
		out.ChangedTime = &r.SystemData.LastModifiedAt
	}
	if e.provisioningState {
		out.ProvisioningState = r.ProvisioningState
	}
	return out
}

// listResources serves both generic lists. An item is shown when the
// caller may {type}/read it, so a Reader of one gallery sees that gallery,
// its definitions and versions and nothing else. The store is asked only
// for the types the caller may read somewhere in the scope, each narrowed
// to the scopes it may read it at (Permissions.GrantedBelow) when it may
// not read it throughout: one query, full pages, however little of the
// subscription the caller sees. A caller who may read none of the types
// is refused.
func (s *Server) listResources(w http.ResponseWriter, r *request) error {
	sub, rg := r.id.SubscriptionID, r.id.ResourceGroupName
	scope, action := galleon.SubscriptionScope(sub), "Microsoft.Resources/subscriptions/resources/read"
	if rg != "" {
		scope, action = galleon.ResourceGroupID{SubscriptionID: sub, Name: rg}.String(), "Microsoft.Resources/subscriptions/resourceGroups/resources/read"
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	// checkItems has the types the caller may read in the scope: false for
	// a type it may read throughout it, true for one it may read only
	// somewhere under it, whose items are then checked one by one.
	checkItems := map[string]bool{}
	for _, typ := range galleon.ListedResourceTypes {
		switch read := typ + "/read"; {
		case perms.Allows(read, scope):
			checkItems[typ] = false
		case perms.AllowsBelow(read, scope):
			checkItems[typ] = true
		}
	}
	if len(checkItems) == 0 {
		return galleon.Denied(r.principal, action, scope)
	}

	q := r.URL.Query()
	filter, err := parseResourceFilter(q.Get("$filter"))
	if err != nil {
		return err
	}
	expand, err := parseResourceExpand(q.Get("$expand"))
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	if rg != "" {
		if _, err := s.Store.GetResourceGroup(r.Context(), galleon.ResourceGroupID{SubscriptionID: sub, Name: rg}); err != nil {
			return err
		}
		if filter.ResourceGroup != "" && galleon.Fold(filter.ResourceGroup) != galleon.Fold(rg) {
			filter.none = true
		}
		filter.ResourceGroup = rg
	}
	var types []string
	for _, typ := range galleon.ListedResourceTypes {
		check, ok := checkItems[typ]
		if !ok || !filter.Lists(typ) {
			continue
		}
		types = append(types, typ)
		if check {
			if filter.Within == nil {
				filter.Within = map[string][]string{}
			}
			filter.Within[typ] = perms.GrantedBelow(typ+"/read", scope)
		}
	}
	if len(types) == 0 || filter.none {
		return s.writeList(w, r, []genericResourceJSON{}, "")
	}
	filter.Types = types
	items, next, err := s.Store.ListResources(r.Context(), sub, filter.ResourceFilter, page)
	if err != nil {
		return err
	}
	out := make([]genericResourceJSON, 0, len(items))
	for i := range items {
		// The store narrowed the list to the caller's scopes already; each
		// item is checked again all the same.
		if it := &items[i]; !checkItems[it.Type] || perms.Allows(it.Type+"/read", it.ID) {
			out = append(out, toGenericResourceJSON(it, expand))
		}
	}
	return s.writeList(w, r, out, next)
}

// resourceListFilter is a parsed $filter of the generic resource list.
type resourceListFilter struct {
	galleon.ResourceFilter
	// none is set when the terms contradict each other (two different
	// names, or a type Galleon does not hold): nothing matches.
	none bool
}

// maxFilterTerms bounds a $filter's terms.
const maxFilterTerms = 16

// parseResourceFilter reads the $filter forms Azure documents for the
// generic resource list that Galleon serves, as az resource list sends
// them: resourceType, name, resourceGroup and location eq '…',
// substringof('…', name) and substringof('…', resourceGroup), joined with
// and. Property names are case-insensitive; a quote inside a value is
// written twice. Anything else is Azure's InvalidFilterInQueryString with
// what Galleon could not read.
func parseResourceFilter(s string) (resourceListFilter, error) {
	var f resourceListFilter
	p := &filterScanner{s: s}
	invalid := func(reason string) (resourceListFilter, error) {
		return f, galleon.TargetErrorf(galleon.CodeInvalidFilter, "$filter",
			"Invalid $filter '%s' specified in the query string: %s. Galleon filters the resource list by resourceType, name, resourceGroup and location eq '{value}', and by substringof('{value}', name) and substringof('{value}', resourceGroup), joined with 'and'.",
			s, reason)
	}
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	// same narrows one property to a value: a second, different value
	// leaves nothing.
	same := func(field *string, v string, fold func(string) string) {
		if *field != "" && fold(*field) != fold(v) {
			f.none = true
		}
		*field = v
	}
	for n := 0; ; n++ {
		if n == maxFilterTerms {
			return invalid("it has more than 16 terms")
		}
		word := p.word()
		if word == "" {
			return invalid("a property or substringof(…) is expected at position " + itoa(int64(p.pos+1)))
		}
		if strings.EqualFold(word, "substringof") {
			value, ok := p.call()
			if !ok {
				return invalid("substringof takes a quoted value and a property: substringof('{value}', name)")
			}
			prop := p.word()
			switch {
			case strings.EqualFold(prop, "name"):
				f.NameContains = append(f.NameContains, value)
			case strings.EqualFold(prop, "resourceGroup"):
				f.ResourceGroupContains = append(f.ResourceGroupContains, value)
			case prop == "":
				return invalid("substringof takes a quoted value and a property: substringof('{value}', name)")
			default:
				return invalid("substringof applies to name and resourceGroup, not to '" + prop + "'")
			}
			if !p.punct(')') {
				return invalid("substringof(…) is not closed")
			}
		} else {
			op := p.word()
			if !strings.EqualFold(op, "eq") {
				if op == "" {
					return invalid("'" + word + "' is not followed by eq")
				}
				return invalid("the operator '" + op + "' is not supported; use eq")
			}
			value, ok := p.quoted()
			if !ok {
				return invalid("'" + word + " eq' is not followed by a quoted value")
			}
			switch strings.ToLower(word) {
			case "resourcetype":
				known := false
				for _, t := range galleon.ListedResourceTypes {
					if strings.EqualFold(t, value) {
						value, known = t, true
					}
				}
				if !known || len(f.Types) > 0 && f.Types[0] != value {
					f.none = true // a type Galleon does not hold, or two types
				}
				f.Types = []string{value}
			case "name":
				same(&f.Name, value, galleon.Fold)
			case "resourcegroup":
				same(&f.ResourceGroup, value, galleon.Fold)
			case "location":
				same(&f.Location, strings.ReplaceAll(value, " ", ""), galleon.Fold)
			case "tagname", "tagvalue":
				return invalid("filtering by tag is not supported")
			default:
				return invalid("'" + word + "' is not a property the list filters on")
			}
		}
		if p.end() {
			return f, nil
		}
		at := p.pos + 1
		switch conj := p.word(); {
		case strings.EqualFold(conj, "and"):
		case strings.EqualFold(conj, "or"):
			return invalid("'or' is not supported; join terms with 'and'")
		default:
			return invalid("'and' is expected at position " + itoa(int64(at)))
		}
	}
}

// filterScanner reads the tokens of an OData $filter.
type filterScanner struct {
	s   string
	pos int
}

func (p *filterScanner) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// end reports whether only spaces are left.
func (p *filterScanner) end() bool {
	p.skipSpace()
	return p.pos == len(p.s)
}

// word reads a property name, function name, operator or keyword.
func (p *filterScanner) word() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '/' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

// punct reads the character c.
func (p *filterScanner) punct(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// quoted reads a value in single quotes, inside which a quote is written
// twice.
func (p *filterScanner) quoted() (string, bool) {
	p.skipSpace()
	v, next, ok := odata.ReadString(p.s, p.pos)
	if !ok {
		if p.pos < len(p.s) && p.s[p.pos] == '\'' {
			p.pos = len(p.s) // an unterminated literal takes the rest
		}
		return "", false
	}
	p.pos = next
	return v, true
}

// call reads "('value'," of substringof('value', property).
func (p *filterScanner) call() (string, bool) {
	if !p.punct('(') {
		return "", false
	}
	v, ok := p.quoted()
	if !ok || !p.punct(',') {
		return "", false
	}
	return v, true
}
