package main

import (
	"context"
	"fmt"

	"github.com/galleon-project/galleon/portal"
)

// openPortal builds the web portal: a client of the ARM and Graph handlers
// in process, signing users in with the password grant, with session
// cookies signed by a key every node shares.
func (m *Main) openPortal(ctx context.Context) error {
	key, err := m.sharedRandomSecret(ctx, "portal-session-key")
	if err != nil {
		return fmt.Errorf("portal session key: %w", err)
	}
	m.Portal = &portal.Server{
		ARM:           m.ARM.Handler(),
		Graph:         m.Graph.Handler(),
		Identity:      m.Issuer.Handler(),
		VerifyToken:   m.Issuer.Verifier(m.ARM.Metadata.Audiences...),
		IssueToken:    m.Issuer.IssueToken,
		Users:         m.Store,
		Sessions:      m.Store,
		ARMAudience:   m.Credentials.Audience,
		GraphAudience: m.Issuer.PublicURL + "/",
		PublicURL:     m.Issuer.PublicURL,
		Key:           key,
		Logger:        m.Logger,
	}
	return nil
}
