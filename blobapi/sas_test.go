package blobapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

var (
	sasKey    = []byte("0123456789abcdef0123456789abcdef")
	sasNow    = time.Date(2026, time.March, 4, 12, 0, 0, 0, time.UTC)
	sasExpiry = sasNow.Add(time.Hour)
)

// MustSigner returns a signer with a fixed key whose clock reads *now.
func MustSigner(tb testing.TB, now *time.Time) *Signer {
	tb.Helper()
	return &Signer{Key: sasKey, Now: func() time.Time { return *now }}
}

// TestSigner_Sign pins the query parameters and the string to sign, with
// an HMAC computed here from the documented layout.
func TestSigner_Sign(t *testing.T) {
	now := sasNow
	s := MustSigner(t, &now)
	local := time.Date(2026, time.March, 4, 14, 0, 0, 999, time.FixedZone("CET", 3600))
	q := s.Sign("/blobs/disk1", PermissionRead|PermissionWrite, local)

	for k, want := range map[string]string{"sv": "2021-12-02", "sr": "b", "sp": "rw", "se": "2026-03-04T13:00:00Z"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	m := hmac.New(sha256.New, sasKey)
	m.Write([]byte("rw\n2026-03-04T13:00:00Z\n/blobs/disk1\n2021-12-02\nb"))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); q.Get("sig") != want {
		t.Errorf("sig = %q, want %q", q.Get("sig"), want)
	}
	if len(q) != 5 {
		t.Errorf("got parameters %v, want sv, sr, sp, se and sig only", q)
	}
}

