package smtp

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/store"
)

// errAddress is any address we refuse to route.
var errAddress = errors.New("smtp: address not routable")

// parseMailbox judges an envelope address as go-smtp hands it over (RFC 5321 4.1.2:
// source route already dropped, a quoted local part already unquoted) and returns its
// local part (case kept, RFC 5321 2.4) and its domain, lower-cased with one trailing
// dot removed. It refuses everything that is not a plain local@domain with a DNS
// domain, which is what closes the relay tricks: "user%other@local" and
// "other!user@local" keep their whole local part (and so name no local user),
// "user@domain@other" and a quoted "a@b"@local have two '@', IP literals
// ("user@[192.0.2.1]") and bare host names are not hosted domains and are refused for
// delivery anywhere.
func parseMailbox(addr string) (local, domain string, err error) {
	// RFC 5321 4.5.3.1.3: a path is at most 256 octets including the brackets.
	if len(addr) > 254 || !utf8.ValidString(addr) {
		return "", "", errAddress
	}
	if strings.Count(addr, "@") != 1 {
		return "", "", errAddress
	}
	local, domain, _ = strings.Cut(addr, "@")
	if !validLocal(local) {
		return "", "", errAddress
	}
	domain = strings.ToLower(domain)
	// One trailing dot is the DNS root (an absolute name); more is garbage.
	domain = strings.TrimSuffix(domain, ".")
	if !validDomain(domain) {
		return "", "", errAddress
	}
	return local, domain, nil
}

// validLocal accepts an RFC 5321 4.1.2 dot-string of atext (RFC 5322 3.2.3), plus
// UTF-8 (RFC 6531 3.3). Quoted local parts with specials are refused: no account has
// one and no legitimate sender needs one to reach us.
func validLocal(l string) bool {
	// RFC 5321 4.5.3.1.1: at most 64 octets.
	if l == "" || len(l) > 64 || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for _, r := range l {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r > 127:
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
		default:
			return false
		}
	}
	return true
}

// validDomain accepts a DNS name of at least two labels (RFC 5321 2.3.5 wants fully
// qualified names); the label rules are the store's.
func validDomain(d string) bool {
	return strings.Contains(d, ".") && store.ValidDomain(d)
}

// domainOf returns the lower-cased domain of an address, "" if it has none.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
	}
	return ""
}
