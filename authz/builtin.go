package authz

import "github.com/galleon-project/galleon"

// BuiltIn are Azure's built-in roles that Galleon knows, with Azure's ids and
// action sets.
var BuiltIn = []RoleDefinition{
	{
		ID: galleon.RoleOwner, RoleName: "Owner", RoleType: "BuiltInRole",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"*"}}},
	},
	{
		ID: galleon.RoleContributor, RoleName: "Contributor", RoleType: "BuiltInRole",
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
		ID: galleon.RoleReader, RoleName: "Reader", RoleType: "BuiltInRole",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}},
	},
}

var builtInByGUID = func() map[string]*RoleDefinition {
	m := map[string]*RoleDefinition{}
	for i := range BuiltIn {
		m[BuiltIn[i].ID] = &BuiltIn[i]
	}
	return m
}()

// BuiltInByGUID looks a built-in role up by its GUID.
func BuiltInByGUID(guid string) (*RoleDefinition, bool) {
	d, ok := builtInByGUID[guid]
	return d, ok
}
