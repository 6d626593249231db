package identity

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// The resource-owner password grant: users (members, and guests who have
// redeemed their invitation) sign in with their principal name (a guest
// also with the address it was invited at) and password. The client is
// public: client_id names it, nothing authenticates it.
//
// MSAL-Go asks the AAD authority for the user's realm first
// (GET /common/UserRealm/{username}); every Galleon user is "Managed", so
// the password goes to the token endpoint.

// dummyHash is checked against when the user is unknown, so that an
// unknown name costs what a wrong password does and timing tells nothing.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("galleon-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
})

func (i *Issuer) passwordGrant(w http.ResponseWriter, r *http.Request, req tokenRequest) {
	username, password := req.form.Get("username"), req.form.Get("password")
	switch {
	case username == "":
		i.writeOAuthError(w, r, errMissingParameter("username"))
		return
	case password == "":
		i.writeOAuthError(w, r, errMissingParameter("password"))
		return
	}
	logUser := slog.String("username", username)
	resource, oerr := requestedResource(req.form, req.resourceParam)
	if oerr != nil {
		i.writeOAuthError(w, r, oerr, logUser)
		return
	}

	limits, account, addr := i.limits(), userAccount+username, signinlimit.PeerAddress(r.RemoteAddr)
	if ref := limits.Try(account, addr); ref != nil {
		i.writeLockout(w, r, ref, false, logUser)
		return
	}
	u, err := i.Directory.UserForSignIn(r.Context(), username)
	switch {
	case galleon.ErrorCode(err) == galleon.CodeResourceNotFound,
		err == nil && req.tenant != nil && u.TenantID != req.tenant.ID:
		CheckPassword(dummyHash(), password)
		i.writeOAuthError(w, r, errInvalidCredentials(), logUser, slog.String("reason", "unknown user"))
		return
	case err != nil:
		limits.Succeeded(account, addr) // the server's failure, not the client's
		i.writeOAuthError(w, r, errDirectoryUnavailable(), logUser, slog.Any("err", err))
		return
	}
	logUser = slog.String("oid", u.ObjectID)
	reason, wrong := signInRefusal(u, password)
	if !wrong {
		limits.Succeeded(account, addr)
	}
	if reason != "" {
		e := errInvalidCredentials()
		if reason == "disabled" {
			e = errAccountDisabled()
		}
		i.writeOAuthError(w, r, e, logUser, slog.String("reason", reason))
		return
	}
	if !i.acceptsAudience(resource) {
		i.writeOAuthError(w, r, errUnknownResource(resource, i.Audiences), logUser)
		return
	}
	clientID := ""
	if hasOpenIDScope(req.form.Get("scope")) {
		// An OpenID client keeps an account: ID and refresh tokens too.
		clientID = req.form.Get("client_id")
	}
	i.respondUser(w, r, u, clientID, resource, req)
}

// signInRefusal says why u may not sign in with password, or "" when it
// may, and whether the password was wrong (which the limits count). The
// password is checked first: only someone who knows it learns that the
// account is disabled, as with Entra.
func signInRefusal(u *galleon.DirectoryUser, password string) (reason string, wrongPassword bool) {
	if u.PasswordHash == "" {
		CheckPassword(dummyHash(), password)
		if u.IsGuest() && u.ExternalUserState != galleon.ExternalStateAccepted {
			return "guest has not redeemed the invitation", true
		}
		return "no password set", true
	}
	if !CheckPassword(u.PasswordHash, password) {
		return "wrong password", true
	}
	if u.IsGuest() && u.ExternalUserState != galleon.ExternalStateAccepted {
		return "guest has not redeemed the invitation", false
	}
	if !u.AccountEnabled {
		return "disabled", false
	}
	return "", false
}

// userRealm is Entra's answer to GET /common/UserRealm/{username}, which
// MSAL requires before a password grant on an AAD authority.
type userRealm struct {
	Version           string `json:"ver"`
	AccountType       string `json:"account_type"`
	DomainName        string `json:"domain_name"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn"`
}

func (i *Issuer) serveUserRealm(w http.ResponseWriter, r *http.Request, username string) {
	t, err := i.defaultTenant(r.Context())
	if err != nil {
		i.writeOAuthError(w, r, errDirectoryUnavailable(), slog.Any("err", err))
		return
	}
	// Every account of the tenant is managed by this server; saying so
	// for any name tells nothing about which names exist.
	domain := t.Domain
	if _, d, ok := strings.Cut(username, "@"); ok && d != "" {
		domain = d
	}
	writeJSON(w, http.StatusOK, userRealm{
		Version:           "1.0",
		AccountType:       "Managed",
		DomainName:        domain,
		CloudInstanceName: strings.TrimPrefix(strings.TrimPrefix(i.PublicURL, "https://"), "http://"),
		CloudAudienceURN:  "urn:federation:galleon",
	})
}

func errInvalidCredentials() *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", 50126,
		"Error validating credentials due to invalid username or password."}
}

func errAccountDisabled() *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", 50057,
		"The user account is disabled."}
}
