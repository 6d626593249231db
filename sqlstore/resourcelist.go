package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"github.com/galleon-project/galleon"
)

// The generic resource list reads the four tables that hold resources in
// one UNION ALL query. Each branch yields the same columns, the list key
// (galleon.ResourceListKey) among them, computed from the *_fold columns;
// the outer query orders and pages by that key. Galleries and image
// definitions carry no group of their own, so the nested branches join up
// to the gallery for it.

// resourceBranch is one table's part of the list.
type resourceBranch struct {
	types []string // the types its rows have
	from  string   // FROM and joins; r is the resource group
	alias string   // the table's alias, for subscription_id and the columns below
	// typ is the SQL of the row's type, typeFold its folded form.
	typ, typeFold string
	// names are the stored-case names from the top-level parent down,
	// nameFolds their folded columns; nested rows have several.
	names, nameFolds []string
	rgFold           string
}

var resourceBranches = []resourceBranch{
	{
		types: []string{galleon.TypeGallery},
		from:  `galleries g JOIN resource_groups r ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold`,
		alias: "g", typ: `'` + galleon.TypeGallery + `'`, typeFold: `'` + galleon.Fold(galleon.TypeGallery) + `'`,
		names: []string{"g.name"}, nameFolds: []string{"g.name_fold"}, rgFold: "g.resource_group_fold",
	},
	{
		types: []string{galleon.TypeImageDefinition},
		from: `gallery_images i JOIN galleries g ON g.subscription_id = i.subscription_id AND g.name_fold = i.gallery_fold
			JOIN resource_groups r ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold`,
		alias: "i", typ: `'` + galleon.TypeImageDefinition + `'`, typeFold: `'` + galleon.Fold(galleon.TypeImageDefinition) + `'`,
		names: []string{"g.name", "i.name"}, nameFolds: []string{"i.gallery_fold", "i.name_fold"}, rgFold: "g.resource_group_fold",
	},
	{
		types: []string{galleon.TypeImageVersion},
		from: `image_versions v JOIN gallery_images i ON i.subscription_id = v.subscription_id AND i.gallery_fold = v.gallery_fold AND i.name_fold = v.image_fold
			JOIN galleries g ON g.subscription_id = v.subscription_id AND g.name_fold = v.gallery_fold
			JOIN resource_groups r ON r.subscription_id = g.subscription_id AND r.name_fold = g.resource_group_fold`,
		alias: "v", typ: `'` + galleon.TypeImageVersion + `'`, typeFold: `'` + galleon.Fold(galleon.TypeImageVersion) + `'`,
		names: []string{"g.name", "i.name", "v.name"}, nameFolds: []string{"v.gallery_fold", "v.image_fold", "v.name_fold"}, rgFold: "g.resource_group_fold",
	},
	{
		// Disks, snapshots and managed images share a table, told apart by
		// type (see disks.go).
		types: []string{galleon.TypeDisk, galleon.TypeSnapshot, galleon.TypeManagedImage},
		from:  `disks k JOIN resource_groups r ON r.subscription_id = k.subscription_id AND r.name_fold = k.resource_group_fold`,
		alias: "k", typ: "k.type", typeFold: "lower(k.type)",
		names: []string{"k.name"}, nameFolds: []string{"k.name_fold"}, rgFold: "k.resource_group_fold",
	},
}

// likeEscaper escapes LIKE's wildcards and its escape character, '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func containsPattern(s string) string { return "%" + likeEscaper.Replace(galleon.Fold(s)) + "%" }

// idTemplate is the folded segments of the ids of type typ, with {sub},
// {rg} and {0}, {1}, {2} (the names from the top-level parent down) in
// place of the names.
func idTemplate(typ string) []string {
	parts := strings.Split(galleon.Fold(typ), "/")
	tpl := []string{"subscriptions", "{sub}", "resourcegroups", "{rg}", "providers", parts[0]}
	for i, p := range parts[1:] {
		tpl = append(tpl, p, "{"+strconv.Itoa(i)+"}")
	}
	return tpl
}

