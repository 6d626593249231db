package galleon

import "time"

// Operation statuses, as ARM's operation-status resource reports them.
const (
	OperationInProgress = "InProgress"
	OperationSucceeded  = "Succeeded"
	OperationFailed     = "Failed"
	OperationCanceled   = "Canceled"
)

// Operation kinds: the slow work that runs after its request has answered.
const (
	OperationDeleteResourceGroup = "DeleteResourceGroup"
	// OperationReplicateImageVersion brings a version's replicas to what its
	// publishing profile asks for; its target is the version's id.
	OperationReplicateImageVersion = "ReplicateImageVersion"
)

// Operation is a long-running operation. Its status resource lives at
// /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/capsOperations/{id}.
type Operation struct {
	ID             string
	SubscriptionID string
	Location       string
	Kind           string
	Target         string // the ARM id of the resource being worked on
	Status         string
	StartTime      time.Time
	EndTime        *time.Time
	Error          *Error
}

// Terminal reports whether the operation has finished.
func (o *Operation) Terminal() bool { return o.Status != OperationInProgress }
