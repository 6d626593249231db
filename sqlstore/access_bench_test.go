package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/storetest"
)

// BenchmarkDiskAccessGeneration is the data plane's one store read per
// SAS request, among 1000 disks: go test ./sqlstore -run '^$' -bench DiskAccessGeneration
func BenchmarkDiskAccessGeneration(b *testing.B) {
	for _, dialect := range []string{"SQLite", "PostgreSQL"} {
		b.Run(dialect, func(b *testing.B) {
			url := filepath.Join(b.TempDir(), "galleon.db")
			if dialect == "PostgreSQL" {
				url = pgtest.NewDatabase(b)
			}
			db := MustOpen(b, url)
			ctx := context.Background()
			boot := storetest.NewBootstrap()
			if _, err := db.Bootstrap(ctx, boot); err != nil {
				b.Fatal(err)
			}
			if _, _, err := db.PutResourceGroup(ctx, galleon.ResourceGroupID{SubscriptionID: boot.Subscription.ID, Name: "rg"},
				func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
					return &galleon.ResourceGroup{ID: galleon.ResourceGroupID{SubscriptionID: boot.Subscription.ID, Name: "rg"}, Location: "eastus"}, nil
				}); err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				id := galleon.DiskID{SubscriptionID: boot.Subscription.ID, ResourceGroup: "rg", Type: galleon.TypeDisk, Name: fmt.Sprintf("d%d", i)}
				if _, _, err := db.PutDisk(ctx, id, func(*galleon.Disk) (*galleon.Disk, error) {
					return &galleon.Disk{ID: id, Location: "eastus", Properties: galleon.DiskProperties{UniqueID: fmt.Sprintf("u-%04d", i),
						CreationData: galleon.CreationData{CreateOption: galleon.CreateEmpty}}}, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; b.Loop(); i++ {
				if _, err := db.DiskAccessGeneration(ctx, fmt.Sprintf("u-%04d", i%1000)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
