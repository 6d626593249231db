package armapi

import (
	"regexp"
	"slices"
	"strings"

	"github.com/galleon-project/galleon"
)

// apiVersions is the set of api-versions one resource type accepts.
type apiVersions struct {
	// provider-registered types (Microsoft.Compute) answer an unsupported
	// version with NoRegisteredProviderFound, as ARM's front door does;
	// Microsoft.Resources answers InvalidApiVersionParameter.
	provider     bool
	resourceType string // for messages: "galleries"
	versions     []string
}

var (
	// galleryVersions are the stable GalleryRP api-versions.
	galleryVersions = []string{
		"2018-06-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-09-30",
		"2021-07-01", "2021-10-01", "2022-01-03", "2022-03-03", "2022-08-03",
		"2023-07-03", "2024-03-03", "2025-03-03",
	}
	// resourceGroupVersions are the api-versions Azure serves for
	// Microsoft.Resources resource groups.
	resourceGroupVersions = []string{
		"2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01",
		"2016-09-01", "2017-05-10", "2017-06-01", "2017-08-01", "2018-01-01", "2018-02-01",
		"2018-05-01", "2018-06-01", "2018-07-01", "2018-08-01", "2018-09-01", "2018-11-01",
		"2019-03-01", "2019-05-01", "2019-05-10", "2019-07-01", "2019-08-01", "2019-09-01",
		"2019-10-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01",
		"2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01",
		"2025-03-01", "2025-04-01",
	}
	// subscriptionVersions are those of Microsoft.Resources subscriptions,
	// tenants and locations.
	subscriptionVersions = []string{
		"2014-04-01", "2015-01-01", "2016-01-01", "2016-06-01", "2018-06-01", "2019-06-01",
		"2019-11-01", "2020-01-01", "2021-01-01", "2022-01-01", "2022-12-01", "2024-11-01",
	}
)

var (
	galleryAPI       = apiVersions{provider: true, resourceType: "galleries", versions: galleryVersions}
	galleryImageAPI  = apiVersions{provider: true, resourceType: "galleries/images", versions: galleryVersions}
	resourceGroupAPI = apiVersions{resourceType: "resourceGroups", versions: resourceGroupVersions}
	subscriptionAPI  = apiVersions{resourceType: "subscriptions", versions: subscriptionVersions}
	locationsAPI     = apiVersions{resourceType: "locations", versions: subscriptionVersions}
	tenantsAPI       = apiVersions{resourceType: "tenants", versions: subscriptionVersions}
	metadataAPI      = apiVersions{resourceType: "metadata", versions: []string{"2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01"}}
	// capsOperations poll both compute operations and resource group
	// deletions, so they accept the api-version either started with.
	operationAPI = apiVersions{provider: true, resourceType: "locations/capsOperations",
		versions: append(slices.Clone(galleryVersions), resourceGroupVersions...)}
)

var apiVersionFormat = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// check returns the api-version of the request or the ARM error for it.
func (a apiVersions) check(got, location string) (string, error) {
	if got == "" {
		return "", galleon.Errorf(galleon.CodeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if slices.Contains(a.versions, got) {
		return got, nil
	}
	supported := strings.Join(a.newestFirst(), ", ")
	if a.provider && apiVersionFormat.MatchString(got) {
		if location == "" {
			location = "global"
		}
		return "", galleon.Errorf(galleon.CodeNoRegisteredProvider,
			"No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'.",
			location, got, a.resourceType, supported)
	}
	return "", galleon.Errorf(galleon.CodeInvalidAPIVersion,
		"The api-version '%s' is invalid. The supported versions are '%s'. Please see https://aka.ms/api-upgrade for more details.",
		got, strings.Join(a.newestFirst(), ","))
}

func (a apiVersions) newestFirst() []string {
	v := slices.Clone(a.versions)
	slices.Sort(v)
	slices.Reverse(v)
	return v
}

// atLeast reports whether api-version v is min or newer; the format sorts
// lexically.
func atLeast(v, min string) bool { return v >= min }
