package ldapserver

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// errEnough ends a walk that has found all the entries it needs.
var errEnough = errors.New("enough entries")

// Search scopes (RFC 4511 4.5.1.2; 3 is the subordinate subtree of
// draft-sermersheim-ldap-subordinate-scope, as OpenLDAP).
const (
	scopeBase        = 0
	scopeOne         = 1
	scopeSub         = 2
	scopeSubordinate = 3
)

// search answers a SearchRequest (RFC 4511 4.5).
func (c *conn) search(ctx context.Context, req *Request) {
	s := req.Search
	limit := maxSearchTime
	if s.TimeLimit > 0 && time.Duration(s.TimeLimit)*time.Second < limit {
		limit = time.Duration(s.TimeLimit) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	var paged, sorting *Control
	for i := range req.Controls {
		switch req.Controls[i].OID {
		case ldap.ControlTypePaging:
			paged = &req.Controls[i]
		case oidSortRequest:
			sorting = &req.Controls[i]
		}
	}
	var respControls []*ber.Packet

	nbase := normDN(s.Base)
	c.mu.Lock()
	isTLS := c.tls
	c.mu.Unlock()

	// The Root DSE and the subschema are readable by anyone (RFC 4512 5.1).
	if s.Scope == scopeBase && (nbase == "" || nbase == subschema.ndn) {
		e := subschema
		if nbase == "" {
			t, err := c.s.currentTree(ctx)
			if err != nil {
				code, msg := c.errorResult(err)
				c.result(req, code, "", msg)
				return
			}
			e = c.s.rootDSE(t, isTLS)
		}
		if eval(s.Filter, e) == triTrue {
			c.sendBytes(appendEntry(nil, req.ID, e, s), false)
		}
		c.result(req, ldap.LDAPResultSuccess, "", "")
		return
	}
	if !c.mayRead() {
		c.result(req, ldap.LDAPResultInsufficientAccessRights, "", "bind first")
		return
	}
	t, err := c.s.currentTree(ctx)
	if err != nil {
		code, msg := c.errorResult(err)
		c.result(req, code, "", msg)
		return
	}

	var st *pageState
	var pageSize int64
	if paged != nil {
		size, cookie, err := pagedControl(paged.Value)
		if err != nil {
			c.result(req, ldap.LDAPResultProtocolError, "", "bad paged results control")
			return
		}
		pageSize = size
		key := searchKey(s)
		if len(cookie) > 0 {
			c.mu.Lock()
			st = c.paged[string(cookie)]
			delete(c.paged, string(cookie))
			c.mu.Unlock()
			if st == nil || st.key != key {
				c.result(req, ldap.LDAPResultUnwillingToPerform, "", "unknown or changed paged search")
				return
			}
			if size == 0 { // RFC 2696 3: a size of zero abandons the paged search
				c.result(req, ldap.LDAPResultSuccess, "", "", pagedResponse(""))
				return
			}
		} else {
			st = &pageState{key: key}
		}
	}

	var matches []*entry
	if st != nil && st.entries != nil {
		matches = st.entries
	} else {
		var code uint16
		var matched string
		stopAfter := 0
		if paged == nil && sorting == nil && s.SizeLimit > 0 {
			stopAfter = int(s.SizeLimit) + 1
		}
		own, err := c.personalEntries(ctx)
		if err != nil {
			code, msg := c.errorResult(err)
			c.result(req, code, "", msg)
			return
		}
		matches, code, matched, err = c.match(ctx, t, own, nbase, s, stopAfter)
		if errors.Is(err, context.Canceled) {
			return // abandoned
		}
		if err != nil {
			code, msg := c.errorResult(err)
			c.result(req, code, "", msg)
			return
		}
		if code != ldap.LDAPResultSuccess {
			c.result(req, code, matched, "no such entry")
			return
		}
		if sorting != nil {
			keys, err := sortKeys(sorting.Value)
			if err != nil {
				c.result(req, ldap.LDAPResultProtocolError, "", "bad sort control")
				return
			}
			sc, sattr := sortEntries(matches, keys)
			if sc != ldap.LDAPResultSuccess && sorting.Critical { // RFC 2891 1.2
				c.result(req, ldap.LDAPResultUnavailableCriticalExtension, "", "cannot sort", sortResponse(sc, sattr))
				return
			}
			respControls = append(respControls, sortResponse(sc, sattr))
		}
	}

	start, end := 0, len(matches)
	if st != nil {
		st.entries = matches
		start = st.next
		if pageSize > 0 {
			end = min(len(matches), start+int(pageSize))
		}
	}
	code := uint16(ldap.LDAPResultSuccess)
	// The size limit counts entries over the whole (paged) search (RFC 4511 4.5.1.4).
	if s.SizeLimit > 0 && int64(end) > s.SizeLimit {
		end = max(start, int(s.SizeLimit))
		code = ldap.LDAPResultSizeLimitExceeded
	}
	var buf []byte
	for i := start; i < end; i++ {
		if i%256 == 0 && ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return // abandoned: RFC 4511 4.11, no response
			}
			code, msg := c.errorResult(ctx.Err())
			c.result(req, code, "", msg)
			return
		}
		buf = appendEntry(buf[:0], req.ID, matches[i], s)
		if err := c.sendBytes(buf, false); err != nil {
			return
		}
	}
	if st == nil {
		c.result(req, code, "", "", respControls...)
		return
	}
	cookie := ""
	if end < len(matches) && code == ldap.LDAPResultSuccess {
		st.next = end
		cookie = newCookie()
		c.mu.Lock()
		if len(c.paged) >= maxPagedSearchs {
			clear(c.paged) // a client abandoning paged searches without saying so
		}
		c.paged[cookie] = st
		c.mu.Unlock()
	}
	c.result(req, code, "", "", append(respControls, pagedResponse(cookie))...)
}

