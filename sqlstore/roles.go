package sqlstore

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/galleon-project/galleon"
)

func insertRoleAssignment(ctx context.Context, tx *tx, a *galleon.RoleAssignment) error {
	_, err := tx.exec(ctx, `INSERT INTO role_assignments (name, scope, scope_fold, role_definition_id, principal_id, principal_type, created_on, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Name, a.Scope, galleon.Fold(strings.TrimRight(a.Scope, "/")), a.RoleDefinitionID, a.PrincipalID, a.PrincipalType, ts(a.CreatedOn), a.CreatedBy)
	return err
}

// ListRoleAssignmentsForPrincipals returns every assignment to any of ids.
func (s *DB) ListRoleAssignmentsForPrincipals(ctx context.Context, ids []string) (out []galleon.RoleAssignment, err error) {
	defer galleon.Wrap(&err, "ListRoleAssignmentsForPrincipals")
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return queryRoleAssignments(ctx, s.r(), `SELECT `+roleAssignmentColumns+`
		FROM role_assignments WHERE principal_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY scope_fold, name`, args...)
}

// deleteRoleAssignmentsUnder removes assignments at scope or below it.
func deleteRoleAssignmentsUnder(ctx context.Context, tx *tx, scope string) error {
	f := galleon.Fold(strings.TrimRight(scope, "/"))
	// substr counts characters on both engines, so the prefix length must
	// too: a byte count cuts non-ASCII group names short and matches nothing.
	_, err := tx.exec(ctx, `DELETE FROM role_assignments WHERE scope_fold = ? OR substr(scope_fold, 1, ?) = ?`,
		f, utf8.RuneCountInString(f)+1, f+"/")
	return err
}

const roleAssignmentColumns = `name, scope, role_definition_id, principal_id, principal_type, created_on, created_by`

func scanRoleAssignment(row interface{ Scan(...any) error }) (*galleon.RoleAssignment, error) {
	var a galleon.RoleAssignment
	var created string
	if err := row.Scan(&a.Name, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &a.PrincipalType, &created, &a.CreatedBy); err != nil {
		return nil, err
	}
	var err error
	a.CreatedOn, err = parseTS(created)
	return &a, err
}

func queryRoleAssignments(ctx context.Context, q querier, query string, args ...any) (out []galleon.RoleAssignment, err error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanRoleAssignment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

func roleAssignmentExists(a *galleon.RoleAssignment) error {
	return galleon.Errorf(galleon.CodeRoleAssignmentExists, "The role assignment already exists. The ID of the existing role assignment is %s.", a.Name)
}

// CreateRoleAssignment stores a new role assignment.
func (s *DB) CreateRoleAssignment(ctx context.Context, a *galleon.RoleAssignment) (created bool, err error) {
	defer galleon.Wrap(&err, "CreateRoleAssignment(%s)", a.Name)
	err = s.transact(ctx, func(tx *tx) error {
		created = false
		f := galleon.Fold(strings.TrimRight(a.Scope, "/"))
		same, err := queryRoleAssignments(ctx, tx, `SELECT `+roleAssignmentColumns+` FROM role_assignments
			WHERE name = ? OR (scope_fold = ? AND role_definition_id = ? AND principal_id = ?)`,
			a.Name, f, a.RoleDefinitionID, a.PrincipalID)
		if err != nil {
			return err
		}
		if len(same) > 0 {
			o := same[0]
			if len(same) == 1 && o.Name == a.Name && galleon.Fold(o.Scope) == galleon.Fold(a.Scope) &&
				o.RoleDefinitionID == a.RoleDefinitionID && o.PrincipalID == a.PrincipalID {
				*a = o // the same assignment again
				return nil
			}
			return roleAssignmentExists(&o)
		}
		if err := insertRoleAssignment(ctx, tx, a); err != nil {
			if s.dialect.isUniqueViolation(err) {
				return galleon.Errorf(galleon.CodeRoleAssignmentExists, "The role assignment already exists.")
			}
			return err
		}
		created = true
		return nil
	})
	return created, err
}

// GetRoleAssignment returns an assignment by name.
func (s *DB) GetRoleAssignment(ctx context.Context, name string) (a *galleon.RoleAssignment, err error) {
	defer galleon.Wrap(&err, "GetRoleAssignment(%s)", name)
	a, err = scanRoleAssignment(s.r().queryRow(ctx, `SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE name = ?`, strings.ToLower(name)))
	if isNoRows(err) {
		return nil, galleon.Errorf(galleon.CodeRoleAssignmentNotFound, "The role assignment '%s' is not found.", name)
	}
	return a, err
}

// DeleteRoleAssignment deletes an assignment by name.
func (s *DB) DeleteRoleAssignment(ctx context.Context, name string) (a *galleon.RoleAssignment, err error) {
	defer galleon.Wrap(&err, "DeleteRoleAssignment(%s)", name)
	err = s.transact(ctx, func(tx *tx) error {
		a, err = scanRoleAssignment(tx.queryRow(ctx, `SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE name = ?`, strings.ToLower(name)))
		if isNoRows(err) {
			a = nil
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM role_assignments WHERE name = ?`, a.Name)
		return err
	})
	return a, err
}

