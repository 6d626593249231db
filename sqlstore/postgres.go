package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// postgresDialect holds everything particular to PostgreSQL.
type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// rebind turns ? placeholders into $1, $2, …; Galleon's SQL never has a ?
// inside a string literal.
func (postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (postgresDialect) isUniqueViolation(err error) bool { return pgCode(err) == "23505" }

// isRetryable: serialization_failure and deadlock_detected mean only that
// a concurrent transaction won; running again gives the right answer.
func (postgresDialect) isRetryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

// Every transaction is SERIALIZABLE, so the check-then-write invariants
// (unique names, one bootstrap, parents exist) hold across nodes without
// explicit locks; transact retries the transactions PostgreSQL aborts.
func (postgresDialect) txOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

func (postgresDialect) claimSuffix() string { return " FOR UPDATE SKIP LOCKED" }

// jsonText reads JSON stored as TEXT (every JSON column is).
func (postgresDialect) jsonText(column, key string) string {
	return "(" + column + "::jsonb ->> '" + key + "')"
}

// lockMigrations serializes schema changes across nodes starting at once.
func (postgresDialect) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	const key = 0x6761_6c6c_656f_6e // "galleon"
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return nil, err
	}
	return func() { _, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key) }, nil
}

func openPostgres(url string) (*sql.DB, dialect, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	return db, postgresDialect{}, nil
}

// isPostgresURL reports whether url names a PostgreSQL database.
func isPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}
