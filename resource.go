package galleon

import "time"

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
