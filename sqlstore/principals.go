package sqlstore

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/galleon-project/galleon"
)

// The directory that Graph administers (galleon.DirectoryAdminStore):
// users, groups and service principals are rows of principals, told apart
// by type; applications, memberships, added password credentials and
// invitations have tables of their own (migration 0005).

var _ galleon.DirectoryAdminStore = (*DB)(nil)

// principalRow is every column of a principals row, of whatever type.
type principalRow struct {
	objectID, tenantID, typ, appID, upn, displayName, passwordHash string
	mail, mailNickname, userType, externalUserState, description   string
	accountEnabled, securityEnabled, mailEnabled                   bool
	createdAt                                                      time.Time
}

const principalRowColumns = `object_id, tenant_id, type, COALESCE(app_id, ''), COALESCE(upn, ''), display_name, COALESCE(password_hash, ''),
	mail, mail_nickname, user_type, external_user_state, description, account_enabled, security_enabled, mail_enabled, created_at`

type scanner interface{ Scan(...any) error }

func scanPrincipalRow(row scanner) (*principalRow, error) {
	var r principalRow
	var enabled, security, mailEnabled int
	var created string
	if err := row.Scan(&r.objectID, &r.tenantID, &r.typ, &r.appID, &r.upn, &r.displayName, &r.passwordHash,
		&r.mail, &r.mailNickname, &r.userType, &r.externalUserState, &r.description, &enabled, &security, &mailEnabled, &created); err != nil {
		return nil, err
	}
	r.accountEnabled, r.securityEnabled, r.mailEnabled = enabled != 0, security != 0, mailEnabled != 0
	var err error
	r.createdAt, err = parseTS(created)
	return &r, err
}

func (r *principalRow) principal() galleon.Principal {
	return galleon.Principal{ObjectID: r.objectID, TenantID: r.tenantID, Type: r.typ, AppID: r.appID,
		UserPrincipalName: r.upn, DisplayName: r.displayName}
}

func (r *principalRow) user() *galleon.DirectoryUser {
	return &galleon.DirectoryUser{Principal: r.principal(), PasswordHash: r.passwordHash, Mail: r.mail, MailNickname: r.mailNickname,
		UserType: r.userType, ExternalUserState: r.externalUserState, AccountEnabled: r.accountEnabled, CreatedAt: r.createdAt}
}

func (r *principalRow) group() *galleon.Group {
	return &galleon.Group{ObjectID: r.objectID, TenantID: r.tenantID, DisplayName: r.displayName, Description: r.description,
		MailNickname: r.mailNickname, SecurityEnabled: r.securityEnabled, MailEnabled: r.mailEnabled, CreatedAt: r.createdAt}
}

func (r *principalRow) servicePrincipal() *galleon.ServicePrincipal {
	return &galleon.ServicePrincipal{Principal: r.principal(), AccountEnabled: r.accountEnabled, CreatedAt: r.createdAt}
}

func (r *principalRow) object() galleon.DirectoryObject {
	o := galleon.DirectoryObject{Type: r.typ}
	switch r.typ {
	case galleon.PrincipalUser:
		o.User = r.user()
	case galleon.PrincipalGroup:
		o.Group = r.group()
	case galleon.PrincipalServicePrincipal:
		o.ServicePrincipal = r.servicePrincipal()
	}
	return o
}

