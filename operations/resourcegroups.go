package operations

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/failpoint"
)

// ResourceGroupDeleter is what deleting a resource group needs: its
// contents, listed so that their bytes go too, and the one call that
// deletes the rows.
type ResourceGroupDeleter interface {
	ListDisks(ctx context.Context, id galleon.DiskID, page galleon.Page) ([]galleon.Disk, string, error)
	ListManagedImages(ctx context.Context, id galleon.DiskID, page galleon.Page) ([]galleon.ManagedImage, string, error)
	ListGalleriesByResourceGroup(ctx context.Context, id galleon.ResourceGroupID, page galleon.Page) ([]galleon.Gallery, string, error)
	ListImageDefinitions(ctx context.Context, id galleon.GalleryID, page galleon.Page) ([]galleon.ImageDefinition, string, error)
	ListImageVersions(ctx context.Context, id galleon.ImageDefinitionID, page galleon.Page) ([]galleon.ImageVersion, string, error)
	ListSoftDeletedImageVersions(ctx context.Context, id galleon.ImageDefinitionID, page galleon.Page) ([]galleon.SoftDeletedImageVersion, string, error)
	DeleteResourceGroupContents(ctx context.Context, id galleon.ResourceGroupID) error
}

// DeleteResourceGroup returns the handler for OperationDeleteResourceGroup:
// it deletes the group named by the operation's target and all it holds.
// The bytes of its disks, snapshots, managed images and image versions
// are deleted first (data may be nil: no bytes to delete); a pass that
// stops part way is repeated, and deleting what is already gone is fine.
func DeleteResourceGroup(store ResourceGroupDeleter, data galleon.DiskData) Handler {
	return func(ctx context.Context, op *galleon.Operation) error {
		id, err := arm.ParseResourceID(op.Target)
		if err != nil || !strings.EqualFold(id.ResourceType.String(), galleon.TypeResourceGroup) {
			return galleon.Errorf(galleon.CodeInternal, "The operation target '%s' is not a resource group.", op.Target)
		}
		rg := galleon.ResourceGroupID{SubscriptionID: id.SubscriptionID, Name: id.Name}
		if data != nil {
			if err := deleteContent(ctx, store, data, rg); err != nil {
				return err
			}
		}
		return store.DeleteResourceGroupContents(ctx, rg)
	}
}

func deleteContent(ctx context.Context, store ResourceGroupDeleter, data galleon.DiskData, rg galleon.ResourceGroupID) error {
	for _, typ := range []string{galleon.TypeDisk, galleon.TypeSnapshot} {
		err := eachPage(func(p galleon.Page) ([]galleon.Disk, string, error) {
			return store.ListDisks(ctx, galleon.DiskID{SubscriptionID: rg.SubscriptionID, ResourceGroup: rg.Name, Type: typ}, p)
		}, func(d *galleon.Disk) error {
			if err := data.DeleteDiskContent(ctx, d); err != nil {
				return err
			}
			return failpoint.Hit("rg-delete/between-children")
		})
		if err != nil {
			return err
		}
	}
	err := eachPage(func(p galleon.Page) ([]galleon.ManagedImage, string, error) {
		return store.ListManagedImages(ctx, galleon.DiskID{SubscriptionID: rg.SubscriptionID, ResourceGroup: rg.Name}, p)
	}, func(img *galleon.ManagedImage) error { return data.DeleteImageContent(ctx, img) })
	if err != nil {
		return err
	}
	return eachPage(func(p galleon.Page) ([]galleon.Gallery, string, error) {
		return store.ListGalleriesByResourceGroup(ctx, rg, p)
	}, func(g *galleon.Gallery) error {
		return eachPage(func(p galleon.Page) ([]galleon.ImageDefinition, string, error) {
			return store.ListImageDefinitions(ctx, g.ID, p)
		}, func(def *galleon.ImageDefinition) error {
			err := eachPage(func(p galleon.Page) ([]galleon.ImageVersion, string, error) {
				return store.ListImageVersions(ctx, def.ID, p)
			}, func(v *galleon.ImageVersion) error { return data.DeleteVersionContent(ctx, v) })
			if err != nil {
				return err
			}
			// Soft-deleted versions kept their bytes; they go with the group.
			return eachPage(func(p galleon.Page) ([]galleon.SoftDeletedImageVersion, string, error) {
				return store.ListSoftDeletedImageVersions(ctx, def.ID, p)
			}, func(sd *galleon.SoftDeletedImageVersion) error { return data.DeleteVersionContent(ctx, &sd.Version) })
		})
	})
}

// eachPage calls fn on every item of a paged list.
func eachPage[T any](list func(galleon.Page) ([]T, string, error), fn func(*T) error) error {
	page := galleon.Page{Limit: 100}
	for {
		items, next, err := list(page)
		if err != nil {
			return err
		}
		for i := range items {
			if err := fn(&items[i]); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		page.After = next
	}
}
