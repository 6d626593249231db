// Package sqlstore implements galleon.Store over database/sql. The SQL is
// kept in the common subset of SQLite and PostgreSQL, written with ?
// placeholders; what differs between dialects lives in one file per dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/galleon-project/galleon"
)

// DB is a galleon.Store.
type DB struct {
	db      *sql.DB
	dialect dialect
	// stmts caches prepared statements by query text: parsing SQL was a
	// fifth of the cost of a GET.
	stmts sync.Map // string -> *sql.Stmt
	// Now is the clock for timestamps the store itself sets.
	Now func() time.Time
	// Logger reports a SQLite file removed under the store (default
	// slog.Default()).
	Logger *slog.Logger
	// file is the SQLite database file, watched so that a file removed or
	// replaced under a running server stops writes; nil on PostgreSQL.
	file *watchedFile
}

var _ galleon.Store = (*DB)(nil)

// dialect is everything that differs between database engines.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the engine's own.
	rebind(query string) string
	// isUniqueViolation reports whether err is a unique-constraint failure.
	isUniqueViolation(err error) bool
	// isRetryable reports whether a transaction failed only because of
	// concurrency and may simply be run again.
	isRetryable(err error) bool
	// txOptions are the options of every transaction.
	txOptions() *sql.TxOptions
	// claimSuffix ends the SELECT that picks work to lease.
	claimSuffix() string
	// lockMigrations keeps other processes out of migrate until unlocked.
	lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// jsonText is the SQL expression for the text of the top-level member
	// key of the JSON object in column (NULL when absent).
	jsonText(column, key string) string
}

// Open opens the database at url and brings its schema up to date. A url
// that is not a postgres:// URL is a SQLite file path (optionally
// prefixed with sqlite://).
func Open(ctx context.Context, url string) (*DB, error) {
	open := openSQLite
	if isPostgresURL(url) {
		open = openPostgres
	}
	db, d, err := open(url)
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, dialect: d, Now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if !isPostgresURL(url) {
		if s.file, err = watchFile(sqlitePath(url)); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// watchedFile is a SQLite database file as it was when the store opened
// it. SQLite keeps writing to an open file after it is unlinked, so a
// database removed (or replaced) under a running server would go on
// acknowledging writes that a restart then loses; every transaction checks
// the file first and, once it is gone, refuses.
type watchedFile struct {
	path string
	info os.FileInfo
	lost atomic.Pointer[galleon.Error]
}

func watchFile(path string) (*watchedFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &watchedFile{path: path, info: fi}, nil
}

// check returns the error every transaction fails with once the file at
// path is no longer the one opened (one stat, about a microsecond). A
// stat that fails for another reason than absence says nothing and is
// not held against the file.
func (w *watchedFile) check(logger *slog.Logger) error {
	if e := w.lost.Load(); e != nil {
		return e
	}
	fi, err := os.Stat(w.path)
	if err == nil && os.SameFile(w.info, fi) {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	what := "removed"
	if err == nil {
		what = "replaced by another file"
	}
	// The client sees no path; the log names it for the operator.
	e := galleon.Errorf(galleon.CodeInternal,
		"The server's database file was %s while the server was running. The server accepts no more changes, so that none is acknowledged and then lost; "+
			"an operator must stop it, restore the database file and start it again.", what)
	if w.lost.CompareAndSwap(nil, e) {
		if logger == nil {
			logger = slog.Default()
		}
		logger.Error("THE DATABASE FILE WAS "+what+" UNDER THE RUNNING SERVER: every write now fails. Writes acknowledged since then may be lost. "+
			"Stop the server, restore the database file (from a backup, or the file that was moved away) and start it again; "+
			"do not start it on this data folder without the database, or it refuses to start.",
			slog.String("database", w.path))
	}
	return w.lost.Load()
}

// Health reports whether the store can serve: nil, or why not (the SQLite
// file removed or replaced, or the database unreachable).
func (s *DB) Health(ctx context.Context) error {
	if s.file != nil {
		if err := s.file.check(s.Logger); err != nil {
			return err
		}
	}
	return s.db.PingContext(ctx)
}

// Close closes the database.
func (s *DB) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// transact runs fn in one transaction, retrying when the engine reports a
// concurrency failure, and commits if fn returns nil.
func (s *DB) transact(ctx context.Context, fn func(tx *tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.transactOnce(ctx, fn)
		if err == nil || !s.dialect.isRetryable(err) || attempt >= maxAttempts {
			return err
		}
		// Jittered, growing backoff, so contenders stop colliding.
		delay := time.Duration(1+rand.IntN(5*(attempt+1))) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// maxAttempts bounds retries of a transaction aborted by concurrency; fifty
// concurrent writers of one row need a few dozen.
const maxAttempts = 40

func (s *DB) transactOnce(ctx context.Context, fn func(tx *tx) error) (err error) {
	if s.file != nil {
		if err := s.file.check(s.Logger); err != nil {
			return err
		}
	}
	sqlTx, err := s.db.BeginTx(ctx, s.dialect.txOptions())
	if err != nil {
		return err
	}
	t := &tx{Tx: sqlTx, d: s.dialect, now: s.Now()}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// tx is a transaction with the dialect's placeholders and a fixed now.
type tx struct {
	*sql.Tx
	d   dialect
	now time.Time
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.d.rebind(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, t.d.rebind(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.d.rebind(query), args...)
}

// querier is what read paths need: a *sql.DB or a *tx, with rebinding.
type querier interface {
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// reader runs single-statement reads outside a transaction; one statement
// is atomic on both engines, and SQLite's write lock is not taken.
type reader struct{ s *DB }

func (r reader) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := r.s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

func (r reader) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := r.s.prepared(ctx, query)
	if err != nil {
		// A *sql.Row cannot be built with an error; fall back to an
		// unprepared query, which reports the same error from Scan.
		return r.s.db.QueryRowContext(ctx, r.s.dialect.rebind(query), args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

func (s *DB) r() reader { return reader{s} }

// prepared returns the cached prepared statement for query.
func (s *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.dialect.rebind(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Timestamps are stored as RFC 3339 text in UTC with a fixed nine-digit
// fraction, so that comparing the text compares the times on every engine
// (RFC3339Nano trims zeros, and ".5Z" would sort after ".51Z").
const tsLayout = "2006-01-02T15:04:05.000000000Z07:00"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func nullTS(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: ts(*t), Valid: true}
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// pageLimit returns the number of rows to fetch for a page: one more than
// the page, to learn whether another follows.
func pageLimit(p galleon.Page) int {
	n := p.Limit
	if n <= 0 {
		n = 100
	}
	if n > 1000 {
		n = 1000
	}
	return n
}

// trimPage cuts a page fetched with pageLimit+1 rows and returns the token
// of the next page, if any.
func trimPage[T any](items []T, limit int, key func(*T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, key(&items[limit-1])
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
