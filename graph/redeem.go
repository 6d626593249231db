package graph

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/galleon-project/galleon"
)

// The redemption page. GET shows who invited the guest to what and a form
// to choose a password; POST (the form) redeems. The token in the link is
// the only credential and travels in the form's hidden field, never in a
// cookie, so another site cannot post on the guest's behalf without
// already holding the link: there is no ambient authority to forge.
// Answers are never cached, never framed, and send no Referer (the URL
// holds the token).

var redeemPage = template.Must(template.New("redeem").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Galleon</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=password]{width:100%;padding:.4rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#a4262c;font-weight:600}.muted{color:#605e5c}</style>
</head><body>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Form}}
<p><strong>{{.InviterName}}</strong> invited <strong>{{.Email}}</strong> to {{.What}}.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<label for="password">Choose a password (at least {{.MinLength}} characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="{{.MinLength}}">
<label for="confirm">Type it again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="{{.MinLength}}">
<button type="submit">Accept the invitation</button>
</form>
<p class="muted">The link works once, until {{.Expires}}.</p>
{{end}}
{{if .SignInAs}}<p>Sign in as <strong>{{.SignInAs}}</strong> with the password you chose.</p>{{end}}
{{if .Continue}}<p><a href="{{.Continue}}">Continue</a></p>{{end}}
</body></html>
`))

type redeemView struct {
	Title, Text, Error string
	Form               bool
	InviterName, Email string
	What, Action       string
	Token, Expires     string
	MinLength          int
	SignInAs, Continue string
}

func (s *Server) renderRedeem(w http.ResponseWriter, status int, v redeemView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = redeemPage.Execute(w, v)
}

// maxRedeemForm bounds the form body.
const maxRedeemForm = 16 << 10

// checkLink returns the pending invitation a link token names, or the
// page to show instead: 400 for a token this server did not sign, 410 for
// one that can no longer redeem.
func (s *Server) checkLink(ctx context.Context, raw string) (*galleon.Invitation, int, redeemView) {
	tok, err := parseToken(s.InvitationKey, raw)
	if err != nil {
		return nil, http.StatusBadRequest, redeemView{Title: "This invitation link is not valid",
			Text: "The link is incomplete or was changed. Open the link exactly as it is in the invitation e-mail, or ask for a new invitation."}
	}
	gone := func(text string) (*galleon.Invitation, int, redeemView) {
		return nil, http.StatusGone, redeemView{Title: "This invitation can no longer be used", Text: text}
	}
	if !s.now().Before(tok.Expires) {
		return gone("The invitation expired on " + tok.Expires.UTC().Format("Mon, 2 Jan 2006 15:04 MST") + ". Ask the person who invited you to send it again.")
	}
	inv, err := s.Store.GetInvitation(ctx, tok.InvitationID)
	switch {
	case galleon.ErrorCode(err) == galleon.CodeResourceNotFound:
		return gone("The invitation no longer exists.")
	case err != nil:
		s.logger().LogAttrs(ctx, slog.LevelError, "reading an invitation", slog.Any("err", err))
		return nil, http.StatusInternalServerError, redeemView{Title: "Something went wrong", Text: "Try again in a moment."}
	case inv.Status == galleon.InvitationAccepted:
		return gone("The invitation has been accepted already. Sign in with the password chosen then.")
	case inv.Status == galleon.InvitationRevoked:
		return gone("The invitation has been revoked.")
	case inv.TokenID != tok.TokenID:
		return gone("A newer invitation replaced this one: use the link in the latest e-mail.")
	}
	return inv, http.StatusOK, redeemView{}
}

func (s *Server) formView(inv *galleon.Invitation, token string) redeemView {
	what := "the Galleon directory"
	if inv.ResourceID != "" {
		what = resourceName(inv.ResourceID)
	}
	return redeemView{Title: "Accept your invitation", Form: true, InviterName: inv.InviterName, Email: inv.Email, What: what,
		Action: RedeemPath, Token: token, MinLength: minPasswordLength,
		Expires: inv.TokenExpiresAt.UTC().Format("Mon, 2 Jan 2006 15:04 MST")}
}

func (s *Server) serveRedeem(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		token := r.URL.Query().Get("token")
		inv, status, view := s.checkLink(ctx, token)
		if inv == nil {
			s.renderRedeem(w, status, view)
			return
		}
		s.renderRedeem(w, http.StatusOK, s.formView(inv, token))
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxRedeemForm)
		if err := r.ParseForm(); err != nil {
			s.renderRedeem(w, http.StatusBadRequest, redeemView{Title: "The form could not be read", Text: "Go back and try again."})
			return
		}
		token := r.PostForm.Get("token")
		inv, status, view := s.checkLink(ctx, token)
		if inv == nil {
			s.renderRedeem(w, status, view)
			return
		}
		password := r.PostForm.Get("password")
		formErr := ""
		switch {
		case password != r.PostForm.Get("confirm"):
			formErr = "The two passwords differ."
		case checkPassword(password) != nil:
			formErr = "Choose a password of at least 8 characters (and at most 256 bytes)."
		}
		if formErr != "" {
			v := s.formView(inv, token)
			v.Error = formErr
			s.renderRedeem(w, http.StatusBadRequest, v)
			return
		}
		hash, err := s.HashPassword(password)
		if err != nil {
			s.renderRedeem(w, http.StatusInternalServerError, redeemView{Title: "Something went wrong", Text: "Try again in a moment."})
			return
		}
		tok, _ := parseToken(s.InvitationKey, token)
		inv, err = s.Store.RedeemInvitation(ctx, inv.ID, tok.TokenID, hash, s.now())
		var de *galleon.Error
		switch {
		case errors.As(err, &de) && de.Code == galleon.CodeInvitationGone:
			s.renderRedeem(w, http.StatusGone, redeemView{Title: "This invitation can no longer be used", Text: de.Message})
			return
		case err != nil:
			s.logger().LogAttrs(ctx, slog.LevelError, "redeeming an invitation", slog.Any("err", err))
			s.renderRedeem(w, http.StatusInternalServerError, redeemView{Title: "Something went wrong", Text: "Try again in a moment."})
			return
		}
		s.logger().LogAttrs(ctx, slog.LevelInfo, "invitation redeemed", slog.String("invitation", inv.ID), slog.String("guest", inv.UserID))
		s.renderRedeem(w, http.StatusOK, redeemView{Title: "Your account is ready",
			Text: "You accepted the invitation from " + inv.InviterName + ".", SignInAs: inv.Email, Continue: inv.RedirectURL})
	default:
		w.Header().Set("Allow", "GET, POST")
		s.renderRedeem(w, http.StatusMethodNotAllowed, redeemView{Title: "Method not allowed"})
	}
}
