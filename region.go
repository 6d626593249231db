package galleon

import (
	"slices"
	"strings"
)

// Region is a configured location, e.g. "eastus".
type Region struct {
	Name        string // canonical: lower case, no spaces
	DisplayName string // "East US"
}

// NormalizeLocation turns "East US" into "eastus", as ARM does on input.
func NormalizeLocation(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}

// Regions is the ordered set of configured locations.
type Regions []Region

// Names returns the canonical names in order.
func (rs Regions) Names() []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return names
}

// Resolve returns the canonical name of location, or an error naming the
// configured ones for resourceType.
func (rs Regions) Resolve(location, resourceType string) (string, error) {
	n := NormalizeLocation(location)
	if n == "" {
		return "", TargetErrorf(CodeInvalidParameter, "location", "The 'location' property is required.")
	}
	if slices.Contains(rs.Names(), n) {
		return n, nil
	}
	code := CodeLocationNotAvailable
	return "", TargetErrorf(code, "location",
		"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
		location, resourceType, strings.Join(rs.Names(), ","))
}

// DisplayNameFor turns "westus2" into "West US 2" for the well-known Azure
// region names, and capitalises anything else.
func DisplayNameFor(name string) string {
	if d, ok := knownRegionNames[name]; ok {
		return d
	}
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

var knownRegionNames = map[string]string{
	"eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2",
	"westus3": "West US 3", "centralus": "Central US", "northcentralus": "North Central US",
	"southcentralus": "South Central US", "westcentralus": "West Central US",
	"northeurope": "North Europe", "westeurope": "West Europe", "uksouth": "UK South",
	"ukwest": "UK West", "francecentral": "France Central", "germanywestcentral": "Germany West Central",
	"swedencentral": "Sweden Central", "japaneast": "Japan East", "japanwest": "Japan West",
	"australiaeast": "Australia East", "southeastasia": "Southeast Asia", "eastasia": "East Asia",
	"canadacentral": "Canada Central", "brazilsouth": "Brazil South", "centralindia": "Central India",
}
