package ldapserver

import (
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
)

// The directory tree served (one per hosted domain):
//
//	dc=example,dc=org                 dcObject, organization
//	  ou=people,dc=example,dc=org     organizationalUnit
//	    uid=bob,ou=people,…           inetOrgPerson, one per account not hidden from the GAL
//	  ou=groups,dc=example,dc=org     organizationalUnit
//	    cn=team,ou=groups,…           groupOfNames, one per distribution group not hidden
//
// plus the Root DSE ("") and the subschema subentry (cn=Subschema).

const subschemaDN = "cn=Subschema"

type attr struct {
	name string // canonical
	vals []string
}

type entry struct {
	dn, ndn string
	parent  string              // ndn of the parent
	attrs   []attr              // user attributes
	oper    []attr              // operational attributes
	person  int32               // index into the snapshot's entries, or -1
	norm    map[string][]string // values normalised for matching, by attribute (finish)
	// encAttrs and encOper are attrs and oper BER-encoded for SearchResultEntry
	// (finish; encode.go).
	encAttrs, encOper [][]byte
}

// finish precomputes the normalised values the filters compare.
func (e *entry) finish() *entry {
	e.norm = make(map[string][]string, len(e.attrs)+len(e.oper))
	for _, as := range [][]attr{e.attrs, e.oper} {
		for _, a := range as {
			syn := attrSyntax[a.name]
			n := make([]string, len(a.vals))
			for j, v := range a.vals {
				n[j] = normValue(syn, v)
			}
			e.norm[a.name] = n
		}
	}
	e.encAttrs, e.encOper = encodeAttrs(e.attrs), encodeAttrs(e.oper)
	return e
}

// getNorm returns an attribute's values normalised for matching.
func (e *entry) getNorm(canon string) []string {
	if e.norm != nil {
		return e.norm[canon]
	}
	vals, _ := e.get(canon)
	syn := attrSyntax[canon]
	out := make([]string, len(vals))
	for j, v := range vals {
		out[j] = normValue(syn, v)
	}
	return out
}

func (e *entry) get(canon string) ([]string, bool) {
	for i := range e.attrs {
		if e.attrs[i].name == canon {
			return e.attrs[i].vals, true
		}
	}
	for i := range e.oper {
		if e.oper[i].name == canon {
			return e.oper[i].vals, true
		}
	}
	return nil, false
}

// tree is the LDAP view of one GAL snapshot, built once per snapshot.
type tree struct {
	snap   *directory.GALSnapshot
	bases  []*entry // one per domain
	all    []*entry // every entry below the Root DSE, parents before children
	byNDN  map[string]*entry
	people []*entry // aligned with snap.Entries (people and groups)
}

func buildTree(snap *directory.GALSnapshot) *tree {
	t := &tree{snap: snap, byNDN: map[string]*entry{}, people: make([]*entry, len(snap.Entries))}
	add := func(e *entry) {
		e.finish()
		t.all = append(t.all, e)
		t.byNDN[e.ndn] = e
	}
	baseOf := map[string]string{}
	hasGroups := map[string]bool{}
	for i := range snap.Entries {
		if snap.Entries[i].IsGroup() {
			hasGroups[snap.Entries[i].Domain] = true
		}
	}
	for _, d := range snap.Domains {
		parts := strings.Split(d, ".")
		rdns := make([]string, len(parts))
		for i, p := range parts {
			rdns[i] = "dc=" + ldap.EscapeDN(p)
		}
		base := strings.Join(rdns, ",")
		baseOf[d] = base
		be := &entry{dn: base, ndn: normDN(base), person: -1, attrs: []attr{
			{"objectClass", []string{"top", "dcObject", "organization"}},
			{"dc", []string{parts[0]}},
			{"o", []string{d}},
		}}
		be.oper = operational(be, "organization", true)
		t.bases = append(t.bases, be)
		add(be)
		for _, ou := range []string{"people", "groups"} {
			dn := "ou=" + ou + "," + base
			e := &entry{dn: dn, ndn: normDN(dn), parent: be.ndn, person: -1, attrs: []attr{
				{"objectClass", []string{"top", "organizationalUnit"}},
				{"ou", []string{ou}},
			}}
			e.oper = operational(e, "organizationalUnit", ou == "people" || ou == "groups" && hasGroups[d])
			add(e)
		}
	}
	for i := range snap.Entries {
		p := &snap.Entries[i]
		base, ok := baseOf[p.Domain]
		if !ok {
			continue
		}
		if p.IsGroup() {
			t.people[i] = t.groupEntry(p, int32(i), base, baseOf)
			add(t.people[i])
			continue
		}
		dn := "uid=" + ldap.EscapeDN(p.Local) + ",ou=people," + base
		e := &entry{dn: dn, ndn: normDN(dn), parent: normDN("ou=people," + base), person: int32(i)}
		e.attrs = personAttrs(p)
		e.oper = operational(e, "inetOrgPerson", false)
		t.people[i] = e
		add(e)
	}
	return t
}

