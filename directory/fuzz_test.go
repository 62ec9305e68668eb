package directory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// FuzzResolveLogin: login names come straight from IMAP, SMTP, LDAP and HTTP clients.
func FuzzResolveLogin(f *testing.F) {
	for _, s := range []string{"bob@example.org", `EXAMPLE\bob`, `example.org\bob`, "bob", `\`, `\\@@`, "BOB@EXAMPLE.ORG", "bob@example.org.", "", "@", "a\x00b"} {
		f.Add(s)
	}
	st, err := store.Open(context.Background(), store.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	d := New(st, Options{DefaultDomain: "example.org"})
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		f.Fatal(err)
	}
	bob, err := st.CreateAccount(ctx, store.NewAccount{Email: "bob@example.org", PasswordHash: "x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, user string) {
		acct, err := d.ResolveLogin(ctx, user)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%q: %v", user, err)
			}
			return
		}
		if acct.ID != bob.ID || !strings.Contains(strings.ToLower(user), "bob") {
			t.Fatalf("%q resolved to %+v", user, acct)
		}
	})
}
