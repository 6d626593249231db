package netguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/galleon-project/galleon/netguard"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want string // a substring of the kind; "" for public
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd00:ec2::254", "private"}, // AWS's IPv6 metadata address
		{"169.254.169.254", "metadata"},
		{"::ffff:169.254.169.254", "metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "this network"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"ff05::1:3", "multicast"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		{"64:ff9b::7f00:1", "loopback address behind NAT64"},
		{"64:ff9b::a9fe:a9fe", "metadata address behind NAT64"},

		{"8.8.8.8", ""},
		{"52.239.148.100", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.1", ""},
		{"192.169.0.1", ""},
		{"169.253.255.255", ""},
		{"::ffff:8.8.8.8", ""},
		{"2001:4860:4860::8888", ""},
		{"64:ff9b::808:808", ""},
	} {
		got := netguard.Classify(netip.MustParseAddr(tt.addr))
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("Classify(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if got := netguard.Classify(netip.Addr{}); got == "" {
		t.Errorf("Classify(invalid) = %q, want a refusal", got)
	}
}

func TestNewPolicy(t *testing.T) {
	for _, bad := range []string{"http://minio.lan", "minio.lan:x", "minio.lan:0", "minio.lan:70000", "a/b", "user@host", "fe80::1%eth0", "[fe80::1%eth0]:80", "10.0.0.0/33", ":9000"} {
		if _, err := netguard.NewPolicy([]string{bad}); err == nil {
			t.Errorf("NewPolicy(%q) = nil error, want one", bad)
		}
	}
	if _, err := netguard.NewPolicy([]string{"minio.lan", " minio.lan:9000 ", "", "10.1.2.3", "10.1.2.3:9000", "[::1]:10000", "::1", "[::1]", "10.0.0.0/8", "fd00::/8", "::ffff:10.0.0.0/104"}); err != nil {
		t.Errorf("NewPolicy(valid entries): %v", err)
	}
}

func TestPolicy_Check(t *testing.T) {
	p, err := netguard.NewPolicy([]string{"minio.lan", "azurite.lan:10000", "127.0.0.1:10000", "[::1]:10001", "10.20.0.0/16", "::ffff:192.168.7.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host, addr string
		ok         bool
	}{
		{"example.com", "93.184.215.14:443", true},
		{"example.com", "127.0.0.1:443", false}, // a public name that resolves to loopback (rebinding)
		{"example.com", "[::ffff:127.0.0.1]:443", false},
		{"example.com", "169.254.169.254:80", false},
		{"MINIO.LAN.", "10.9.9.9:9000", true}, // by name, any port, case and trailing dot ignored
		{"minio.lan", "10.9.9.9:1", true},
		{"azurite.lan", "127.0.0.1:10000", true},
		{"azurite.lan", "127.0.0.1:10001", false}, // by name, one port only
		{"127.0.0.1", "127.0.0.1:10000", true},
		{"localhost", "127.0.0.1:10000", true},          // the address is allowed, whatever the name
		{"127.0.0.1", "[::ffff:127.0.0.1]:10000", true}, // mapped forms are one address
		{"127.0.0.1", "127.0.0.1:10001", false},
		{"127.0.0.2", "127.0.0.2:10000", false},
		{"::1", "[::1]:10001", true},
		{"::1", "[::1]:10000", false},
		{"10.20.3.4", "10.20.3.4:443", true},
		{"10.21.3.4", "10.21.3.4:443", false},
		{"192.168.7.9", "192.168.7.9:80", true},
		{"192.168.8.9", "192.168.8.9:80", false},
	} {
		err := p.Check(tt.host, netip.MustParseAddrPort(tt.addr))
		var re *netguard.RefusedError
		if tt.ok && err != nil || !tt.ok && !errors.As(err, &re) {
			t.Errorf("Check(%s, %s) = %v, want allowed %v", tt.host, tt.addr, err, tt.ok)
		}
	}
	var zero *netguard.Policy
	if err := zero.Check("localhost", netip.MustParseAddrPort("127.0.0.1:80")); err == nil {
		t.Error("a nil Policy allows loopback")
	}
}

func TestPolicy_CheckURL(t *testing.T) {
	p, err := netguard.NewPolicy([]string{"127.0.0.1:10000", "localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		url   string
		ok    bool
		entry string // the allow-list entry a refusal suggests
	}{
		{"https://account.blob.core.windows.net/vhds/os.vhd?sig=x", true, ""},
		{"http://minio.lan:9000/vhds/os.vhd", true, ""}, // a name: decided when dialed
		{"http://8.8.8.8/x.vhd", true, ""},
		{"http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd", true, ""},
		{"http://localhost:8080/x.vhd", true, ""},
		{"http://127.0.0.1:10001/x", false, "127.0.0.1:10001"},
		{"http://127.0.0.1/x", false, "127.0.0.1:80"},
		{"https://127.0.0.1/x", false, "127.0.0.1:443"},
		{"http://169.254.169.254/metadata/instance?api-version=2021-02-01", false, "169.254.169.254:80"},
		{"http://[::1]:10000/x", false, "[::1]:10000"},
		{"http://[::ffff:127.0.0.1]:10001/x", false, "[::ffff:127.0.0.1]:10001"},
		{"http://[fe80::1%25eth0]/x", false, "[fe80::1%eth0]:80"},
		{"http://10.0.0.1/x", false, "10.0.0.1:80"},
		{"http://100.100.100.200/latest/meta-data", false, "100.100.100.200:80"},
		{"http://0.0.0.0:10000/x", false, "0.0.0.0:10000"},
		{"http://localhost/x", false, "localhost:80"},
		{"http://LOCALHOST.:8080/x", true, ""},
		{"http://metadata.localhost/x", false, "metadata.localhost:80"},
		{"file:///etc/passwd", false, ""},
		{"gopher://127.0.0.1:10000/", false, ""},
		{"ftp://example.com/x.vhd", false, ""},
		{"http://user:pass@example.com/x.vhd", false, ""},
		{"http:///x.vhd", false, ""},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		err = p.CheckURL(u)
		var re *netguard.RefusedError
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckURL(%s) = %v, want allowed", tt.url, err)
		case !tt.ok && !errors.As(err, &re):
			t.Errorf("CheckURL(%s) = %v, want a *RefusedError", tt.url, err)
		case !tt.ok && re.Entry() != tt.entry:
			t.Errorf("CheckURL(%s) suggests %q, want %q (%v)", tt.url, re.Entry(), tt.entry, err)
		}
	}
}

// serve starts an HTTP server on 127.0.0.1 that answers body, and returns
// its URL and host:port.
func serve(t *testing.T, h http.HandlerFunc) (string, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv.URL, u.Host
}

func get(t *testing.T, p *netguard.Policy, u string) (string, error) {
	t.Helper()
	resp, err := p.Client().Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	var re *netguard.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("%s: %v, want a *RefusedError", what, err)
	}
}

// TestPolicy_Client fetches through the guarded client from a real HTTP
// server on 127.0.0.1.
func TestPolicy_Client(t *testing.T) {
	target, targetHost := serve(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "vhd bytes") })
	redirector, redirectorHost := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})

	t.Run("ErrRefusedByDefault", func(t *testing.T) {
		_, err := get(t, &netguard.Policy{}, target)
		wantRefused(t, "a fetch from 127.0.0.1 without an allow-list", err)
	})
	t.Run("OK", func(t *testing.T) {
		p, err := netguard.NewPolicy([]string{targetHost})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := get(t, p, target); err != nil || got != "vhd bytes" {
			t.Fatalf("a fetch from an allowed host:port = %q, %v", got, err)
		}
	})
	t.Run("ErrOtherPort", func(t *testing.T) {
		p, err := netguard.NewPolicy([]string{redirectorHost})
		if err != nil {
			t.Fatal(err)
		}
		_, err = get(t, p, target)
		wantRefused(t, "a fetch from a port not allowed", err)
	})
	t.Run("ErrRedirectToLoopback", func(t *testing.T) {
		p, err := netguard.NewPolicy([]string{redirectorHost})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []string{target, strings.Replace(target, "127.0.0.1", "localhost", 1), "http://169.254.169.254/metadata"} {
			_, err = get(t, p, redirector+"?to="+url.QueryEscape(to))
			wantRefused(t, "a redirect from an allowed host to "+to, err)
		}
	})
}

// TestPolicy_DialContext checks the connection itself, after name
// resolution, as a name that resolves to loopback (DNS rebinding) is
// caught: CheckURL cannot decide a name.
func TestPolicy_DialContext(t *testing.T) {
	_, host := serve(t, func(w http.ResponseWriter, _ *http.Request) {})
	_, port, _ := net.SplitHostPort(host)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := (&netguard.Policy{}).DialContext(&net.Dialer{})
	_, err := dial(ctx, "tcp", net.JoinHostPort("localhost", port))
	wantRefused(t, "dialing localhost", err)
	var re *netguard.RefusedError
	if errors.As(err, &re); re.Host != "localhost" || !re.Addr.IsLoopback() || re.Entry() != "localhost:"+port {
		t.Errorf("the refusal names %q at %s (entry %q), want localhost at a loopback address", re.Host, re.Addr, re.Entry())
	}

	p, err := netguard.NewPolicy([]string{"localhost:" + port})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.DialContext(&net.Dialer{})(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("dialing an allowed name: %v", err)
	}
	c.Close()
}
