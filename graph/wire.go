package graph

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// The JSON shapes of Graph v1.0 resources: the default properties Graph
// returns, plus those az prints and reads (accountEnabled, userType,
// passwordCredentials, …).

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func newID() string { return uuid.NewString() }

const graphTime = "2006-01-02T15:04:05Z"

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(graphTime)
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Values of @odata.type.
const (
	odataUser             = "#microsoft.graph.user"
	odataGroup            = "#microsoft.graph.group"
	odataServicePrincipal = "#microsoft.graph.servicePrincipal"
	odataApplication      = "#microsoft.graph.application"
)

func userJSON(u *galleon.DirectoryUser) map[string]any {
	return map[string]any{
		"id":                u.ObjectID,
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         nil,
		"jobTitle":          nil,
		"mail":              strOrNil(u.Mail),
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"surname":           nil,
		"userPrincipalName": u.UserPrincipalName,
		"mailNickname":      u.MailNickname,
		"accountEnabled":    u.AccountEnabled,
		"userType":          u.UserType,
		"externalUserState": strOrNil(u.ExternalUserState),
		"createdDateTime":   timeOrNil(u.CreatedAt),
	}
}

func groupJSON(g *galleon.Group) map[string]any {
	return map[string]any{
		"id":              g.ObjectID,
		"displayName":     g.DisplayName,
		"description":     strOrNil(g.Description),
		"mailNickname":    g.MailNickname,
		"mailEnabled":     g.MailEnabled,
		"securityEnabled": g.SecurityEnabled,
		"mail":            nil,
		"groupTypes":      []string{},
		"visibility":      nil,
		"createdDateTime": timeOrNil(g.CreatedAt),
	}
}

func credentialsJSON(cs []galleon.PasswordCredential) []map[string]any {
	out := []map[string]any{}
	for _, c := range cs {
		out = append(out, credentialJSON(&c, ""))
	}
	return out
}

// credentialJSON is a passwordCredential; secretText only in the answer
// to addPassword, the one time the secret is shown.
func credentialJSON(c *galleon.PasswordCredential, secretText string) map[string]any {
	return map[string]any{
		"customKeyIdentifier": nil,
		"displayName":         strOrNil(c.DisplayName),
		"endDateTime":         timeOrNil(c.EndDateTime),
		"hint":                c.Hint,
		"keyId":               c.KeyID,
		"secretText":          strOrNil(secretText),
		"startDateTime":       timeOrNil(c.StartDateTime),
	}
}

func applicationJSON(a *galleon.Application) map[string]any {
	return map[string]any{
		"id":                  a.ObjectID,
		"appId":               a.AppID,
		"displayName":         a.DisplayName,
		"createdDateTime":     timeOrNil(a.CreatedAt),
		"identifierUris":      []string{},
		"keyCredentials":      []any{},
		"passwordCredentials": credentialsJSON(a.PasswordCredentials),
		"signInAudience":      "AzureADMyOrg",
		"publisherDomain":     nil,
		"web":                 map[string]any{"redirectUris": []string{}, "homePageUrl": nil, "implicitGrantSettings": map[string]bool{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}},
		"publicClient":        map[string]any{"redirectUris": []string{}},
	}
}

func servicePrincipalJSON(sp *galleon.ServicePrincipal) map[string]any {
	return map[string]any{
		"id":                        sp.ObjectID,
		"appId":                     sp.AppID,
		"displayName":               sp.DisplayName,
		"appDisplayName":            sp.DisplayName,
		"accountEnabled":            sp.AccountEnabled,
		"appOwnerOrganizationId":    sp.TenantID,
		"servicePrincipalNames":     []string{sp.AppID},
		"servicePrincipalType":      "Application",
		"signInAudience":            "AzureADMyOrg",
		"keyCredentials":            []any{},
		"passwordCredentials":       credentialsJSON(sp.PasswordCredentials),
		"createdDateTime":           timeOrNil(sp.CreatedAt),
		"tags":                      []string{},
		"alternativeNames":          []string{},
		"appRoleAssignmentRequired": false,
	}
}

// objectJSON is any directory object with its @odata.type, as lists of
// mixed objects (members, getByIds) carry it.
func objectJSON(o *galleon.DirectoryObject) map[string]any {
	var m map[string]any
	var typ string
	switch {
	case o.User != nil:
		m, typ = userJSON(o.User), odataUser
	case o.Group != nil:
		m, typ = groupJSON(o.Group), odataGroup
	case o.ServicePrincipal != nil:
		m, typ = servicePrincipalJSON(o.ServicePrincipal), odataServicePrincipal
	case o.Application != nil:
		m, typ = applicationJSON(o.Application), odataApplication
	default:
		return nil
	}
	m["@odata.type"] = typ
	return m
}

// odataTypeNames maps getByIds' types to directory object types.
var odataTypeNames = map[string]string{
	"user": galleon.PrincipalUser, "group": galleon.PrincipalGroup,
	"serviceprincipal": galleon.PrincipalServicePrincipal, "application": galleon.PrincipalApplication,
}