// ListRoleAssignmentsAtScope lists assignments at, above and optionally
// below scope.
func (s *DB) ListRoleAssignmentsAtScope(ctx context.Context, scope string, below bool) (out []galleon.RoleAssignment, err error) {
	defer galleon.Wrap(&err, "ListRoleAssignmentsAtScope(%s)", scope)
	f := galleon.Fold(strings.TrimRight(scope, "/"))
	// Above: the assignment's scope is a whole-segment prefix of scope.
	// Lengths count characters on both engines (see deleteRoleAssignmentsUnder).
	where := `scope_fold = ? OR scope_fold = '' OR substr(?, 1, length(scope_fold) + 1) = scope_fold || '/'`
	args := []any{f, f}
	if below {
		where += ` OR substr(scope_fold, 1, ?) = ?`
		args = append(args, utf8.RuneCountInString(f)+1, f+"/")
	}
	return queryRoleAssignments(ctx, s.r(), `SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE `+where+` ORDER BY scope_fold, name`, args...)
}

// getRoleDefinition reads a custom role, nil when absent.
func getRoleDefinition(ctx context.Context, q querier, guid string) (*galleon.RoleDefinition, error) {
	var body string
	err := q.queryRow(ctx, `SELECT definition FROM role_definitions WHERE id = ?`, strings.ToLower(guid)).Scan(&body)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &galleon.RoleDefinition{}
	return d, fromJSON(body, d)
}

// PutRoleDefinition creates or replaces a custom role definition, after
// check has seen the stored one in the same transaction.
func (s *DB) PutRoleDefinition(ctx context.Context, d *galleon.RoleDefinition, subscriptionID string, check func(*galleon.RoleDefinition) error) (created bool, err error) {
	defer galleon.Wrap(&err, "PutRoleDefinition(%s)", d.ID)
	body, err := toJSON(d)
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, func(tx *tx) error {
		if check != nil {
			stored, err := getRoleDefinition(ctx, tx, d.ID)
			if err != nil {
				return err
			}
			if err := check(stored); err != nil {
				return err
			}
		}
		var other string
		err := tx.queryRow(ctx, `SELECT id FROM role_definitions WHERE role_name_fold = ?`, galleon.Fold(d.RoleName)).Scan(&other)
		switch {
		case err == nil && other != d.ID:
			return galleon.Errorf(galleon.CodeRoleDefinitionExists, "A custom role with the same name '%s' already exists.", d.RoleName)
		case err != nil && !isNoRows(err):
			return err
		}
		res, err := tx.exec(ctx, `UPDATE role_definitions SET role_name_fold = ?, definition = ? WHERE id = ?`, galleon.Fold(d.RoleName), body, d.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			created = false
			return err
		}
		created = true
		_, err = tx.exec(ctx, `INSERT INTO role_definitions (id, role_name_fold, subscription_id, definition) VALUES (?, ?, ?, ?)`,
			d.ID, galleon.Fold(d.RoleName), subscriptionID, body)
		return err
	})
	return created, err
}

func roleDefinitionNotFound(guid string) error {
	return galleon.Errorf(galleon.CodeRoleDefinitionNotFound, "The specified role definition with ID '%s' does not exist.", guid)
}

// GetRoleDefinition returns a custom role definition by GUID.
func (s *DB) GetRoleDefinition(ctx context.Context, guid string) (d *galleon.RoleDefinition, err error) {
	defer galleon.Wrap(&err, "GetRoleDefinition(%s)", guid)
	var body string
	err = s.r().queryRow(ctx, `SELECT definition FROM role_definitions WHERE id = ?`, strings.ToLower(guid)).Scan(&body)
	if isNoRows(err) {
		return nil, roleDefinitionNotFound(guid)
	}
	if err != nil {
		return nil, err
	}
	d = &galleon.RoleDefinition{}
	return d, fromJSON(body, d)
}

