package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/storetest"
)

// MustOpen opens a store on a fresh SQLite file and closes it with t.
func MustOpen(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) galleon.Store { return MustOpen(t, filepath.Join(t.TempDir(), "galleon.db")) })
}

func TestSQLite_FileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "galleon.db")
	MustOpen(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) galleon.Store { return MustOpen(t, pgtest.NewDatabase(t)) })
}
