package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/galleon-project/galleon"
)

func testInstallationSecret(t *testing.T, open Opener) {
	s := open(t)
	got, err := s.LoadOrStoreSecret(ctx(), "ca", "first")
	if err != nil || got != "first" {
		t.Fatalf("LoadOrStoreSecret() = %q, %v", got, err)
	}
	if got, err := s.LoadOrStoreSecret(ctx(), "ca", "second"); err != nil || got != "first" {
		t.Fatalf("a second store = %q, %v; want the first value", got, err)
	}
	const n = 10
	vals := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.LoadOrStoreSecret(ctx(), "key", sprintf("candidate-%d", i))
			if err != nil {
				t.Error(err)
			}
			vals[i] = v
		}()
	}
	wg.Wait()
	for _, v := range vals {
		if v != vals[0] {
			t.Fatalf("concurrent callers got different values: %v", vals)
		}
	}
}

func testLease(t *testing.T, open Opener) {
	const lease = 400 * time.Millisecond
	t.Run("ClaimExpireTakeOver", func(t *testing.T) {
		s := open(t)
		if err := s.EnqueueWork(ctx(), "k", "item", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.EnqueueWork(ctx(), "k", "item", time.Now()); err != nil { // idempotent
			t.Fatal(err)
		}
		a, err := s.ClaimWork(ctx(), "k", "node-a", lease, 10)
		if err != nil || len(a) != 1 || a[0].Key != "item" || a[0].Holder != "node-a" || a[0].Attempts != 1 {
			t.Fatalf("A's claim = %+v, %v", a, err)
		}
		if b, err := s.ClaimWork(ctx(), "k", "node-b", lease, 10); err != nil || len(b) != 0 {
			t.Fatalf("B claimed %+v (%v) while A holds the lease", b, err)
		}
		if other, err := s.ClaimWork(ctx(), "other-kind", "node-b", lease, 10); err != nil || len(other) != 0 {
			t.Fatalf("claiming another kind: %+v, %v", other, err)
		}
		time.Sleep(lease + 100*time.Millisecond) // A "crashed" and never renewed
		b, err := s.ClaimWork(ctx(), "k", "node-b", lease, 10)
		if err != nil || len(b) != 1 || b[0].Holder != "node-b" || b[0].Attempts != 2 {
			t.Fatalf("B's claim after A's lease expired = %+v, %v", b, err)
		}
		wantCode(t, "A completing work B took over", s.CompleteWork(ctx(), a[0]), galleon.CodeLeaseLost)
		wantCode(t, "A extending a lost lease", s.ExtendLease(ctx(), &a[0], lease), galleon.CodeLeaseLost)
		before := b[0].LeaseExpires
		if err := s.ExtendLease(ctx(), &b[0], 10*lease); err != nil || !b[0].LeaseExpires.After(before) {
			t.Fatalf("ExtendLease() = %v, expires %v (was %v)", err, b[0].LeaseExpires, before)
		}
		time.Sleep(lease + 100*time.Millisecond) // the extension keeps it held
		if c, err := s.ClaimWork(ctx(), "k", "node-c", lease, 10); err != nil || len(c) != 0 {
			t.Fatalf("C claimed %+v (%v) during B's extended lease", c, err)
		}
		if err := s.CompleteWork(ctx(), b[0]); err != nil {
			t.Fatal(err)
		}
		if c, err := s.ClaimWork(ctx(), "k", "node-c", lease, 10); err != nil || len(c) != 0 {
			t.Fatalf("completed work was claimed again: %+v, %v", c, err)
		}
	})
	t.Run("NotBeforeAndRelease", func(t *testing.T) {
		s := open(t)
		if err := s.EnqueueWork(ctx(), "k", "later", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.EnqueueWork(ctx(), "k", "now", time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimWork(ctx(), "k", "a", lease, 10)
		if err != nil || len(got) != 1 || got[0].Key != "now" {
			t.Fatalf("ClaimWork() = %+v, %v; want only the due item", got, err)
		}
		if err := s.ReleaseWork(ctx(), got[0], time.Now().Add(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.ClaimWork(ctx(), "k", "b", lease, 10); len(again) != 0 {
			t.Fatalf("a released item was claimable before its retry time: %+v", again)
		}
		time.Sleep(400 * time.Millisecond)
		again, err := s.ClaimWork(ctx(), "k", "b", lease, 10)
		if err != nil || len(again) != 1 || again[0].Key != "now" || again[0].Attempts != 2 {
			t.Fatalf("after the retry time: %+v, %v", again, err)
		}
		wantCode(t, "releasing someone else's item", s.ReleaseWork(ctx(), got[0], time.Now()), galleon.CodeLeaseLost)
	})
	t.Run("NeverTwoHoldersAtOnce", func(t *testing.T) {
		s := open(t)
		const items, workers = 40, 6
		for i := range items {
			if err := s.EnqueueWork(ctx(), "k", sprintf("item%02d", i), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		active := map[string]string{}
		done := map[string]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := sprintf("worker%d", w)
				for idle := 0; idle < 3; {
					claimed, err := s.ClaimWork(ctx(), "k", holder, 10*time.Second, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(claimed) == 0 {
						idle++
						time.Sleep(5 * time.Millisecond)
						continue
					}
					for _, it := range claimed {
						mu.Lock()
						if other, ok := active[it.Key]; ok {
							t.Errorf("%s claimed by %s while %s holds it", it.Key, holder, other)
						}
						active[it.Key] = holder
						mu.Unlock()
						time.Sleep(time.Millisecond)
						mu.Lock()
						delete(active, it.Key)
						done[it.Key]++
						mu.Unlock()
						if err := s.CompleteWork(ctx(), it); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(done) != items {
			t.Fatalf("%d items done, want %d", len(done), items)
		}
		for k, n := range done {
			if n != 1 {
				t.Errorf("%s processed %d times", k, n)
			}
		}
	})
}