func queryPrincipalRows(ctx context.Context, q querier, query string, args ...any) ([]principalRow, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []principalRow
	for rows.Next() {
		r, err := scanPrincipalRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func notFound(what, id string) error {
	return galleon.Errorf(galleon.CodeResourceNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func conflict(property string) error {
	return galleon.TargetErrorf(galleon.CodeConflict, property, "Another object with the same value for property %s already exists.", property)
}

// insertPrincipalRow stores a user, group or service principal.
func (s *DB) insertPrincipalRow(ctx context.Context, tx *tx, r *principalRow, conflictProperty string) error {
	var upnFold any
	if r.upn != "" {
		upnFold = galleon.Fold(r.upn)
	}
	_, err := tx.exec(ctx, `INSERT INTO principals (object_id, tenant_id, type, app_id, upn, upn_fold, display_name, display_name_fold,
		password_hash, mail, mail_fold, mail_nickname, mail_nickname_fold, user_type, external_user_state, account_enabled,
		description, security_enabled, mail_enabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.objectID, r.tenantID, r.typ, nullIfEmpty(r.appID), nullIfEmpty(r.upn), upnFold, r.displayName, galleon.Fold(r.displayName),
		nullIfEmpty(r.passwordHash), r.mail, galleon.Fold(r.mail), r.mailNickname, galleon.Fold(r.mailNickname), r.userType, r.externalUserState,
		b2i(r.accountEnabled), r.description, b2i(r.securityEnabled), b2i(r.mailEnabled), ts(r.createdAt))
	if s.dialect.isUniqueViolation(err) {
		return conflict(conflictProperty)
	}
	return err
}

func userRow(u *galleon.DirectoryUser, now time.Time) *principalRow {
	created := u.CreatedAt
	if created.IsZero() {
		created = now
	}
	return &principalRow{objectID: u.ObjectID, tenantID: u.TenantID, typ: galleon.PrincipalUser, upn: u.UserPrincipalName,
		displayName: u.DisplayName, passwordHash: u.PasswordHash, mail: u.Mail, mailNickname: u.MailNickname, userType: u.UserType,
		externalUserState: u.ExternalUserState, accountEnabled: u.AccountEnabled, createdAt: created}
}

// filterSQL turns a filter into a WHERE fragment (starting with " AND")
// over the columns fields name; multi names the column a multi-valued
// field's any() compares. Values are folded, as the columns are.
func filterSQL(f galleon.DirectoryFilter, fields map[string]string) (string, []any, error) {
	var b strings.Builder
	var args []any
	for _, c := range f {
		col, ok := fields[c.Field]
		if !ok {
			return "", nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$filter", "Unsupported or invalid query filter clause specified for property '%s'.", c.Field)
		}
		v := galleon.Fold(c.Value)
		switch c.Op {
		case galleon.FilterEq, galleon.FilterAnyEq:
			b.WriteString(" AND " + col + " = ?")
			args = append(args, v)
		case galleon.FilterStartsWith:
			b.WriteString(" AND substr(" + col + ", 1, ?) = ?")
			args = append(args, utf8.RuneCountInString(v), v)
		default:
			return "", nil, galleon.TargetErrorf(galleon.CodeInvalidParameter, "$filter", "Unsupported query operator '%s'.", c.Op)
		}
	}
	return b.String(), args, nil
}

var (
	userFields = map[string]string{galleon.FieldID: "object_id", galleon.FieldUserPrincipalName: "upn_fold",
		galleon.FieldDisplayName: "display_name_fold", galleon.FieldMail: "mail_fold", galleon.FieldMailNickname: "mail_nickname_fold",
		galleon.FieldUserType: "lower(user_type)", galleon.FieldTenantID: "lower(tenant_id)"}
	groupFields = map[string]string{galleon.FieldID: "object_id", galleon.FieldDisplayName: "display_name_fold",
		galleon.FieldMailNickname: "mail_nickname_fold", galleon.FieldTenantID: "lower(tenant_id)"}
	applicationFields = map[string]string{galleon.FieldID: "object_id", galleon.FieldAppID: "app_id",
		galleon.FieldDisplayName: "display_name_fold", galleon.FieldTenantID: "lower(tenant_id)"}
	servicePrincipalFields = map[string]string{galleon.FieldID: "object_id", galleon.FieldAppID: "app_id",
		galleon.FieldDisplayName: "display_name_fold", galleon.FieldServicePrincipalNames: "app_id", galleon.FieldTenantID: "lower(tenant_id)"}
)

// nameKey is the paging key of lists ordered by folded display name, then
// object id: the two joined by a NUL, which neither contains.
func nameKey(fold, id string) string { return fold + "\x00" + id }

// afterName is the WHERE fragment that continues a list ordered by
// (display_name_fold, object_id) after key.
func afterName(key string) (string, []any) {
	if key == "" {
		return "", nil
	}
	fold, id, _ := strings.Cut(key, "\x00")
	return " AND (display_name_fold > ? OR (display_name_fold = ? AND object_id > ?))", []any{fold, fold, id}
}

// CreateUser stores a new user.
func (s *DB) CreateUser(ctx context.Context, u *galleon.DirectoryUser) (err error) {
	defer galleon.Wrap(&err, "CreateUser(%s)", u.UserPrincipalName)
	return s.transact(ctx, func(tx *tx) error {
		r := userRow(u, tx.now)
		if err := s.insertPrincipalRow(ctx, tx, r, "userPrincipalName"); err != nil {
			return err
		}
		u.CreatedAt, u.Type = r.createdAt, galleon.PrincipalUser
		return nil
	})
}

func getUser(ctx context.Context, q querier, idOrUPN string) (*galleon.DirectoryUser, error) {
	r, err := scanPrincipalRow(q.queryRow(ctx, `SELECT `+principalRowColumns+` FROM principals WHERE type = ? AND (object_id = ? OR upn_fold = ?)`,
		galleon.PrincipalUser, idOrUPN, galleon.Fold(idOrUPN)))
	if isNoRows(err) {
		return nil, notFound("user", idOrUPN)
	}
	if err != nil {
		return nil, err
	}
	return r.user(), nil
}

// GetUser finds a user by object id or principal name.
func (s *DB) GetUser(ctx context.Context, idOrUPN string) (u *galleon.DirectoryUser, err error) {
	defer galleon.Wrap(&err, "GetUser(%s)", idOrUPN)
	return getUser(ctx, s.r(), idOrUPN)
}

// UserForSignIn finds a user by principal name, or a guest by e-mail.
func (s *DB) UserForSignIn(ctx context.Context, username string) (u *galleon.DirectoryUser, err error) {
	defer galleon.Wrap(&err, "UserForSignIn(%s)", username)
	r, err := scanPrincipalRow(s.r().queryRow(ctx, `SELECT `+principalRowColumns+` FROM principals WHERE type = ? AND upn_fold = ?`,
		galleon.PrincipalUser, galleon.Fold(username)))
	if isNoRows(err) {
		r, err = scanPrincipalRow(s.r().queryRow(ctx, `SELECT `+principalRowColumns+` FROM principals
			WHERE type = ? AND user_type = ? AND mail_fold = ? ORDER BY created_at, object_id LIMIT 1`,
			galleon.PrincipalUser, galleon.UserTypeGuest, galleon.Fold(username)))
	}
	if isNoRows(err) {
		return nil, notFound("user", username)
	}
	if err != nil {
		return nil, err
	}
	return r.user(), nil
}

// ListUsers lists users ordered by folded principal name.
func (s *DB) ListUsers(ctx context.Context, f galleon.DirectoryFilter, page galleon.Page) (users []galleon.DirectoryUser, next string, err error) {
	defer galleon.Wrap(&err, "ListUsers")
	where, args, err := filterSQL(f, userFields)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(page)
	rows, err := queryPrincipalRows(ctx, s.r(), `SELECT `+principalRowColumns+` FROM principals WHERE type = ?`+where+
		` AND upn_fold > ? ORDER BY upn_fold LIMIT ?`, append(append([]any{galleon.PrincipalUser}, args...), page.After, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	for i := range rows {
		users = append(users, *rows[i].user())
	}
	users, next = trimPage(users, limit, func(u *galleon.DirectoryUser) string { return galleon.Fold(u.UserPrincipalName) })
	return users, next, nil
}

// UpdateUser changes a user in one transaction.
func (s *DB) UpdateUser(ctx context.Context, objectID string, update galleon.Update[galleon.DirectoryUser]) (u *galleon.DirectoryUser, err error) {
	defer galleon.Wrap(&err, "UpdateUser(%s)", objectID)
	err = s.transact(ctx, func(tx *tx) error {
		old, err := getUser(ctx, tx, objectID)
		if err != nil {
			return err
		}
		cur := *old
		if u, err = update(&cur); err != nil {
			return err
		}
		u.ObjectID, u.TenantID, u.Type, u.CreatedAt = old.ObjectID, old.TenantID, galleon.PrincipalUser, old.CreatedAt
		return s.writeUser(ctx, tx, u)
	})
	return u, err
}

func (s *DB) writeUser(ctx context.Context, tx *tx, u *galleon.DirectoryUser) error {
	_, err := tx.exec(ctx, `UPDATE principals SET upn = ?, upn_fold = ?, display_name = ?, display_name_fold = ?, password_hash = ?,
		mail = ?, mail_fold = ?, mail_nickname = ?, mail_nickname_fold = ?, user_type = ?, external_user_state = ?, account_enabled = ?
		WHERE object_id = ? AND type = ?`,
		u.UserPrincipalName, galleon.Fold(u.UserPrincipalName), u.DisplayName, galleon.Fold(u.DisplayName), nullIfEmpty(u.PasswordHash),
		u.Mail, galleon.Fold(u.Mail), u.MailNickname, galleon.Fold(u.MailNickname), u.UserType, u.ExternalUserState, b2i(u.AccountEnabled),
		u.ObjectID, galleon.PrincipalUser)
	if s.dialect.isUniqueViolation(err) {
		return conflict("userPrincipalName")
	}
	return err
}

// deletePrincipal deletes a principal of type typ; memberships, client
// secrets and invitations go with it (ON DELETE CASCADE), and so do the
// password credentials it holds.
func (s *DB) deletePrincipal(ctx context.Context, objectID, typ string) (deleted bool, err error) {
	err = s.transact(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM password_credentials WHERE owner_id = ?`, objectID); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM principals WHERE object_id = ? AND type = ?`, objectID, typ)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}

// DeleteUser deletes a user.
func (s *DB) DeleteUser(ctx context.Context, objectID string) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteUser(%s)", objectID)
	return s.deletePrincipal(ctx, objectID, galleon.PrincipalUser)
}

// CreateGroup stores a new group.
func (s *DB) CreateGroup(ctx context.Context, g *galleon.Group) (err error) {
	defer galleon.Wrap(&err, "CreateGroup(%s)", g.DisplayName)
	return s.transact(ctx, func(tx *tx) error {
		if g.CreatedAt.IsZero() {
			g.CreatedAt = tx.now
		}
		return s.insertPrincipalRow(ctx, tx, &principalRow{objectID: g.ObjectID, tenantID: g.TenantID, typ: galleon.PrincipalGroup,
			displayName: g.DisplayName, description: g.Description, mailNickname: g.MailNickname, accountEnabled: true,
			securityEnabled: g.SecurityEnabled, mailEnabled: g.MailEnabled, createdAt: g.CreatedAt}, "id")
	})
}

func getTyped(ctx context.Context, q querier, objectID, typ string) (*principalRow, error) {
	r, err := scanPrincipalRow(q.queryRow(ctx, `SELECT `+principalRowColumns+` FROM principals WHERE object_id = ? AND type = ?`, objectID, typ))
	if isNoRows(err) {
		return nil, notFound(typ, objectID)
	}
	return r, err
}

// GetGroup returns a group.
func (s *DB) GetGroup(ctx context.Context, objectID string) (g *galleon.Group, err error) {
	defer galleon.Wrap(&err, "GetGroup(%s)", objectID)
	r, err := getTyped(ctx, s.r(), objectID, galleon.PrincipalGroup)
	if err != nil {
		return nil, err
	}
	return r.group(), nil
}

// listByName lists principals of one type ordered by folded display name.
func (s *DB) listByName(ctx context.Context, typ string, f galleon.DirectoryFilter, fields map[string]string, page galleon.Page) ([]principalRow, string, error) {
	where, args, err := filterSQL(f, fields)
	if err != nil {
		return nil, "", err
	}
	after, afterArgs := afterName(page.After)
	limit := pageLimit(page)
	args = append(append(append([]any{typ}, args...), afterArgs...), limit+1)
	rows, err := queryPrincipalRows(ctx, s.r(), `SELECT `+principalRowColumns+` FROM principals WHERE type = ?`+where+after+
		` ORDER BY display_name_fold, object_id LIMIT ?`, args...)
	if err != nil {
		return nil, "", err
	}
	rows, next := trimPage(rows, limit, func(r *principalRow) string { return nameKey(galleon.Fold(r.displayName), r.objectID) })
	return rows, next, nil
}

// ListGroups lists groups ordered by folded display name.
func (s *DB) ListGroups(ctx context.Context, f galleon.DirectoryFilter, page galleon.Page) (groups []galleon.Group, next string, err error) {
	defer galleon.Wrap(&err, "ListGroups")
	rows, next, err := s.listByName(ctx, galleon.PrincipalGroup, f, groupFields, page)
	for i := range rows {
		groups = append(groups, *rows[i].group())
	}
	return groups, next, err
}

// DeleteGroup deletes a group and its memberships, both ways.
func (s *DB) DeleteGroup(ctx context.Context, objectID string) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteGroup(%s)", objectID)
	return s.deletePrincipal(ctx, objectID, galleon.PrincipalGroup)
}

// AddGroupMember adds a direct member to a group.
func (s *DB) AddGroupMember(ctx context.Context, groupID, memberID string) (err error) {
	defer galleon.Wrap(&err, "AddGroupMember(%s, %s)", groupID, memberID)
	return s.transact(ctx, func(tx *tx) error {
		g, err := getTyped(ctx, tx, groupID, galleon.PrincipalGroup)
		if err != nil {
			return err
		}
		// A member of another tenant is not in the group's directory:
		// for it, that object does not exist.
		var tenant string
		err = tx.queryRow(ctx, `SELECT tenant_id FROM principals WHERE object_id = ?`, memberID).Scan(&tenant)
		if isNoRows(err) || err == nil && !strings.EqualFold(tenant, g.tenantID) {
			return notFound("member", memberID)
		}
		if err != nil {
			return err
		}
		if memberID == groupID {
			return galleon.TargetErrorf(galleon.CodeInvalidParameter, "members", "A group cannot be a member of itself.")
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = ? AND member_id = ?`, groupID, memberID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return galleon.TargetErrorf(galleon.CodeConflict, "members",
				"One or more added object references already exist for the following modified properties: 'members'.")
		}
		_, err = tx.exec(ctx, `INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`, groupID, memberID)
		return err
	})
}

// RemoveGroupMember removes a direct member.
func (s *DB) RemoveGroupMember(ctx context.Context, groupID, memberID string) (removed bool, err error) {
	defer galleon.Wrap(&err, "RemoveGroupMember(%s, %s)", groupID, memberID)
	err = s.transact(ctx, func(tx *tx) error {
		if _, err := getTyped(ctx, tx, groupID, galleon.PrincipalGroup); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND member_id = ?`, groupID, memberID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		removed = n > 0
		return err
	})
	return removed, err
}

// ListGroupMembers lists a group's direct members by object id.
func (s *DB) ListGroupMembers(ctx context.Context, groupID string, page galleon.Page) (members []galleon.DirectoryObject, next string, err error) {
	defer galleon.Wrap(&err, "ListGroupMembers(%s)", groupID)
	if _, err := getTyped(ctx, s.r(), groupID, galleon.PrincipalGroup); err != nil {
		return nil, "", err
	}
	limit := pageLimit(page)
	rows, err := queryPrincipalRows(ctx, s.r(), `SELECT `+principalRowColumns+` FROM principals
		WHERE object_id IN (SELECT member_id FROM group_members WHERE group_id = ?) AND object_id > ? ORDER BY object_id LIMIT ?`,
		groupID, page.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next = trimPage(rows, limit, func(r *principalRow) string { return r.objectID })
	for i := range rows {
		members = append(members, rows[i].object())
	}
	return members, next, nil
}

// TransitiveGroupsOf follows memberships upwards in one recursive query;
// UNION (not UNION ALL) drops rows already found, so a cycle ends it.
func (s *DB) TransitiveGroupsOf(ctx context.Context, objectID string) (ids []string, err error) {
	defer galleon.Wrap(&err, "TransitiveGroupsOf(%s)", objectID)
	rows, err := s.r().query(ctx, `WITH RECURSIVE g(id) AS (
			SELECT group_id FROM group_members WHERE member_id = ?
			UNION
			SELECT m.group_id FROM group_members m JOIN g ON m.member_id = g.id
		) SELECT id FROM g ORDER BY id`, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const applicationColumns = `object_id, tenant_id, app_id, display_name, created_at`

func queryApplications(ctx context.Context, q querier, query string, args ...any) ([]galleon.Application, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []galleon.Application
	for rows.Next() {
		var a galleon.Application
		var created string
		if err := rows.Scan(&a.ObjectID, &a.TenantID, &a.AppID, &a.DisplayName, &created); err != nil {
			return nil, err
		}
		if a.CreatedAt, err = parseTS(created); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const credentialColumns = `key_id, owner_id, app_id, display_name, hint, hash, start_at, end_at`

func queryCredentials(ctx context.Context, q querier, query string, args ...any) ([]galleon.PasswordCredential, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []galleon.PasswordCredential
	for rows.Next() {
		var c galleon.PasswordCredential
		var start, end string
		if err := rows.Scan(&c.KeyID, &c.OwnerID, &c.AppID, &c.DisplayName, &c.Hint, &c.Hash, &start, &end); err != nil {
			return nil, err
		}
		if c.StartDateTime, err = parseTS(start); err != nil {
			return nil, err
		}
		if c.EndDateTime, err = parseTS(end); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// passwordCredentialsOfApp returns every credential that signs in appID's
// service principal.
func passwordCredentialsOfApp(ctx context.Context, q querier, appID string) ([]galleon.PasswordCredential, error) {
	return queryCredentials(ctx, q, `SELECT `+credentialColumns+` FROM password_credentials WHERE app_id = ? ORDER BY start_at, key_id`, appID)
}

// credentialsByOwner groups the credentials held by owners.
func credentialsByOwner(ctx context.Context, q querier, owners []string) (map[string][]galleon.PasswordCredential, error) {
	if len(owners) == 0 {
		return nil, nil
	}
	args := make([]any, len(owners))
	for i, o := range owners {
		args[i] = o
	}
	cs, err := queryCredentials(ctx, q, `SELECT `+credentialColumns+` FROM password_credentials WHERE owner_id IN (?`+
		strings.Repeat(", ?", len(owners)-1)+`) ORDER BY start_at, key_id`, args...)
	if err != nil {
		return nil, err
	}
	m := map[string][]galleon.PasswordCredential{}
	for _, c := range cs {
		m[c.OwnerID] = append(m[c.OwnerID], c)
	}
	return m, nil
}

// CreateApplication stores an application.
func (s *DB) CreateApplication(ctx context.Context, a *galleon.Application) (err error) {
	defer galleon.Wrap(&err, "CreateApplication(%s)", a.DisplayName)
	return s.transact(ctx, func(tx *tx) error {
		if a.CreatedAt.IsZero() {
			a.CreatedAt = tx.now
		}
		_, err := tx.exec(ctx, `INSERT INTO applications (object_id, tenant_id, app_id, display_name, display_name_fold, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.ObjectID, a.TenantID, galleon.Fold(a.AppID), a.DisplayName, galleon.Fold(a.DisplayName), ts(a.CreatedAt))
		if s.dialect.isUniqueViolation(err) {
			return conflict("appId")
		}
		return err
	})
}

func getApplication(ctx context.Context, q querier, idOrAppID string) (*galleon.Application, error) {
	apps, err := queryApplications(ctx, q, `SELECT `+applicationColumns+` FROM applications WHERE object_id = ? OR app_id = ?`,
		idOrAppID, galleon.Fold(idOrAppID))
	if err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, notFound("application", idOrAppID)
	}
	a := &apps[0]
	creds, err := credentialsByOwner(ctx, q, []string{a.ObjectID})
	a.PasswordCredentials = creds[a.ObjectID]
	return a, err
}

