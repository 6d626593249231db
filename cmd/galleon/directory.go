package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/graph"
	"github.com/galleon-project/galleon/identity"
	"github.com/galleon-project/galleon/internal/signinlimit"
)

// DirectoryConfig is how serve sends invitation e-mail, how long
// invitation links last and how long a locked sign-in waits.
type DirectoryConfig struct {
	SMTPHost         string
	SMTPPort         int
	SMTPTLS          string
	SMTPUsername     string
	SMTPPassword     string
	SMTPPasswordFile string
	SMTPFrom         string
	// SMTPInsecureSkipVerify accepts any certificate from the SMTP
	// server; for tests and trusted relays only.
	SMTPInsecureSkipVerify bool
	InvitationLifetime     time.Duration
	// SignInLockout is how long an account waits for its next try once it
	// has used up its failed sign-ins (an address waits a quarter of it).
	SignInLockout time.Duration
}

func addDirectoryFlags(f *pflag.FlagSet, c *DirectoryConfig) {
	f.StringVar(&c.SMTPHost, "smtp-host", "", "SMTP server for invitation e-mail (default: none; messages are written to <data>/outbox)")
	f.IntVar(&c.SMTPPort, "smtp-port", 0, "SMTP port (default 25 with --smtp-tls none, 587 with starttls, 465 with tls)")
	f.StringVar(&c.SMTPTLS, "smtp-tls", graph.SMTPStartTLS, "SMTP security: none, starttls or tls")
	f.StringVar(&c.SMTPUsername, "smtp-username", "", "SMTP user name (AUTH PLAIN, sent only over TLS)")
	f.StringVar(&c.SMTPPassword, "smtp-password", "", "SMTP password (prefer --smtp-password-file or GALLEON_SMTP_PASSWORD)")
	f.StringVar(&c.SMTPPasswordFile, "smtp-password-file", "", "file holding the SMTP password")
	f.StringVar(&c.SMTPFrom, "smtp-from", "", "sender of invitation e-mail, e.g. 'Galleon <galleon@example.com>' (default noreply@<tenant domain>)")
	f.BoolVar(&c.SMTPInsecureSkipVerify, "smtp-insecure-skip-verify", false, "do not verify the SMTP server's certificate (tests and trusted relays only)")
	f.DurationVar(&c.InvitationLifetime, "invitation-lifetime", galleon.DefaultInvitationLifetime, "how long an invitation link stays valid")
	f.DurationVar(&c.SignInLockout, "signin-lockout", signinlimit.DefaultLockout,
		"after 5 failed sign-ins an account may try once per this long; after 20 an address once per a quarter of it")
}

// mailer returns the invitation mailer the configuration names.
func (c *DirectoryConfig) mailer(dataDir string, logger *slog.Logger) (graph.Mailer, error) {
	if c.SMTPHost == "" {
		return &graph.Outbox{Dir: filepath.Join(dataDir, "outbox"), Logger: logger}, nil
	}
	s := &graph.SMTP{Host: c.SMTPHost, Port: c.SMTPPort, Security: strings.ToLower(c.SMTPTLS), Username: c.SMTPUsername, Password: c.SMTPPassword}
	switch s.Security {
	case graph.SMTPNone:
		if s.Port == 0 {
			s.Port = 25
		}
	case graph.SMTPStartTLS:
		if s.Port == 0 {
			s.Port = 587
		}
	case graph.SMTPTLS:
		if s.Port == 0 {
			s.Port = 465
		}
	default:
		return nil, fmt.Errorf("--smtp-tls: %q is not none, starttls or tls", c.SMTPTLS)
	}
	if c.SMTPPasswordFile != "" {
		data, err := os.ReadFile(c.SMTPPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-password-file: %w", err)
		}
		s.Password = strings.TrimRight(string(data), "\r\n")
	}
	if s.Username != "" && s.Security == graph.SMTPNone {
		return nil, fmt.Errorf("--smtp-username needs --smtp-tls starttls or tls: the password would cross the network in clear")
	}
	if c.SMTPInsecureSkipVerify {
		s.TLSConfig = &tls.Config{ServerName: s.Host, InsecureSkipVerify: true} //nolint:gosec // asked for explicitly
	}
	return s, nil
}

// openDirectory builds the Graph server: the directory API, invitations
// and their redemption page.
func (m *Main) openDirectory(ctx context.Context) error {
	c := &m.Config
	mailer, err := c.Directory.mailer(c.DataDir, m.Logger)
	if err != nil {
		return err
	}
	key, err := m.sharedRandomSecret(ctx, "invitation-signing-key")
	if err != nil {
		return fmt.Errorf("invitation signing key: %w", err)
	}
	if c.Directory.InvitationLifetime < 0 {
		return fmt.Errorf("--invitation-lifetime must not be negative")
	}
	if c.Directory.SignInLockout < time.Second {
		return fmt.Errorf("--signin-lockout must be at least 1s")
	}
	// The token endpoint's sign-in limits; the portal's sign-in is a
	// password grant there, counted once.
	m.Issuer.Limits = signinlimit.New(c.Directory.SignInLockout)
	// The bootstrap admin user administers the directory, as Entra's
	// Global Administrator; nodes without the bootstrap secrets know it by
	// the name bootstrap gives it.
	adminUPN := m.Credentials.AdminUserPrincipalName
	if adminUPN == "" {
		adminUPN = "admin@" + tenantDomain
	}
	m.Graph = &graph.Server{
		Administrators:     []string{adminUPN},
		Store:              m.Store,
		VerifyToken:        m.Issuer.Verifier(m.Issuer.PublicURL + "/"),
		Authorizer:         m.ARM.Authorizer,
		SubscriptionID:     m.Credentials.SubscriptionID,
		PublicURL:          m.Issuer.PublicURL,
		HashPassword:       identity.HashPassword,
		NewSecret:          identity.NewClientSecret,
		HashSecret:         identity.HashClientSecret,
		Mailer:             mailer,
		From:               c.Directory.SMTPFrom,
		InvitationKey:      key,
		InvitationLifetime: c.Directory.InvitationLifetime,
		PageSize:           c.PageSize,
		Logger:             m.Logger,
	}
	return nil
}