// scopeCondition is the SQL condition (with its parameters) that a row of
// type typ lies at or under scope, comparing the scope's segments with
// the id's as authz.Covers compares the strings: "" when every row does,
// ok false when none can.
func (b *resourceBranch) scopeCondition(typ, subscriptionID, scope string) (cond string, args []any, ok bool) {
	trimmed := strings.Trim(scope, "/")
	if trimmed == "" {
		return "", nil, true
	}
	segs, tpl := strings.Split(trimmed, "/"), idTemplate(typ)
	if len(segs) > len(tpl) {
		return "", nil, false
	}
	var conds []string
	for i, seg := range segs {
		seg = galleon.Fold(seg)
		switch t := tpl[i]; {
		case t == "{sub}":
			if seg != galleon.Fold(subscriptionID) {
				return "", nil, false
			}
		case t == "{rg}":
			conds, args = append(conds, b.rgFold+" = ?"), append(args, seg)
		case strings.HasPrefix(t, "{"):
			n, _ := strconv.Atoi(strings.Trim(t, "{}"))
			conds, args = append(conds, b.nameFolds[n]+" = ?"), append(args, seg)
		case seg != t:
			return "", nil, false
		}
	}
	return strings.Join(conds, " AND "), args, true
}

// typeCondition is the condition that a row of type typ is within the
// filter's scopes for it: "" for every row, ok false for none.
func (b *resourceBranch) typeCondition(typ, subscriptionID string, f *galleon.ResourceFilter) (cond string, args []any, ok bool) {
	scopes, narrowed := f.Within[typ]
	if !narrowed {
		return "", nil, true
	}
	var conds []string
	for _, scope := range scopes {
		c, a, ok := b.scopeCondition(typ, subscriptionID, scope)
		switch {
		case !ok:
			continue
		case c == "":
			return "", nil, true
		}
		conds, args = append(conds, "("+c+")"), append(args, a...)
	}
	if len(conds) == 0 {
		return "", nil, false
	}
	return strings.Join(conds, " OR "), args, true
}

// sql is the branch's SELECT for filter, or "" when no row of it can
// match; args receives its parameters in order.
func (b *resourceBranch) sql(d dialect, subscriptionID string, f *galleon.ResourceFilter, args *[]any) string {
	// The condition on each type the filter lets through.
	var typeConds []string
	var typeArgs []any
	for _, t := range b.types {
		if !f.Lists(t) {
			continue
		}
		c, a, ok := b.typeCondition(t, subscriptionID, f)
		if !ok {
			continue
		}
		if len(b.types) > 1 {
			c, a = b.typ+" = ?"+andIf(c), append([]any{t}, a...)
		}
		typeConds, typeArgs = append(typeConds, c), append(typeArgs, a...)
	}
	if len(typeConds) == 0 {
		return ""
	}
	// A full name has as many parts as the branch's rows have levels.
	var nameParts []string
	if f.Name != "" {
		if nameParts = strings.Split(galleon.Fold(f.Name), "/"); len(nameParts) != len(b.nameFolds) {
			return ""
		}
	}
	a := b.alias
	nameFold := strings.Join(b.nameFolds, ` || '/' || `)
	names := append(slices.Clone(b.names), "''", "''")[:3]
	var q strings.Builder
	q.WriteString(`SELECT ` + b.typ + ` AS type, r.name AS rg, ` + names[0] + ` AS n1, ` + names[1] + ` AS n2, ` + names[2] + ` AS n3, ` +
		a + `.location AS location, ` + a + `.tags AS tags, ` + d.jsonText(a+".properties", "provisioningState") + ` AS ps, ` +
		a + `.system_data AS sd, ` + nameFold + ` || ' ' || ` + b.typeFold + ` || ' ' || ` + b.rgFold + ` AS sort_key
		FROM ` + b.from + ` WHERE ` + a + `.subscription_id = ?`)
	*args = append(*args, galleon.Fold(subscriptionID))
	if len(typeConds) > 1 || typeConds[0] != "" {
		q.WriteString(` AND ((` + strings.Join(typeConds, `) OR (`) + `))`)
		*args = append(*args, typeArgs...)
	}
	if f.ResourceGroup != "" {
		q.WriteString(` AND ` + b.rgFold + ` = ?`)
		*args = append(*args, galleon.Fold(f.ResourceGroup))
	}
	for i, part := range nameParts {
		q.WriteString(` AND ` + b.nameFolds[i] + ` = ?`)
		*args = append(*args, part)
	}
	if f.Location != "" {
		q.WriteString(` AND lower(` + a + `.location) = ?`)
		*args = append(*args, galleon.Fold(f.Location))
	}
	for _, s := range f.NameContains {
		q.WriteString(` AND ` + nameFold + ` LIKE ? ESCAPE '\'`)
		*args = append(*args, containsPattern(s))
	}
	for _, s := range f.ResourceGroupContains {
		q.WriteString(` AND ` + b.rgFold + ` LIKE ? ESCAPE '\'`)
		*args = append(*args, containsPattern(s))
	}
	return q.String()
}

