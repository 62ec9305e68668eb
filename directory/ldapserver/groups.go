package ldapserver

import (
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
)

// Distribution groups are served as groupOfNames (RFC 4519 3.5) under ou=groups:
//
//	cn=team,ou=groups,dc=example,dc=org
//	  objectClass: top, groupOfNames
//	  cn: <display name>, team
//	  mail: team@example.org
//	  displayName, description: <display name>
//	  member: uid=ann,ou=people,dc=example,dc=org   (members in the address book)
//
// member lists the members that are entries of the tree (people and nested groups);
// external addresses have no DN and are not listed. Hidden accounts and groups are not
// members here either (directory.GAL leaves them out).

// synDN is distinguishedNameMatch (RFC 4517 4.2.15): values compared as normalised DNs.
const synDN syntax = 100

func init() {
	for _, names := range [][]string{{"member"}, {"description"}} {
		for _, n := range names {
			attrNames[strings.ToLower(n)] = names[0]
		}
	}
	attrSyntax["member"] = synDN
}

// entryDN is the DN of a GAL entry whose domain has the given base.
func entryDN(p *directory.GALEntry, base string) string {
	if p.IsGroup() {
		return "cn=" + ldap.EscapeDN(p.Local) + ",ou=groups," + base
	}
	return "uid=" + ldap.EscapeDN(p.Local) + ",ou=people," + base
}

// groupEntry makes the entry of the group at index i of the snapshot.
func (t *tree) groupEntry(p *directory.GALEntry, i int32, base string, baseOf map[string]string) *entry {
	dn := entryDN(p, base)
	e := &entry{dn: dn, ndn: normDN(dn), parent: normDN("ou=groups," + base), person: i}
	e.attrs = []attr{
		{"objectClass", []string{"top", "groupOfNames"}},
		{"cn", p.Values(directory.GALCommonName)},
		{"mail", p.Values(directory.GALMail)},
	}
	if p.DisplayName != "" {
		e.attrs = append(e.attrs, attr{"displayName", []string{p.DisplayName}}, attr{"description", []string{p.DisplayName}})
	}
	var members []string
	for _, m := range p.Members {
		me, ok := t.snap.ByEmail(m)
		if !ok {
			continue
		}
		if b, ok := baseOf[me.Domain]; ok {
			members = append(members, entryDN(me, b))
		}
	}
	if len(members) > 0 {
		e.attrs = append(e.attrs, attr{"member", members})
	}
	e.oper = operational(e, "groupOfNames", false)
	return e
}
