package identity

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// Directory is what the issuer needs to know about principals; the
// metadata store satisfies it.
type Directory interface {
	DefaultTenant(ctx context.Context) (*galleon.Tenant, error)
	ServicePrincipalByAppID(ctx context.Context, appID string) (*galleon.Principal, []galleon.ClientSecret, error)
}

// Issuer issues and verifies access tokens and serves the identity
// endpoints. Fields are assigned by cmd/galleon.
type Issuer struct {
	Key *rsa.PrivateKey
	// PublicURL is the origin clients reach, e.g. https://127.0.0.1:8443;
	// issuers and discovery URLs are built from it, because MSAL checks that
	// the issuer's host equals the authority's.
	PublicURL string
	// Audiences are the resources tokens may be issued for, compared with
	// trailing slashes normalised.
	Audiences     []string
	Directory     Directory
	TokenLifetime time.Duration
	Now           func() time.Time
	Logger        *slog.Logger

	verified verifiedCache
}

const (
	defaultLifetime = time.Hour
	// clockSkew is how far exp and nbf may be off between issuer and
	// verifier clocks (several nodes may verify one token).
	clockSkew = time.Minute
)

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Issuer) lifetime() time.Duration {
	if i.TokenLifetime > 0 {
		return i.TokenLifetime
	}
	return defaultLifetime
}

func (i *Issuer) logger() *slog.Logger {
	if i.Logger != nil {
		return i.Logger
	}
	return slog.Default()
}

// ADFSIssuer is the issuer of tokens requested through the /adfs authority.
func (i *Issuer) ADFSIssuer() string { return i.PublicURL + "/adfs" }

// TenantIssuer is the issuer of tokens requested through /{tenant}.
func (i *Issuer) TenantIssuer(tenantID string) string { return i.PublicURL + "/" + tenantID + "/v2.0" }

// claims are what Entra mints for an application, so tools that decode
// tokens keep working.
type claims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	AppID    string `json:"appid,omitempty"`
	AZP      string `json:"azp,omitempty"`
	IDType   string `json:"idtyp"`
	UPN      string `json:"upn,omitempty"`
	Name     string `json:"name,omitempty"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
}

// IssueToken mints an access token for p and audience; issuer is
// ADFSIssuer() or TenantIssuer(tid), whichever authority was asked.
func (i *Issuer) IssueToken(p galleon.Principal, audience, issuer string) (string, time.Time, error) {
	now := i.now().Truncate(time.Second)
	exp := now.Add(i.lifetime())
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.ObjectID,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		TenantID: p.TenantID,
		ObjectID: p.ObjectID,
		UTI:      uuid.NewString(),
		Ver:      "2.0",
	}
	if p.Type == galleon.PrincipalServicePrincipal {
		c.IDType, c.AppID, c.AZP = "app", p.AppID, p.AppID
	} else {
		c.IDType, c.UPN, c.Name = "user", p.UserPrincipalName, p.DisplayName
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = KeyID(&i.Key.PublicKey)
	signed, err := tok.SignedString(i.Key)
	return signed, exp, err
}

// VerifyToken checks a bearer token's signature, algorithm, key id,
// lifetime, issuer and audience, and returns the principal it names.
// Tokens that passed are remembered until they expire, because clients
// send the same token for an hour and an RSA verification is the largest
// single cost of a read.
func (i *Issuer) VerifyToken(raw string) (galleon.Principal, error) {
	if p, ok := i.verified.get(raw, i.now()); ok {
		return p, nil
	}
	p, exp, err := i.verifyToken(raw)
	if err != nil {
		return galleon.Principal{}, err
	}
	i.verified.put(raw, p, exp)
	return p, nil
}

func (i *Issuer) verifyToken(raw string) (galleon.Principal, time.Time, error) {
	var c claims
	kid := KeyID(&i.Key.PublicKey)
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if k, _ := t.Header["kid"].(string); k != kid {
			return nil, errors.New("unknown key id")
		}
		return &i.Key.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(i.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return galleon.Principal{}, time.Time{}, invalidToken("The token is expired.")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return galleon.Principal{}, time.Time{}, invalidToken("The token is not valid yet.")
	case err != nil:
		return galleon.Principal{}, time.Time{}, invalidToken("The access token is invalid.")
	}
	if c.Issuer != i.ADFSIssuer() && (c.TenantID == "" || c.Issuer != i.TenantIssuer(c.TenantID)) {
		return galleon.Principal{}, time.Time{}, invalidToken("The access token is from the wrong issuer '" + c.Issuer + "'. It must match the issuer of this server.")
	}
	if len(c.Audience) != 1 || !i.acceptsAudience(c.Audience[0]) {
		return galleon.Principal{}, time.Time{}, invalidToken("The access token has been obtained for wrong audience or resource '" +
			strings.Join(c.Audience, ",") + "'. It should exactly match with one of the allowed audiences '" + strings.Join(i.Audiences, "','") + "'.")
	}
	if c.ObjectID == "" || c.TenantID == "" {
		return galleon.Principal{}, time.Time{}, invalidToken("The access token is invalid.")
	}
	p := galleon.Principal{ObjectID: c.ObjectID, TenantID: c.TenantID}
	if c.IDType == "app" {
		p.Type, p.AppID = galleon.PrincipalServicePrincipal, c.AppID
	} else {
		p.Type, p.UserPrincipalName, p.DisplayName = galleon.PrincipalUser, c.UPN, c.Name
	}
	return p, c.ExpiresAt.Time, nil
}

func (i *Issuer) acceptsAudience(aud string) bool {
	for _, a := range i.Audiences {
		if strings.TrimRight(a, "/") == strings.TrimRight(aud, "/") {
			return true
		}
	}
	return false
}

// audienceFor returns the configured audience matching a requested
// resource, or false.
func (i *Issuer) audienceFor(resource string) bool {
	return resource != "" && i.acceptsAudience(resource)
}

func invalidToken(msg string) error {
	return &galleon.Error{Code: galleon.CodeAuthenticationFailed, Message: msg}
}
