// Package pgtest gives tests real PostgreSQL databases: on the server named
// by GALLEON_TEST_POSTGRES (an admin URL such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), or else on
// a throwaway cluster started from Debian's PostgreSQL binaries on first
// use. Each test gets a database of its own, dropped when it ends.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/galleon-project/galleon/internal/testenv"
)

var (
	once     sync.Once
	adminURL string
	startErr error
	cluster  *throwaway
)

// AdminURL returns the URL of a database on the test server with the right
// to create databases, starting a throwaway cluster if none is configured.
func AdminURL() (string, error) {
	once.Do(func() {
		if u := os.Getenv("GALLEON_TEST_POSTGRES"); u != "" {
			adminURL = u
			return
		}
		cluster, startErr = startThrowaway()
		if startErr == nil {
			adminURL = cluster.url
		}
	})
	return adminURL, startErr
}

// Stop stops the throwaway cluster, if one was started; call it from
// TestMain after m.Run.
func Stop() {
	if cluster != nil {
		cluster.stop()
	}
}

// NewDatabase creates an empty database for t and returns its URL. A
// missing PostgreSQL skips t, or fails it under GALLEON_REQUIRE_SERVICES.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin, err := AdminURL()
	testenv.RequireService(t, "PostgreSQL", err)
	url, drop, err := CreateDatabase(admin)
	testenv.RequireService(t, "PostgreSQL at "+redact(admin), err)
	t.Cleanup(drop)
	return url
}

// CreateDatabase creates an empty database on the server at admin and
// returns its URL and a function that drops it.
func CreateDatabase(admin string) (url string, drop func(), err error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	name := "galleon_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop = func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return withDatabase(admin, name), drop, nil
}

// withDatabase replaces the database in a postgres:// URL.
func withDatabase(admin, name string) string {
	rest, query, _ := strings.Cut(admin, "?")
	if i := strings.LastIndex(rest, "/"); i > len("postgres://") {
		rest = rest[:i]
	}
	u := rest + "/" + name
	if query != "" {
		u += "?" + query
	}
	return u
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// throwaway is a PostgreSQL cluster in a temporary folder.
type throwaway struct {
	dir, bin, url string
	asPostgres    bool
}

// startThrowaway runs initdb and pg_ctl from Debian's packages. They refuse
// to run as root, so as root they run as the postgres user.
func startThrowaway() (*throwaway, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return nil, errors.New("no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql package, or set GALLEON_TEST_POSTGRES")
	}
	sort.Strings(matches)
	c := &throwaway{bin: filepath.Dir(matches[len(matches)-1]), asPostgres: os.Getuid() == 0}
	dir, err := os.MkdirTemp("", "galleon-pg-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
	if out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *throwaway) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *throwaway) stop() {
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
