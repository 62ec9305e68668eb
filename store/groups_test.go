package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func openGroupStore(t *testing.T) (*store.Store, context.Context) {
	t.Helper()
	st, _ := storeWithAccounts(t, "ann@example.org", "bob@example.org")
	return st, context.Background()
}

// TestGroupAddressCollisions: a group cannot take an account's or alias's address, and
// an account or alias cannot take a group's.
func TestGroupAddressCollisions(t *testing.T) {
	st, ctx := openGroupStore(t)
	ann, _ := st.AccountByEmail(ctx, "ann@example.org")
	if err := st.AddAlias(ctx, ann.ID, "annie@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"ann@example.org", "ANN@example.org", "annie@example.org"} {
		if _, err := st.CreateGroup(ctx, store.NewGroup{Email: addr, Members: []string{"bob@example.org"}}); !errors.Is(err, store.ErrExists) {
			t.Errorf("group at %s: %v, want ErrExists", addr, err)
		}
	}
	g, err := st.CreateGroup(ctx, store.NewGroup{Email: "Team@Example.org", DisplayName: "The Team", Members: []string{"Bob@example.org", "ann@example.org", "x@elsewhere.net"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Email != "team@example.org" || g.DisplayName != "The Team" || !slices.Equal(g.Members, []string{"ann@example.org", "bob@example.org", "x@elsewhere.net"}) {
		t.Errorf("created %+v", g)
	}
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "team@example.org"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("second group at the same address: %v", err)
	}
	if _, err := st.CreateAccount(ctx, store.NewAccount{Email: "TEAM@example.org"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("account at a group's address: %v, want ErrExists", err)
	}
	if err := st.AddAlias(ctx, ann.ID, "team@example.org"); !errors.Is(err, store.ErrExists) {
		t.Errorf("alias at a group's address: %v, want ErrExists", err)
	}
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "g@nothosted.net"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("group in a domain not hosted: %v", err)
	}
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "g2@example.org", Members: []string{"typo@example.org"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown local member: %v", err)
	}
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "g3@example.org", Members: []string{"g3@example.org"}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("group as its own member: %v", err)
	}
	if err := st.DeleteGroup(ctx, "team@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, store.NewAccount{Email: "team@example.org"}); err != nil {
		t.Errorf("account at a deleted group's address: %v", err)
	}
	if err := st.DeleteGroup(ctx, "team@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete of a missing group: %v", err)
	}
}

// TestGroupUpdateAndList: members added and removed, display name and visibility
// changed, listed by domain.
func TestGroupUpdateAndList(t *testing.T) {
	st, ctx := openGroupStore(t)
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "a@example.org", Members: []string{"ann@example.org"}}); err != nil {
		t.Fatal(err)
	}
	name, hidden := "All of A", true
	g, err := st.UpdateGroup(ctx, "a@example.org", store.GroupUpdate{DisplayName: &name, Hidden: &hidden,
		Add: []string{"bob@example.org", "ext@other.net"}, Remove: []string{"ann@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.DisplayName != name || !g.Hidden || !slices.Equal(g.Members, []string{"bob@example.org", "ext@other.net"}) {
		t.Errorf("updated %+v", g)
	}
	if _, err := st.UpdateGroup(ctx, "a@example.org", store.GroupUpdate{Remove: []string{"ann@example.org"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing a non-member: %v", err)
	}
	if _, err := st.UpdateGroup(ctx, "nosuch@example.org", store.GroupUpdate{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing group: %v", err)
	}
	gs, err := st.Groups(ctx, "example.org")
	if err != nil || len(gs) != 1 || !slices.Equal(gs[0].Members, g.Members) {
		t.Errorf("Groups: %+v %v", gs, err)
	}
	if gs, err := st.Groups(ctx, "other.net"); err != nil || len(gs) != 0 {
		t.Errorf("Groups of another domain: %+v %v", gs, err)
	}
}

// TestExpandGroupNestingAndLoops: nested groups expand once each, a member reached
// along two paths appears once, a loop terminates, and the limit stops the walk.
func TestExpandGroupNestingAndLoops(t *testing.T) {
	st, ctx := openGroupStore(t)
	mk := func(addr string, members ...string) {
		t.Helper()
		if _, err := st.CreateGroup(ctx, store.NewGroup{Email: addr, Members: members}); err != nil {
			t.Fatal(err)
		}
	}
	mk("inner@example.org", "bob@example.org", "x@remote.net")
	mk("outer@example.org", "ann@example.org", "bob@example.org", "inner@example.org")
	got, err := st.ExpandGroup(ctx, "OUTER@example.org", 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"ann@example.org", "bob@example.org", "x@remote.net"}; !slices.Equal(got, want) {
		t.Errorf("expanded %v, want %v", got, want)
	}
	// A loop: inner now contains outer.
	if _, err := st.UpdateGroup(ctx, "inner@example.org", store.GroupUpdate{Add: []string{"outer@example.org"}}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"outer@example.org", "inner@example.org"} {
		got, err := st.ExpandGroup(ctx, g, 0)
		if err != nil || len(got) != 3 {
			t.Errorf("%s in a loop: %v %v", g, got, err)
		}
	}
	if got, err := st.ExpandGroup(ctx, "outer@example.org", 2); err != nil || len(got) != 3 {
		t.Errorf("limit 2: %v %v (want the walk stopped at 3)", got, err)
	}
	if _, err := st.ExpandGroup(ctx, "ann@example.org", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expanding an account: %v", err)
	}
	mk("empty@example.org")
	if got, err := st.ExpandGroup(ctx, "empty@example.org", 0); err != nil || len(got) != 0 {
		t.Errorf("empty group: %v %v", got, err)
	}
}

// TestUpdateAttributesKeepsOtherFields: only what the edit changes changes, the feed
// carries a directory hint, and an oversized photo is refused.
func TestUpdateAttributesKeepsOtherFields(t *testing.T) {
	st, ctx := openGroupStore(t)
	ann, _ := st.AccountByEmail(ctx, "ann@example.org")
	if err := st.SetAttributes(ctx, ann.ID, store.Attributes{DisplayName: "Ann A", Phone: "+1 555"}); err != nil {
		t.Fatal(err)
	}
	sub := st.Feed().Subscribe(0)
	defer sub.Close()
	a, err := st.UpdateAttributes(ctx, ann.ID, func(at *store.Attributes) { at.Title = "CTO" })
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "CTO" || a.DisplayName != "Ann A" || a.Phone != "+1 555" {
		t.Errorf("attributes after update: %+v", a.Attributes)
	}
	<-sub.Ready()
	changes, _ := sub.Drain()
	if len(changes) != 1 || changes[0].Kind&store.ChangeDirectory == 0 || changes[0].AccountID != ann.ID {
		t.Errorf("feed: %+v", changes)
	}
	big := make([]byte, store.MaxPhotoSize+1)
	if _, err := st.UpdateAttributes(ctx, ann.ID, func(at *store.Attributes) { at.Photo = big }); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("oversized photo: %v", err)
	}
	if _, err := st.UpdateAttributes(ctx, 9999, func(*store.Attributes) {}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing account: %v", err)
	}
}
