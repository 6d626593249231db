package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxSQLiteConns bounds concurrent SQLite connections: readers run in
// parallel under WAL, writers queue on the database lock regardless.
const maxSQLiteConns = 16

// sqliteDialect holds everything particular to SQLite.
type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) rebind(q string) string { return q }

func (sqliteDialect) isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// SQLite transactions are serializable already: IMMEDIATE takes the one
// write lock up front.
func (sqliteDialect) txOptions() *sql.TxOptions { return nil }

// claimSuffix is empty: the write lock already excludes other claimants.
func (sqliteDialect) claimSuffix() string { return "" }

func (sqliteDialect) jsonText(column, key string) string {
	return "json_extract(" + column + ", '$." + key + "')"
}

// lockMigrations needs nothing: each migration runs in an IMMEDIATE
// transaction, and only one process can hold the write lock.
func (sqliteDialect) lockMigrations(context.Context, *sql.Conn) (func(), error) {
	return func() {}, nil
}

func (sqliteDialect) isRetryable(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// openSQLite opens a SQLite file with the settings Galleon relies on:
// WAL so reads do not wait for writes, a busy timeout so writers queue
// instead of failing, foreign keys on, and IMMEDIATE transactions so a
// transaction that reads before it writes cannot deadlock upgrading its
// lock.
func openSQLite(path string) (*sql.DB, dialect, error) {
	path = sqlitePath(path)
	if path == "" || path == ":memory:" {
		// Every pooled connection would get a database of its own, empty
		// but for the one that ran the migrations.
		return nil, nil, fmt.Errorf("sqlstore: %q: in-memory SQLite is not supported; use a file (a temporary folder in tests)", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	// Create the file readable by its owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	f.Close()
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", sqliteDSN(path, q))
	if err != nil {
		return nil, nil, err
	}
	// Opening a SQLite connection is costly (pragmas, WAL index); keep a
	// fixed pool rather than database/sql's default of two idle ones,
	// which under concurrent reads opens and closes connections constantly.
	db.SetMaxOpenConns(maxSQLiteConns)
	db.SetMaxIdleConns(maxSQLiteConns)
	return db, sqliteDialect{}, nil
}

// sqlitePath is the file a SQLite url names.
func sqlitePath(url string) string { return strings.TrimPrefix(url, "sqlite://") }

// SQLiteFile returns the database file a --database value names, or ""
// when it names a PostgreSQL database.
func SQLiteFile(url string) string {
	if isPostgresURL(url) {
		return ""
	}
	return sqlitePath(url)
}

// sqliteDSN is a file: URI for path: SQLite decodes %XX in it and ends the
// path at ? or #, so the path is escaped; unescaped, "data#1/galleon.db"
// would open "data" instead.
func sqliteDSN(path string, q url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}
