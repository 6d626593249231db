package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/galleon-project/galleon"
)

// RedeemPath is the page an invitation's link opens.
const RedeemPath = "/invitations/redeem"

func (s *Server) invitationLifetime() time.Duration {
	if s.InvitationLifetime > 0 {
		return s.InvitationLifetime
	}
	return galleon.DefaultInvitationLifetime
}

// redeemURL is the link of inv's current token.
func (s *Server) redeemURL(inv *galleon.Invitation) string {
	tok := signToken(s.InvitationKey, invitationToken{InvitationID: inv.ID, TokenID: inv.TokenID, Expires: inv.TokenExpiresAt})
	return s.PublicURL + RedeemPath + "?token=" + url.QueryEscape(tok)
}

// invitationBody is Graph's invitation, with Galleon's extension
// galleonResourceId: the resource (a gallery) the guest is invited to,
// which the e-mail names.
type invitationBody struct {
	InvitedUserEmailAddress string `json:"invitedUserEmailAddress"`
	InvitedUserDisplayName  string `json:"invitedUserDisplayName"`
	InviteRedirectURL       string `json:"inviteRedirectUrl"`
	SendInvitationMessage   bool   `json:"sendInvitationMessage"`
	InvitedUserMessageInfo  struct {
		CustomizedMessageBody string `json:"customizedMessageBody"`
	} `json:"invitedUserMessageInfo"`
	GalleonResourceID string `json:"galleonResourceId"`
}

func (s *Server) invitationJSON(inv *galleon.Invitation, guest *galleon.DirectoryUser, withLink bool, messageStatus string) map[string]any {
	status := inv.Status
	m := map[string]any{
		"@odata.context":          s.PublicURL + "/v1.0/$metadata#invitations/$entity",
		"id":                      inv.ID,
		"invitedUserEmailAddress": inv.Email,
		"invitedUserType":         "Guest",
		"inviteRedirectUrl":       inv.RedirectURL,
		"sendInvitationMessage":   messageStatus != "",
		"resetRedemption":         false,
		"status":                  status,
		"invitedUser":             map[string]any{"id": inv.UserID},
		"invitedUserMessageInfo":  map[string]any{"messageLanguage": nil, "ccRecipients": []any{}, "customizedMessageBody": strOrNil(inv.Message)},
		"galleonResourceId":       strOrNil(inv.ResourceID),
		"galleonInvitedBy":        map[string]any{"id": inv.InviterID, "displayName": inv.InviterName},
		"galleonCreatedDateTime":  timeOrNil(inv.CreatedAt),
		"galleonExpiresDateTime":  timeOrNil(inv.TokenExpiresAt),
		"galleonRedeemedDateTime": timeOrNil(inv.RedeemedAt),
		"inviteRedeemUrl":         nil,
	}
	if guest != nil {
		m["invitedUserDisplayName"] = guest.DisplayName
		m["invitedUser"] = map[string]any{"id": guest.ObjectID, "userPrincipalName": guest.UserPrincipalName}
	}
	if withLink && inv.Status == galleon.InvitationPending {
		m["inviteRedeemUrl"] = s.redeemURL(inv)
	}
	if messageStatus != "" {
		m["galleonMessageStatus"] = messageStatus
	}
	return m
}

func (s *Server) routeInvitations(w http.ResponseWriter, r *http.Request, seg []string) error {
	ctx := r.Context()
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.invite(w, r)
	case len(seg) == 0 && r.Method == http.MethodGet:
		page, err := s.page(r)
		if err != nil {
			return err
		}
		invs, next, err := s.dir(ctx).ListInvitations(ctx, page)
		if err != nil {
			return err
		}
		items := []map[string]any{}
		for i := range invs {
			items = append(items, s.invitationJSON(&invs[i], nil, false, ""))
		}
		s.writeList(w, r, "invitations", items, next)
		return nil
	case len(seg) == 1 && r.Method == http.MethodGet:
		inv, err := s.dir(ctx).GetInvitation(ctx, seg[0])
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.invitationJSON(inv, nil, false, ""))
		return nil
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "resend"):
		return s.resend(w, r, seg[0])
	case len(seg) == 2 && r.Method == http.MethodPost && strings.EqualFold(seg[1], "revoke"):
		inv, err := s.dir(ctx).RevokeInvitation(ctx, seg[0])
		if err != nil {
			return err
		}
		s.logger().LogAttrs(ctx, slog.LevelInfo, "invitation revoked", slog.String("invitation", inv.ID), slog.String("by", callerOf(ctx).ObjectID))
		writeJSON(w, http.StatusOK, s.invitationJSON(inv, nil, false, ""))
		return nil
	}
	return methodNotAllowed()
}

