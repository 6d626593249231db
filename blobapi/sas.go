package blobapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SAS URLs handed out by beginGetAccess point at Galleon itself. They
// follow the shape of an Azure service SAS for a blob, so clients that
// treat the URL as opaque (the Azure SDK, az, AzCopy) just work:
//
//	sv   signed version: which string-to-sign this is (sasVersion)
//	sr   signed resource: always "b", a blob
//	sp   signed permissions: "r", "w" or "rw"
//	se   signed expiry, RFC 3339 in UTC to the second
//	si   signed identifier (optional): for a disk, its access generation, which
//	     the data plane compares with the store's, so ending access revokes
//	     the SAS as changing a stored access policy does in Azure
//	sig  base64 HMAC-SHA256 of the string to sign, keyed by the installation secret
//
// The string to sign is sp, se, the resource path, sv and sr, one per
// line, in the order Azure's service SAS uses for the fields it shares,
// and si on a sixth line when the SAS has one, so changing any of them —
// or using the URL on another blob — breaks the signature.

// sasVersion is the sv Galleon signs with. It names the string-to-sign
// layout, not the x-ms-version the data plane speaks, so that one can
// move without invalidating outstanding SAS URLs.
const sasVersion = "2021-12-02"

// expiryLayout is how se is written: RFC 3339, UTC, whole seconds.
const expiryLayout = "2006-01-02T15:04:05Z"

// Permission is what a SAS allows; permissions combine with |.
type Permission uint8

const (
	PermissionRead Permission = 1 << iota
	PermissionWrite
)

// String is the sp value: "r", "w" or "rw" (Azure's order).
func (p Permission) String() string {
	var b strings.Builder
	if p&PermissionRead != 0 {
		b.WriteByte('r')
	}
	if p&PermissionWrite != 0 {
		b.WriteByte('w')
	}
	return b.String()
}

// parsePermission accepts exactly what String produces for a non-empty
// permission; Azure too refuses letters out of order.
func parsePermission(sp string) (Permission, bool) {
	switch sp {
	case "r":
		return PermissionRead, true
	case "w":
		return PermissionWrite, true
	case "rw":
		return PermissionRead | PermissionWrite, true
	}
	return 0, false
}

// SASError is a refused SAS, in Azure Storage's terms: Code is the
// x-ms-error-code, Message Azure's fixed text for it, and Detail the
// AuthenticationErrorDetail that says what exactly was wrong.
type SASError struct {
	Status  int
	Code    string
	Message string
	Detail  string
}

func (e *SASError) Error() string { return e.Code + ": " + e.Detail }

// StorageError is e as the data plane answers it.
func (e *SASError) StorageError() *StorageError {
	return &StorageError{Status: e.Status, Code: e.Code, Message: e.Message}
}

func errAuthentication(format string, args ...any) *SASError {
	return &SASError{
		Status:  http.StatusForbidden,
		Code:    "AuthenticationFailed",
		Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
		Detail:  fmt.Sprintf(format, args...),
	}
}

func errPermission(format string, args ...any) *SASError {
	return &SASError{
		Status:  http.StatusForbidden,
		Code:    "AuthorizationPermissionMismatch",
		Message: "This request is not authorized to perform this operation using this permission.",
		Detail:  fmt.Sprintf(format, args...),
	}
}

// errNoKey is a misconfiguration, not a bad request: Verify returns it as
// a plain error so that it is logged and answered as an internal error.
var errNoKey = errors.New("blobapi: the SAS signer has no key")

// Signer makes and checks SAS query parameters.
type Signer struct {
	// Key is the HMAC key, an installation secret shared by every node so
	// that any node can verify a URL another handed out.
	Key []byte
	// Now is the clock expiry is checked against; nil means time.Now.
	Now func() time.Time
}

func (s *Signer) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Sign returns the query parameters of a SAS granting perm on resource,
// the path of the blob URL (e.g. PathPrefix+id), until expiry (kept to the
// second). Signing without a key is a programming error and panics.
func (s *Signer) Sign(resource string, perm Permission, expiry time.Time) url.Values {
	return s.SignIdentifier(resource, perm, expiry, "")
}

