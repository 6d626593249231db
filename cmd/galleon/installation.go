package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/galleon-project/galleon/pki"
	"github.com/galleon-project/galleon/sqlstore"
)

// The database is the installation. The data folder holds what was made
// with it (the secrets in credentials.json, the token-signing key, the CA,
// the region stores' bytes), and none of it means anything without the
// database: a start that found the folder but not the database would
// bootstrap a second installation over the first one's files, overwrite
// credentials.json and orphan the bytes. So a start checks first, and
// refuses with what the operator can do.

// installationFile records in the data folder the installation it belongs
// to: its tenant id, which the database holds too.
const installationFile = "installation-id"

// installationTraces returns what in dataDir shows that an installation
// was made there (relative paths, for the message); empty folders do not
// count, so a start that failed early leaves nothing that blocks the next.
func installationTraces(dataDir string) []string {
	var found []string
	for _, name := range []string{installationFile, credentialsFile, credentialsFile + ".pending",
		filepath.Join("keys", "token-signing.pem"), filepath.Join("tls", pki.CAFile), filepath.Join("tls", pki.CAKeyFile)} {
		if fi, err := os.Stat(filepath.Join(dataDir, name)); err == nil && fi.Mode().IsRegular() {
			found = append(found, name)
		}
	}
	// One file under regions/ is enough to know image bytes are there.
	regions := filepath.Join(dataDir, "regions")
	errFound := errors.New("found")
	if filepath.WalkDir(regions, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			return errFound
		}
		return nil
	}) == errFound {
		found = append(found, "regions/ (image bytes)")
	}
	return found
}

// recordedInstallation returns the installation (tenant) id the data
// folder was made with: installation-id, or for a folder from before that
// file, the tenantId of credentials.json; "" when neither says.
func recordedInstallation(dataDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, installationFile))
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	c, err := readCredentials(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return c.TenantID, nil
}

// checkDatabaseFile refuses to start on a data folder that holds an
// installation when its SQLite database file is missing: opening would
// create an empty one and bootstrap anew. It runs before the store opens.
func checkDatabaseFile(dataDir, database string) error {
	path := sqlstore.SQLiteFile(database)
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	traces := installationTraces(dataDir)
	if len(traces) == 0 {
		return nil
	}
	return fmt.Errorf("the data folder %s holds an installation (%s) but its database %s is missing. "+
		"Starting would make a new, empty installation beside the old one's files and replace its credentials. "+
		"Restore the database file to %s (from a backup, or where it was moved), "+
		"or, to start a new installation, point --data at an empty folder or remove this one",
		dataDir, strings.Join(traces, ", "), path, path)
}

// checkInstallation compares the data folder with the database the store
// opened: a folder that holds an installation needs that installation's
// database, not an empty one (PostgreSQL's equivalent of a missing file)
// and not another installation's.
func (m *Main) checkInstallation(ctx context.Context) error {
	dataDir := m.Config.DataDir
	recorded, err := recordedInstallation(dataDir)
	if err != nil {
		return err
	}
	tenant, err := m.Store.DefaultTenant(ctx)
	if errors.Is(err, sqlstore.ErrNoTenant) {
		traces := installationTraces(dataDir)
		if len(traces) == 0 {
			return nil // a first start
		}
		return fmt.Errorf("the data folder %s holds an installation (%s) but the database %s is empty. "+
			"Starting would make a new installation beside the old one's files and replace its credentials. "+
			"Restore the installation's database, or, to start a new installation, point --data at an empty folder or remove this one",
			dataDir, strings.Join(traces, ", "), redactDatabase(m.Config.Database))
	}
	if err != nil {
		return err
	}
	if recorded != "" && !strings.EqualFold(recorded, tenant.ID) {
		return fmt.Errorf("the data folder %s belongs to installation %s, but the database %s holds installation %s. "+
			"Point --data at this installation's own data folder (or an empty folder, for a new node), or --database at the database the folder was made with",
			dataDir, recorded, redactDatabase(m.Config.Database), tenant.ID)
	}
	return nil
}

// recordInstallation writes installation-id once the installation is
// known (bootstrapped or joined).
func recordInstallation(dataDir, tenantID string) error {
	path := filepath.Join(dataDir, installationFile)
	if data, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(data)) == tenantID {
		return nil
	}
	return os.WriteFile(path, []byte(tenantID+"\n"), 0o600)
}

// redactDatabase hides a password in a database URL.
func redactDatabase(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if user, _, ok := strings.Cut(rest[:at], ":"); ok {
				return u[:i+3] + user + ":***" + rest[at:]
			}
		}
	}
	return u
}