// GetApplication finds an application by object id or app id.
func (s *DB) GetApplication(ctx context.Context, idOrAppID string) (a *galleon.Application, err error) {
	defer galleon.Wrap(&err, "GetApplication(%s)", idOrAppID)
	return getApplication(ctx, s.r(), idOrAppID)
}

// ListApplications lists applications ordered by folded display name.
func (s *DB) ListApplications(ctx context.Context, f galleon.DirectoryFilter, page galleon.Page) (apps []galleon.Application, next string, err error) {
	defer galleon.Wrap(&err, "ListApplications")
	where, args, err := filterSQL(f, applicationFields)
	if err != nil {
		return nil, "", err
	}
	after, afterArgs := afterName(page.After)
	limit := pageLimit(page)
	apps, err = queryApplications(ctx, s.r(), `SELECT `+applicationColumns+` FROM applications WHERE 1 = 1`+where+after+
		` ORDER BY display_name_fold, object_id LIMIT ?`, append(append(args, afterArgs...), limit+1)...)
	if err != nil {
		return nil, "", err
	}
	apps, next = trimPage(apps, limit, func(a *galleon.Application) string { return nameKey(galleon.Fold(a.DisplayName), a.ObjectID) })
	ids := make([]string, len(apps))
	for i := range apps {
		ids[i] = apps[i].ObjectID
	}
	creds, err := credentialsByOwner(ctx, s.r(), ids)
	for i := range apps {
		apps[i].PasswordCredentials = creds[apps[i].ObjectID]
	}
	return apps, next, err
}

