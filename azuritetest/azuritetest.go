// Package azuritetest runs Microsoft's Azure Storage emulator, Azurite
// (npm package azurite), as a real Azure Blob endpoint for tests.
package azuritetest

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/galleon-project/galleon/internal/testenv"
)

// Azurite's well-known development account. These are public constants of
// the emulator, not secrets.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running emulator.
type Azurite struct {
	Host string // 127.0.0.1:port
	// BlobEndpoint is the account's blob service URL, e.g.
	// http://127.0.0.1:10000/devstoreaccount1.
	BlobEndpoint string
}

// ConnectionString is the emulator's connection string.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", Account, Key, a.BlobEndpoint)
}

// Start runs azurite-blob on a free loopback port with its data in a
// temporary folder, and stops it when t ends. A missing azurite skips t,
// or fails it under GALLEON_REQUIRE_SERVICES.
func Start(t testing.TB) *Azurite {
	t.Helper()
	bin, err := exec.LookPath("azurite-blob")
	testenv.RequireService(t, "Azurite (npm install -g azurite)", err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--skipApiVersionCheck", "--loose", "--silent", "--disableProductStyleUrl")
	if err := cmd.Start(); err != nil {
		testenv.RequireService(t, "Azurite", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	host := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not listen on %s within 60s", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &Azurite{Host: host, BlobEndpoint: "http://" + host + "/" + Account}
}
