package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestIMAPViewHelpers(t *testing.T) {
	ctx := context.Background()
	st, pa, pb, inbox := twoAccounts(t)
	msg := func(s string) []byte { return []byte("Subject: " + s + "\r\n\r\nbody " + s + "\r\n") }
	var uids []uint32
	for i, opts := range []store.DeliverOptions{
		{Flags: store.FlagSeen, Keywords: []string{"$Work"}},
		{},
		{Keywords: []string{"$Later", "$Work"}},
	} {
		d, err := st.Deliver(ctx, pa, inbox.ID, msg(string(rune('a'+i))), opts)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, d.UID)
	}
	v, err := st.OpenMailboxView(ctx, pa, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.UIDs, uids) || !slices.Equal(v.Keywords, []string{"$Later", "$Work"}) || v.Modseq == 0 || v.Folder.ID != inbox.ID {
		t.Errorf("view %+v", v)
	}
	// Each message's flags at the view's modseq, keywords only for those that have any.
	if !slices.Equal(v.Flags, []store.Flags{store.FlagSeen, 0, 0}) || len(v.ItemKeywords) != 2 ||
		!slices.Equal(v.ItemKeywords[uids[0]], []string{"$Work"}) || !slices.Equal(v.ItemKeywords[uids[2]], []string{"$Later", "$Work"}) {
		t.Errorf("view flags %v keywords %v", v.Flags, v.ItemKeywords)
	}
	// Delta from the view's watermark sees exactly what came after it.
	if _, err := st.SetFlags(ctx, pa, store.Selector{FolderID: inbox.ID, UIDs: []store.UIDRange{{First: uids[1], Last: uids[1]}}}, store.FlagsAdd, store.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	d, err := st.Delta(ctx, pa, inbox.ID, v.Modseq)
	if err != nil || len(d.Items) != 1 || d.Items[0].UID != uids[1] {
		t.Errorf("delta after the view: %+v %v", d, err)
	}
	items, err := st.MailItemsByUID(ctx, pa, inbox.ID, []store.UIDRange{{First: uids[0], Last: uids[0]}, {First: uids[2], Last: 0}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].UID != uids[0] || items[1].UID != uids[2] || len(items[0].Structure) == 0 {
		t.Errorf("items %+v", items)
	}
	items, err = st.MailItemsByUID(ctx, pa, inbox.ID, []store.UIDRange{{First: 1}}, false)
	if err != nil || len(items) != 3 || items[0].Structure != nil {
		t.Errorf("items without structure: %d %v", len(items), err)
	}
	// Another principal reaches nothing.
	if _, err := st.OpenMailboxView(ctx, pb, inbox.ID); err == nil {
		t.Error("another account opened the view")
	}
	if _, err := st.MailItemsByUID(ctx, pb, inbox.ID, []store.UIDRange{{First: 1}}, true); err == nil {
		t.Error("another account read the items")
	}
}

// storeWithAccounts opens a store in a temp dir, closed when the test ends, with the
// domain example.org and an account for each address, and returns their principals.
func storeWithAccounts(t *testing.T, emails ...string) (*store.Store, []store.Principal) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	var ps []store.Principal
	for _, email := range emails {
		acct, err := st.CreateAccount(ctx, store.NewAccount{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, store.Principal{AccountID: acct.ID})
	}
	return st, ps
}

// twoAccounts is storeWithAccounts with a@ and b@example.org, and a@'s Inbox.
func twoAccounts(t *testing.T) (*store.Store, store.Principal, store.Principal, store.Folder) {
	t.Helper()
	st, ps := storeWithAccounts(t, "a@example.org", "b@example.org")
	inbox, err := st.FolderByRole(context.Background(), ps[0], store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	return st, ps[0], ps[1], inbox
}
