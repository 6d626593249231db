package authz

import (
	"strings"

	"github.com/galleon-project/galleon"
)

// BuiltIn are the built-in roles Galleon knows: Azure's, with Azure's ids
// and action sets, and one of Galleon's own for downloading image bytes.
var BuiltIn = []RoleDefinition{
	{
		ID: galleon.RoleOwner, RoleName: "Owner", RoleType: galleon.BuiltInRole,
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		// Unlike Azure's Owner, Galleon's also holds every data action:
		// nobody grants more than they hold here, so without them no one
		// could ever hand out a data action (downloading versions' bytes).
		Permissions: []Permission{{Actions: []string{"*"}, DataActions: []string{"*"}}},
	},
	{
		ID: galleon.RoleContributor, RoleName: "Contributor", RoleType: galleon.BuiltInRole,
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []Permission{{
			Actions: []string{"*"},
			NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
			},
		}},
	},
	{
		ID: galleon.RoleReader, RoleName: "Reader", RoleType: galleon.BuiltInRole,
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}},
	},
	{
		ID: galleon.RoleUserAccessAdministrator, RoleName: "User Access Administrator", RoleType: galleon.BuiltInRole,
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}},
	},
	{
		ID: galleon.RoleComputeGallerySharingAdmin, RoleName: "Compute Gallery Sharing Admin", RoleType: galleon.BuiltInRole,
		Description: "This role allows user to share gallery to another subscription/tenant or share it to the public.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Compute/galleries/images/read",
			"Microsoft.Compute/galleries/images/versions/read",
			"Microsoft.Compute/galleries/read",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
		}}},
	},
	{
		ID: galleon.RoleComputeGalleryImageDownloader, RoleName: "Compute Gallery Image Downloader", RoleType: galleon.BuiltInRole,
		Description: "Galleon's own role: read galleries, image definitions and versions, and download versions' bytes through a read SAS.",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Compute/galleries/read",
				"Microsoft.Compute/galleries/images/read",
				"Microsoft.Compute/galleries/images/versions/read",
			},
			DataActions: []string{ActionDownloadVersion},
		}},
	},
}

// ActionDownloadVersion is the data action that a read SAS for an image
// version's bytes needs (Galleon's: Azure has no such endpoint), and so
// copying them into a disk or another version (galleon.References).
const ActionDownloadVersion = galleon.ActionDownloadVersion

var builtInByGUID = func() map[string]*RoleDefinition {
	m := map[string]*RoleDefinition{}
	for i := range BuiltIn {
		m[BuiltIn[i].ID] = &BuiltIn[i]
	}
	return m
}()

// BuiltInByGUID looks a built-in role up by its GUID.
func BuiltInByGUID(guid string) (*RoleDefinition, bool) {
	d, ok := builtInByGUID[strings.ToLower(guid)]
	return d, ok
}
