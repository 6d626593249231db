// Package netguard decides which network addresses the server may reach
// when it fetches a URL a user gave it (a VHD to import), and enforces the
// decision when each connection is made: a user who may create a snapshot
// must not be able to make the server read its own cloud metadata
// (169.254.169.254), its loopback services or hosts on the operator's
// private network and then read the bytes back.
//
// The check runs in the dialer's Control hook, on the address actually
// being connected to, after name resolution: a name that resolves to a
// public address when a URL is checked and to 127.0.0.1 when it is fetched
// (DNS rebinding) is refused all the same, and so is every redirect's
// target. CheckURL decides up front what can be decided without resolving
// a name, so that an API can refuse such a URL when it is given.
//
// Only public unicast addresses are reachable by default. A Policy made
// from an allow-list (NewPolicy) also reaches the hosts, addresses and
// networks the operator names, such as a blob store on the LAN.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RefusedError is a URL or a connection the Policy does not allow.
type RefusedError struct {
	// Host and Port are the URL's (or the redirect's) host and port.
	Host, Port string
	// Addr is the address refused, when the refusal is about one.
	Addr netip.Addr
	// Reason says why: the address's kind ("a loopback address") or what
	// is wrong with the URL.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Addr.IsValid() && e.Addr.String() != e.Host {
		return fmt.Sprintf("%s resolves to %s, %s", e.Host, e.Addr, e.Reason)
	}
	if e.Host != "" {
		return fmt.Sprintf("%s is %s", e.Host, e.Reason)
	}
	return e.Reason
}

// Entry is the allow-list entry that would let the refused host through
// (host:port), or "" when no entry can (a bad scheme or userinfo).
func (e *RefusedError) Entry() string {
	if e.Host == "" || e.Port == "" {
		return ""
	}
	return net.JoinHostPort(e.Host, e.Port)
}

var (
	cgnat    = netip.MustParsePrefix("100.64.0.0/10")
	thisNet  = netip.MustParsePrefix("0.0.0.0/8")
	reserved = netip.MustParsePrefix("240.0.0.0/4") // and the broadcast address
	nat64    = netip.MustParsePrefix("64:ff9b::/96")
)

// Classify says what kind of non-public address a is ("a loopback
// address", …), or "" for a public unicast address. An IPv4 address mapped
// into IPv6 (::ffff:127.0.0.1) or translated by NAT64 (64:ff9b::/96) is
// judged by its IPv4 address.
func Classify(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		if kind := Classify(netip.AddrFrom4([4]byte(b[12:]))); kind != "" {
			return kind + " behind NAT64"
		}
		return ""
	}
	switch {
	case !a.IsValid():
		return "not an IP address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a == netip.AddrFrom4([4]byte{169, 254, 169, 254}):
		return "the cloud metadata address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case cgnat.Contains(a):
		return "a shared (CGNAT) address"
	case thisNet.Contains(a):
		return "a \"this network\" address"
	case reserved.Contains(a):
		return "a reserved address"
	}
	return ""
}

// A rule allows a host name, or the addresses of a prefix, on one port or
// on any ("").
type rule struct {
	name   string
	prefix netip.Prefix
	port   string
}

// Policy decides which addresses may be reached. The zero Policy (and a
// nil one) reaches public unicast addresses only.
type Policy struct {
	rules []rule
}

// NewPolicy makes a Policy that also allows what allow lists, each entry
// one of:
//
//	host.example          a DNS name, on any port (whatever it resolves to)
//	host.example:9000     a DNS name on one port
//	10.1.2.3, ::1         an address, on any port
//	10.1.2.3:9000         an address on one port ([::1]:9000 for IPv6)
//	10.0.0.0/8, fd00::/8  every address of a network, on any port
//
// Names are matched as the URL gives them, case-insensitively.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{}
	for _, e := range allow {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		r, err := parseRule(e)
		if err != nil {
			return nil, fmt.Errorf("allow entry %q: %w", e, err)
		}
		p.rules = append(p.rules, r)
	}
	return p, nil
}