func operational(e *entry, structural string, children bool) []attr {
	has := "FALSE"
	if children {
		has = "TRUE"
	}
	return []attr{
		{"structuralObjectClass", []string{structural}},
		{"entryDN", []string{e.dn}},
		{"subschemaSubentry", []string{subschemaDN}},
		{"hasSubordinates", []string{has}},
	}
}

func personAttrs(p *directory.GALEntry) []attr {
	as := []attr{
		{"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
		{"uid", []string{p.Local}},
		{"cn", []string{p.CommonName()}},
		{"sn", []string{p.SurnameOrCN()}},
		{"mail", p.Values(directory.GALMail)},
	}
	opt := func(name, v string) {
		if v != "" {
			as = append(as, attr{name, []string{v}})
		}
	}
	opt("givenName", p.GivenName)
	opt("displayName", p.DisplayName)
	opt("telephoneNumber", p.Phone)
	opt("mobile", p.Mobile)
	opt("title", p.Title)
	opt("ou", p.Department)
	opt("o", p.Company)
	opt("physicalDeliveryOfficeName", p.Office)
	opt("street", p.Street)
	opt("l", p.City)
	opt("postalCode", p.PostalCode)
	// c is a two-letter ISO 3166 code (RFC 4519 2.2); a longer name goes to co.
	if len(p.Country) == 2 {
		opt("c", strings.ToUpper(p.Country))
	} else {
		opt("co", p.Country)
	}
	if len(p.Photo) > 0 {
		as = append(as, attr{"jpegPhoto", []string{string(p.Photo)}})
	}
	return as
}

// attrNames maps every accepted spelling (lower case) to the canonical name.
var attrNames = map[string]string{}

type syntax uint8

const (
	synString syntax = iota // caseIgnoreMatch, caseIgnoreSubstringsMatch
	synPhone                // telephoneNumberMatch: spaces and hyphens ignored
	synOctets               // octetStringMatch; no ordering or substrings
	synBool
)

var attrSyntax = map[string]syntax{"jpegPhoto": synOctets, "telephoneNumber": synPhone, "mobile": synPhone, "hasSubordinates": synBool}

func init() {
	for _, names := range [][]string{
		{"objectClass"}, {"cn", "commonName"}, {"sn", "surname"}, {"givenName", "gn"}, {"displayName"},
		{"mail", "rfc822Mailbox"}, {"uid", "userid"}, {"telephoneNumber"}, {"mobile", "mobileTelephoneNumber"},
		{"title"}, {"ou", "organizationalUnitName"}, {"o", "organizationName"}, {"l", "localityName"},
		{"street", "streetAddress"}, {"postalCode"}, {"c", "countryName"}, {"co", "friendlyCountryName"},
		{"physicalDeliveryOfficeName"}, {"jpegPhoto"}, {"dc", "domainComponent"},
		{"structuralObjectClass"}, {"entryDN"}, {"subschemaSubentry"}, {"hasSubordinates"},
		{"namingContexts"}, {"supportedLDAPVersion"}, {"supportedControl"}, {"supportedExtension"},
		{"supportedFeatures"}, {"vendorName"}, {"attributeTypes"}, {"objectClasses"},
	} {
		for _, n := range names {
			attrNames[strings.ToLower(n)] = names[0]
		}
	}
}

// canonAttr returns the canonical name of an attribute description (options such as
// ";binary" dropped, RFC 4512 2.5), or "" for an attribute this server does not know.
func canonAttr(desc string) string {
	name, _, _ := strings.Cut(desc, ";")
	return attrNames[strings.ToLower(name)]
}

// normDN is the normalised form of a DN used for comparisons: attribute types
// canonical and lower case, values folded (every naming attribute here is caseIgnore),
// no spaces around separators. An unparsable DN normalises to "\x00" + its text, which
// never matches an entry.
func normDN(dn string) string {
	if strings.TrimSpace(dn) == "" {
		return ""
	}
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return "\x00" + dn
	}
	var b strings.Builder
	for i, r := range d.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range r.Attributes {
			if j > 0 {
				b.WriteByte('+')
			}
			typ := canonAttr(a.Type)
			if typ == "" {
				typ = a.Type
			}
			b.WriteString(strings.ToLower(typ))
			b.WriteByte('=')
			b.WriteString(ldap.EscapeDN(directory.Fold(a.Value)))
		}
	}
	return b.String()
}

