package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestRealIP: c.RealIP() reads X-Forwarded-For under TESSERA_TRUSTED_PROXIES' rule. Nothing
// calls it yet, but echo's default, with no IPExtractor, believes the first X-Forwarded-For
// value from any client: the first use (a rate limit, a log field) would have trusted it.
func TestRealIP(t *testing.T) {
	s := New(nil, nil, nil, nil, Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}})
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"no header", "203.0.113.9:1", "", "203.0.113.9"},
		{"untrusted peer", "203.0.113.9:1", "198.51.100.1", "203.0.113.9"},
		{"untrusted private peer", "192.168.1.5:1", "198.51.100.1", "192.168.1.5"},
		{"trusted proxy", "10.0.0.2:1", "198.51.100.1", "198.51.100.1"},
		{"the hop nearest a trusted chain", "10.0.0.2:1", "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"},
		{"every hop trusted", "10.0.0.2:1", "10.0.0.4, 10.0.0.3", "10.0.0.4"},
		{"an unreadable hop", "10.0.0.2:1", "198.51.100.1, nonsense", "10.0.0.2"},
		{"IPv6", "[2001:db8::1]:1", "[2001:db9::5]", "2001:db9::5"},
		{"mapped IPv4 hop", "10.0.0.2:1", "::ffff:10.0.0.7, ::ffff:198.51.100.1", "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.peer
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := s.echo.NewContext(req, httptest.NewRecorder()).RealIP(); got != tc.want {
				t.Errorf("RealIP %q, want %q", got, tc.want)
			}
		})
	}
}
