package identity

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/galleon-project/galleon/internal/signinlimit"
)

// Failed sign-ins at the token endpoint are limited per account and per
// client address (signinlimit): a password grant counts against its user
// name and a client-credentials grant against its client id from that
// address, both against the connection's peer address. A client's count is
// per address because client ids are not secret and generated secrets
// cannot be guessed: counted per id alone, anyone could keep a service
// principal locked out from anywhere with one wrong secret per window. Only a credential that proves wrong
// counts: a right one, a disabled account, a request refused before the
// credential is checked or a directory failure does not.
//
// A refused attempt is answered as Entra answers a locked account,
// AADSTS50053 (invalid_grant for a user, invalid_client for a client, whose
// authentication failures are 401 here), with Retry-After. The error is
// final for both clients: az prints the description (and MSAL-Python keeps
// the answer for Retry-After seconds instead of asking again), and the Go
// SDK's AuthenticationFailedError shows the body; neither retries a 400 or
// 401. Even the right credential is refused until the wait is over, and
// is not checked: a guesser learns nothing from a refused attempt.
//
// The portal's sign-in is a password grant made in process with the
// browser's address, so it is counted here, once, like any other client.

// Prefixes keep user names and client ids apart in the limiter's accounts.
const (
	userAccount   = "user:"
	clientAccount = "client:"
)

func (i *Issuer) limits() *signinlimit.Limiter {
	if i.Limits != nil {
		return i.Limits
	}
	i.limitsOnce.Do(func() { i.defaultLimits = signinlimit.New(0) })
	return i.defaultLimits
}

// writeLockout answers an attempt the limits refused.
func (i *Issuer) writeLockout(w http.ResponseWriter, r *http.Request, ref *signinlimit.Refusal, client bool, attrs ...slog.Attr) {
	e := &oauthError{http.StatusBadRequest, "invalid_grant", 50053, fmt.Sprintf(
		"The account is locked, you've tried to sign in too many times with an incorrect user ID or password. Try again in %d seconds.", ref.Seconds())}
	if client {
		e.status, e.code, e.text = http.StatusUnauthorized, "invalid_client", fmt.Sprintf(
			"The application is locked: it has tried to sign in too many times with an incorrect client secret. Try again in %d seconds.", ref.Seconds())
	}
	if ref.Address {
		e.text = fmt.Sprintf("Sign-in was blocked because it came from an IP address with too many failed sign-ins. Try again in %d seconds.", ref.Seconds())
	}
	w.Header().Set("Retry-After", strconv.Itoa(ref.Seconds()))
	i.writeOAuthError(w, r, e, append(attrs, slog.String("address", signinlimit.PeerAddress(r.RemoteAddr)))...)
}
