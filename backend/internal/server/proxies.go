package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// DefaultTrustedProxies are the peers whose forwarding headers are believed when
// TESSERA_TRUSTED_PROXIES is unset: the loopback addresses, a proxy on the same host (and,
// with them, a unix-socket peer). Until this setting, every loopback, private or link-local
// peer was believed, echo's default; but behind Docker's published ports every client
// reaches the container from the bridge's gateway, a private address, and on a LAN every
// client has one, so any of them chose the scheme and host of TileJSON's URLs. A proxy on
// another host or in another container is listed in TESSERA_TRUSTED_PROXIES.
func DefaultTrustedProxies() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParseTrustedProxies reads TESSERA_TRUSTED_PROXIES: comma-separated IP addresses and CIDR
// prefixes ("10.0.0.5, 172.18.0.0/16, fd00::/8"), or "-" alone, which trusts no peer (the
// answer is then an empty, non-nil list). A prefix with host bits set is taken as its
// network (10.1.2.3/8 is 10.0.0.0/8); an IPv4-mapped IPv6 address is its IPv4 address, as
// net/http reports such a peer.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "-" {
		return []netip.Prefix{}, nil
	}
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := parseProxy(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no address: list IP addresses or CIDR prefixes, or - for none")
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("%q is not an IP address or a CIDR prefix (such as 10.0.0.5, 172.18.0.0/16 or fd00::/8; - alone trusts no peer)", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad
		}
		if p.Addr().Is4In6() {
			// A peer's address is compared unmapped, so this prefix would match nothing.
			return netip.Prefix{}, fmt.Errorf("%q: write an IPv4 prefix as IPv4 (10.0.0.0/8)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, bad
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: an address has no zone here (fe80::1, not fe80::1%%eth0)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// proxies decides which direct peers may set X-Forwarded-Proto and X-Forwarded-Host: one
// rule for both headers (echo's Scheme and publicHost).
type proxies struct {
	prefixes []netip.Prefix
	// sameHost trusts unix-socket peers: the list trusts loopback.
	sameHost bool

	// mu guards warned, the peers whose ignored forwarding headers were logged (the zero
	// Addr for unix sockets), at most warnPeers of them.
	mu     sync.Mutex
	warned map[netip.Addr]bool
}

// warnPeers bounds the peers the ignored-headers warning names, so that clients on many
// private addresses (an IPv6 LAN) cannot turn it into a flood.
const warnPeers = 16

func newProxies(prefixes []netip.Prefix) *proxies {
	if prefixes == nil {
		prefixes = DefaultTrustedProxies()
	}
	p := &proxies{prefixes: prefixes, warned: map[netip.Addr]bool{}}
	p.sameHost = p.contains(netip.MustParseAddr("127.0.0.1")) || p.contains(netip.IPv6Loopback())
	return p
}

func (p *proxies) contains(a netip.Addr) bool {
	for _, pr := range p.prefixes {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// trusts reports whether the direct peer, a request's RemoteAddr, may set forwarding
// headers.
func (p *proxies) trusts(remoteAddr string) bool {
	a, unix, ok := peer(remoteAddr)
	switch {
	case unix:
		return p.sameHost
	case !ok:
		return false
	}
	return p.contains(a)
}

// peer reads a request's RemoteAddr: a unix-socket peer, which net/http reports as "",
// "@…" or a path; else its address without the zone an IPv6 peer may have
// ("[fe80::1%eth0]:80"), an IPv4 peer of a dual-stack socket unmapped; ok false when it
// is none of these.
func peer(remoteAddr string) (a netip.Addr, unix, ok bool) {
	if remoteAddr == "" || remoteAddr[0] == '@' || remoteAddr[0] == '/' {
		return netip.Addr{}, true, true
	}
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return netip.Addr{}, false, false
	}
	return a.WithZone("").Unmap(), false, true
}

// schemeExtractor is echo's SchemeExtractor under this rule: a trusted peer's forwarding
// headers as echo reads them (X-Forwarded-Proto's last value, …), else the connection's.
func (p *proxies) schemeExtractor() echo.SchemeExtractor {
	fromHeaders, direct := echo.LegacySchemeExtractor(), echo.ExtractSchemeDirect()
	return func(r *http.Request) string {
		if p.trusts(r.RemoteAddr) {
			return fromHeaders(r)
		}
		return direct(r)
	}
}

// ipExtractor is echo's IPExtractor (c.RealIP()) under this rule, so that no later use of
// it believes X-Forwarded-For from any client (echo's default when none is set): the
// peer's address, or from a trusted peer the X-Forwarded-For hop nearest to it that is
// not a trusted proxy, as echo's ExtractIPFromXFFHeader reads the list (the leftmost when
// every hop is trusted, the peer's address when a hop is not an IP address).
func (p *proxies) ipExtractor() echo.IPExtractor {
	direct := echo.ExtractIPDirect()
	return func(r *http.Request) string {
		ip := direct(r)
		xff := r.Header.Values(echo.HeaderXForwardedFor)
		if len(xff) == 0 || !p.trusts(r.RemoteAddr) {
			return ip
		}
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(hops[i]), "[]"))
			if err != nil {
				return direct(r)
			}
			a = a.WithZone("").Unmap()
			ip = a.String()
			if !p.contains(a) {
				break
			}
		}
		return ip
	}
}

// forwardingHeaders are the request headers a trusted proxy may set, for TileJSON's host
// and scheme (echo's Scheme reads the last four), all named in its Vary.
var forwardingHeaders = []string{"X-Forwarded-Host", echo.HeaderXForwardedProto, echo.HeaderXForwardedProtocol,
	echo.HeaderXForwardedSsl, echo.HeaderXUrlScheme}

// ignored is called for a request from a peer that may not set forwarding headers. When
// it carries them, it says so in the log, naming the peer and the setting, once per peer
// and for at most warnPeers peers: after an upgrade, a proxy on another host or in another
// container, believed by default until TESSERA_TRUSTED_PROXIES, is no longer, and
// TileJSON's URLs name its upstream address. Only a peer that was believed before (a
// loopback, private or link-local address, or a unix socket: echo's default) is named:
// nothing changed for a public one, and any client on the internet could otherwise take
// the warnings (a scanner's X-Forwarded-Host) before the proxy's first request.
func (p *proxies) ignored(r *http.Request, log func(msg string, args ...any)) {
	header := ""
	for _, h := range forwardingHeaders {
		if len(r.Header.Values(h)) > 0 {
			header = h
			break
		}
	}
	if header == "" {
		return
	}
	a, unix, ok := peer(r.RemoteAddr)
	if !ok || !unix && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() {
		return
	}
	p.mu.Lock()
	first := !p.warned[a] && len(p.warned) < warnPeers
	if first {
		p.warned[a] = true
	}
	p.mu.Unlock()
	if !first {
		return
	}
	name := "unix socket"
	if !unix {
		name = a.String()
	}
	log("server: forwarding headers from a peer not in TESSERA_TRUSTED_PROXIES ignored (logged once per peer): if it is your reverse proxy, list it there",
		"peer", name, "header", header)
}
