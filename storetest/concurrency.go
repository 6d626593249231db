package storetest

import (
	"sync"
	"testing"

	"github.com/galleon-project/galleon"
)

func testConcurrency(t *testing.T, open Opener) {
	t.Run("GalleryNameAcrossGroups", func(t *testing.T) {
		// Fifty concurrent puts of one gallery name into fifty groups of a
		// subscription: exactly one gallery, forty-nine conflicts.
		f := MustFixture(t, open)
		const n = 50
		for i := range n {
			f.MustPutResourceGroup(t, sprintf("rg%02d", i))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = f.PutGallery(f.Gallery(sprintf("rg%02d", i), "contested"), "")
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch galleon.ErrorCode(err) {
			case "":
				ok++
			case galleon.CodeConflict:
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		all, _, err := f.Store.ListGalleriesBySubscription(ctx(), f.Sub, galleon.Page{})
		if ok != 1 || conflicts != n-1 || err != nil || len(all) != 1 {
			t.Fatalf("%d created, %d conflicts, %d galleries (%v); want 1, %d, 1", ok, conflicts, len(all), err, n-1)
		}
	})
	t.Run("Bootstrap", func(t *testing.T) {
		s := open(t)
		const n = 8
		created := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				created[i], errs[i] = s.Bootstrap(ctx(), NewBootstrap())
			}()
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Bootstrap: %v", errs[i])
			}
			if created[i] {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("%d bootstraps created an installation, want 1", winners)
		}
	})
	t.Run("ImageIdentifier", func(t *testing.T) {
		f := MustFixture(t, open)
		f.MustPutResourceGroup(t, "rg")
		f.MustPutGallery(t, "rg", "g")
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = f.PutImage(f.Image("rg", "g", sprintf("img%02d", i)), "p", "o", "same-sku")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if galleon.ErrorCode(err) != galleon.CodeConflict {
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d definitions with one triplet were created, want 1", ok)
		}
	})
}