// ListRoleDefinitions returns every custom role definition.
func (s *DB) ListRoleDefinitions(ctx context.Context) (out []galleon.RoleDefinition, err error) {
	defer galleon.Wrap(&err, "ListRoleDefinitions")
	rows, err := s.r().query(ctx, `SELECT definition FROM role_definitions ORDER BY role_name_fold`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		var d galleon.RoleDefinition
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		if err := fromJSON(body, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteRoleDefinition deletes a custom role that nothing is assigned,
// after check has seen it in the same transaction.
func (s *DB) DeleteRoleDefinition(ctx context.Context, guid string, check func(*galleon.RoleDefinition) error) (d *galleon.RoleDefinition, err error) {
	defer galleon.Wrap(&err, "DeleteRoleDefinition(%s)", guid)
	guid = strings.ToLower(guid)
	err = s.transact(ctx, func(tx *tx) error {
		d = nil
		stored, err := getRoleDefinition(ctx, tx, guid)
		if err != nil || stored == nil {
			return err
		}
		if check != nil {
			if err := check(stored); err != nil {
				return err
			}
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM role_assignments WHERE substr(role_definition_id, length(role_definition_id) - 35, 36) = ?`, guid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return galleon.Errorf(galleon.CodeRoleDefinitionHasAssignments,
				"There are existing role assignments referencing role (code: RoleDefinitionHasAssignments): %d of them. Remove them before deleting the role.", n)
		}
		d = stored
		_, err = tx.exec(ctx, `DELETE FROM role_definitions WHERE id = ?`, guid)
		return err
	})
	return d, err
}

// AppendAudit records one audit event.
func (s *DB) AppendAudit(ctx context.Context, e *galleon.AuditEvent) (err error) {
	defer galleon.Wrap(&err, "AppendAudit")
	return s.transact(ctx, func(tx *tx) error {
		_, err := tx.exec(ctx, `INSERT INTO audit_events (id, at, subscription_id, principal_id, principal_name, action, scope, method, status, result, correlation_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, ts(e.At), e.SubscriptionID, e.PrincipalID, e.PrincipalName, e.Action, e.Scope,
			e.Method, e.Status, e.Result, e.CorrelationID)
		return err
	})
}

// ListAudit pages through a subscription's audit events, newest first;
// the page token is the sequence number to continue below.
func (s *DB) ListAudit(ctx context.Context, subscriptionID string, page galleon.Page) (out []galleon.AuditEvent, next string, err error) {
	defer galleon.Wrap(&err, "ListAudit(%s)", subscriptionID)
	limit := pageLimit(page)
	before := int64(math.MaxInt64)
	if page.After != "" {
		if before, err = strconv.ParseInt(page.After, 10, 64); err != nil {
			return nil, "", galleon.TargetErrorf(galleon.CodeInvalidParameter, "$skiptoken", "The page token is invalid.")
		}
	}
	rows, err := s.r().query(ctx, `SELECT seq, id, at, subscription_id, principal_id, principal_name, action, scope, method, status, result, correlation_id
		FROM audit_events WHERE subscription_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, subscriptionID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var e galleon.AuditEvent
		var seq int64
		var at string
		if err := rows.Scan(&seq, &e.ID, &at, &e.SubscriptionID, &e.PrincipalID, &e.PrincipalName, &e.Action, &e.Scope, &e.Method, &e.Status, &e.Result, &e.CorrelationID); err != nil {
			return nil, "", err
		}
		if e.At, err = parseTS(at); err != nil {
			return nil, "", err
		}
		out = append(out, e)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(seqs[limit-1], 10)
	}
	return out, next, nil
}

// PrincipalType returns the type of the principal with objectID in the
// tenant.
func (s *DB) PrincipalType(ctx context.Context, tenantID, objectID string) (typ string, err error) {
	defer galleon.Wrap(&err, "PrincipalType(%s)", objectID)
	err = s.r().queryRow(ctx, `SELECT type FROM principals WHERE object_id = ? AND tenant_id = ?`, objectID, tenantID).Scan(&typ)
	if isNoRows(err) {
		return "", galleon.Errorf(galleon.CodeResourceNotFound, "The principal '%s' does not exist.", objectID)
	}
	return typ, err
}

// EndSession records a signed-out portal session until its expiry, and
// forgets those already past theirs.
func (s *DB) EndSession(ctx context.Context, id string, expires time.Time) (err error) {
	defer galleon.Wrap(&err, "EndSession")
	return s.transact(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM ended_sessions WHERE expires_at < ?`, ts(time.Now())); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO ended_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, ts(expires))
		return err
	})
}

// SessionEnded reports whether a portal session was signed out.
func (s *DB) SessionEnded(ctx context.Context, id string) (ended bool, err error) {
	defer galleon.Wrap(&err, "SessionEnded")
	rows, err := s.r().query(ctx, `SELECT 1 FROM ended_sessions WHERE id = ?`, id)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	ended = rows.Next()
	return ended, rows.Err()
}
