package identity

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

// claims are what Entra mints in an access token, so that tools that do
// decode tokens keep working. Neither az nor the Azure SDKs look inside.
type claims struct {
	jwt.RegisteredClaims
	// Aud shadows RegisteredClaims.Audience, which jwt/v5 writes as an
	// array unless a package global says otherwise; Entra writes a string.
	Aud      audience `json:"aud"`
	TenantID string   `json:"tid"`
	ObjectID string   `json:"oid"`
	AppID    string   `json:"appid,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	IDType   string   `json:"idtyp"` // "app" or "user"
	UPN      string   `json:"upn,omitempty"`
	Name     string   `json:"name,omitempty"`
	UTI      string   `json:"uti"`
	Ver      string   `json:"ver"`
}

// GetAudience overrides RegisteredClaims' for jwt's validator.
func (c claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings(c.Aud), nil }

// audience is the aud claim: written as one string when it holds one, read
// in either form (RFC 7519 §4.1.3 allows both).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(data []byte) error {
	var cs jwt.ClaimStrings
	if err := cs.UnmarshalJSON(data); err != nil {
		return err
	}
	*a = audience(cs)
	return nil
}

// Values of the idtyp claim.
const (
	idTypeApp  = "app"
	idTypeUser = "user"
)

// authority is where a token was requested: it decides the iss and ver
// claims, as Entra's v2 endpoint and AD FS differ in both.
type authority struct {
	issuer  string
	version string
}

func (i *Issuer) adfsAuthority() authority {
	return authority{issuer: i.ADFSIssuer(), version: "1.0"}
}

func (i *Issuer) tenantAuthority(tenantID string) authority {
	return authority{issuer: i.TenantIssuer(tenantID), version: "2.0"}
}

// IssueToken mints an access token for p to call audience, as the
// /{tenant} authority would: issuer TenantIssuer(p.TenantID), ver 2.0.
// audience goes into aud verbatim; the caller has checked it.
func (i *Issuer) IssueToken(p galleon.Principal, audience string) (token string, expiresAt time.Time, err error) {
	return i.mint(p, audience, i.tenantAuthority(p.TenantID))
}

func (i *Issuer) mint(p galleon.Principal, aud string, a authority) (string, time.Time, error) {
	// Whole seconds, as JWT times are: exp-iat is then exactly the lifetime.
	now := i.now().Truncate(time.Second)
	exp := now.Add(i.lifetime())
	id := newTokenID()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer,
			Subject:   p.ObjectID,
			ExpiresAt: jwt.NewNumericDate(exp),
			// Entra back-dates nbf by five minutes so that a verifier whose
			// clock is behind accepts a fresh token.
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        id,
		},
		Aud:      audience{aud},
		TenantID: p.TenantID,
		ObjectID: p.ObjectID,
		UTI:      id,
		Ver:      a.version,
	}
	if p.Type == galleon.PrincipalServicePrincipal {
		c.IDType, c.AppID, c.AZP = idTypeApp, p.AppID, p.AppID
	} else {
		c.IDType, c.UPN, c.Name = idTypeUser, p.UserPrincipalName, p.DisplayName
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = KeyID(&i.Key.PublicKey)
	signed, err := tok.SignedString(i.Key)
	if err != nil {
		return "", time.Time{}, err
	}
	return signed, exp, nil
}

// newTokenID returns a unique token id shaped like Entra's uti.
func newTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