// DeleteApplication deletes an application, its service principal and
// their credentials.
func (s *DB) DeleteApplication(ctx context.Context, objectID string) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteApplication(%s)", objectID)
	err = s.transact(ctx, func(tx *tx) error {
		deleted = false
		apps, err := queryApplications(ctx, tx, `SELECT `+applicationColumns+` FROM applications WHERE object_id = ?`, objectID)
		if err != nil || len(apps) == 0 {
			return err
		}
		appID := apps[0].AppID
		for _, q := range []string{
			`DELETE FROM password_credentials WHERE app_id = ?`,
			`DELETE FROM principals WHERE app_id = ? AND type = '` + galleon.PrincipalServicePrincipal + `'`,
			`DELETE FROM applications WHERE app_id = ?`,
		} {
			if _, err := tx.exec(ctx, q, appID); err != nil {
				return err
			}
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// CreateServicePrincipal stores a service principal.
func (s *DB) CreateServicePrincipal(ctx context.Context, sp *galleon.ServicePrincipal) (err error) {
	defer galleon.Wrap(&err, "CreateServicePrincipal(%s)", sp.AppID)
	return s.transact(ctx, func(tx *tx) error {
		if sp.CreatedAt.IsZero() {
			sp.CreatedAt = tx.now
		}
		sp.Type, sp.AppID = galleon.PrincipalServicePrincipal, galleon.Fold(sp.AppID)
		return s.insertPrincipalRow(ctx, tx, &principalRow{objectID: sp.ObjectID, tenantID: sp.TenantID, typ: galleon.PrincipalServicePrincipal,
			appID: sp.AppID, displayName: sp.DisplayName, accountEnabled: sp.AccountEnabled, createdAt: sp.CreatedAt}, "appId")
	})
}

// GetServicePrincipal finds a service principal by object id or app id.
func (s *DB) GetServicePrincipal(ctx context.Context, idOrAppID string) (sp *galleon.ServicePrincipal, err error) {
	defer galleon.Wrap(&err, "GetServicePrincipal(%s)", idOrAppID)
	rows, err := queryPrincipalRows(ctx, s.r(), `SELECT `+principalRowColumns+` FROM principals WHERE type = ? AND (object_id = ? OR app_id = ?)`,
		galleon.PrincipalServicePrincipal, idOrAppID, galleon.Fold(idOrAppID))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFound("servicePrincipal", idOrAppID)
	}
	sp = rows[0].servicePrincipal()
	creds, err := credentialsByOwner(ctx, s.r(), []string{sp.ObjectID})
	sp.PasswordCredentials = creds[sp.ObjectID]
	return sp, err
}

// ListServicePrincipals lists service principals by folded display name.
func (s *DB) ListServicePrincipals(ctx context.Context, f galleon.DirectoryFilter, page galleon.Page) (sps []galleon.ServicePrincipal, next string, err error) {
	defer galleon.Wrap(&err, "ListServicePrincipals")
	rows, next, err := s.listByName(ctx, galleon.PrincipalServicePrincipal, f, servicePrincipalFields, page)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(rows))
	for i := range rows {
		sps = append(sps, *rows[i].servicePrincipal())
		ids[i] = rows[i].objectID
	}
	creds, err := credentialsByOwner(ctx, s.r(), ids)
	for i := range sps {
		sps[i].PasswordCredentials = creds[sps[i].ObjectID]
	}
	return sps, next, err
}

// DeleteServicePrincipal deletes a service principal and its credentials.
func (s *DB) DeleteServicePrincipal(ctx context.Context, objectID string) (deleted bool, err error) {
	defer galleon.Wrap(&err, "DeleteServicePrincipal(%s)", objectID)
	return s.deletePrincipal(ctx, objectID, galleon.PrincipalServicePrincipal)
}

// AddPasswordCredential adds a secret to an application or service principal.
func (s *DB) AddPasswordCredential(ctx context.Context, c *galleon.PasswordCredential) (err error) {
	defer galleon.Wrap(&err, "AddPasswordCredential(%s)", c.OwnerID)
	return s.transact(ctx, func(tx *tx) error {
		var appID string
		err := tx.queryRow(ctx, `SELECT app_id FROM applications WHERE object_id = ?`, c.OwnerID).Scan(&appID)
		if isNoRows(err) {
			err = tx.queryRow(ctx, `SELECT app_id FROM principals WHERE object_id = ? AND type = ?`, c.OwnerID, galleon.PrincipalServicePrincipal).Scan(&appID)
		}
		if isNoRows(err) {
			return notFound("owner", c.OwnerID)
		}
		if err != nil {
			return err
		}
		c.AppID = appID
		_, err = tx.exec(ctx, `INSERT INTO password_credentials (key_id, owner_id, app_id, display_name, hint, hash, start_at, end_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.KeyID, c.OwnerID, c.AppID, c.DisplayName, c.Hint, c.Hash, ts(c.StartDateTime), ts(c.EndDateTime))
		if s.dialect.isUniqueViolation(err) {
			return conflict("keyId")
		}
		return err
	})
}

// RemovePasswordCredential removes an owner's secret.
func (s *DB) RemovePasswordCredential(ctx context.Context, ownerID, keyID string) (removed bool, err error) {
	defer galleon.Wrap(&err, "RemovePasswordCredential(%s, %s)", ownerID, keyID)
	err = s.transact(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM password_credentials WHERE owner_id = ? AND key_id = ?`, ownerID, keyID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		removed = n > 0
		return err
	})
	return removed, err
}

// GetDirectoryObjects returns the objects with the given ids, in order.
func (s *DB) GetDirectoryObjects(ctx context.Context, ids []string) (objs []galleon.DirectoryObject, err error) {
	defer galleon.Wrap(&err, "GetDirectoryObjects")
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := `(?` + strings.Repeat(", ?", len(ids)-1) + `)`
	found := map[string]galleon.DirectoryObject{}
	rows, err := queryPrincipalRows(ctx, s.r(), `SELECT `+principalRowColumns+` FROM principals WHERE object_id IN `+in, args...)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		found[rows[i].objectID] = rows[i].object()
	}
	apps, err := queryApplications(ctx, s.r(), `SELECT `+applicationColumns+` FROM applications WHERE object_id IN `+in, args...)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		found[apps[i].ObjectID] = galleon.DirectoryObject{Type: galleon.PrincipalApplication, Application: &apps[i]}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if o, ok := found[id]; ok && !seen[id] {
			seen[id] = true
			objs = append(objs, o)
		}
	}
	return objs, nil
}

