package directory

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// TestGALGroups: visible groups are GAL entries of kind "group" with their members,
// found through the index by display name, local part and address; hidden groups and
// hidden members are left out; changes arrive through the feed.
func TestGALGroups(t *testing.T) {
	_, st := newDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, na := range []store.NewAccount{
		{Email: "ann@example.org", Attributes: store.Attributes{DisplayName: "Ann"}},
		{Email: "ghost@example.org", Attributes: store.Attributes{DisplayName: "Ghost", HiddenFromGAL: true}},
	} {
		if _, err := st.CreateAccount(ctx, na); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(ng store.NewGroup) {
		t.Helper()
		if _, err := st.CreateGroup(ctx, ng); err != nil {
			t.Fatal(err)
		}
	}
	mk(store.NewGroup{Email: "secret@example.org", Hidden: true, Members: []string{"ann@example.org"}})
	mk(store.NewGroup{Email: "ops@example.org", DisplayName: "Operations", Members: []string{"ann@example.org", "ghost@example.org", "secret@example.org", "ext@remote.example"}})

	g := NewGAL(st, nil)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	<-g.Ready()
	s := g.Snapshot()
	if _, ok := s.ByEmail("secret@example.org"); ok {
		t.Error("hidden group in the GAL")
	}
	e, ok := s.ByEmail("OPS@example.org")
	if !ok {
		t.Fatal("group not in the GAL")
	}
	if e.Kind != GALGroup || !e.IsGroup() || e.DisplayName != "Operations" || !slices.Equal(e.Members, []string{"ann@example.org", "ext@remote.example"}) {
		t.Errorf("group entry %+v", e)
	}
	if v := e.Values(GALSurname); v != nil {
		t.Errorf("a group has a surname: %v", v)
	}
	idx := int32(slices.IndexFunc(s.Entries, func(x GALEntry) bool { return x.Email == "ops@example.org" }))
	for _, q := range []struct {
		attr GALAttr
		term string
	}{{GALCommonName, "operat"}, {GALCommonName, "ops"}, {GALMail, "ops@"}, {GALDisplayName, "tions"}} {
		if !slices.Contains(s.Candidates(q.attr, "", []string{q.term}, ""), idx) {
			t.Errorf("attr %d %q does not find the group", q.attr, q.term)
		}
	}

	// A change of the group, and of a member's visibility, through the feed. A snapshot
	// published for an earlier hint may come first, so each step waits for its outcome.
	name := "Ops team"
	if _, err := st.UpdateGroup(ctx, "ops@example.org", store.GroupUpdate{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, g, "after rename", func(s *GALSnapshot) bool {
		e, _ := s.ByEmail("ops@example.org")
		return e != nil && e.DisplayName == "Ops team"
	})
	ann, _ := st.AccountByEmail(ctx, "ann@example.org")
	if _, err := st.UpdateAttributes(ctx, ann.ID, func(a *store.Attributes) { a.HiddenFromGAL = true }); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, g, "a member hidden since", func(s *GALSnapshot) bool {
		e, _ := s.ByEmail("ops@example.org")
		return e != nil && slices.Equal(e.Members, []string{"ext@remote.example"})
	})
	if err := st.DeleteGroup(ctx, "ops@example.org"); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, g, "deleted group still in the GAL", func(s *GALSnapshot) bool {
		_, ok := s.ByEmail("ops@example.org")
		return !ok
	})
	cancel()
	<-done
}

// waitSnapshot waits a few seconds at most for a snapshot that satisfies ok.
func waitSnapshot(t *testing.T, g *GAL, what string, ok func(*GALSnapshot) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.Await(ctx, ok); err != nil {
		t.Fatalf("%s: no such snapshot from the feed (last %+v)", what, g.Snapshot().Entries)
	}
}