// match finds the entries in scope that match the filter, in tree order.
//
// stopAfter > 0 ends the walk once that many entries matched (a size-limited search
// that is neither paged nor sorted needs only sizeLimit+1 of them).
//
// own are the bound user's personal entries (ou=contacts under their entry), searched
// like the tree's but never shared with another connection.
func (c *conn) match(ctx context.Context, t *tree, own []*entry, nbase string, s *SearchRequest, stopAfter int) ([]*entry, uint16, string, error) {
	lookup := func(ndn string) *entry {
		if e, ok := t.byNDN[ndn]; ok {
			return e
		}
		for _, e := range own {
			if e.ndn == ndn {
				return e
			}
		}
		return nil
	}
	var inScope func(e *entry) bool
	if nbase == "" {
		// An empty base with a non-base scope searches every naming context.
		if s.Scope == scopeOne {
			inScope = func(e *entry) bool { return e.parent == "" }
		} else {
			inScope = func(*entry) bool { return true }
		}
	} else {
		if lookup(nbase) == nil {
			return nil, ldap.LDAPResultNoSuchObject, matchedDN(t, nbase), nil
		}
		suffix := "," + nbase
		switch s.Scope {
		case scopeBase:
			inScope = func(e *entry) bool { return e.ndn == nbase }
		case scopeOne:
			inScope = func(e *entry) bool { return e.parent == nbase }
		case scopeSub:
			inScope = func(e *entry) bool { return e.ndn == nbase || strings.HasSuffix(e.ndn, suffix) }
		default:
			inScope = func(e *entry) bool { return strings.HasSuffix(e.ndn, suffix) }
		}
	}
	var out []*entry
	check := func(i int, e *entry) error {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if stopAfter > 0 && len(out) >= stopAfter {
			return errEnough
		}
		if inScope(e) && eval(s.Filter, e) == triTrue {
			out = append(out, e)
		}
		return nil
	}
	if s.Scope != scopeBase {
		if cands, ok := candidates(t.snap, s.Filter); ok {
			// Only GAL entries (people and groups) can match an indexed filter: the
			// other entries have none of cn, mail, sn, givenName, displayName.
			for i, ci := range cands {
				if e := t.people[ci]; e != nil {
					if err := check(i, e); err == errEnough {
						break
					} else if err != nil {
						return nil, 0, "", err
					}
				}
			}
			for i, e := range own {
				if err := check(i, e); err == errEnough {
					break
				} else if err != nil {
					return nil, 0, "", err
				}
			}
			return out, ldap.LDAPResultSuccess, "", nil
		}
	}
	if s.Scope == scopeBase {
		if e := lookup(nbase); eval(s.Filter, e) == triTrue {
			out = append(out, e)
		}
		return out, ldap.LDAPResultSuccess, "", nil
	}
	for i, e := range append(t.all[:len(t.all):len(t.all)], own...) {
		if err := check(i, e); err == errEnough {
			break
		} else if err != nil {
			return nil, 0, "", err
		}
	}
	return out, ldap.LDAPResultSuccess, "", nil
}

