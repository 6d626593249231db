package graph

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestInvitationToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	exp := time.Unix(1900000000, 0)
	want := invitationToken{InvitationID: "inv-1", TokenID: "tok-1", Expires: exp}
	tok := signToken(key, want)
	got, err := parseToken(key, tok)
	if err != nil || got.InvitationID != want.InvitationID || got.TokenID != want.TokenID || !got.Expires.Equal(exp) {
		t.Fatalf("parseToken(signToken()) = %+v, %v", got, err)
	}
	if strings.ContainsAny(tok, "+/=?&#") {
		t.Errorf("token %q is not URL-safe", tok)
	}

	payload, mac, _ := strings.Cut(tok, ".")
	forge := func(p string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(p)) + "." + mac
	}
	flip := []byte(tok)
	flip[len(flip)-3] ^= 1
	for name, bad := range map[string]string{
		"OtherKey":         signToken([]byte("another key, another installation"), want),
		"LongerExpiry":     forge("1.inv-1.tok-1.1999999999"),
		"OtherInvitation":  forge("1.inv-2.tok-1.1900000000"),
		"FlippedMAC":       string(flip),
		"NoMAC":            payload,
		"EmptyMAC":         payload + ".",
		"Empty":            "",
		"Garbage":          "not a token",
		"WrongVersion":     forgeSigned(key, "2.inv-1.tok-1.1900000000"),
		"MissingParts":     forgeSigned(key, "1.inv-1.1900000000"),
		"NonNumericExpiry": forgeSigned(key, "1.inv-1.tok-1.soon"),
		"TooLong":          tok + strings.Repeat("A", 600),
	} {
		if _, err := parseToken(key, bad); err != errTokenInvalid {
			t.Errorf("%s: parseToken = %v, want errTokenInvalid", name, err)
		}
	}
}

// forgeSigned signs an arbitrary payload with the real key: the parser
// must still refuse what the signer would never produce.
func forgeSigned(key []byte, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(tokenMAC(key, payload))
}