const invitationColumns = `id, user_id, email, inviter_id, inviter_name, resource_id, redirect_url, message, status, token_id,
	token_expires_at, created_at, updated_at, redeemed_at`

func scanInvitation(row scanner) (*galleon.Invitation, error) {
	var inv galleon.Invitation
	var exp, created, updated, redeemed string
	if err := row.Scan(&inv.ID, &inv.UserID, &inv.Email, &inv.InviterID, &inv.InviterName, &inv.ResourceID, &inv.RedirectURL,
		&inv.Message, &inv.Status, &inv.TokenID, &exp, &created, &updated, &redeemed); err != nil {
		return nil, err
	}
	var err error
	for _, t := range []struct {
		s string
		t *time.Time
	}{{exp, &inv.TokenExpiresAt}, {created, &inv.CreatedAt}, {updated, &inv.UpdatedAt}, {redeemed, &inv.RedeemedAt}} {
		if t.s == "" {
			continue
		}
		if *t.t, err = parseTS(t.s); err != nil {
			return nil, err
		}
	}
	return &inv, nil
}

func getInvitation(ctx context.Context, q querier, id string) (*galleon.Invitation, error) {
	inv, err := scanInvitation(q.queryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("invitation", id)
	}
	return inv, err
}

func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ts(t)
}

