package storetest

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// testFullTextSearch: SearchMail and MatchMailUIDs find mail by words of its subject,
// addresses and body (prefixes, case and diacritics ignored), only the principal's,
// follow copies, moves and deletions, and read query syntax in user text literally.
func testFullTextSearch(t *testing.T, b Backend) {
	e := newEnv(t, b)
	bob, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "bob@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	pb := store.Principal{AccountID: bob.ID}
	raw := []byte("From: =?UTF-8?Q?Ren=C3=A9e_Dupr=C3=A9?= <renee@example.net>\r\nTo: alice@example.org\r\n" +
		"Subject: Harbour inspection\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nThe lighthouse r=C3=A9gime starts on Monday.\r\n")
	ds, err := e.st.DeliverMulti(e.ctx, raw, []store.Recipient{{Principal: e.p}, {Principal: pb}})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(t, e.inbox, 1) // an unrelated message
	find := func(p store.Principal, q store.MailQuery) []int64 {
		t.Helper()
		items, total, err := e.st.SearchMail(e.ctx, p, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		if total != len(items) {
			t.Fatalf("search %+v: total %d for %d items", q, total, len(items))
		}
		var ids []int64
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	mine := []int64{ds[0].ItemID}
	for _, q := range []store.MailQuery{
		{Text: "harbour"},
		{Text: "INSPECT", Field: "subject"},
		{Text: "lighthouse regime", Field: "body"},
		{Text: "renee dupre", Field: "addresses"},
		{Text: `"harbour inspection"`},
	} {
		if got := find(e.p, q); !slices.Equal(got, mine) {
			t.Errorf("search %+v: %v, want %v", q, got, mine)
		}
	}
	for _, q := range []store.MailQuery{
		{Text: "harbour", Field: "body"},
		{Text: "harbour OR message"},
		{Text: "subject:harbour"},
		{Text: `NEAR(harbour inspection)`},
	} {
		if got := find(e.p, q); len(got) != 0 {
			t.Errorf("search %+v: %v, want nothing", q, got)
		}
	}
	if got := find(pb, store.MailQuery{Text: "harbour"}); !slices.Equal(got, []int64{ds[1].ItemID}) {
		t.Errorf("bob finds %v, want only his copy %d", got, ds[1].ItemID)
	}
	if got := find(pb, store.MailQuery{Text: "message", Folders: []int64{e.inbox}}); len(got) != 0 {
		t.Errorf("bob finds alice's mail by naming her folder: %v", got)
	}

	other, err := e.st.CreateFolder(e.ctx, e.p, 0, "Projects", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	copies, err := e.st.Copy(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: mine}, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := find(e.p, store.MailQuery{Text: "harbour"}); len(got) != 2 {
		t.Errorf("after copy: %v, want the original and the copy", got)
	}
	uids, err := e.st.MatchMailUIDs(e.ctx, e.p, other.ID, "lighthouse", "body")
	if err != nil || !slices.Equal(uids, []uint32{copies[0].NewUID}) {
		t.Errorf("MatchMailUIDs in the copy's folder: %v %v", uids, err)
	}
	if _, err := e.st.Move(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: mine}, other.ID); err != nil {
		t.Fatal(err)
	}
	if got := find(e.p, store.MailQuery{Text: "harbour", Folders: []int64{e.inbox}}); len(got) != 0 {
		t.Errorf("after move, found in the old folder: %v", got)
	}
	if got := find(e.p, store.MailQuery{Text: "harbour", Folders: []int64{other.ID}}); len(got) != 2 {
		t.Errorf("after move, in the new folder: %v", got)
	}
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: other.ID, IDs: []int64{ds[0].ItemID, copies[0].NewItemID}}); err != nil {
		t.Fatal(err)
	}
	if got := find(e.p, store.MailQuery{Text: "harbour"}); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
	if n, err := e.st.IndexBacklog(e.ctx, 100); err != nil || n != 0 {
		t.Errorf("backlog of a store that indexed every delivery: %d %v", n, err)
	}
}
