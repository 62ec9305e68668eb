package ldapserver

import (
	"cmp"
	"slices"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Server-side sorting (RFC 2891).
const (
	oidSortRequest  = ldap.ControlTypeServerSideSorting       // 1.2.840.113556.1.4.473
	oidSortResponse = ldap.ControlTypeServerSideSortingResult // 1.2.840.113556.1.4.474
)

type sortKey struct {
	attr    string // canonical, "" if unknown
	desc    string // as sent
	rule    string
	reverse bool
}

// sortKeys decodes SortKeyList ::= SEQUENCE OF SEQUENCE { attributeType
// AttributeDescription, orderingRule [0] MatchingRuleId OPTIONAL, reverseOrder [1]
// BOOLEAN DEFAULT FALSE } (RFC 2891 1.1).
func sortKeys(v []byte) ([]sortKey, error) {
	if err := checkShape(v); err != nil {
		return nil, err
	}
	p, err := ber.DecodePacketErr(v)
	if err != nil || p.Tag != ber.TagSequence || p.TagType != ber.TypeConstructed || len(p.Children) == 0 || len(p.Children) > 16 {
		return nil, protoErr("bad sort control")
	}
	var keys []sortKey
	for _, k := range p.Children {
		if k.Tag != ber.TagSequence || k.TagType != ber.TypeConstructed || len(k.Children) == 0 || len(k.Children) > 3 {
			return nil, protoErr("bad sort key")
		}
		desc, err := stringOf(k.Children[0], ber.ClassUniversal, ber.TagOctetString)
		if err != nil {
			return nil, err
		}
		sk := sortKey{desc: desc, attr: canonAttr(desc)}
		for _, o := range k.Children[1:] {
			b, err := bytesOf(o)
			if err != nil || o.ClassType != ber.ClassContext {
				return nil, protoErr("bad sort key")
			}
			switch o.Tag {
			case 0:
				sk.rule = string(b)
			case 1:
				sk.reverse = len(b) == 1 && b[0] != 0
			default:
				return nil, protoErr("bad sort key")
			}
		}
		keys = append(keys, sk)
	}
	return keys, nil
}

// sortEntries sorts in place; it returns the RFC 2891 sortResult code and the failing
// attribute, if any. Entries lacking an attribute sort after those having it.
func sortEntries(es []*entry, keys []sortKey) (uint16, string) {
	for _, k := range keys {
		if k.attr == "" {
			return ldap.LDAPResultNoSuchAttribute, k.desc
		}
		if k.rule != "" || attrSyntax[k.attr] == synOctets {
			return ldap.LDAPResultInappropriateMatching, k.desc
		}
	}
	type row struct {
		e    *entry
		vals []string
		has  []bool
	}
	rows := make([]row, len(es))
	for i, e := range es {
		r := row{e: e, vals: make([]string, len(keys)), has: make([]bool, len(keys))}
		for j, k := range keys {
			vs, _ := e.get(k.attr)
			syn := attrSyntax[k.attr]
			for n, v := range vs {
				v = normValue(syn, v)
				if n == 0 || (!k.reverse && v < r.vals[j]) || (k.reverse && v > r.vals[j]) {
					r.vals[j] = v
				}
				r.has[j] = true
			}
		}
		rows[i] = r
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		for j, k := range keys {
			switch {
			case a.has[j] && !b.has[j]:
				return -1
			case !a.has[j] && b.has[j]:
				return 1
			case !a.has[j]:
				continue
			}
			c := cmp.Compare(a.vals[j], b.vals[j])
			if k.reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	for i := range rows {
		es[i] = rows[i].e
	}
	return ldap.LDAPResultSuccess, ""
}

// sortResponse is SortResult ::= SEQUENCE { sortResult ENUMERATED, attributeType [0]
// AttributeDescription OPTIONAL }.
func sortResponse(code uint16, attr string) *ber.Packet {
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), ""))
	if attr != "" {
		v.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, attr, ""))
	}
	ctl := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	ctl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, oidSortResponse, ""))
	ctl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(v.Bytes()), ""))
	return ctl
}