// checkResourceID accepts an ARM resource id, or nothing.
func checkResourceID(id string) error {
	if id == "" {
		return nil
	}
	if !strings.HasPrefix(strings.ToLower(id), "/subscriptions/") || len(id) > 1024 || strings.ContainsAny(id, "\r\n\t<>\"") {
		return badRequest("galleonResourceId must be an Azure resource id, such as /subscriptions/…/providers/Microsoft.Compute/galleries/{name}.")
	}
	return nil
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var b invitationBody
	if err := decode(r, &b); err != nil {
		return err
	}
	addr, err := mail.ParseAddress(b.InvitedUserEmailAddress)
	if err != nil || addr.Address != strings.TrimSpace(b.InvitedUserEmailAddress) || len(addr.Address) > 254 {
		return badRequest("The invitedUserEmailAddress '%s' is not a valid e-mail address.", b.InvitedUserEmailAddress)
	}
	email := addr.Address
	if b.InviteRedirectURL == "" {
		b.InviteRedirectURL = s.PublicURL + "/"
	}
	if u, err := url.Parse(b.InviteRedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest("The inviteRedirectUrl must be an absolute http or https URL.")
	}
	if err := checkResourceID(b.GalleonResourceID); err != nil {
		return err
	}
	if err := checkName("invitedUserDisplayName", b.InvitedUserDisplayName, false); err != nil {
		return err
	}
	if len(b.InvitedUserMessageInfo.CustomizedMessageBody) > 4000 {
		return badRequest("The customizedMessageBody is longer than 4000 characters.")
	}
	t, err := s.dir(ctx).Tenant(ctx)
	if err != nil {
		return err
	}
	if _, domain, _ := strings.Cut(email, "@"); strings.EqualFold(domain, t.Domain) {
		return badRequest("'%s' is in the tenant's own domain: create a member user instead of inviting a guest.", email)
	}
	c := callerOf(ctx)
	inviterName := c.DisplayName
	if c.user != nil {
		inviterName = c.user.DisplayName
	}
	if inviterName == "" {
		inviterName = c.DisplayIdentity()
	}

	// The guest this address would be in this tenant (a guest of another
	// tenant is another object: each directory invites its own).
	existing, err := s.dir(ctx).GetUser(ctx, galleon.GuestPrincipalName(email, t.Domain))
	switch {
	case err == nil && !existing.IsGuest():
		return badRequest("'%s' is a member of the directory already.", email)
	case err == nil && existing.ExternalUserState == galleon.ExternalStateAccepted:
		// Already a guest: nothing to redeem. Graph answers Completed.
		writeJSON(w, http.StatusCreated, map[string]any{
			"@odata.context":          s.PublicURL + "/v1.0/$metadata#invitations/$entity",
			"id":                      newID(),
			"invitedUserEmailAddress": email,
			"invitedUserType":         "Guest",
			"inviteRedirectUrl":       b.InviteRedirectURL,
			"inviteRedeemUrl":         nil,
			"status":                  "Completed",
			"invitedUser":             map[string]any{"id": existing.ObjectID, "userPrincipalName": existing.UserPrincipalName},
		})
		return nil
	case err != nil && galleon.ErrorCode(err) != galleon.CodeResourceNotFound:
		return err
	}

	now := s.now().UTC()
	inv := &galleon.Invitation{ID: newID(), Email: email, InviterID: c.ObjectID, InviterName: inviterName,
		ResourceID: b.GalleonResourceID, RedirectURL: b.InviteRedirectURL, Message: b.InvitedUserMessageInfo.CustomizedMessageBody,
		Status: galleon.InvitationPending, TokenID: newID(), TokenExpiresAt: now.Add(s.invitationLifetime()).Truncate(time.Second)}
	var guest *galleon.DirectoryUser
	if existing != nil {
		// A guest invited before who has not redeemed: a new invitation
		// for the same account.
		inv.UserID = existing.ObjectID
		existing.Type = galleon.PrincipalUser
		if err := s.dir(ctx).CreateInvitation(ctx, inv, nil); err != nil {
			return err
		}
		guest = existing
	} else {
		name := b.InvitedUserDisplayName
		if name == "" {
			name = email
		}
		guest = &galleon.DirectoryUser{
			Principal: galleon.Principal{ObjectID: newID(), TenantID: t.ID, Type: galleon.PrincipalUser,
				UserPrincipalName: galleon.GuestPrincipalName(email, t.Domain), DisplayName: name},
			Mail: email, MailNickname: strings.ReplaceAll(email, "@", "_"), UserType: galleon.UserTypeGuest,
			ExternalUserState: galleon.ExternalStatePending, AccountEnabled: true,
		}
		inv.UserID = guest.ObjectID
		if err := s.dir(ctx).CreateInvitation(ctx, inv, guest); err != nil {
			return err
		}
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "guest invited", slog.String("invitation", inv.ID),
		slog.String("guest", guest.ObjectID), slog.String("by", c.ObjectID), slog.String("resource", inv.ResourceID))
	status := ""
	if b.SendInvitationMessage {
		status = s.sendInvitation(ctx, inv, t)
	}
	writeJSON(w, http.StatusCreated, s.invitationJSON(inv, guest, true, status))
	return nil
}

