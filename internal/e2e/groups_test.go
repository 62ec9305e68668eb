package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testutil"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// adminDo runs an admin request through the running server's control socket, as the
// gatehouse command does.
func adminDo(t *testing.T, a *app.App, req admin.Request) string {
	t.Helper()
	resp, err := admin.Call(context.Background(), a.Cfg.DataDir, req)
	if err != nil || resp.Exit != 0 {
		t.Fatalf("%s: %+v %v", req.Op, resp, err)
	}
	return resp.Output
}

func inboxCount(t *testing.T, st *store.Store, email string) int {
	t.Helper()
	return len(storetest.InboxMessages(t, st, email))
}

// TestGroupMailAndDirectory: groups made through the control socket receive mail over
// the MX (go-smtp's client): a group of two people and a nested group that loops back
// reaches each member once. The groups are groupOfNames over LDAP (go-ldap's client),
// and `user set --title` shows over LDAP right after, through the change feed.
func TestGroupMailAndDirectory(t *testing.T) {
	a := testutil.StartApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, u := range []string{"ann@example.org", "bob@example.org", "carol@example.org"} {
		if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: u, Password: "pw-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	adminDo(t, a, admin.Request{Op: "group.add", Email: "inner@example.org", Members: []string{"bob@example.org", "carol@example.org"}})
	adminDo(t, a, admin.Request{Op: "group.add", Email: "team@example.org", Name: "The Team", Members: []string{"ann@example.org", "bob@example.org", "inner@example.org"}})
	adminDo(t, a, admin.Request{Op: "group.members", Email: "inner@example.org", Members: []string{"team@example.org"}}) // a loop

	sc, err := gosmtp.Dial(a.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	msg := "From: someone@example.net\r\nTo: The Team <team@example.org>\r\nSubject: hello team\r\n\r\nHi.\r\n"
	if err := sc.SendMail("someone@example.net", []string{"team@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann@example.org", "bob@example.org", "carol@example.org"} {
		if n := inboxCount(t, a.Store, u); n != 1 {
			t.Errorf("%s has %d messages, want 1", u, n)
		}
	}

	c, err := ldap.DialURL("ldap://" + a.Addr("ldap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("ann@example.org", "pw-ann@example.org"); err != nil {
		t.Fatal(err)
	}
	search := func(filter string, attrs ...string) []*ldap.Entry {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
		if err != nil {
			t.Fatal(err)
		}
		return res.Entries
	}
	es := search("(&(objectClass=groupOfNames)(mail=team@example.org))", "member", "cn")
	if len(es) != 1 {
		t.Fatalf("group over LDAP: %d entries", len(es))
	}
	members := es[0].GetAttributeValues("member")
	slices.Sort(members)
	if want := []string{"cn=inner,ou=groups,dc=example,dc=org", "uid=ann,ou=people,dc=example,dc=org", "uid=bob,ou=people,dc=example,dc=org"}; !slices.Equal(members, want) {
		t.Errorf("members %v, want %v", members, want)
	}

	adminDo(t, a, admin.Request{Op: "user.set", Email: "bob@example.org", Attrs: map[string]string{"title": "Chief Gardener"}})
	start := time.Now()
	for {
		es := search("(title=chief gardener)", "mail")
		if len(es) == 1 && es[0].GetAttributeValue("mail") == "bob@example.org" {
			t.Logf("title visible over LDAP %v after user set returned", time.Since(start))
			break
		}
		if ctx.Err() != nil {
			t.Fatal("user set --title never showed over LDAP")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
