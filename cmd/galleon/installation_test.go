package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/sqlstore"
)

// startedWriter signals when serve, past Open, prints its first line.
type startedWriter struct {
	once    sync.Once
	started chan struct{}
}

func (w *startedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	return len(p), nil
}

// serveOnce runs `galleon serve` as main does, on a free port: it returns
// the start's error, or nil once the server is serving, which it then
// stops.
func serveOnce(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCommand()
	out := &startedWriter{started: make(chan struct{})}
	cmd.SetOut(out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "error", "--gc-interval", "0"}, args...))
	errc := make(chan error, 1)
	go func() { errc <- cmd.ExecuteContext(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-out.started:
	case <-time.After(60 * time.Second):
		t.Fatal("serve neither started nor failed within a minute")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve, stopping: %v", err)
	}
	return nil
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The database is the installation: a data folder whose SQLite file is
// gone refuses to start (instead of bootstrapping a second installation
// over the first one's credentials and bytes), and starts again once the
// file is back.
func TestServe_DataFolderWithoutDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := serveOnce(t, "--data", dir); err != nil {
		t.Fatalf("first start: %v", err)
	}
	creds := filepath.Join(dir, credentialsFile)
	before := mustReadFile(t, creds)
	c, err := readCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(mustReadFile(t, filepath.Join(dir, installationFile)))); got != c.TenantID {
		t.Fatalf("installation-id %q, want the tenant %s", got, c.TenantID)
	}

	db := filepath.Join(dir, "galleon.db")
	moved := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(db+suffix, filepath.Join(moved, "galleon.db"+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	err = serveOnce(t, "--data", dir)
	if err == nil {
		t.Fatal("serve started on a data folder whose database is gone")
	}
	for _, want := range []string{"database " + db + " is missing", "credentials.json", "Restore the database file", "--data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the refused start created %s: %v", db, err)
	}
	if after := mustReadFile(t, creds); !bytes.Equal(after, before) {
		t.Errorf("credentials.json changed:\n%s\nwas\n%s", after, before)
	}
	if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json: %v, %v", fi, err)
	}

	// Restored, the same installation starts again.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(filepath.Join(moved, "galleon.db"+suffix), db+suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := serveOnce(t, "--data", dir); err != nil {
		t.Fatalf("start with the database restored: %v", err)
	}
	if c2, err := readCredentials(dir); err != nil || c2.TenantID != c.TenantID || c2.ClientSecret != c.ClientSecret {
		t.Errorf("after the restore: %+v, %v", c2, err)
	}
	// Each start writes its endpoints (a new port here) into credentials.json.
	before = mustReadFile(t, creds)

	// A database file replaced by an empty one is the same loss.
	if err := os.Rename(db, filepath.Join(moved, "galleon.db")); err != nil {
		t.Fatal(err)
	}
	os.Remove(db + "-wal")
	os.Remove(db + "-shm")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := serveOnce(t, "--data", dir); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("start on an empty database file: %v, want a refusal", err)
	}
	if after := mustReadFile(t, creds); !bytes.Equal(after, before) {
		t.Error("credentials.json changed")
	}
}

// With PostgreSQL, a data folder belongs to the database it was made
// with: an empty database, or another installation's, is refused; an
// empty folder joins.
func TestServe_DataFolderAndPostgres(t *testing.T) {
	t.Parallel()
	first, empty := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	dir := t.TempDir()
	if err := serveOnce(t, "--data", dir, "--database", first); err != nil {
		t.Fatalf("first start: %v", err)
	}
	before := mustReadFile(t, filepath.Join(dir, credentialsFile))
	err := serveOnce(t, "--data", dir, "--database", empty)
	if err == nil || !strings.Contains(err.Error(), "is empty") || !strings.Contains(err.Error(), "Restore the installation's database") {
		t.Fatalf("start on an empty database: %v, want a refusal", err)
	}
	if after := mustReadFile(t, filepath.Join(dir, credentialsFile)); !bytes.Equal(after, before) {
		t.Error("credentials.json changed")
	}
	// A new node: an empty folder joins.
	node := t.TempDir()
	if err := serveOnce(t, "--data", node, "--database", first); err != nil {
		t.Fatalf("a new node: %v", err)
	}
	// Another installation's folder (a SQLite one) is refused.
	other := t.TempDir()
	if err := serveOnce(t, "--data", other); err != nil {
		t.Fatal(err)
	}
	err = serveOnce(t, "--data", other, "--database", first)
	if err == nil || !strings.Contains(err.Error(), "belongs to installation") {
		t.Fatalf("another installation's folder: %v, want a refusal", err)
	}
}

func TestInstallationTraces(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		files []string
		dirs  []string
		want  int
	}{
		{"Empty", nil, nil, 0},
		{"EmptyFolders", nil, []string{"regions/eastus", "tls", "keys"}, 0},
		{"Credentials", []string{"credentials.json"}, nil, 1},
		{"Pending", []string{"credentials.json.pending"}, nil, 1},
		{"Key", []string{"keys/token-signing.pem"}, nil, 1},
		{"CA", []string{"tls/ca.pem", "tls/ca-key.pem"}, nil, 2},
		{"RegionBytes", []string{"regions/eastus/chunks/ab/cdef"}, nil, 1},
		{"InstallationID", []string{"installation-id"}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tt.dirs {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := installationTraces(dir)
			if len(got) != tt.want {
				t.Errorf("installationTraces = %v, want %d", got, tt.want)
			}
			err := checkDatabaseFile(dir, filepath.Join(dir, "galleon.db"))
			if (err != nil) != (tt.want > 0) {
				t.Errorf("checkDatabaseFile = %v", err)
			}
		})
	}
}

func TestRedactDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:***@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                             "postgres://u@h/db",
		"/data/galleon.db":                              "/data/galleon.db",
	} {
		if got := redactDatabase(in); got != want {
			t.Errorf("redactDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}

// /healthz answers 200 while the store can serve and 503, saying why
// without naming the path, once the SQLite file is removed under it.
func TestServeHealth(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "galleon.db")
	db, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m := &Main{Store: db}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		m.serveHealth(rec, httptest.NewRequest(http.MethodGet, healthPath, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "database file was removed") || strings.Contains(body, path) {
		t.Errorf("after the file was removed: %d %q", code, body)
	}
}
