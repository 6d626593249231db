package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

func TestParseRegions(t *testing.T) {
	rs, err := parseRegions([]string{"eastus", "West US 2", "EASTUS", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "eastus" || rs[1].Name != "westus2" || rs[1].DisplayName != "West US 2" {
		t.Errorf("parseRegions = %+v", rs)
	}
	for _, bad := range [][]string{{}, {"../etc"}, {"east_us"}} {
		if _, err := parseRegions(bad); err == nil {
			t.Errorf("parseRegions(%q) should fail", bad)
		}
	}
}

func TestBindEnv(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "")
	data := fs.String("data", "d", "")
	pageSize := fs.Int("list-page-size", 100, "")
	if err := fs.Parse([]string{"--data", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GALLEON_LISTEN", "0.0.0.0:9443")
	t.Setenv("GALLEON_DATA", "from-env")
	t.Setenv("GALLEON_LIST_PAGE_SIZE", "7")
	if err := bindEnv(fs); err != nil {
		t.Fatal(err)
	}
	if *listen != "0.0.0.0:9443" || *data != "from-flag" || *pageSize != 7 {
		t.Errorf("listen %q data %q page size %d: the environment fills flags not given on the command line", *listen, *data, *pageSize)
	}
	t.Setenv("GALLEON_LIST_PAGE_SIZE", "many")
	fs2 := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs2.Int("list-page-size", 100, "")
	if err := bindEnv(fs2); err == nil {
		t.Error("a malformed GALLEON_LIST_PAGE_SIZE should be an error")
	}
}

func TestWriteCredentials(t *testing.T) {
	dir := t.TempDir()
	c := &Credentials{TenantID: "t", ClientSecret: "s3cret"}
	if err := writeCredentials(dir, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, credentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := readCredentials(dir)
	if err != nil || *got != *c {
		t.Errorf("readCredentials = %+v, %v", got, err)
	}
}
