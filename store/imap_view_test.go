package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestIMAPViewHelpers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, store.NewAccount{Email: "a@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateAccount(ctx, store.NewAccount{Email: "b@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := store.Principal{AccountID: a.ID}, store.Principal{AccountID: b.ID}
	inbox, err := st.FolderByRole(ctx, pa, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
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
	if u, err := st.FirstUnseenUID(ctx, pa, inbox.ID); err != nil || u != uids[1] {
		t.Errorf("first unseen %d %v", u, err)
	}
	// Another principal reaches nothing.
	if _, err := st.OpenMailboxView(ctx, pb, inbox.ID); err == nil {
		t.Error("another account opened the view")
	}
	if _, err := st.MailItemsByUID(ctx, pb, inbox.ID, []store.UIDRange{{First: 1}}, true); err == nil {
		t.Error("another account read the items")
	}
	if u, err := st.FirstUnseenUID(ctx, pb, inbox.ID); err != nil || u != 0 {
		t.Errorf("another account's first unseen: %d %v", u, err)
	}
}
