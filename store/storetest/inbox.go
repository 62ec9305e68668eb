package storetest

import (
	"context"
	"io"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// FolderMessages returns the items of an account's folder with the given role and their
// raw messages, in uid order: what a front end's test reads back after a delivery.
func FolderMessages(t testing.TB, st *store.Store, p store.Principal, role store.Role) ([]store.Item, []string) {
	t.Helper()
	ctx := context.Background()
	f, err := st.FolderByRole(ctx, p, role)
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.ListItems(ctx, p, f.ID, store.UIDRange{First: 1})
	if err != nil {
		t.Fatal(err)
	}
	raws := make([]string, 0, len(items))
	for _, it := range items {
		b, err := st.OpenBlob(ctx, p, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, string(raw))
	}
	return items, raws
}

// InboxMessages returns the raw messages in the Inbox of the account with that
// address, in uid order.
func InboxMessages(t testing.TB, st *store.Store, email string) []string {
	t.Helper()
	a, err := st.AccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	_, raws := FolderMessages(t, st, store.Principal{AccountID: a.ID}, store.RoleInbox)
	return raws
}