func (s *Server) resend(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	now := s.now().UTC()
	inv, err := s.dir(ctx).UpdateInvitation(ctx, id, func(inv *galleon.Invitation) (*galleon.Invitation, error) {
		if inv.Status != galleon.InvitationPending {
			return nil, badRequest("Only a pending invitation can be resent; this one is %s.", inv.Status)
		}
		inv.TokenID, inv.TokenExpiresAt = newID(), now.Add(s.invitationLifetime()).Truncate(time.Second)
		return inv, nil
	})
	if err != nil {
		return err
	}
	t, err := s.dir(ctx).Tenant(ctx)
	if err != nil {
		return err
	}
	status := s.sendInvitation(ctx, inv, t)
	writeJSON(w, http.StatusOK, s.invitationJSON(inv, nil, true, status))
	return nil
}

// sendInvitation e-mails the invitation's current link and says how that
// went; a failure is logged and reported, the invitation stands.
func (s *Server) sendInvitation(ctx context.Context, inv *galleon.Invitation, t *galleon.Tenant) string {
	m := ComposeInvitation(InvitationMail{
		From: "Galleon <noreply@" + t.Domain + ">", To: inv.Email, InviterName: inv.InviterName, TenantName: t.DisplayName,
		ResourceID: inv.ResourceID, Message: inv.Message, Link: s.redeemURL(inv), Expires: inv.TokenExpiresAt,
		ServerURL: s.PublicURL, Now: s.now(), ID: inv.ID,
	})
	if s.From != "" {
		m.From = s.From
	}
	where, err := s.Mailer.Send(ctx, m)
	if err != nil {
		s.logger().LogAttrs(ctx, slog.LevelError, "sending an invitation failed", slog.String("invitation", inv.ID),
			slog.String("to", inv.Email), slog.Any("err", err))
		return "Failed: " + err.Error()
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "invitation e-mail", slog.String("invitation", inv.ID), slog.String("to", inv.Email), slog.String("delivery", where))
	return "Sent: " + where
}

// InvitationMail is what an invitation e-mail says.
type InvitationMail struct {
	From, To    string
	InviterName string
	TenantName  string
	ResourceID  string // optional
	Message     string // the inviter's note, optional
	Link        string
	Expires     time.Time
	ServerURL   string
	Now         time.Time
	ID          string
}

// resourceName describes an ARM id for a person: "the gallery NAME" for a
// gallery, "the image definition NAME in the gallery G" for an image, else
// the id.
func resourceName(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	var gallery, image string
	for i := 0; i+1 < len(segs); i++ {
		switch strings.ToLower(segs[i]) {
		case "galleries":
			gallery = segs[i+1]
		case "images":
			image = segs[i+1]
		}
	}
	switch {
	case image != "" && gallery != "":
		return fmt.Sprintf("the image definition %s in the gallery %s", image, gallery)
	case gallery != "":
		return "the gallery " + gallery
	}
	return "the resource " + id
}

// ComposeInvitation writes the invitation e-mail.
func ComposeInvitation(p InvitationMail) *Message {
	inviter := headerValue(p.InviterName)
	what := "the Galleon directory " + p.TenantName
	if p.ResourceID != "" {
		what = resourceName(p.ResourceID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s has invited you to %s on Galleon, a compute gallery at %s.\n", inviter, what, p.ServerURL)
	if p.ResourceID != "" {
		fmt.Fprintf(&b, "\n  %s\n", p.ResourceID)
	}
	if msg := strings.TrimSpace(p.Message); msg != "" {
		fmt.Fprintf(&b, "\n%s writes:\n\n", inviter)
		for _, line := range strings.Split(msg, "\n") {
			fmt.Fprintf(&b, "  %s\n", strings.TrimRight(line, "\r"))
		}
	}
	fmt.Fprintf(&b, "\nTo accept, open this link and choose a password. It works once, until %s:\n\n%s\n",
		p.Expires.UTC().Format("Mon, 2 Jan 2006 15:04 MST"), p.Link)
	fmt.Fprintf(&b, "\nAfterwards, sign in as %s with that password.\n", p.To)
	b.WriteString("\nIf you did not expect this invitation, ignore this message: nothing happens unless the link is used.\n")
	return &Message{
		From:    p.From,
		To:      p.To,
		Subject: fmt.Sprintf("%s invited you to %s", inviter, what),
		Body:    b.String(),
		Date:    p.Now,
		ID:      "invitation-" + p.ID,
	}
}
