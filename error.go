package galleon

import (
	"errors"
	"fmt"
)

// Error codes. They are Azure Resource Manager's own codes, because Galleon
// speaks ARM natively; armapi/error.go maps each one to an HTTP status in a
// single table. Anything that is not an *Error is an internal error.
const (
	CodeInvalidParameter             = "InvalidParameter"
	CodeInvalidFilter                = "InvalidFilterInQueryString"
	CodeInvalidRequestContent        = "InvalidRequestContent"
	CodeInvalidResourceName          = "InvalidResourceName"
	CodeLocationNotAvailable         = "LocationNotAvailableForResourceType"
	CodeMissingAPIVersion            = "MissingApiVersionParameter"
	CodeInvalidAPIVersion            = "InvalidApiVersionParameter"
	CodeNoRegisteredProvider         = "NoRegisteredProviderFound"
	CodeInvalidResourceType          = "InvalidResourceType"
	CodePropertyChangeNotAllowed     = "PropertyChangeNotAllowed"
	CodeResourceNotFound             = "ResourceNotFound"
	CodeResourceGroupNotFound        = "ResourceGroupNotFound"
	CodeParentResourceNotFound       = "ParentResourceNotFound"
	CodeSubscriptionNotFound         = "SubscriptionNotFound"
	CodeOperationNotFound            = "OperationNotFound"
	CodeConflict                     = "Conflict"
	CodeCannotDeleteResource         = "CannotDeleteResource"
	CodeResourceGroupBeingDeleted    = "ResourceGroupBeingDeleted"
	CodeInvalidResourceGroupLocation = "InvalidResourceGroupLocation"
	CodeAuthenticationFailed         = "InvalidAuthenticationToken"
	CodeAuthenticationMissing        = "AuthenticationFailed"
	CodeAuthorizationFailed          = "AuthorizationFailed"
	// CodeLinkedAuthorizationFailed refuses a request that names a
	// resource (a source) the caller may not use, as Azure does.
	CodeLinkedAuthorizationFailed    = "LinkedAuthorizationFailed"
	CodeRequestTooLarge              = "RequestEntityTooLarge"
	CodeMethodNotAllowed             = "MethodNotAllowed"
	CodeOperationNotAllowed          = "OperationNotAllowed"
	CodeLeaseLost                    = "LeaseLost"
	CodeRoleAssignmentExists         = "RoleAssignmentExists"
	CodeRoleAssignmentNotFound       = "RoleAssignmentNotFound"
	CodeRoleDefinitionNotFound       = "RoleDefinitionDoesNotExist"
	CodeRoleDefinitionHasAssignments = "RoleDefinitionHasAssignments"
	CodeRoleDefinitionExists         = "RoleDefinitionWithSameNameExists"
	CodeRoleDefinitionIDExists       = "RoleDefinitionWithSameIdExists"
	CodeInvalidRoleDefinitionID      = "InvalidRoleDefinitionId"
	CodePrincipalNotFound            = "PrincipalNotFound"
	CodeInternal                     = "InternalServerError"
	CodeTooManyTags                  = "TooManyTags"
	CodeInvalidTagName               = "InvalidTagName"
	CodeInvalidTagNameLength         = "InvalidTagNameLength"
	CodeInvalidTagNameCharacters     = "InvalidTagNameCharacters"
	CodeInvalidTagValueLength        = "InvalidTagValueLength"
)

// Error is the one error type the domain returns. Code is an ARM error code,
// Target names the offending property or parameter when there is one.
type Error struct {
	Code    string
	Message string
	Target  string
}

func (e *Error) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("%s: %s (target %s)", e.Code, e.Message, e.Target)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with a formatted message and no target.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// TargetErrorf returns an *Error whose Target names the offending property.
func TargetErrorf(code, target, format string, args ...any) *Error {
	return &Error{Code: code, Target: target, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it wraps an *Error, and CodeInternal
// otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return CodeInternal
}

// Wrap adds context to *errp, keeping it matchable with errors.As. Use it as
// `defer galleon.Wrap(&err, "GetGallery(%s)", id)` at the top of a function.
func Wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		// Domain errors already say what went wrong in the user's terms.
		return
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}