// SignIdentifier is Sign with a signed identifier si (none when empty),
// which Verify vouches for but does not judge: whoever serves the blob
// compares it with what it expects.
func (s *Signer) SignIdentifier(resource string, perm Permission, expiry time.Time, si string) url.Values {
	if len(s.Key) == 0 {
		panic(errNoKey)
	}
	q := url.Values{
		"sv": {sasVersion},
		"sr": {"b"},
		"sp": {perm.String()},
		"se": {expiry.UTC().Format(expiryLayout)},
	}
	if si != "" {
		q.Set("si", si)
	}
	q.Set("sig", base64.StdEncoding.EncodeToString(s.mac(resource, q)))
	return q
}

// Verify checks that q is a SAS this installation signed for resource,
// unexpired and granting at least need. A refusal is a *SASError (403);
// any other error means the signer is misconfigured.
func (s *Signer) Verify(resource string, q url.Values, need Permission) error {
	if len(s.Key) == 0 {
		return errNoKey
	}
	for _, k := range []string{"sv", "sr", "sp", "se", "sig"} {
		switch len(q[k]) {
		case 0:
			return errAuthentication("%s is mandatory. Cannot be empty", k)
		case 1:
			if q.Get(k) == "" {
				return errAuthentication("%s is mandatory. Cannot be empty", k)
			}
		default:
			// One value is signed and another might be read elsewhere.
			return errAuthentication("%s is given %d times; it must be given once", k, len(q[k]))
		}
	}
	if len(q["si"]) > 1 {
		return errAuthentication("si is given %d times; it must be given at most once", len(q["si"]))
	}
	if sv := q.Get("sv"); sv != sasVersion {
		return errAuthentication("Signed version [%s] is not supported; Galleon signs with %s", sv, sasVersion)
	}
	if sr := q.Get("sr"); sr != "b" {
		return errAuthentication("Signed resource [%s] is not supported; Galleon signs blobs (sr=b)", sr)
	}
	granted, ok := parsePermission(q.Get("sp"))
	if !ok {
		return errAuthentication("Signed permissions [%s] are not valid; they must be r, w or rw", q.Get("sp"))
	}
	expiry, err := time.Parse(time.RFC3339, q.Get("se"))
	if err != nil {
		return errAuthentication("Signed expiry time [%s] is not an ISO 8601 time such as 2006-01-02T15:04:05Z", q.Get("se"))
	}
	// The signature is checked before expiry and permission so that those
	// are judged only on values this installation vouched for.
	sig, err := base64.StdEncoding.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, s.mac(resource, q)) {
		return errAuthentication("Signature did not match. String to sign used was %s", stringToSign(resource, q))
	}
	if now := s.now(); !expiry.After(now) {
		return errAuthentication("Signed expiry time [%s] has to be after current time [%s]",
			expiry.UTC().Format(http.TimeFormat), now.UTC().Format(http.TimeFormat))
	}
	if granted&need != need {
		return errPermission("the SAS grants %q; this request needs %q", granted, need)
	}
	return nil
}

// Authorize is Server.Authorize for SAS URLs signed for PathPrefix+id:
// reads need PermissionRead and writes PermissionWrite, so an upload SAS
// should grant both (the page blob client reads properties and page
// ranges while it uploads). Refusals come back as *StorageError.
func (s *Signer) Authorize(id string, q url.Values, write bool) error {
	need := PermissionRead
	if write {
		need = PermissionWrite
	}
	err := s.Verify(PathPrefix+id, q, need)
	if se, ok := err.(*SASError); ok {
		return se.StorageError()
	}
	return err
}

func (s *Signer) mac(resource string, q url.Values) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(stringToSign(resource, q)))
	return m.Sum(nil)
}

func stringToSign(resource string, q url.Values) string {
	fields := []string{q.Get("sp"), q.Get("se"), resource, q.Get("sv"), q.Get("sr")}
	if _, ok := q["si"]; ok {
		// Present but empty still adds the line: removing si, or adding
		// an empty one, changes what was signed.
		fields = append(fields, q.Get("si"))
	}
	return strings.Join(fields, "\n")
}
