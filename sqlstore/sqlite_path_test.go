package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/storetest"
)

// TestSQLite_PathCharacters opens databases in folders whose names mean
// something in a URI; the data must land in the file named, nowhere else.
func TestSQLite_PathCharacters(t *testing.T) {
	for _, name := range []string{"with space", "100%", "p%20q", "hash#tag", "what?ever", "grüße", "colon:s"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			path := filepath.Join(parent, name, "galleon.db")
			b := storetest.NewBootstrap()
			db := MustOpen(t, path)
			if _, err := db.Bootstrap(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if got := dirNames(t, parent); !slices.Equal(got, []string{name}) {
				t.Errorf("parent folder holds %q, want only %q", got, name)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			tenant, err := MustOpen(t, "sqlite://"+path).DefaultTenant(context.Background())
			if err != nil || tenant.ID != b.Tenant.ID {
				t.Fatalf("reopened: DefaultTenant() = %+v, %v; want tenant %s", tenant, err, b.Tenant.ID)
			}
		})
	}
}

func TestSQLite_URLForms(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "galleon.db")
	var s galleon.Store = MustOpen(t, "sqlite://"+path)
	if _, err := s.Bootstrap(context.Background(), storetest.NewBootstrap()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The plain path opens the same file.
	if _, err := MustOpen(t, path).DefaultTenant(context.Background()); err != nil {
		t.Fatalf("plain path after sqlite:// URL: %v", err)
	}
	if got := dirNames(t, dir); !slices.Contains(got, "galleon.db") || slices.ContainsFunc(got, func(n string) bool { return n == "sqlite:" }) {
		t.Errorf("folder holds %q", got)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSQLite_ErrInMemory(t *testing.T) {
	for _, url := range []string{":memory:", "sqlite://:memory:", "", "sqlite://"} {
		if db, err := Open(context.Background(), url); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded; want an error, since each pooled connection would see its own database", url)
		}
	}
}
