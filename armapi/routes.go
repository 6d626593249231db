package armapi

import (
	"net/http"
	"strings"

	"github.com/galleon-project/galleon"
)

// endpoint is one method on one route: the RBAC action it needs at the
// request's scope and the handler that serves it.
type endpoint struct {
	action string
	handle func(s *Server, w http.ResponseWriter, r *request) error
	// dataAction, when set, must be granted too (a role's dataActions).
	dataAction string
	// selfAuthorized handlers decide access themselves, because the scope
	// that matters is not the path's (an operation's status is readable
	// by whoever may read the resource it works on).
	selfAuthorized bool
}

// route is a resource type, as an item (…/galleries/{name}) or a collection
// (…/galleries), with the api-versions it accepts and its methods.
type route struct {
	api     apiVersions
	methods map[string]endpoint
}

type routeKey struct {
	resourceType string // folded, e.g. "microsoft.compute/galleries/images"
	collection   bool
}

// routes lists every ARM path Galleon serves. Paths are parsed into resource
// ids by azcore/arm (case-insensitively); the id's resource type picks the
// route. GET /subscriptions, GET /tenants and the metadata endpoint have no
// resource id and are served before this table is consulted.
var routes = mergeRoutes(diskRoutes(galleon.TypeDisk, diskAPI), diskRoutes(galleon.TypeSnapshot, snapshotAPI), versionRoutes(), managedImageRoutes(), authorizationRoutes(), auditRoutes(), sharingRoutes(), resourceListRoutes(), softDeleteRoutes(), map[routeKey]route{
	{"microsoft.resources/subscriptions", false}: {subscriptionAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Resources/subscriptions/read", handle: (*Server).getSubscription},
	}},
	{"microsoft.resources/subscriptions/locations", true}: {locationsAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Resources/subscriptions/locations/read", handle: (*Server).listLocations},
	}},
	{"microsoft.resources/resourcegroups", true}: {resourceGroupAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Resources/subscriptions/resourceGroups/read", handle: (*Server).listResourceGroups},
	}},
	{"microsoft.resources/resourcegroups", false}: {resourceGroupAPI, map[string]endpoint{
		http.MethodGet:    {action: "Microsoft.Resources/subscriptions/resourceGroups/read", handle: (*Server).getResourceGroup},
		http.MethodHead:   {action: "Microsoft.Resources/subscriptions/resourceGroups/read", handle: (*Server).checkResourceGroup},
		http.MethodPut:    {action: "Microsoft.Resources/subscriptions/resourceGroups/write", handle: (*Server).putResourceGroup},
		http.MethodPatch:  {action: "Microsoft.Resources/subscriptions/resourceGroups/write", handle: (*Server).patchResourceGroup},
		http.MethodDelete: {action: "Microsoft.Resources/subscriptions/resourceGroups/delete", handle: (*Server).deleteResourceGroup},
	}},
	{"microsoft.compute/galleries", true}: {galleryAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Compute/galleries/read", handle: (*Server).listGalleries},
	}},
	{"microsoft.compute/galleries", false}: {galleryAPI, map[string]endpoint{
		http.MethodGet:    {action: "Microsoft.Compute/galleries/read", handle: (*Server).getGallery},
		http.MethodPut:    {action: "Microsoft.Compute/galleries/write", handle: (*Server).putGallery},
		http.MethodPatch:  {action: "Microsoft.Compute/galleries/write", handle: (*Server).patchGallery},
		http.MethodDelete: {action: "Microsoft.Compute/galleries/delete", handle: (*Server).deleteGallery},
	}},
	{"microsoft.compute/galleries/images", true}: {galleryImageAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Compute/galleries/images/read", handle: (*Server).listImageDefinitions},
	}},
	{"microsoft.compute/galleries/images", false}: {galleryImageAPI, map[string]endpoint{
		http.MethodGet:    {action: "Microsoft.Compute/galleries/images/read", handle: (*Server).getImageDefinition},
		http.MethodPut:    {action: "Microsoft.Compute/galleries/images/write", handle: (*Server).putImageDefinition},
		http.MethodPatch:  {action: "Microsoft.Compute/galleries/images/write", handle: (*Server).patchImageDefinition},
		http.MethodDelete: {action: "Microsoft.Compute/galleries/images/delete", handle: (*Server).deleteImageDefinition},
	}},
	{"microsoft.compute/locations/capsoperations", false}: {operationAPI, map[string]endpoint{
		http.MethodGet: {action: "Microsoft.Compute/locations/capsOperations/read", handle: (*Server).getOperation, selfAuthorized: true},
	}},
})

// mergeRoutes joins route tables; the generated ones (disks and snapshots
// share one shape) are written once and added here.
func mergeRoutes(tables ...map[routeKey]route) map[routeKey]route {
	out := map[routeKey]route{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

// OperationStatusPath is where the status of operation id, started in
// subscription sub at location loc, is served.
func OperationStatusPath(sub, loc, id string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.Compute/locations/" + loc + "/capsOperations/" + id
}

// knownNamespaces are the resource provider namespaces Galleon serves; a
// type outside them is an unregistered provider rather than an unknown type.
var knownNamespaces = []string{"microsoft.resources", "microsoft.compute", "microsoft.authorization", "microsoft.insights"}

func knownNamespace(ns string) bool {
	for _, n := range knownNamespaces {
		if strings.EqualFold(n, ns) {
			return true
		}
	}
	return false
}