// CreateInvitation stores an invitation, and its new guest when given.
func (s *DB) CreateInvitation(ctx context.Context, inv *galleon.Invitation, guest *galleon.DirectoryUser) (err error) {
	defer galleon.Wrap(&err, "CreateInvitation(%s)", inv.Email)
	return s.transact(ctx, func(tx *tx) error {
		if guest != nil {
			r := userRow(guest, tx.now)
			if err := s.insertPrincipalRow(ctx, tx, r, "userPrincipalName"); err != nil {
				return err
			}
			guest.CreatedAt, guest.Type = r.createdAt, galleon.PrincipalUser
		}
		if inv.CreatedAt.IsZero() {
			inv.CreatedAt = tx.now
		}
		inv.UpdatedAt = inv.CreatedAt
		_, err := tx.exec(ctx, `INSERT INTO invitations (`+invitationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.UserID, inv.Email, inv.InviterID, inv.InviterName, inv.ResourceID, inv.RedirectURL, inv.Message, inv.Status,
			inv.TokenID, ts(inv.TokenExpiresAt), ts(inv.CreatedAt), ts(inv.UpdatedAt), tsOrEmpty(inv.RedeemedAt))
		return err
	})
}

// GetInvitation returns an invitation.
func (s *DB) GetInvitation(ctx context.Context, id string) (inv *galleon.Invitation, err error) {
	defer galleon.Wrap(&err, "GetInvitation(%s)", id)
	return getInvitation(ctx, s.r(), id)
}