// rootDSE is the Root DSE (RFC 4512 5.1); all its attributes but objectClass are
// operational.
func (s *Server) rootDSE(t *tree, tls bool) *entry {
	e := &entry{person: -1, attrs: []attr{{"objectClass", []string{"top"}}}}
	var ncs []string
	for _, b := range t.bases {
		ncs = append(ncs, b.dn)
	}
	exts := []string{oidWhoAmI}
	if s.opts.TLS != nil && !tls {
		exts = append(exts, oidStartTLS)
	}
	e.oper = []attr{
		{"namingContexts", ncs},
		{"supportedLDAPVersion", []string{"3"}},
		{"supportedControl", []string{ldap.ControlTypePaging, oidSortRequest}},
		{"supportedExtension", exts},
		// RFC 3673 all operational attributes ("+"), RFC 4526 absolute true and false filters.
		{"supportedFeatures", []string{"1.3.6.1.4.1.4203.1.5.1", "1.3.6.1.4.1.4203.1.5.3"}},
		{"subschemaSubentry", []string{subschemaDN}},
		{"vendorName", []string{"Gatehouse"}},
	}
	return e
}

// subschema is a minimal subschema subentry (RFC 4512 4.2) describing what is served.
var subschema = &entry{dn: subschemaDN, ndn: normDN(subschemaDN), person: -1,
	attrs: []attr{
		{"objectClass", []string{"top", "subentry", "subschema", "extensibleObject"}},
		{"cn", []string{"Subschema"}},
	},
	oper: []attr{
		{"attributeTypes", []string{
			"( 2.5.4.0 NAME 'objectClass' EQUALITY objectIdentifierMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )",
			"( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
			"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
			"( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
			"( 2.5.4.42 NAME ( 'givenName' 'gn' ) SUP name )",
			"( 2.16.840.1.113730.3.1.241 NAME 'displayName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
			"( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
			"( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )",
			"( 2.5.4.20 NAME 'telephoneNumber' EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.50 )",
			"( 0.9.2342.19200300.100.1.41 NAME ( 'mobile' 'mobileTelephoneNumber' ) EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.50 )",
			"( 2.5.4.12 NAME 'title' SUP name )",
			"( 2.5.4.11 NAME ( 'ou' 'organizationalUnitName' ) SUP name )",
			"( 2.5.4.10 NAME ( 'o' 'organizationName' ) SUP name )",
			"( 2.5.4.7 NAME ( 'l' 'localityName' ) SUP name )",
			"( 2.5.4.9 NAME ( 'street' 'streetAddress' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{128} )",
			"( 2.5.4.17 NAME 'postalCode' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{40} )",
			"( 2.5.4.6 NAME ( 'c' 'countryName' ) SUP name SYNTAX 1.3.6.1.4.1.1466.115.121.1.11 SINGLE-VALUE )",
			"( 0.9.2342.19200300.100.1.43 NAME ( 'co' 'friendlyCountryName' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
			"( 2.5.4.19 NAME 'physicalDeliveryOfficeName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{128} )",
			"( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )",
			"( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )",
			"( 2.5.4.13 NAME 'description' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{1024} )",
			"( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
			"( 2.5.4.31 NAME 'member' SUP distinguishedName )",
		}},
		{"objectClasses", []string{
			"( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
			"( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( telephoneNumber ) )",
			"( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY ( title $ ou $ l $ street $ postalCode $ physicalDeliveryOfficeName ) )",
			"( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL MAY ( displayName $ givenName $ jpegPhoto $ mail $ mobile $ o $ uid ) )",
			"( 2.5.6.4 NAME 'organization' SUP top STRUCTURAL MUST o )",
			"( 2.5.6.5 NAME 'organizationalUnit' SUP top STRUCTURAL MUST ou )",
			"( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )",
			"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( description $ o $ ou $ mail $ displayName ) )",
		}},
		{"structuralObjectClass", []string{"subentry"}},
		{"entryDN", []string{subschemaDN}},
		{"subschemaSubentry", []string{subschemaDN}},
	},
}
