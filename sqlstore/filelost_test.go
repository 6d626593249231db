package sqlstore

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/storetest"
)

// A SQLite file removed or replaced under an open store would keep taking
// writes into the unlinked file, which a restart loses: every transaction
// must fail instead, with an error that says why, logged once, and Health
// must report it.
func TestSQLite_FileLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, path string)
		what string
	}{
		{"Removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "removed"},
		{"Replaced", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".moved"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "replaced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "galleon.db")
			db := MustOpen(t, path)
			var logs bytes.Buffer
			db.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			f := storetest.MustFixture(t, func(*testing.T) galleon.Store { return db })
			f.MustPutResourceGroup(t, "before")
			if err := db.Health(context.Background()); err != nil {
				t.Fatalf("Health before: %v", err)
			}

			tc.lose(t, path)
			for i := 0; i < 2; i++ {
				_, _, err := db.PutResourceGroup(context.Background(), f.RG("after"), func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
					return &galleon.ResourceGroup{ID: f.RG("after"), Location: "eastus", ProvisioningState: galleon.ProvisioningSucceeded}, nil
				})
				if galleon.ErrorCode(err) != galleon.CodeInternal || !strings.Contains(err.Error(), "database file was "+tc.what) {
					t.Fatalf("write %d after the file was %s: %v, want an internal error saying so", i, tc.what, err)
				}
				if strings.Contains(err.Error(), path) {
					t.Errorf("the client's error names the server's path: %v", err)
				}
			}
			if err := db.Health(context.Background()); err == nil || !strings.Contains(err.Error(), tc.what) {
				t.Errorf("Health after: %v", err)
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), path) {
				t.Errorf("want one error log naming %s, got %d:\n%s", path, n, logs.String())
			}
		})
	}
}
