package graph

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// An invitation link's token names the invitation and its current token
// id, and carries the expiry; an HMAC-SHA256 under the installation's
// invitation key signs all three:
//
//	base64url("1.{invitationId}.{tokenId}.{expiry unix seconds}") "." base64url(mac)
//
// The token is the only credential the redemption page takes. Single use
// and revocation are the store's: redemption needs the invitation pending
// and tokenId its current one (a resend replaces it).

// errTokenInvalid is a token this server did not sign, or that was changed.
var errTokenInvalid = errors.New("invitation token invalid")

// invitationToken is a token's content.
type invitationToken struct {
	InvitationID string
	TokenID      string
	Expires      time.Time
}

func tokenMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("galleon-invitation\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// signToken returns the link token for t.
func signToken(key []byte, t invitationToken) string {
	payload := "1." + t.InvitationID + "." + t.TokenID + "." + strconv.FormatInt(t.Expires.Unix(), 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(tokenMAC(key, payload))
}

// parseToken checks a token's signature and returns its content; the
// caller checks the expiry.
func parseToken(key []byte, tok string) (invitationToken, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return invitationToken{}, errTokenInvalid
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, tokenMAC(key, string(payload))) {
		return invitationToken{}, errTokenInvalid
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 4 || parts[0] != "1" || parts[1] == "" || parts[2] == "" {
		return invitationToken{}, errTokenInvalid
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return invitationToken{}, errTokenInvalid
	}
	return invitationToken{InvitationID: parts[1], TokenID: parts[2], Expires: time.Unix(exp, 0)}, nil
}
