package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store/migrations"
)

// ftsEnv is a store with two accounts (alice, bob) for the full-text index tests.
type ftsEnv struct {
	st           *Store
	ctx          context.Context
	alice, bob   Principal
	inbox, bobIn int64
}

func newFTSEnv(t *testing.T) *ftsEnv {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	e := &ftsEnv{st: st, ctx: ctx}
	for _, who := range []struct {
		email string
		p     *Principal
		inbox *int64
	}{{"alice@example.org", &e.alice, &e.inbox}, {"bob@example.org", &e.bob, &e.bobIn}} {
		a, err := st.CreateAccount(ctx, NewAccount{Email: who.email})
		if err != nil {
			t.Fatal(err)
		}
		*who.p = Principal{AccountID: a.ID}
		f, err := st.FolderByRole(ctx, *who.p, RoleInbox)
		if err != nil {
			t.Fatal(err)
		}
		*who.inbox = f.ID
	}
	return e
}

func (e *ftsEnv) deliver(t *testing.T, p Principal, folder int64, raw string) Delivered {
	t.Helper()
	d, err := e.st.Deliver(e.ctx, p, folder, []byte(strings.ReplaceAll(raw, "\n", "\r\n")), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// search returns the ids SearchMail finds, newest first.
func (e *ftsEnv) search(t *testing.T, p Principal, q MailQuery) []int64 {
	t.Helper()
	items, total, err := e.st.SearchMail(e.ctx, p, q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	if total < len(items) {
		t.Fatalf("search %+v: total %d below %d items", q, total, len(items))
	}
	var ids []int64
	for _, it := range items {
		if it.AccountID != p.AccountID {
			t.Fatalf("search %+v: item %d of account %d", q, it.ID, it.AccountID)
		}
		ids = append(ids, it.ID)
	}
	return ids
}

func (e *ftsEnv) rowExists(t *testing.T, id int64) bool {
	t.Helper()
	var n int
	if err := e.st.rdb.QueryRowContext(e.ctx, "SELECT count(*) FROM item_fts WHERE rowid = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

const (
	msgPlainQP = `From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller?= <zoe@example.net>
To: Alice <alice@example.org>
Cc: Carol Danvers <carol@example.com>
Subject: Quarterly budget review
Date: Sun, 1 Mar 2026 10:00:00 +0000
Message-ID: <qp@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Let us meet at the caf=C3=A9 near the station to discuss the sp=
readsheet.
`
	msgBase64 = `From: Mallory <mallory@example.net>
To: alice@example.org
Subject: Base64 news
Date: Sun, 1 Mar 2026 11:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + "VGhlIHBlbmd1aW4gY29sb255IGhhcyBncm93bi4K" + `
`
	msgHTMLOnly = `From: Newsletter <news@example.net>
To: alice@example.org
Subject: Weekly letter
Date: Sun, 1 Mar 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><title>hiddentitle</title><style>.hiddenstyle{color:red}</style></head>
<body><p>Grand <b>open</b>ing of the <a href="http://x.example/">aquarium</a>&nbsp;&amp; zoo</p>
<script>var hiddenscript = 1;</script><!-- hiddencomment --></body></html>
`
)

func TestFTSDeliveryFinds(t *testing.T) {
	e := newFTSEnv(t)
	qp := e.deliver(t, e.alice, 0, msgPlainQP)
	b64 := e.deliver(t, e.alice, 0, msgBase64)
	html := e.deliver(t, e.alice, 0, msgHTMLOnly)
	for _, tc := range []struct {
		text, field string
		want        []int64
	}{
		{"budget", "", []int64{qp.ItemID}},
		{"BUDG", "subject", []int64{qp.ItemID}},            // prefix, any case
		{"budget", "body", nil},                            // the word is in the subject only
		{"spreadsheet", "body", []int64{qp.ItemID}},        // a soft line break of quoted-printable
		{"cafe", "", []int64{qp.ItemID}},                   // diacritics ignored
		{"café", "body", []int64{qp.ItemID}},               // or given
		{"zoe muller", "addresses", []int64{qp.ItemID}},    // an encoded sender name
		{"carol@example.com", "", []int64{qp.ItemID}},      // an address of Cc
		{"penguin colony", "body", []int64{b64.ItemID}},    // base64
		{"opening aquarium zoo", "", []int64{html.ItemID}}, // HTML-only: tags stripped, inline tags join
		{"hiddentitle", "", nil},
		{"hiddenstyle", "", nil},
		{"hiddenscript", "", nil},
		{"hiddencomment", "", nil},
		{`"budget review"`, "", []int64{qp.ItemID}},
		{`"review budget"`, "", nil},                                              // a phrase keeps its order
		{"example.net", "addresses", []int64{html.ItemID, b64.ItemID, qp.ItemID}}, // newest first
		{"nosuchword", "", nil},
		{"qu", "", nil},                    // a short word matches whole words only
		{"at", "body", []int64{qp.ItemID}}, // and so it does
	} {
		got := e.search(t, e.alice, MailQuery{Text: tc.text, Field: tc.field})
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q in %q: %v, want %v", tc.text, tc.field, got, tc.want)
		}
	}
	if _, _, err := e.st.SearchMail(e.ctx, e.alice, MailQuery{Text: "x", Field: "header"}); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestFTSDatePagingAndCount(t *testing.T) {
	e := newFTSEnv(t)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 5 {
		d, err := e.st.Deliver(e.ctx, e.alice, 0, []byte(fmt.Sprintf("Subject: report %d\r\n\r\nbody\r\n", i)),
			DeliverOptions{InternalDate: base.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ItemID)
	}
	items, total, err := e.st.SearchMail(e.ctx, e.alice, MailQuery{Text: "report", Offset: 1, Limit: 2})
	if err != nil || total != 5 || len(items) != 2 || items[0].ID != ids[3] || items[1].ID != ids[2] {
		t.Fatalf("page 2: %v total %d %v", items, total, err)
	}
	got := e.search(t, e.alice, MailQuery{Text: "report", Since: base.Add(time.Hour), Before: base.Add(3 * time.Hour)})
	if !slices.Equal(got, []int64{ids[2], ids[1]}) {
		t.Fatalf("date range: %v", got)
	}
}

func TestFTSMultiRecipientAndIsolation(t *testing.T) {
	e := newFTSEnv(t)
	ds, err := e.st.DeliverMulti(e.ctx, []byte(strings.ReplaceAll(msgPlainQP, "\n", "\r\n")),
		[]Recipient{{Principal: e.alice}, {Principal: e.bob}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget"}); !slices.Equal(got, []int64{ds[0].ItemID}) {
		t.Errorf("alice finds %v, want her copy %d", got, ds[0].ItemID)
	}
	if got := e.search(t, e.bob, MailQuery{Text: "budget"}); !slices.Equal(got, []int64{ds[1].ItemID}) {
		t.Errorf("bob finds %v, want his copy %d", got, ds[1].ItemID)
	}
	only := e.deliver(t, e.alice, 0, msgBase64)
	// Naming alice's folder does not let bob in.
	if got := e.search(t, e.bob, MailQuery{Text: "penguin", Folders: []int64{e.inbox}}); len(got) != 0 {
		t.Errorf("bob finds alice's item: %v", got)
	}
	if uids, err := e.st.MatchMailUIDs(e.ctx, e.bob, e.inbox, "penguin", ""); err == nil || len(uids) != 0 {
		t.Errorf("bob matches in alice's folder: %v %v", uids, err)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "penguin"}); !slices.Equal(got, []int64{only.ItemID}) {
		t.Errorf("alice: %v", got)
	}
}

func TestFTSCopyMoveDelete(t *testing.T) {
	e := newFTSEnv(t)
	d := e.deliver(t, e.alice, 0, msgPlainQP)
	e.deliver(t, e.alice, 0, msgBase64)
	a, err := e.st.CreateFolder(e.ctx, e.alice, 0, "Archive A", ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.st.CreateFolder(e.ctx, e.alice, 0, "Archive B", ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	sel := Selector{FolderID: e.inbox, UIDs: []UIDRange{{First: d.UID, Last: d.UID}}}
	// The text is extracted before Copy's mutation, which writes the row.
	if docs := e.st.ftsDocsForCopy(e.ctx, e.alice, sel); len(docs) != 1 {
		t.Fatalf("text extracted for the copy: %v", docs)
	}
	copies, err := e.st.Copy(e.ctx, e.alice, sel, a.ID)
	if err != nil || len(copies) != 1 {
		t.Fatalf("copy: %v %v", copies, err)
	}
	cp := copies[0].NewItemID
	if !e.rowExists(t, cp) {
		t.Fatal("the copy has no index row after its mutation")
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget"}); len(got) != 2 || !slices.Contains(got, cp) || !slices.Contains(got, d.ItemID) {
		t.Fatalf("after copy: %v, want %d and %d", got, d.ItemID, cp)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget", Folders: []int64{a.ID}}); !slices.Equal(got, []int64{cp}) {
		t.Fatalf("in the copy's folder: %v", got)
	}
	uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, a.ID, "budget", "subject")
	if err != nil || !slices.Equal(uids, []uint32{copies[0].NewUID}) {
		t.Fatalf("MatchMailUIDs: %v %v", uids, err)
	}
	if _, err := e.st.Move(e.ctx, e.alice, Selector{FolderID: a.ID, IDs: []int64{cp}}, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget", Folders: []int64{a.ID}}); len(got) != 0 {
		t.Fatalf("still found in the folder it left: %v", got)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget", Folders: []int64{b.ID}}); !slices.Equal(got, []int64{cp}) {
		t.Fatalf("not found in the folder it moved to: %v", got)
	}
	if _, err := e.st.Delete(e.ctx, e.alice, Selector{FolderID: b.ID, IDs: []int64{cp}}); err != nil {
		t.Fatal(err)
	}
	if e.rowExists(t, cp) {
		t.Fatal("a deleted item keeps its index row")
	}
	if _, err := e.st.SetFlags(e.ctx, e.alice, Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}, FlagsAdd, FlagDeleted, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Expunge(e.ctx, e.alice, e.inbox, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "budget"}); len(got) != 0 || e.rowExists(t, d.ItemID) {
		t.Fatalf("after expunge: %v", got)
	}
	// Deleting a folder drops its items' rows too.
	c := e.deliver(t, e.alice, a.ID, msgHTMLOnly)
	if err := e.st.DeleteFolder(e.ctx, e.alice, a.ID); err != nil {
		t.Fatal(err)
	}
	if e.rowExists(t, c.ItemID) {
		t.Fatal("an item of a deleted folder keeps its index row")
	}
}

// TestFTSCopyLate: a copy whose text was not extracted before its mutation (the
// selection grew meanwhile, or the budget ran out) is indexed right after the commit.
func TestFTSCopyLate(t *testing.T) {
	e := newFTSEnv(t)
	d := e.deliver(t, e.alice, 0, msgBase64)
	a, err := e.st.CreateFolder(e.ctx, e.alice, 0, "A", ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	var late []int64
	err = e.st.write(e.ctx, func(tx *tx) error {
		_, dst, items, err := tx.transfer(e.alice, Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}, a.ID, "copy")
		if err != nil {
			return err
		}
		it := items[0]
		if err := tx.blobRef(it.BlobHash, it.Size, 1, nil); err != nil {
			return err
		}
		nd, err := tx.insertItem(e.alice.AccountID, dst.ID, it.Class, it.Flags, nil, it.InternalDate, it.Size,
			func(uid uint32, m int64) (sql.Result, error) {
				return tx.exec(`INSERT INTO item(account_id, folder_id, uid, modseq, create_modseq, class, internal_date, size, blob_hash)
SELECT account_id, ?, ?, ?, ?, class, internal_date, size, blob_hash FROM item WHERE id = ?`, dst.ID, uid, m, m, it.ID)
			})
		late = append(late, nd.ItemID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.rowExists(t, late[0]) {
		t.Fatal("test setup: the copy already has a row")
	}
	e.st.ftsIndexLate(e.ctx, late)
	if got := e.search(t, e.alice, MailQuery{Text: "penguin", Folders: []int64{a.ID}}); !slices.Equal(got, late) {
		t.Fatalf("late-indexed copy: %v, want %v", got, late)
	}
}

// TestFTSHostileInput: query syntax in user text is matched literally and never errors.
func TestFTSHostileInput(t *testing.T) {
	e := newFTSEnv(t)
	d := e.deliver(t, e.alice, 0, msgPlainQP)
	e.deliver(t, e.alice, 0, "Subject: NEAR or NOT\n\nthe words near, or and not as text; subject matter\n")
	long := strings.Repeat("budget ", 1500) // 10 KB
	for _, tc := range []struct {
		text  string
		found bool // finds the budget message
	}{
		{`budget`, true},
		{`"budget`, true}, // an unclosed quote runs to the end
		{`budget"`, true},
		{`bud*`, true}, // * is not syntax but a separator: "bud" as a prefix
		{`*`, false},
		{`quarterly OR zzz`, false}, // OR is a word to find, not an operator
		{`NEAR(budget review)`, false},
		{`budget NOT review`, false},
		{`subject:budget`, false}, // not a column filter
		{`{subject}:budget`, false},
		{`-review`, true}, // - is a separator, not NOT
		{`^budget`, true},
		{`budget AND`, false},
		{`(budget`, true},
		{"bud\x00get", false},
		{"\x00", false},
		{"\xff\xfe budget", true},
		{`"""`, false},
		{`budget ""review""`, true},
		{long, true},
		{strings.Repeat(`"`, 5000), false},
		{strings.Repeat("(", 3000), false},
	} {
		for _, field := range []string{"", "subject"} {
			items, _, err := e.st.SearchMail(e.ctx, e.alice, MailQuery{Text: tc.text, Field: field})
			if err != nil {
				t.Errorf("search %.40q: %v", tc.text, err)
				continue
			}
			found := slices.ContainsFunc(items, func(it Item) bool { return it.ID == d.ItemID })
			if found != tc.found {
				t.Errorf("search %.40q in %q: found %v, want %v", tc.text, field, found, tc.found)
			}
			if _, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, tc.text, field); err != nil {
				t.Errorf("MatchMailUIDs %.40q: %v", tc.text, err)
			}
		}
	}
	// The operator words are found as words.
	if got := e.search(t, e.alice, MailQuery{Text: "near or not", Field: "subject"}); len(got) != 1 {
		t.Errorf("operator words as text: %v", got)
	}
	// A short IMAP word is not a prefix filter: it may be inside any word.
	if uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, "qu", ""); err != nil || len(uids) != 2 {
		t.Errorf("short word: %v %v, want every uid", uids, err)
	}
	if uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, "qu budget", ""); err != nil || len(uids) != 1 {
		t.Errorf("short word and a word: %v %v, want the budget message", uids, err)
	}
	// A string IMAP cannot pre-filter returns every uid.
	uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, "%%", "body")
	if err != nil || len(uids) != 2 {
		t.Errorf("no-word text: %v %v, want every uid", uids, err)
	}
}