func parseRule(e string) (rule, error) {
	if pr, err := netip.ParsePrefix(e); err == nil {
		if pr.Addr().Zone() != "" {
			return rule{}, errors.New("a zone is not allowed")
		}
		if pr.Addr().Is4In6() && pr.Bits() >= 96 {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		return rule{prefix: pr.Masked()}, nil
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(e, "["), "]")); err == nil {
		if a.Zone() != "" {
			return rule{}, errors.New("a zone is not allowed")
		}
		a = a.Unmap()
		return rule{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return rule{}, fmt.Errorf("%q is not a port", p)
		}
		if a, err := netip.ParseAddr(h); err == nil {
			if a.Zone() != "" {
				return rule{}, errors.New("a zone is not allowed")
			}
			a = a.Unmap()
			return rule{prefix: netip.PrefixFrom(a, a.BitLen()), port: port}, nil
		}
	}
	host = normalizeName(host)
	if host == "" || strings.ContainsAny(host, "/@?#[]: \t") {
		return rule{}, errors.New("not a host, host:port, IP address or CIDR network")
	}
	return rule{name: host, port: port}, nil
}

func normalizeName(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// allows reports whether a rule lets host (as the URL names it) be reached
// at addr.
func (p *Policy) allows(host string, addr netip.AddrPort) bool {
	if p == nil {
		return false
	}
	name, ip := normalizeName(host), addr.Addr().Unmap().WithZone("")
	port := strconv.Itoa(int(addr.Port()))
	for _, r := range p.rules {
		if r.port != "" && r.port != port {
			continue
		}
		if r.name != "" && r.name == name || r.prefix.IsValid() && r.prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// Check decides whether host (as the URL names it) may be reached at addr,
// the address being connected to.
func (p *Policy) Check(host string, addr netip.AddrPort) error {
	kind := Classify(addr.Addr())
	if kind == "" || p.allows(host, addr) {
		return nil
	}
	return &RefusedError{Host: host, Port: strconv.Itoa(int(addr.Port())), Addr: addr.Addr().Unmap().WithZone(""), Reason: kind}
}

// CheckURL decides what can be decided about a URL without resolving its
// host: it must be http or https with a host and no user information, and
// a host given as an IP address (or named localhost) must be public or
// allowed. A name is decided when it is connected to.
func (p *Policy) CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &RefusedError{Reason: fmt.Sprintf("the scheme %q is not http or https", u.Scheme)}
	}
	if u.User != nil {
		return &RefusedError{Reason: "a URL with user information (user:password@) is not fetched"}
	}
	host := u.Hostname()
	if host == "" {
		return &RefusedError{Reason: "the URL has no host"}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return &RefusedError{Reason: fmt.Sprintf("%q is not a port", port)}
	}
	if name := normalizeName(host); name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: such names are always the loopback interface.
		for _, lo := range []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()} {
			if p.allows(host, netip.AddrPortFrom(lo, uint16(n))) {
				return nil
			}
		}
		return &RefusedError{Host: host, Port: port, Reason: "a loopback name"}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Check(host, netip.AddrPortFrom(a, uint16(n)))
	}
	return nil
}

// DialContext wraps d so that every connection it makes is checked: the
// address connected to (after resolution, for each address tried) must be
// public, or allowed for the host being dialed. A refusal is a
// *RefusedError inside the dial's error.
func (p *Policy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		dd := *d
		inner := d.Control
		dd.Control = func(network, address string, c syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &RefusedError{Host: host, Reason: fmt.Sprintf("connecting to %q, which is not an IP address and port", address)}
			}
			if err := p.Check(host, ap); err != nil {
				return err
			}
			if inner != nil {
				return inner(network, address, c)
			}
			return nil
		}
		return dd.DialContext(ctx, network, addr)
	}
}

// As net/http's default transport and client.
const (
	dialTimeout  = 30 * time.Second
	keepAlive    = 30 * time.Second
	maxRedirects = 10
)

// Client returns an HTTP client whose every connection and redirect the
// Policy checks. It uses no proxy: a proxy would connect on the client's
// behalf, past the check.
func (p *Policy) Client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.DialContext(&net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive})
	t.DialTLSContext = nil
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return p.CheckURL(req.URL)
		},
	}
}