// ListInvitations lists a tenant's invitations (those of its guests)
// newest first.
func (s *DB) ListInvitations(ctx context.Context, tenantID string, page galleon.Page) (invs []galleon.Invitation, next string, err error) {
	defer galleon.Wrap(&err, "ListInvitations")
	limit := pageLimit(page)
	where, args := ` WHERE user_id IN (SELECT object_id FROM principals WHERE lower(tenant_id) = ?)`, []any{galleon.Fold(tenantID)}
	if page.After != "" {
		created, id, _ := strings.Cut(page.After, "\x00")
		where += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, created, created, id)
	}
	rows, err := s.r().query(ctx, `SELECT `+invitationColumns+` FROM invitations`+where+` ORDER BY created_at DESC, id DESC LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, "", err
		}
		invs = append(invs, *inv)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	invs, next = trimPage(invs, limit, func(i *galleon.Invitation) string { return ts(i.CreatedAt) + "\x00" + i.ID })
	return invs, next, nil
}

func writeInvitation(ctx context.Context, tx *tx, inv *galleon.Invitation) error {
	inv.UpdatedAt = tx.now
	_, err := tx.exec(ctx, `UPDATE invitations SET email = ?, inviter_id = ?, inviter_name = ?, resource_id = ?, redirect_url = ?,
		message = ?, status = ?, token_id = ?, token_expires_at = ?, updated_at = ?, redeemed_at = ? WHERE id = ?`,
		inv.Email, inv.InviterID, inv.InviterName, inv.ResourceID, inv.RedirectURL, inv.Message, inv.Status, inv.TokenID,
		ts(inv.TokenExpiresAt), ts(inv.UpdatedAt), tsOrEmpty(inv.RedeemedAt), inv.ID)
	return err
}

// UpdateInvitation changes an invitation in one transaction.
func (s *DB) UpdateInvitation(ctx context.Context, id string, update galleon.Update[galleon.Invitation]) (inv *galleon.Invitation, err error) {
	defer galleon.Wrap(&err, "UpdateInvitation(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		old, err := getInvitation(ctx, tx, id)
		if err != nil {
			return err
		}
		cur := *old
		if inv, err = update(&cur); err != nil {
			return err
		}
		inv.ID, inv.UserID, inv.CreatedAt = old.ID, old.UserID, old.CreatedAt
		return writeInvitation(ctx, tx, inv)
	})
	return inv, err
}

// RevokeInvitation revokes an invitation, disabling a guest who redeemed it.
func (s *DB) RevokeInvitation(ctx context.Context, id string) (inv *galleon.Invitation, err error) {
	defer galleon.Wrap(&err, "RevokeInvitation(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		if inv, err = getInvitation(ctx, tx, id); err != nil {
			return err
		}
		if inv.Status == galleon.InvitationRevoked {
			return nil
		}
		if inv.Status == galleon.InvitationAccepted {
			if _, err := tx.exec(ctx, `UPDATE principals SET account_enabled = 0 WHERE object_id = ?`, inv.UserID); err != nil {
				return err
			}
		}
		inv.Status = galleon.InvitationRevoked
		return writeInvitation(ctx, tx, inv)
	})
	return inv, err
}

// RedeemInvitation redeems an invitation's current link once.
func (s *DB) RedeemInvitation(ctx context.Context, id, tokenID, passwordHash string, now time.Time) (inv *galleon.Invitation, err error) {
	defer galleon.Wrap(&err, "RedeemInvitation(%s)", id)
	err = s.transact(ctx, func(tx *tx) error {
		inv, err = getInvitation(ctx, tx, id)
		if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
			return galleon.Errorf(galleon.CodeInvitationGone, "This invitation no longer exists.")
		}
		if err != nil {
			return err
		}
		switch {
		case inv.Status == galleon.InvitationAccepted:
			return galleon.Errorf(galleon.CodeInvitationGone, "This invitation has been redeemed already.")
		case inv.Status == galleon.InvitationRevoked:
			return galleon.Errorf(galleon.CodeInvitationGone, "This invitation has been revoked.")
		case inv.TokenID != tokenID:
			return galleon.Errorf(galleon.CodeInvitationGone, "This link has been replaced by a newer invitation; use the link in the latest e-mail.")
		case !now.Before(inv.TokenExpiresAt):
			return galleon.Errorf(galleon.CodeInvitationGone, "This invitation expired on %s.", inv.TokenExpiresAt.UTC().Format(time.RFC1123))
		}
		// Only a guest still pending: another invitation of the same guest
		// redeemed already must not set the password again.
		res, err := tx.exec(ctx, `UPDATE principals SET password_hash = ?, external_user_state = ?, account_enabled = 1
			WHERE object_id = ? AND type = ? AND external_user_state = ?`,
			passwordHash, galleon.ExternalStateAccepted, inv.UserID, galleon.PrincipalUser, galleon.ExternalStatePending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = galleon.Errorf(galleon.CodeInvitationGone, "The invited guest has accepted an invitation already, or no longer exists.")
			}
			return err
		}
		inv.Status, inv.RedeemedAt = galleon.InvitationAccepted, tx.now
		return writeInvitation(ctx, tx, inv)
	})
	return inv, err
}
