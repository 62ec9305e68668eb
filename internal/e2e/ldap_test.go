package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/testutil"
)

// TestUserAddedByAdminIsFoundOverLDAP: a user added through the control socket (as
// `gatehouse user add` does against a running server) is found by Thunderbird's
// address-book filter over LDAP (go-ldap's client), through the change feed.
func TestUserAddedByAdminIsFoundOverLDAP(t *testing.T) {
	a := testutil.StartApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: "pw-alice"}); err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL("ldap://" + a.Addr("ldap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("alice@example.org", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	search := func() []*ldap.Entry {
		res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 100, 0, false,
			"(|(cn=*zebra*)(mail=*zebra*)(sn=*zebra*)(givenName=*zebra*))", []string{"cn", "mail"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return res.Entries
	}
	if got := search(); len(got) != 0 {
		t.Fatalf("found %d entries before the user exists", len(got))
	}
	resp, err := admin.Call(ctx, a.Cfg.DataDir, admin.Request{Op: "user.add", Email: "zebra@example.org", Name: "Zed Zebra", Password: "pw"})
	if err != nil || resp.Exit != 0 {
		t.Fatalf("user add: %+v %v", resp, err)
	}
	for {
		got := search()
		if len(got) == 1 {
			if mail := got[0].GetAttributeValue("mail"); mail != "zebra@example.org" {
				t.Errorf("mail %q", mail)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("new user never appeared over LDAP (%d entries)", len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
