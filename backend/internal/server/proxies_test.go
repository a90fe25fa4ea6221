package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/server"
)

// tileJSONFrom asks for algebra.json as a request from peer (a RemoteAddr) with headers,
// on host tessera.example, and returns the first tile URL.
func tileJSONFrom(t *testing.T, e *env, peer string, header map[string]string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://tessera.example/raster/algebra.json?layers=a=ramp&formula=a", nil)
	req.RemoteAddr = peer
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return firstTile(t, rec.Code, rec.Body.Bytes())
}

// firstTile reads a TileJSON answer (status code, body) and returns its one tile URL.
func firstTile(t *testing.T, code int, body []byte) string {
	t.Helper()
	var tj struct{ Tiles []string }
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if err := json.Unmarshal(body, &tj); err != nil || len(tj.Tiles) != 1 {
		t.Fatalf("TileJSON %s: %v", body, err)
	}
	return tj.Tiles[0]
}

// TestTrustedProxies: X-Forwarded-Proto (echo's c.Scheme()) and X-Forwarded-Host were
// believed from any loopback, private or link-local peer, so behind Docker's published
// ports (every client arrives from the bridge's gateway, 172.17.0.1) or on a LAN any client
// chose the scheme and host of TileJSON's URLs. Now only the peers of
// TESSERA_TRUSTED_PROXIES are, loopback by default, under one rule for both headers.
func TestTrustedProxies(t *testing.T) {
	spoof := map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
	const own, forwarded = "http://tessera.example/raster/algebra/", "https://evil.example/raster/algebra/"
	mustPrefixes := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix // nil: the default
		peers   map[string]bool
	}{
		{"default: loopback only", nil, map[string]bool{
			"127.0.0.1:41000": true, "127.9.9.9:1": true, "[::1]:41000": true, "@": true, "": true,
			"172.17.0.1:41000":     false, // Docker's bridge gateway: every client of a published port
			"192.168.1.20:41000":   false, // a LAN
			"10.0.0.7:41000":       false,
			"[fe80::1%eth0]:41000": false, // link-local
			"[fd00::5]:41000":      false, // unique local
			"203.0.113.9:41000":    false,
		}},
		{"a listed proxy", mustPrefixes("172.18.0.5/32", "203.0.113.0/24"), map[string]bool{
			"172.18.0.5:41000": true, "203.0.113.77:41000": true,
			"172.18.0.6:41000": false, "172.17.0.1:41000": false,
			// Listing replaces the default: loopback (and unix sockets with it) too.
			"127.0.0.1:41000": false, "@": false,
		}},
		{"IPv6", mustPrefixes("2001:db8:1::/48", "fe80::/10", "10.0.0.0/8"), map[string]bool{
			"[2001:db8:1::7]:41000": true, "[2001:db8:2::7]:41000": false,
			"[fe80::1%eth0]:41000": true, // the zone does not hide the address
			// An IPv4 peer as a dual-stack socket may report it, mapped: its IPv4 address.
			"[::ffff:10.1.2.3]:41000": true, "[::ffff:11.1.2.3]:41000": false,
			"[::1]:41000": false,
		}},
		{"none", []netip.Prefix{}, map[string]bool{"127.0.0.1:41000": false, "[::1]:41000": false, "@": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setupWith(t, 0, func(c *server.Config) { c.TrustedProxies = tc.proxies })
			for peer, trusted := range tc.peers {
				want := own
				if trusted {
					want = forwarded
				}
				if got := tileJSONFrom(t, e, peer, spoof); !strings.HasPrefix(got, want) {
					t.Errorf("peer %q: tiles %s, want %s…", peer, got, want)
				}
				// One rule for both headers: each alone is believed or not as the pair is.
				wantProto, wantHost := "http://tessera.example/", "http://evil.example/"
				if trusted {
					wantProto = "https://tessera.example/"
				} else {
					wantHost = "http://tessera.example/"
				}
				if got := tileJSONFrom(t, e, peer, map[string]string{"X-Forwarded-Proto": "https"}); !strings.HasPrefix(got, wantProto) {
					t.Errorf("peer %q, X-Forwarded-Proto alone: tiles %s, want %s…", peer, got, wantProto)
				}
				if got := tileJSONFrom(t, e, peer, map[string]string{"X-Forwarded-Host": "evil.example"}); !strings.HasPrefix(got, wantHost) {
					t.Errorf("peer %q, X-Forwarded-Host alone: tiles %s, want %s…", peer, got, wantHost)
				}
			}
		})
	}
}

