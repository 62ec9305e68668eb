package ldapserver

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// withGroups adds to newEnv's directory
//
//	team@example.org   "Core Team": bob, ghost (hidden), carol@other.test, sub, ext@remote.example
//	sub@example.org    bob
//	secret@example.org hidden: bob
//
// and waits for the GAL to show them.
func withGroups(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, g := range []store.NewGroup{
		{Email: "sub@example.org", Members: []string{"bob@example.org"}},
		{Email: "secret@example.org", Hidden: true, Members: []string{"bob@example.org"}},
		{Email: "team@example.org", DisplayName: "Core Team", Members: []string{"robert@example.org", "ghost@example.org", "carol@other.test", "sub@example.org", "ext@remote.example"}},
	} {
		if _, err := e.st.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	e.awaitGAL(t, "groups never reached the GAL", func(s *directory.GALSnapshot) bool {
		_, ok := s.ByEmail("team@example.org")
		return ok
	})
}

const (
	teamDN = "cn=team,ou=groups,dc=example,dc=org"
	subDN  = "cn=sub,ou=groups,dc=example,dc=org"
)

// TestGroupsOverLDAP: groups are groupOfNames under ou=groups with cn, mail, description
// and the DNs of their members in the tree, found by objectClass, mail, member and the
// Thunderbird filter from the base; hidden groups and hidden members are not shown.
func TestGroupsOverLDAP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	withGroups(t, e)
	c := e.bound(t)

	if got := dns(search(t, c, base, "(objectClass=groupOfNames)")); !slices.Equal(got, []string{subDN, teamDN}) {
		t.Errorf("groupOfNames: %v", got)
	}
	es := search(t, c, base, "(mail=TEAM@example.org)", "*", "+")
	if len(es) != 1 || es[0].DN != teamDN {
		t.Fatalf("by mail: %v", dns(es))
	}
	g := es[0]
	members := g.GetAttributeValues("member")
	slices.Sort(members)
	if want := []string{subDN, bobDN, "uid=carol,ou=people,dc=other,dc=test"}; !slices.Equal(members, want) {
		t.Errorf("members %v, want %v", members, want)
	}
	if !slices.Equal(g.GetAttributeValues("cn"), []string{"Core Team", "team"}) || g.GetAttributeValue("description") != "Core Team" ||
		!slices.Contains(g.GetAttributeValues("objectClass"), "groupOfNames") || g.GetAttributeValue("structuralObjectClass") != "groupOfNames" {
		t.Errorf("group attributes: %+v", g.Attributes)
	}
	// Thunderbird's address-book filter from the base finds groups and people alike.
	tb := func(x string) string {
		return "(|(cn=*" + x + "*)(mail=*" + x + "*)(sn=*" + x + "*)(givenName=*" + x + "*))"
	}
	if got := dns(search(t, c, base, tb("core"))); !slices.Equal(got, []string{teamDN}) {
		t.Errorf("thunderbird core: %v", got)
	}
	if got := dns(search(t, c, base, tb("secret"))); len(got) != 0 {
		t.Errorf("hidden group found: %v", got)
	}
	if got := dns(search(t, c, base, "(member=uid=bob, ou=people, dc=example, dc=org)")); !slices.Equal(got, []string{subDN, teamDN}) {
		t.Errorf("by member: %v", got)
	}
	res, err := c.Search(ldap.NewSearchRequest("ou=groups,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil || !slices.Equal(dns(res.Entries), []string{subDN, teamDN}) {
		t.Errorf("one level under ou=groups: %v %v", err, dns(res.Entries))
	}
	// People searches do not return groups.
	if got := search(t, c, "ou=people,"+base, tb("team")); len(got) != 0 {
		t.Errorf("group under ou=people: %v", dns(got))
	}
}

// TestGroupsLdapsearch: OpenLDAP's ldapsearch finds a group with its members.
func TestGroupsLdapsearch(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("ldapsearch")
	if err != nil {
		t.Skip("ldapsearch not installed (Debian: ldap-utils)")
	}
	e := newEnv(t, 0)
	withGroups(t, e)
	cmd := exec.Command(bin, "-x", "-LLL", "-o", "ldif-wrap=no", "-H", "ldap://"+e.addr, "-D", bobDN, "-w", "s3cret",
		"-b", base, "(&(objectClass=groupOfNames)(|(cn=*team*)(mail=*team*)))", "cn", "mail", "member")
	cmd.Env = append(cmd.Environ(), "LDAPCONF=/dev/null", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	for _, want := range []string{"dn: " + teamDN, "mail: team@example.org", "member: " + bobDN, "member: " + subDN, "cn: Core Team"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "ghost") || strings.Contains(string(out), "secret") {
		t.Errorf("hidden entries shown:\n%s", out)
	}
}
