package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/galleon-project/galleon"
)

// VerifyToken checks a bearer token — RS256 only, signed by the key its kid
// names, within its lifetime (with a minute of clock skew), from one of
// this server's two issuers for the directory's tenant, for one of
// Audiences — and returns the principal it names. A service that takes
// tokens for its own audience only verifies with Verifier instead.
//
// A refused token is an *galleon.Error with Code CodeAuthenticationFailed
// and a message in ARM's words; any other error means the directory could
// not be read.
//
// Tokens that passed are remembered until they expire: clients send the
// same token for an hour, and an RSA verification is the largest single
// cost of a read.
func (i *Issuer) VerifyToken(raw string) (galleon.Principal, error) {
	p, _, err := i.verifyCached(raw)
	return p, err
}

// Verifier returns a VerifyToken that accepts only tokens issued for one
// of audiences (a subset of Audiences, compared with trailing slashes
// normalised): ARM takes ARM's and Graph takes Graph's, so a token
// obtained for one service is refused by the other.
func (i *Issuer) Verifier(audiences ...string) func(raw string) (galleon.Principal, error) {
	return func(raw string) (galleon.Principal, error) {
		p, aud, err := i.verifyCached(raw)
		if err != nil {
			return p, err
		}
		if !audienceIn(aud, audiences) {
			return galleon.Principal{}, i.refuse(nil, "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.",
				aud, strings.Join(audiences, "','"))
		}
		return p, nil
	}
}

func (i *Issuer) verifyCached(raw string) (galleon.Principal, string, error) {
	now := i.now()
	if v, ok := i.verified.get(raw, now); ok {
		return v.principal, v.audience, nil
	}
	v, err := i.verifyToken(raw, now)
	if err != nil {
		return galleon.Principal{}, "", err
	}
	i.verified.put(raw, v)
	return v.principal, v.audience, nil
}

// armTime is how ARM writes times in token errors: 11/26/2026 9:00:00 PM.
const armTime = "1/2/2006 3:04:05 PM"

func (i *Issuer) verifyToken(raw string, now time.Time) (verifiedToken, error) {
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, i.verificationKey,
		// Pinning the algorithm refuses "none" and the HS256-with-the-
		// public-key confusion before any key is looked at.
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return verifiedToken{}, i.refuse(err, "The token is expired. The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			c.ExpiresAt.UTC().Format(armTime), now.UTC().Format(armTime))
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return verifiedToken{}, i.refuse(err, "The token is not valid yet. The access token validity UTC time is later than current UTC time '%s'.",
			now.UTC().Format(armTime))
	default:
		return verifiedToken{}, i.refuse(err, "The access token is invalid.")
	}

	// Only this server's key signed the token, so a foreign iss or tid means
	// the installation moved (a new --public-url, or a database bootstrapped
	// again under the same data folder). Say so, rather than "invalid".
	t, err := i.defaultTenant(context.Background())
	if err != nil {
		return verifiedToken{}, fmt.Errorf("verifying a token: reading the tenant: %w", err)
	}
	if c.TenantID != t.ID {
		// A further tenant's principal (tenants.go).
		other, err := i.otherTenant(context.Background(), c.TenantID)
		if err != nil {
			return verifiedToken{}, fmt.Errorf("verifying a token: reading the tenant: %w", err)
		}
		if other != nil && other.ID == c.TenantID {
			t = other
		}
	}
	issuers := []string{i.ADFSIssuer(), i.TenantIssuer(t.ID)}
	if c.TenantID != t.ID || (c.Issuer != issuers[0] && c.Issuer != issuers[1]) {
		return verifiedToken{}, i.refuse(nil, "The access token is from the wrong issuer '%s'. It must match the tenant '%s' of this server, issuer '%s' or '%s'. Please use the authority (URL) '%s' or '%s' to get the token.",
			c.Issuer, t.ID, issuers[0], issuers[1], i.ADFSIssuer(), i.PublicURL+"/"+t.ID)
	}
	if len(c.Aud) != 1 || !i.acceptsAudience(c.Aud[0]) {
		return verifiedToken{}, i.refuse(nil, "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.",
			strings.Join(c.Aud, ","), strings.Join(i.Audiences, "','"))
	}
	p := galleon.Principal{ObjectID: c.ObjectID, TenantID: c.TenantID}
	switch c.IDType {
	case idTypeApp:
		p.Type, p.AppID = galleon.PrincipalServicePrincipal, c.AppID
	case idTypeUser:
		p.Type, p.UserPrincipalName, p.DisplayName = galleon.PrincipalUser, c.UPN, c.Name
	}
	if p.ObjectID == "" || c.Subject != p.ObjectID || p.Type == "" || p.Type == galleon.PrincipalServicePrincipal && p.AppID == "" {
		return verifiedToken{}, i.refuse(nil, "The access token is invalid.")
	}
	return verifiedToken{principal: p, audience: c.Aud[0], expires: c.ExpiresAt.Time}, nil
}

// verificationKey is the jwt.Keyfunc: the key the token's kid names. There
// is one key today; a rotation would publish and look up several.
func (i *Issuer) verificationKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" || kid != KeyID(&i.Key.PublicKey) {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return &i.Key.PublicKey, nil
}

// refuse logs why a token was refused (clients only see ARM's message) and
// returns the InvalidAuthenticationToken error.
func (i *Issuer) refuse(cause error, format string, args ...any) error {
	e := galleon.Errorf(galleon.CodeAuthenticationFailed, format, args...)
	attrs := []slog.Attr{slog.String("message", e.Message)}
	if cause != nil {
		attrs = append(attrs, slog.String("cause", cause.Error()))
	}
	i.logger().LogAttrs(context.Background(), slog.LevelDebug, "access token refused", attrs...)
	return e
}
