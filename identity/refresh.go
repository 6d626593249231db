package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

// A user's sign-in answers, besides the access token, what public clients
// keep an account with (MSAL-Python in az needs them to know a user is
// logged in, and to get tokens for a second resource such as Graph):
//
//   - id_token: an OpenID Connect ID token for the client (aud = client_id),
//     from the authority's issuer, naming the user (sub = oid, upn,
//     preferred_username, tid);
//   - client_info, when the client asks client_info=1: {"uid","utid"};
//   - refresh_token: a JWT signed with the token key for the refresh
//     audience, naming the user, the client and a fingerprint of the
//     user's password hash, valid refreshLifetime. Redeeming one checks the
//     user again (exists, enabled, guest accepted, password unchanged) and
//     rotates it.

// refreshAudience is the aud of refresh tokens: no resource accepts it.
const refreshAudience = "urn:galleon:refresh-token"

// refreshLifetime is how long a refresh token is good for.
const refreshLifetime = 14 * 24 * time.Hour

type idTokenClaims struct {
	jwt.RegisteredClaims
	Aud               string `json:"aud"`
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	UPN               string `json:"upn,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Ver               string `json:"ver"`
}

type refreshClaims struct {
	jwt.RegisteredClaims
	Aud      audience `json:"aud"`
	TenantID string   `json:"tid"`
	UPN      string   `json:"upn"`
	ClientID string   `json:"azp"`
	Password string   `json:"pwf"` // fingerprint of the password hash when issued
	Issuer   string   `json:"authority"`
}

func (c refreshClaims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings(c.Aud), nil }

// passwordFingerprint changes when the user's password does.
func passwordFingerprint(hash string) string {
	sum := sha256.Sum256([]byte("galleon-refresh\x00" + hash))
	return hex.EncodeToString(sum[:8])
}

func (i *Issuer) sign(c jwt.Claims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = KeyID(&i.Key.PublicKey)
	return tok.SignedString(i.Key)
}

// userResponse is the token response of a user's sign-in.
type userResponse struct {
	tokenResponse
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// respondUser answers a password or refresh grant for u.
func (i *Issuer) respondUser(w http.ResponseWriter, r *http.Request, u *galleon.DirectoryUser, clientID, resource string, req tokenRequest) {
	token, _, err := i.mint(u.Principal, resource, req.auth)
	var idToken, refresh string
	now := i.now().Truncate(time.Second)
	if err == nil && clientID != "" {
		idToken, err = i.sign(idTokenClaims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: req.auth.issuer, Subject: u.ObjectID, IssuedAt: jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(i.lifetime()))},
			Aud: clientID, TenantID: u.TenantID, ObjectID: u.ObjectID, UPN: u.UserPrincipalName,
			PreferredUsername: u.UserPrincipalName, Name: u.DisplayName, Ver: req.auth.version,
		})
	}
	if err == nil && clientID != "" {
		refresh, err = i.sign(refreshClaims{
			RegisteredClaims: jwt.RegisteredClaims{Subject: u.ObjectID, IssuedAt: jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(refreshLifetime)), ID: newTokenID()},
			Aud: audience{refreshAudience}, TenantID: u.TenantID, UPN: u.UserPrincipalName, ClientID: clientID,
			Password: passwordFingerprint(u.PasswordHash), Issuer: req.auth.issuer,
		})
	}
	if err != nil {
		i.writeOAuthError(w, r, &oauthError{http.StatusInternalServerError, "server_error", 0, "The token could not be signed."}, slog.Any("err", err))
		return
	}
	expiresIn := max(int(i.lifetime().Seconds())-1, 0)
	resp := userResponse{
		tokenResponse: tokenResponse{TokenType: "Bearer", AccessToken: token, ExpiresIn: expiresIn, ExtExpiresIn: expiresIn},
		IDToken:       idToken, RefreshToken: refresh,
	}
	if req.form.Get("client_info") == "1" {
		ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
		resp.ClientInfo = base64.RawURLEncoding.EncodeToString(ci)
	}
	i.logger().LogAttrs(r.Context(), slog.LevelDebug, "user token issued",
		slog.String("oid", u.ObjectID), slog.String("aud", resource), slog.String("grant", req.form.Get("grant_type")))
	writeJSON(w, http.StatusOK, resp)
}

var errRefreshInvalid = errors.New("refresh token invalid")

// refreshGrant trades a refresh token for tokens for a resource.
func (i *Issuer) refreshGrant(w http.ResponseWriter, r *http.Request, req tokenRequest) {
	raw := req.form.Get("refresh_token")
	if raw == "" {
		i.writeOAuthError(w, r, errMissingParameter("refresh_token"))
		return
	}
	resource, oerr := requestedResource(req.form, req.resourceParam)
	if oerr != nil {
		i.writeOAuthError(w, r, oerr)
		return
	}
	var c refreshClaims
	_, err := jwt.ParseWithClaims(raw, &c, i.verificationKey,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(i.now),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(refreshAudience),
	)
	if err == nil && (c.Issuer != req.auth.issuer || c.ClientID != req.form.Get("client_id") || c.Subject == "") {
		err = errRefreshInvalid
	}
	if err != nil {
		i.writeOAuthError(w, r, errBadRefreshToken(), slog.String("cause", err.Error()))
		return
	}
	u, err := i.Directory.UserForSignIn(r.Context(), c.UPN)
	switch {
	case galleon.ErrorCode(err) == galleon.CodeResourceNotFound, err == nil && u.ObjectID != c.Subject:
		i.writeOAuthError(w, r, errBadRefreshToken(), slog.String("oid", c.Subject), slog.String("reason", "user gone"))
		return
	case err != nil:
		i.writeOAuthError(w, r, errDirectoryUnavailable(), slog.Any("err", err))
		return
	}
	switch {
	case !u.AccountEnabled:
		i.writeOAuthError(w, r, errAccountDisabled(), slog.String("oid", u.ObjectID))
		return
	case u.IsGuest() && u.ExternalUserState != galleon.ExternalStateAccepted,
		passwordFingerprint(u.PasswordHash) != c.Password:
		i.writeOAuthError(w, r, errBadRefreshToken(), slog.String("oid", u.ObjectID), slog.String("reason", "password changed"))
		return
	}
	if !i.acceptsAudience(resource) {
		i.writeOAuthError(w, r, errUnknownResource(resource, i.Audiences))
		return
	}
	i.respondUser(w, r, u, c.ClientID, resource, req)
}

func errBadRefreshToken() *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", 50173,
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password, or the refresh token is not valid."}
}

// hasOpenIDScope reports whether a request asks for OpenID Connect.
func hasOpenIDScope(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if strings.EqualFold(s, "openid") {
			return true
		}
	}
	return false
}
