package armapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// mustOpenTestStore is a fresh SQLite store, closed when t ends, and the
// conformance suite's fixture over it (the bootstrapped tenant and
// subscription).
func mustOpenTestStore(t *testing.T) (*sqlstore.DB, *storetest.Fixture) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "galleon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, storetest.MustFixture(t, func(*testing.T) galleon.Store { return db })
}

// newTestServer is the ARM server the in-process tests drive: the real
// store and authorizer over db, eastus as the one region, and bearer
// tokens that are keys of principals (read on each request, so a test
// may add callers later). Tests set DiskData, Now and the like on it.
func newTestServer(db *sqlstore.DB, principals map[string]galleon.Principal) *Server {
	return &Server{
		Store:      db,
		Authorizer: &authz.Authorizer{Assignments: db, Roles: db},
		VerifyToken: func(token string) (galleon.Principal, error) {
			if p, ok := principals[token]; ok {
				return p, nil
			}
			return galleon.Principal{}, fmt.Errorf("unknown token %q", token)
		},
		Regions:   galleon.Regions{{Name: "eastus", DisplayName: "East US"}},
		PublicURL: testPublicURL,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}
