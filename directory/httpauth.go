package directory

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// HTTP Basic authentication for the HTTP front ends (ActiveSync and Autodiscover): one
// place decides what counts as TLS, which address a failed login is counted against,
// and how the credentials reach Authenticate.

// HTTPPeer is the remote address of the request's connection.
func HTTPPeer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// HTTPSecure reports whether the request came over TLS: directly, or through a proxy on
// loopback that says so with X-Forwarded-Proto.
func HTTPSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return HTTPPeer(r).IsLoopback() && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// HTTPClientIP is the address login throttling counts against: the peer, or behind a
// proxy on loopback the last address it added to X-Forwarded-For.
func HTTPClientIP(r *http.Request) netip.Addr {
	ip := HTTPPeer(r)
	if !ip.IsLoopback() {
		return ip
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return ip
	}
	parts := strings.Split(xff[len(xff)-1], ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
		return a.Unmap()
	}
	return ip
}

// HTTPPlaintextRefused reports whether Basic credentials must not be taken over this
// request: not TLS, not from loopback, and the configuration does not allow it.
func HTTPPlaintextRefused(r *http.Request, allowPlaintext bool) bool {
	return !allowPlaintext && !HTTPSecure(r) && !HTTPPeer(r).IsLoopback()
}

// ErrNoCredentials: the request carries no Basic credentials.
var ErrNoCredentials = errNoCredentials{}

type errNoCredentials struct{}

func (errNoCredentials) Error() string { return "directory: no credentials" }

// AuthenticateHTTP checks a request's Basic credentials through Authenticate. Phones
// send the user as user@domain, DOMAIN\user or a bare user (ResolveLogin accepts each);
// the credentials decide, never a User= query parameter.
func (d *Directory) AuthenticateHTTP(r *http.Request, protocol string) (store.Account, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return store.Account{}, ErrNoCredentials
	}
	return d.Authenticate(r.Context(), user, pass, protocol, HTTPClientIP(r))
}

// Challenge answers 401 with a Basic challenge for realm.
func Challenge(w http.ResponseWriter, realm string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	http.Error(w, "authentication required", http.StatusUnauthorized)
}