func TestFTSIndexBacklog(t *testing.T) {
	e := newFTSEnv(t)
	var ids []int64
	for i := range 7 {
		d := e.deliver(t, e.alice, 0, fmt.Sprintf("Subject: legacy %d\n\nold text\n", i))
		ids = append(ids, d.ItemID)
	}
	cal, err := e.st.FolderByRole(e.ctx, e.alice, RoleCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AppendPIM(e.ctx, e.alice, cal.ID, PIMItem{Content: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:legacy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"}); err != nil {
		t.Fatal(err)
	}
	// Simulate a database from before schema 4: no rows.
	if err := e.st.write(e.ctx, func(t *tx) error {
		for _, id := range ids {
			if err := t.ftsRemove(id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, e.alice, MailQuery{Text: "legacy"}); len(got) != 0 {
		t.Fatalf("before backfill: %v", got)
	}
	total := 0
	for range 10 {
		n, err := e.st.IndexBacklog(e.ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if n > 3 {
			t.Fatalf("batch of 3 indexed %d", n)
		}
		total += n
	}
	if total != len(ids) {
		t.Fatalf("backfill indexed %d, want %d (the event is not mail)", total, len(ids))
	}
	if got := e.search(t, e.alice, MailQuery{Text: "legacy old"}); len(got) != len(ids) {
		t.Fatalf("after backfill: %v", got)
	}
	// Items delivered later are indexed by delivery, not twice by the backlog.
	e.deliver(t, e.alice, 0, "Subject: fresh\n\nnew\n")
	if n, err := e.st.IndexBacklog(e.ctx, 3); n != 0 || err != nil {
		t.Fatalf("backlog after delivery: %d %v", n, err)
	}
}

func TestFTSDocumentCaps(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("word ", 200_000) + "tailword\r\n"
	idx := indexMessage([]byte(big))
	if len(idx.fts.body) > ftsMaxBody+1+len(ftsCutMark) || strings.Contains(idx.fts.body, "tailword") {
		t.Fatalf("body of %d bytes indexed in full", len(idx.fts.body))
	}
	if !strings.HasSuffix(idx.fts.body, "\n"+ftsCutMark) {
		t.Errorf("a cut body does not end with the mark: %q", idx.fts.body[len(idx.fts.body)-40:])
	}
	// The IMAP pre-filter keeps a cut message as a candidate for words past the cut,
	// and only such a message.
	e := newFTSEnv(t)
	cut := e.deliver(t, e.alice, 0, big)
	whole := e.deliver(t, e.alice, 0, "Subject: small\n\nword\n")
	for _, c := range []struct {
		text string
		want []uint32
	}{{"tailword", []uint32{cut.UID}}, {"word", []uint32{cut.UID, whole.UID}}, {"nowhere", []uint32{cut.UID}}} {
		for _, field := range []string{"body", ""} {
			if uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, c.text, field); err != nil || !slices.Equal(uids, c.want) {
				t.Errorf("MatchMailUIDs %q in %q: %v %v, want %v", c.text, field, uids, err, c.want)
			}
		}
	}
	if got := message.HTMLToText("a<b>b</b>c<br>d&amp;e<div>f", 100); got != "abc\nd&e\nf" {
		t.Errorf("htmlText: %q", got)
	}
	if got := truncateUTF8("aé", 2); got != "a" {
		t.Errorf("truncateUTF8 split a rune: %q", got)
	}
}

// FuzzFTSQuery: search text comes from users (ActiveSync Search, IMAP SEARCH). The
// expression made of it must always parse, and a message holding the very text must
// match it.
func FuzzFTSQuery(f *testing.F) {
	for _, s := range []string{"budget", `"quoted phrase" word`, `"unclosed`, `a OR b`, `NEAR(a b, 3)`, `subject:x`,
		`{body}: x`, `-x`, `x*`, `^x`, "a\x00b", `""""`, "café Müller", "日本語 テキスト", "\xff", "(((", `a AND`, `+x`} {
		f.Add(s, "", false)
	}
	ms, err := migrations.For("sqlite")
	if err != nil || len(ms) < 4 {
		f.Fatal(err)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	for _, m := range ms { // item_fts as deployed
		if _, err := db.Exec(m.SQL); err != nil {
			f.Fatal(err)
		}
	}
	columns := []string{"", "subject", "addresses", "body"}
	f.Fuzz(func(t *testing.T, text string, column string, literal bool) {
		if !slices.Contains(columns, column) {
			column = columns[len(column)%len(columns)]
		}
		expr, ok := ftsQuery(text, column, literal)
		if !ok {
			return
		}
		doc := ftsClean(text)
		if _, err := db.Exec("INSERT INTO item_fts(rowid, subject, addresses, body) VALUES(1, ?, ?, ?)", doc, doc, doc); err != nil {
			t.Fatal(err)
		}
		defer db.Exec("DELETE FROM item_fts WHERE rowid = 1")
		var n int
		if err := db.QueryRow("SELECT count(*) FROM item_fts WHERE item_fts MATCH ?", expr).Scan(&n); err != nil {
			t.Fatalf("%q became %q: %v", text, expr, err)
		}
		// The tokenizer's tables (Unicode 6.1) and Go's agree on what a letter is for
		// these scripts; beyond them a rare letter may be a separator to SQLite.
		if n != 1 && !strings.ContainsFunc(text, func(r rune) bool { return r >= 0x250 }) {
			t.Fatalf("%q (as %q) does not match a message holding it", text, expr)
		}
	})
}

// TestNewestHits: the heap keeps exactly the k newest hits, as a full sort would.
func TestNewestHits(t *testing.T) {
	for seed := range 200 {
		n, k := seed%37, seed%11
		all := make([]searchHit, n)
		for i := range all {
			all[i] = searchHit{id: int64(i + 1), date: int64((i * 7919 * (seed + 1)) % 13)}
		}
		top := newestHits{k: k}
		for _, h := range all {
			top.offer(h)
		}
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b searchHit) int {
			if a.newer(b) {
				return -1
			}
			return 1
		})
		want = want[:min(k, n)]
		if got := top.sorted(); !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d: %v, want %v", n, k, got, want)
		}
	}
}

// TestFTSDeleteAccountDropsRows: deleting an account leaves no index rows behind.
func TestFTSDeleteAccountDropsRows(t *testing.T) {
	e := newFTSEnv(t)
	d := e.deliver(t, e.bob, e.bobIn, "From: x@example.net\nSubject: farewell\n\nbye\n")
	if !e.rowExists(t, d.ItemID) {
		t.Fatal("no index row after delivery")
	}
	if err := e.st.DeleteAccount(e.ctx, e.bob.AccountID); err != nil {
		t.Fatal(err)
	}
	if e.rowExists(t, d.ItemID) {
		t.Fatal("the index row of a deleted account's message is left behind")
	}
}

// TestFTSBackfillPendingWidensMatch: while mail stored before the index is not all
// indexed (store_state 'fts_backfill'), MatchMailUIDs narrows nothing; the backlog pass
// that finishes clears the mark, after which it narrows again.
func TestFTSBackfillPendingWidensMatch(t *testing.T) {
	e := newFTSEnv(t)
	a := e.deliver(t, e.alice, e.inbox, "From: x@example.net\nSubject: zebra crossing\n\nstripes\n")
	b := e.deliver(t, e.alice, e.inbox, "From: x@example.net\nSubject: other\n\nnothing here\n")
	// As after an upgrade: b was stored before the index, and the backfill is pending.
	if err := e.st.write(e.ctx, func(tx *tx) error {
		if _, err := tx.exec("DELETE FROM item_fts WHERE rowid = ?", b.ItemID); err != nil {
			return err
		}
		_, err := tx.exec("INSERT INTO store_state(key, value) VALUES('fts_backfill', 'pending')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.loadBackfillState(e.ctx); err != nil {
		t.Fatal(err)
	}
	uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, "zebra", "")
	if err != nil || len(uids) != 2 {
		t.Fatalf("while pending: %v %v, want every uid", uids, err)
	}
	for {
		n, err := e.st.IndexBacklog(e.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	uids, err = e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, "zebra", "")
	if err != nil || len(uids) != 1 || uids[0] != a.UID {
		t.Fatalf("after the backfill: %v %v, want only uid %d", uids, err, a.UID)
	}
	if err := e.st.loadBackfillState(e.ctx); err != nil || e.st.ftsBacklog.pending.Load() {
		t.Fatalf("the pending mark survived the backfill: %v", err)
	}
}

// The body indexed is message.SearchText: an attached message's text and a text
// attachment are found, and HTML as its text.
func TestFTSIndexesEveryTextPart(t *testing.T) {
	e := newFTSEnv(t)
	d := e.deliver(t, e.alice, 0, `Subject: Fwd: trip
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

See below.
--b
Content-Type: message/rfc822

Subject: trip
Content-Type: multipart/alternative; boundary=i

--i
Content-Type: text/plain

Zanzibar in May.
--i
Content-Type: text/html

<p>Zanzi<b>bar</b> in May.</p>
--i--
--b
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename=notes.txt
Content-Transfer-Encoding: base64

cXVva2thIGNvdW50Cg==
--b--
`)
	for _, word := range []string{"zanzibar", "quokka", "below"} {
		if uids, err := e.st.MatchMailUIDs(e.ctx, e.alice, e.inbox, word, "body"); err != nil || !slices.Equal(uids, []uint32{d.UID}) {
			t.Errorf("%q: %v %v", word, uids, err)
		}
	}
}
