package sqlstore

import (
	"context"
	"strings"
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
	rows, err := s.r().query(ctx, `SELECT name, scope, role_definition_id, principal_id, principal_type, created_on, created_by
		FROM role_assignments WHERE principal_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY scope_fold, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a galleon.RoleAssignment
		var created string
		if err := rows.Scan(&a.Name, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &a.PrincipalType, &created, &a.CreatedBy); err != nil {
			return nil, err
		}
		if a.CreatedOn, err = parseTS(created); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
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
