package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/testenv"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/storetest"
)

// TestPostgres_LanguageCollation runs the suite on a database whose default
// collation is a language's, as a distribution's PostgreSQL takes it from
// the system locale: lists must still come back in the byte order SQLite
// gives (migration 0003).
func TestPostgres_LanguageCollation(t *testing.T) {
	storetest.Run(t, func(t *testing.T) galleon.Store { return MustOpen(t, mustICUDatabase(t)) })
}

// mustICUDatabase creates a database collated by ICU's en-US and drops it
// when t ends.
func mustICUDatabase(t *testing.T) string {
	t.Helper()
	admin, err := pgtest.AdminURL()
	testenv.RequireService(t, "PostgreSQL", err)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	name := "galleon_icu_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := db.ExecContext(context.Background(),
		"CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		testenv.RequireService(t, "PostgreSQL with ICU", err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	rest, query, _ := strings.Cut(admin, "?")
	u := rest[:strings.LastIndex(rest, "/")] + "/" + name
	if query != "" {
		u += "?" + query
	}
	return u
}