// matchedDN is the longest existing ancestor of a missing base (RFC 4511 4.1.9).
func matchedDN(t *tree, nbase string) string {
	for dn := nbase; dn != ""; {
		if e, ok := t.byNDN[dn]; ok {
			return e.dn
		}
		_, rest, ok := strings.Cut(dn, ",")
		if !ok {
			break
		}
		dn = rest
	}
	return ""
}

// filterKey is a filter's canonical text, for recognising the same paged search.
func filterKey(b *strings.Builder, f *Filter) {
	b.WriteByte('(')
	b.WriteString(strconv.Itoa(f.Op))
	b.WriteString(strconv.Quote(f.Attr))
	b.WriteString(strconv.Quote(f.Value))
	b.WriteString(strconv.Quote(f.Initial))
	for _, a := range f.Any {
		b.WriteString(strconv.Quote(a))
	}
	b.WriteString(strconv.Quote(f.Final))
	for _, ch := range f.Children {
		filterKey(b, ch)
	}
	b.WriteByte(')')
}

type selection struct {
	allUser, allOper bool
	want             map[string]bool
}

// selection interprets the requested attributes once per search.
func (s *SearchRequest) selection() *selection {
	if s.sel != nil {
		return s.sel
	}
	sel := &selection{allUser: len(s.Attributes) == 0, want: map[string]bool{}}
	for _, a := range s.Attributes {
		switch a {
		case "*":
			sel.allUser = true
		case "+":
			sel.allOper = true
		case "1.1":
		default:
			if n := canonAttr(a); n != "" {
				sel.want[n] = true
			}
		}
	}
	s.sel = sel
	return sel
}

// personalEntries are the bound user's own Contacts folder, under their entry:
// ou=contacts,uid=bob,ou=people,dc=… and one inetOrgPerson per card
// (uid=<item id>,ou=contacts,…). Only the bound account's own folder is ever read.
func (c *conn) personalEntries(ctx context.Context) ([]*entry, error) {
	c.mu.Lock()
	account, userDN := c.account, c.userDN
	c.mu.Unlock()
	if account == 0 {
		return nil, nil
	}
	cards, err := c.s.opts.GAL.PersonalContacts(ctx, account)
	if err != nil {
		return nil, err
	}
	ouDN := "ou=contacts," + userDN
	ou := &entry{dn: ouDN, ndn: normDN(ouDN), parent: normDN(userDN), person: -1, attrs: []attr{
		{"objectClass", []string{"top", "organizationalUnit"}},
		{"ou", []string{"contacts"}},
	}}
	ou.oper = operational(ou, "organizationalUnit", len(cards) > 0)
	out := []*entry{ou.finish()}
	for _, pc := range cards {
		dn := "uid=" + strconv.FormatInt(pc.ItemID, 10) + "," + ouDN
		cn := pc.FullName
		if cn == "" {
			cn = "(no name)"
		}
		sn := pc.Surname
		if sn == "" {
			sn = cn
		}
		e := &entry{dn: dn, ndn: normDN(dn), parent: ou.ndn, person: -1, attrs: []attr{
			{"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
			{"uid", []string{strconv.FormatInt(pc.ItemID, 10)}},
			{"cn", []string{cn}},
			{"sn", []string{sn}},
		}}
		opt := func(name string, vs ...string) {
			if len(vs) > 0 && vs[0] != "" {
				e.attrs = append(e.attrs, attr{name, vs})
			}
		}
		opt("givenName", pc.GivenName)
		opt("displayName", pc.FullName)
		opt("mail", pc.Emails...)
		opt("telephoneNumber", pc.Phones...)
		opt("mobile", pc.Mobiles...)
		opt("o", pc.Org)
		opt("title", pc.Title)
		e.oper = operational(e, "inetOrgPerson", false)
		out = append(out, e.finish())
	}
	return out, nil
}