// TestUntrustedProxyLogged: a proxy that was believed before TESSERA_TRUSTED_PROXIES (one in
// another container) is ignored after the upgrade; the log says so once per peer, naming
// the setting. It said so once per process, for whichever peer came first: a client on the
// internet sending X-Forwarded-Host (a scanner) took the one warning, and the proxy was
// never named. Public peers, never believed, are not logged now, and at most 16 peers are.
func TestUntrustedProxyLogged(t *testing.T) {
	var buf bytes.Buffer
	e := setupWith(t, 0, func(c *server.Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	warnings := func() int { return strings.Count(buf.String(), "TESSERA_TRUSTED_PROXIES") }
	tileJSONFrom(t, e, "172.18.0.5:41000", nil)
	if warnings() != 0 {
		t.Fatalf("logged without forwarding headers: %s", buf.String())
	}
	tileJSONFrom(t, e, "127.0.0.1:41000", map[string]string{"X-Forwarded-Host": "maps.example"})
	if warnings() != 0 {
		t.Fatalf("logged for a trusted peer: %s", buf.String())
	}
	tileJSONFrom(t, e, "203.0.113.9:41000", map[string]string{"X-Forwarded-Host": "evil.example"})
	if warnings() != 0 {
		t.Fatalf("logged for a public peer, which was never believed: %s", buf.String())
	}
	// A tile's answer does not read the forwarding headers (only TileJSON's URLs do): they
	// were read, and an untrusted peer's logged, on every tile request and colormap save.
	for _, path := range []string{"/raster/tiles/ramp/4/8/5.png", "/raster/algebra/4/8/5.png?layers=a=ramp&formula=a"} {
		req := httptest.NewRequest(http.MethodGet, "http://tessera.example"+path, nil)
		req.RemoteAddr = "172.18.0.5:41000"
		req.Header.Set("X-Forwarded-Host", "maps.example")
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 || warnings() != 0 {
			t.Fatalf("tile %s: %d, log %s; want 200 and no warning", path, rec.Code, buf.String())
		}
	}
	for port := range 3 {
		tileJSONFrom(t, e, fmt.Sprintf("172.18.0.5:%d", 41000+port), map[string]string{"X-Forwarded-Proto": "https"})
	}
	if n := warnings(); n != 1 || !strings.Contains(buf.String(), "peer=172.18.0.5 ") {
		t.Fatalf("want one warning naming the proxy, got %d: %s", n, buf.String())
	}
	tileJSONFrom(t, e, "[fd00::7]:41000", map[string]string{"X-Url-Scheme": "https"})
	if n := warnings(); n != 2 || !strings.Contains(buf.String(), "peer=fd00::7 ") {
		t.Fatalf("want a second warning for a second peer, got %d: %s", n, buf.String())
	}
	for i := range 40 {
		tileJSONFrom(t, e, fmt.Sprintf("[fd00::1:%x]:41000", i), map[string]string{"X-Forwarded-Host": "evil.example"})
	}
	if n := warnings(); n != 16 {
		t.Errorf("%d warnings from 42 peers, want at most 16", n)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the prefixes, space-separated; "" with an error
	}{
		{"10.0.0.5", "10.0.0.5/32"},
		{" 10.0.0.5 , 172.18.0.0/16,fd00::/8,", "10.0.0.5/32 172.18.0.0/16 fd00::/8"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"10.1.2.3/8", "10.0.0.0/8"},       // the network of a prefix with host bits
		{"::ffff:10.0.0.5", "10.0.0.5/32"}, // as net/http reports the peer
		{"-", ""},
		{"10.0.0.300", ""},
		{"10.0.0.0/33", ""},
		{"example.com", ""},
		{"10.0.0.5:80", ""},
		{"fe80::1%eth0", ""},
		{"::ffff:10.0.0.0/104", ""},
		{"-,10.0.0.5", ""},
		{" , ", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := server.ParseTrustedProxies(tc.in)
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			switch {
			case tc.in == "-":
				if err != nil || got == nil || len(got) != 0 {
					t.Errorf("- : %v, %v: want an empty, non-nil list", got, err)
				}
			case tc.want == "":
				if err == nil {
					t.Errorf("%q accepted as %v", tc.in, got)
				}
			case err != nil || strings.Join(s, " ") != tc.want:
				t.Errorf("%q: %v, %v; want %s", tc.in, s, err, tc.want)
			}
		})
	}
}