func TestSigner_Verify(t *testing.T) {
	const disk = "/blobs/disk1"
	now := sasNow
	s := MustSigner(t, &now)
	signed := func(perm Permission) url.Values { return s.Sign(disk, perm, sasExpiry) }
	// with returns a signed query for perm with k set to v (or removed).
	with := func(perm Permission, k string, v ...string) url.Values {
		q := signed(perm)
		q[k] = v
		if len(v) == 0 {
			q.Del(k)
		}
		return q
	}
	const authFailed, permMismatch = "AuthenticationFailed", "AuthorizationPermissionMismatch"
	r, w, rw := PermissionRead, PermissionWrite, PermissionRead|PermissionWrite
	mismatch := func(sp, se string) string {
		return "Signature did not match. String to sign used was " + sp + "\n" + se + "\n/blobs/disk1\n2021-12-02\nb"
	}

	for _, tt := range []struct {
		name     string
		resource string
		q        url.Values
		need     Permission
		at       time.Time
		code     string // "" when the SAS is accepted
		detail   string
	}{
		{name: "OK/read", q: signed(r), need: r},
		{name: "OK/write", q: signed(w), need: w},
		{name: "OK/rw for read", q: signed(rw), need: r},
		{name: "OK/rw for write", q: signed(rw), need: w},
		{name: "OK/rw for both", q: signed(rw), need: rw},
		{name: "OK/a second before expiry", q: signed(r), need: r, at: sasExpiry.Add(-time.Second)},
		{name: "OK/extra parameters ignored", q: with(r, "comp", "pagelist"), need: r},

		{name: "ErrMissingVersion", q: with(r, "sv"), need: r, code: authFailed, detail: "sv is mandatory. Cannot be empty"},
		{name: "ErrMissingResource", q: with(r, "sr"), need: r, code: authFailed, detail: "sr is mandatory. Cannot be empty"},
		{name: "ErrMissingPermission", q: with(r, "sp"), need: r, code: authFailed, detail: "sp is mandatory. Cannot be empty"},
		{name: "ErrMissingExpiry", q: with(r, "se"), need: r, code: authFailed, detail: "se is mandatory. Cannot be empty"},
		{name: "ErrMissingSignature", q: with(r, "sig"), need: r, code: authFailed, detail: "sig is mandatory. Cannot be empty"},
		{name: "ErrEmptySignature", q: with(r, "sig", ""), need: r, code: authFailed, detail: "sig is mandatory. Cannot be empty"},
		{name: "ErrNoQuery", q: url.Values{}, need: r, code: authFailed, detail: "sv is mandatory. Cannot be empty"},
		{name: "ErrDuplicatePermission", q: with(r, "sp", "r", "rw"), need: w, code: authFailed, detail: "sp is given 2 times; it must be given once"},
		{name: "ErrUnknownVersion", q: with(r, "sv", "2015-04-05"), need: r, code: authFailed, detail: "Signed version [2015-04-05] is not supported; Galleon signs with 2021-12-02"},
		{name: "ErrContainerResource", q: with(r, "sr", "c"), need: r, code: authFailed, detail: "Signed resource [c] is not supported; Galleon signs blobs (sr=b)"},
		{name: "ErrPermissionLetters", q: with(r, "sp", "racwd"), need: r, code: authFailed, detail: "Signed permissions [racwd] are not valid; they must be r, w or rw"},
		{name: "ErrPermissionOrder", q: with(rw, "sp", "wr"), need: r, code: authFailed, detail: "Signed permissions [wr] are not valid; they must be r, w or rw"},
		{name: "ErrExpiryFormat", q: with(r, "se", "tomorrow"), need: r, code: authFailed, detail: "Signed expiry time [tomorrow] is not an ISO 8601 time such as 2006-01-02T15:04:05Z"},

		{name: "ErrTamperedPermission", q: with(r, "sp", "rw"), need: w, code: authFailed, detail: mismatch("rw", "2026-03-04T13:00:00Z")},
		{name: "ErrTamperedExpiry", q: with(r, "se", "2036-03-04T13:00:00Z"), need: r, code: authFailed, detail: mismatch("r", "2036-03-04T13:00:00Z")},
		{name: "ErrTamperedExpiryOfExpiredSAS", q: with(r, "se", "2036-03-04T13:00:00Z"), need: r, at: sasExpiry.Add(time.Minute), code: authFailed, detail: mismatch("r", "2036-03-04T13:00:00Z")},
		{name: "ErrTamperedSignature", q: with(r, "sig", base64.StdEncoding.EncodeToString(make([]byte, 32))), need: r, code: authFailed, detail: mismatch("r", "2026-03-04T13:00:00Z")},
		{name: "ErrSignatureNotBase64", q: with(r, "sig", "not base64!"), need: r, code: authFailed, detail: mismatch("r", "2026-03-04T13:00:00Z")},
		{name: "ErrOtherKey", q: (&Signer{Key: []byte("another installation")}).Sign(disk, r, sasExpiry), need: r, code: authFailed, detail: mismatch("r", "2026-03-04T13:00:00Z")},
		{name: "ErrOtherDisk", resource: "/blobs/disk2", q: signed(rw), need: r, code: authFailed,
			detail: "Signature did not match. String to sign used was rw\n2026-03-04T13:00:00Z\n/blobs/disk2\n2021-12-02\nb"},

		{name: "ErrExpired", q: signed(r), need: r, at: sasExpiry.Add(time.Minute), code: authFailed,
			detail: "Signed expiry time [Wed, 04 Mar 2026 13:00:00 GMT] has to be after current time [Wed, 04 Mar 2026 13:01:00 GMT]"},
		{name: "ErrExpiredAtExpiry", q: signed(r), need: r, at: sasExpiry, code: authFailed,
			detail: "Signed expiry time [Wed, 04 Mar 2026 13:00:00 GMT] has to be after current time [Wed, 04 Mar 2026 13:00:00 GMT]"},

		{name: "ErrReadSASWrites", q: signed(r), need: w, code: permMismatch, detail: `the SAS grants "r"; this request needs "w"`},
		{name: "ErrWriteSASReads", q: signed(w), need: r, code: permMismatch, detail: `the SAS grants "w"; this request needs "r"`},
		{name: "ErrReadSASNeedsBoth", q: signed(r), need: rw, code: permMismatch, detail: `the SAS grants "r"; this request needs "rw"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now = sasNow
			if !tt.at.IsZero() {
				now = tt.at
			}
			resource := disk
			if tt.resource != "" {
				resource = tt.resource
			}
			err := s.Verify(resource, tt.q, tt.need)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("got %v, want the SAS accepted", err)
				}
				return
			}
			var se *SASError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SASError", err)
			}
			if se.Status != http.StatusForbidden || se.Code != tt.code || se.Detail != tt.detail {
				t.Errorf("got %d %s %q\nwant 403 %s %q", se.Status, se.Code, se.Detail, tt.code, tt.detail)
			}
		})
	}
}

func TestSASError_Messages(t *testing.T) {
	for _, tt := range []struct {
		err  *SASError
		want string
	}{
		{errAuthentication("x"), "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."},
		{errPermission("x"), "This request is not authorized to perform this operation using this permission."},
	} {
		if tt.err.Message != tt.want {
			t.Errorf("%s: message %q, want %q", tt.err.Code, tt.err.Message, tt.want)
		}
		if se := tt.err.StorageError(); se.Status != 403 || se.Code != tt.err.Code || se.Message != tt.want {
			t.Errorf("StorageError() = %+v", se)
		}
	}
}

// A signer without a key fails closed: Verify refuses with an error that
// is not a SAS refusal (the data plane answers 500 and logs it), and Sign
// panics rather than hand out forgeable URLs.
func TestSigner_NoKey(t *testing.T) {
	s := &Signer{}
	// What an attacker would send: a SAS signed with the empty key.
	err := s.Verify("/blobs/disk1", signWithKey(nil, "/blobs/disk1"), PermissionRead)
	var se *SASError
	if err == nil || errors.As(err, &se) {
		t.Errorf("Verify: got %v, want a plain error", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Sign did not panic")
		}
	}()
	s.Sign("/blobs/disk1", PermissionRead, sasExpiry)
}

// signWithKey signs a read SAS for resource with any key, even an empty
// one, which Sign refuses to do.
func signWithKey(key []byte, resource string) url.Values {
	q := url.Values{"sv": {sasVersion}, "sr": {"b"}, "sp": {"r"}, "se": {sasExpiry.Format(expiryLayout)}}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign(resource, q)))
	q.Set("sig", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return q
}

// TestSigner_Authorize: the adapter to Server.Authorize signs paths under
// PathPrefix and answers refusals as *StorageError, which the data plane
// writes out as is.
func TestSigner_Authorize(t *testing.T) {
	now := sasNow
	s := MustSigner(t, &now)
	upload := s.Sign(PathPrefix+"disk1", PermissionRead|PermissionWrite, sasExpiry)
	read := s.Sign(PathPrefix+"disk1", PermissionRead, sasExpiry)
	for _, tt := range []struct {
		name  string
		id    string
		q     url.Values
		write bool
		code  string
	}{
		{"OK/upload writes", "disk1", upload, true, ""},
		{"OK/upload reads page ranges", "disk1", upload, false, ""},
		{"OK/read", "disk1", read, false, ""},
		{"ErrReadSASWrites", "disk1", read, true, "AuthorizationPermissionMismatch"},
		{"ErrOtherDisk", "disk2", upload, true, "AuthenticationFailed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Authorize(tt.id, tt.q, tt.write)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			se, ok := err.(*StorageError)
			if !ok || se.Status != http.StatusForbidden || se.Code != tt.code {
				t.Errorf("got %#v, want a 403 *StorageError %s", err, tt.code)
			}
		})
	}
	if err := (&Signer{}).Authorize("disk1", upload, false); err == nil {
		t.Error("a signer without a key authorized a request")
	} else if _, ok := err.(*StorageError); ok {
		t.Errorf("a missing key came back as %v, want an internal error", err)
	}
}

// TestSigner_Identifier: si is under the signature: changing, removing,
// adding or repeating it breaks the SAS; Verify leaves judging its value
// to the data plane.
func TestSigner_Identifier(t *testing.T) {
	now := sasNow
	s := MustSigner(t, &now)
	const disk = PathPrefix + "r/disk-1"
	signed := s.SignIdentifier(disk, PermissionRead, sasExpiry, "4")
	if err := s.Verify(disk, signed, PermissionRead); err != nil || signed.Get("si") != "4" {
		t.Fatalf("a SAS with si: %v (si %q)", err, signed.Get("si"))
	}
	plain := s.Sign(disk, PermissionRead, sasExpiry)
	for _, tt := range []struct {
		name   string
		mutate func(q url.Values)
		from   url.Values
	}{
		{"Changed", func(q url.Values) { q.Set("si", "5") }, signed},
		{"Removed", func(q url.Values) { q.Del("si") }, signed},
		{"Emptied", func(q url.Values) { q.Set("si", "") }, signed},
		{"Added", func(q url.Values) { q.Set("si", "4") }, plain},
		{"Repeated", func(q url.Values) { q.Add("si", "4") }, signed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range tt.from {
				q[k] = append([]string(nil), v...)
			}
			tt.mutate(q)
			var se *SASError
			if err := s.Verify(disk, q, PermissionRead); !errors.As(err, &se) || se.Code != "AuthenticationFailed" {
				t.Fatalf("Verify = %v, want AuthenticationFailed", err)
			}
		})
	}
}
