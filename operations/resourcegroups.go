package operations

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/galleon-project/galleon"
)

// ResourceGroupDeleter is what deleting a resource group needs.
type ResourceGroupDeleter interface {
	DeleteResourceGroupContents(ctx context.Context, id galleon.ResourceGroupID) error
}

// DeleteResourceGroup returns the handler for OperationDeleteResourceGroup:
// it deletes the group named by the operation's target and all it holds.
func DeleteResourceGroup(store ResourceGroupDeleter) Handler {
	return func(ctx context.Context, op *galleon.Operation) error {
		id, err := arm.ParseResourceID(op.Target)
		if err != nil || !strings.EqualFold(id.ResourceType.String(), galleon.TypeResourceGroup) {
			return galleon.Errorf(galleon.CodeInternal, "The operation target '%s' is not a resource group.", op.Target)
		}
		return store.DeleteResourceGroupContents(ctx, galleon.ResourceGroupID{SubscriptionID: id.SubscriptionID, Name: id.Name})
	}
}