// andIf is " AND (c)", or "" for no condition.
func andIf(c string) string {
	if c == "" {
		return ""
	}
	return " AND (" + c + ")"
}

// ListResources lists one page of a subscription's resources of every
// kind, in one query.
func (s *DB) ListResources(ctx context.Context, subscriptionID string, filter galleon.ResourceFilter, page galleon.Page) (out []galleon.GenericResource, next string, err error) {
	defer galleon.Wrap(&err, "ListResources(%s)", subscriptionID)
	var args []any
	var selects []string
	for i := range resourceBranches {
		if q := resourceBranches[i].sql(s.dialect, subscriptionID, &filter, &args); q != "" {
			selects = append(selects, q)
		}
	}
	if len(selects) == 0 {
		return nil, "", nil
	}
	limit := pageLimit(page)
	// Not a cached prepared statement, unlike other reads: the query's
	// shape follows the filter and the caller's role assignments, so there
	// is no bound on how many shapes there are.
	query := `SELECT type, rg, n1, n2, n3, location, tags, ps, sd, sort_key FROM (` +
		strings.Join(selects, ` UNION ALL `) + `) u WHERE sort_key > ? ORDER BY sort_key LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(query), append(args, page.After, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var keys []string
	sub := galleon.Fold(subscriptionID)
	for rows.Next() {
		var r galleon.GenericResource
		var n [3]string
		var tags, sd, key string
		var ps sql.NullString
		if err := rows.Scan(&r.Type, &r.ResourceGroup, &n[0], &n[1], &n[2], &r.Location, &tags, &ps, &sd, &key); err != nil {
			return nil, "", err
		}
		if err := fromJSON(tags, &r.Tags); err != nil {
			return nil, "", err
		}
		if err := fromJSON(sd, &r.SystemData); err != nil {
			return nil, "", err
		}
		r.ProvisioningState = ps.String
		gallery := galleon.GalleryID{SubscriptionID: sub, ResourceGroup: r.ResourceGroup, Name: n[0]}
		switch r.Type {
		case galleon.TypeGallery:
			r.ID, r.Name = gallery.String(), n[0]
		case galleon.TypeImageDefinition:
			r.ID, r.Name = galleon.ImageDefinitionID{GalleryID: gallery, Image: n[1]}.String(), n[0]+"/"+n[1]
		case galleon.TypeImageVersion:
			id := galleon.ImageVersionID{ImageDefinitionID: galleon.ImageDefinitionID{GalleryID: gallery, Image: n[1]}, Version: n[2]}
			r.ID, r.Name = id.String(), n[0]+"/"+n[1]+"/"+n[2]
		default:
			r.ID, r.Name = galleon.DiskID{SubscriptionID: sub, ResourceGroup: r.ResourceGroup, Type: r.Type, Name: n[0]}.String(), n[0]
		}
		out = append(out, r)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		// The key the rows were ordered by, which GenericResource.ListKey
		// computes alike.
		out, next = out[:limit], keys[limit-1]
	}
	return out, next, nil
}
