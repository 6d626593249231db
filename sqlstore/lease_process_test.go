package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon/pgtest"
)

// TestLease_KilledHolderIsTakenOver runs a second process that claims a
// work item and is then killed with SIGKILL mid-work: nobody else gets the
// item while its lease runs, and the survivor takes it over once the lease
// has expired.
func TestLease_KilledHolderIsTakenOver(t *testing.T) {
	for _, backend := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "galleon.db") }},
		{"Postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			url := backend.url(t)
			s := MustOpen(t, url)
			if err := s.EnqueueWork(context.Background(), "k", "item", time.Now()); err != nil {
				t.Fatal(err)
			}
			const lease = 2 * time.Second
			child := exec.Command(os.Args[0], "-test.run=^TestLeaseHolderProcess$")
			child.Env = append(os.Environ(), "GALLEON_LEASE_HOLDER_DB="+url, "GALLEON_LEASE_HOLDER_LEASE="+lease.String())
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			child.Stderr = os.Stderr
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the holder's claim: %v", err)
			}
			expiresText, ok := strings.CutPrefix(strings.TrimSpace(line), "claimed until ")
			if !ok {
				t.Fatalf("the holder said %q", line)
			}
			expires, err := time.Parse(time.RFC3339Nano, expiresText)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.ClaimWork(context.Background(), "k", "survivor", lease, 1); err != nil || len(got) != 0 {
				t.Fatalf("the survivor claimed %+v (%v) while the holder was alive", got, err)
			}
			if err := child.Process.Kill(); err != nil { // SIGKILL: no cleanup, the lease stays
				t.Fatal(err)
			}
			_ = child.Wait()
			deadline := time.Now().Add(lease + 10*time.Second)
			for {
				got, err := s.ClaimWork(context.Background(), "k", "survivor", lease, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 1 {
					if now := time.Now(); now.Before(expires) {
						t.Fatalf("taken over at %v, before the dead holder's lease expired at %v", now, expires)
					}
					if got[0].Attempts != 2 || got[0].Holder != "survivor" {
						t.Fatalf("took over %+v, want attempt 2 held by survivor", got[0])
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the item was not taken over within %v of the holder's death", lease+10*time.Second)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestLeaseHolderProcess is the holder side of the test above: it runs only
// as that test's child process, claims the item, reports its lease and
// then works "forever" until killed.
func TestLeaseHolderProcess(t *testing.T) {
	url := os.Getenv("GALLEON_LEASE_HOLDER_DB")
	if url == "" {
		return // not started as the helper process
	}
	lease, err := time.ParseDuration(os.Getenv("GALLEON_LEASE_HOLDER_LEASE"))
	if err != nil {
		t.Fatal(err)
	}
	s := MustOpen(t, url)
	items, err := s.ClaimWork(context.Background(), "k", "doomed-holder", lease, 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("holder claim = %+v, %v", items, err)
	}
	fmt.Printf("claimed until %s\n", items[0].LeaseExpires.Format(time.RFC3339Nano))
	select {}
}
