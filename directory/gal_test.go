package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestGALIndexAndFeed(t *testing.T) {
	d, st := newDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "admin@example.org", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	names := []string{"Anna Schmidt", "Jürgen Müller", "Ann Lee", "Bob  Marley", "Zoë Ngô", "Li", "Amanda Annan"}
	for i, n := range names {
		given, sur, _ := strings.Cut(n, " ")
		if _, err := st.CreateAccount(ctx, store.NewAccount{Email: fmt.Sprintf("p%d@example.org", i),
			Attributes: store.Attributes{DisplayName: n, GivenName: given, Surname: strings.TrimSpace(sur), HiddenFromGAL: i == 6}}); err != nil {
			t.Fatal(err)
		}
	}
	g := NewGAL(st, nil)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	<-g.Ready()
	s := g.Snapshot()
	if len(s.Entries) != 7 { // admin and six visible people
		t.Fatalf("%d entries", len(s.Entries))
	}
	// The index answers a superset of the brute-force answer for every term.
	for _, term := range []string{"a", "an", "ann", "anna", "nna sch", "ü", "müll", "ngô", "zz", "i", "bob m", "p1@"} {
		for a := range galAttrs {
			got := s.Candidates(a, "", []string{term}, "")
			for i := range s.Entries {
				match := slices.ContainsFunc(s.Entries[i].Values(a), func(v string) bool { return strings.Contains(Fold(v), Fold(term)) })
				if match && !slices.Contains(got, int32(i)) {
					t.Errorf("attr %d term %q: entry %s missing", a, term, s.Entries[i].Email)
				}
			}
		}
	}
	if e, ok := s.ByEmail("P3@EXAMPLE.ORG"); !ok || e.CommonName() != "Bob  Marley" {
		t.Errorf("by email: %v", e)
	}
	id, _ := st.ResolveAddress(ctx, "p0@example.org")
	if err := st.AddAlias(ctx, id, "anna@example.org"); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, g, "alias not in the GAL", func(s *GALSnapshot) bool {
		_, ok := s.ByEmail("anna@example.org")
		return ok
	})
	if err := st.DeleteAccount(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, g, "deleted account still in the GAL", func(s *GALSnapshot) bool {
		_, ok := s.ByEmail("p0@example.org")
		return !ok
	})
	cancel()
	<-done
}

func TestParseVCard(t *testing.T) {
	pc := ParseVCard("BEGIN:VCARD\r\nVERSION:3.0\r\nN:M\\;uller;J\\,rgen;;;\r\nFN:J\\, M\r\n very long\r\n" +
		"item1.EMAIL;TYPE=INTERNET:a@b.test\r\nTEL;TYPE=CELL:+1 2\r\nTEL;TYPE=WORK:+3 4\r\nORG:Acme;Sales\r\nTITLE:Boss\r\nEND:VCARD\r\n")
	want := PersonalContact{FullName: "J, Mvery long", GivenName: "J,rgen", Surname: "M;uller", Org: "Acme", Title: "Boss",
		Emails: []string{"a@b.test"}, Phones: []string{"+3 4"}, Mobiles: []string{"+1 2"}}
	if fmt.Sprint(pc) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", pc, want)
	}
}
