package galleon

import (
	"regexp"
	"strings"
	"time"
)

// ProvisioningState values as ARM reports them.
const (
	ProvisioningCreating  = "Creating"
	ProvisioningUpdating  = "Updating"
	ProvisioningDeleting  = "Deleting"
	ProvisioningSucceeded = "Succeeded"
	ProvisioningFailed    = "Failed"
)

// SystemData records who created and last modified a resource, as ARM's
// systemData does.
type SystemData struct {
	CreatedBy          string    `json:"createdBy,omitempty"`
	CreatedByType      string    `json:"createdByType,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	LastModifiedBy     string    `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string    `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
}

// Touch records a change made by p at now; a zero CreatedAt marks creation.
func (s *SystemData) Touch(p Principal, now time.Time) {
	if s.CreatedAt.IsZero() {
		s.CreatedAt, s.CreatedBy, s.CreatedByType = now, p.DisplayIdentity(), p.SystemDataType()
	}
	s.LastModifiedAt, s.LastModifiedBy, s.LastModifiedByType = now, p.DisplayIdentity(), p.SystemDataType()
}

// ResourceGroup is a Microsoft.Resources resource group.
type ResourceGroup struct {
	ID                ResourceGroupID
	Location          string
	Tags              map[string]string
	ManagedBy         string
	ProvisioningState string
	SystemData        SystemData
}

// resourceGroupNamePattern is Azure's rule: 1-90 letters, digits,
// underscores, hyphens, periods and parentheses, not ending in a period.
var resourceGroupNamePattern = regexp.MustCompile(`^[-\p{L}\p{N}_.()]{1,90}$`)

// ValidateResourceGroupName checks a resource group name against Azure's rule.
func ValidateResourceGroupName(name string) error {
	if resourceGroupNamePattern.MatchString(name) && !strings.HasSuffix(name, ".") {
		return nil
	}
	return TargetErrorf(CodeInvalidParameter, "resourceGroupName",
		"Resource group '%s' is invalid. Resource group names may contain only letters, digits, underscores, hyphens, periods and parentheses, must be 1 to 90 characters long and may not end in a period.", name)
}

// Validate checks a resource group's new state, on creation and on every
// change.
func (rg *ResourceGroup) Validate() error {
	return ValidateTags(rg.Tags)
}

// UpdateResourceGroup validates replacing old by new.
func UpdateResourceGroup(old, new *ResourceGroup) error {
	if Fold(old.Location) != Fold(new.Location) {
		return TargetErrorf(CodeInvalidResourceGroupLocation, "location",
			"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", new.Location, old.Location)
	}
	new.SystemData = old.SystemData
	return nil
}
