package store_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// The narrow IMAP reads agree with the full ones (MailItemsByUID, Delta) on every
// field they fill.
func TestIMAPNarrowReads(t *testing.T) {
	ctx := context.Background()
	st, pa, pb, inbox := twoAccounts(t)
	var uids []uint32
	for i, opts := range []store.DeliverOptions{
		{Flags: store.FlagSeen, Keywords: []string{"$Work"}},
		{InternalDate: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{Flags: store.FlagSeen | store.FlagFlagged, Keywords: []string{"$Later", "$Work"}},
		{Flags: store.FlagDeleted},
	} {
		raw := "From: Ann <ann@example.org>\r\nSubject: s" + string(rune('a'+i)) + "\r\nDate: Mon, 5 Jan 2026 10:00:00 +0100\r\n\r\nbody\r\n"
		d, err := st.Deliver(ctx, pa, inbox.ID, []byte(raw), opts)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, d.UID)
	}
	all := []store.UIDRange{{First: 1}}
	full, err := st.MailItemsByUID(ctx, pa, inbox.ID, all, true)
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := st.MailRowsByUID(ctx, pa, inbox.ID, all, store.MailFilter{}, store.WithStructure)
	if err != nil || len(narrow) != len(full) {
		t.Fatalf("narrow read: %d rows, %v", len(narrow), err)
	}
	for i, f := range full {
		n := narrow[i]
		if n.ID != f.ID || n.UID != f.UID || n.Flags != f.Flags || !slices.Equal(n.Keywords, f.Keywords) ||
			!n.InternalDate.Equal(f.InternalDate) || n.Size != f.Size || !n.SentDate.Equal(f.SentDate) ||
			n.Subject != f.Subject || n.From != f.From || string(n.Structure) != string(f.Structure) ||
			n.AccountID != f.AccountID || n.FolderID != f.FolderID || n.Class != f.Class || n.BlobHash != f.BlobHash || n.BlobHash == "" {
			t.Errorf("row %d:\nnarrow %+v\n  full %+v", i, n, f)
		}
	}
	// ScanMailRows hands out the same rows; an error from the callback ends the scan.
	var scanned int
	stop := errors.New("stop")
	err = st.ScanMailRows(ctx, pa, inbox.ID, all, store.MailFilter{}, store.WithStructure, func(it *store.MailItem) error {
		if it.UID != full[scanned].UID || string(it.Structure) != string(full[scanned].Structure) {
			t.Errorf("scan row %d: uid %d", scanned, it.UID)
		}
		scanned++
		if scanned == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || scanned != 2 {
		t.Errorf("scan: %d rows, %v", scanned, err)
	}
	// The blob opened from the row is the one OpenBlob opens by id.
	for _, n := range narrow {
		f1, err := st.OpenMailBlob(ctx, pa, &n)
		if err != nil {
			t.Fatal(err)
		}
		f2, err := st.OpenBlob(ctx, pa, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := io.ReadAll(f1)
		b2, _ := io.ReadAll(f2)
		f1.Close()
		f2.Close()
		if len(b1) == 0 || string(b1) != string(b2) {
			t.Errorf("uid %d: OpenMailBlob read %d bytes, OpenBlob %d", n.UID, len(b1), len(b2))
		}
	}
	if _, err := st.OpenMailBlob(ctx, pb, &narrow[0]); err == nil {
		t.Error("another account opened the blob")
	}
	if rows, _ := st.MailRowsByUID(ctx, pa, inbox.ID, all, store.MailFilter{}, 0); len(rows) != 4 || rows[0].Structure != nil {
		t.Errorf("without structure: %+v", rows)
	}
	// The flag filter: seen and not flagged; then unseen.
	got := func(f store.MailFilter, ranges []store.UIDRange) []uint32 {
		t.Helper()
		rows, err := st.MailRowsByUID(ctx, pa, inbox.ID, ranges, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, r := range rows {
			out = append(out, r.UID)
		}
		return out
	}
	if u := got(store.MailFilter{Set: store.FlagSeen, Unset: store.FlagFlagged}, all); !slices.Equal(u, uids[:1]) {
		t.Errorf("seen, not flagged: %v", u)
	}
	if u := got(store.MailFilter{Unset: store.FlagSeen}, all); !slices.Equal(u, []uint32{uids[1], uids[3]}) {
		t.Errorf("unseen: %v", u)
	}
	if u := got(store.MailFilter{}, []store.UIDRange{{First: uids[1], Last: uids[1]}, {First: uids[3], Last: 0}}); !slices.Equal(u, []uint32{uids[1], uids[3]}) {
		t.Errorf("ranges: %v", u)
	}

	// MailFlagDelta agrees with Delta.
	v, err := st.OpenMailboxView(ctx, pa, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := st.MailFlagDelta(ctx, pa, inbox.ID, v.Modseq); err != nil || d.Modseq != v.Modseq || len(d.Items)+len(d.Removed) != 0 {
		t.Errorf("empty flag delta: %+v %v", d, err)
	}
	if _, err := st.SetFlags(ctx, pa, store.Selector{FolderID: inbox.ID, UIDs: []store.UIDRange{{First: uids[1], Last: uids[1]}}}, store.FlagsAdd, store.FlagAnswered, []string{"$X"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Expunge(ctx, pa, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deliver(ctx, pa, inbox.ID, []byte("Subject: new\r\n\r\nx\r\n"), store.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, since := range []int64{0, v.Modseq} {
		want, err := st.Delta(ctx, pa, inbox.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		d, err := st.MailFlagDelta(ctx, pa, inbox.ID, since)
		if err != nil || d.Modseq != want.Modseq || len(d.Items) != len(want.Items) || len(d.Removed) != len(want.Tombstones) {
			t.Fatalf("since %d: flag delta %+v %v, delta %+v", since, d, err, want)
		}
		for i, it := range want.Items {
			c := d.Items[i]
			if c.UID != it.UID || c.Modseq != it.Modseq || c.Flags != it.Flags || !slices.Equal(c.Keywords, it.Keywords) {
				t.Errorf("since %d item %d: %+v, want %+v", since, i, c, it)
			}
		}
		for i, tb := range want.Tombstones {
			if d.Removed[i] != tb.UID {
				t.Errorf("since %d removed %d: %d, want %d", since, i, d.Removed[i], tb.UID)
			}
		}
	}
	if d, _ := st.MailFlagDelta(ctx, pa, inbox.ID, v.Modseq); len(d.Removed) != 1 || d.Removed[0] != uids[3] {
		t.Errorf("expunged: %+v", d.Removed)
	}
	// Another principal reaches nothing.
	if _, err := st.MailRowsByUID(ctx, pb, inbox.ID, all, store.MailFilter{}, store.WithStructure); err == nil {
		t.Error("another account read the rows")
	}
	if _, err := st.MailFlagDelta(ctx, pb, inbox.ID, 0); err == nil {
		t.Error("another account read the delta")
	}
}

// The subject and from filters find texts with LIKE's special characters literally,
// ASCII case-insensitively, and all of them at once.
func TestMailRowsTextFilter(t *testing.T) {
	ctx := context.Background()
	st, pa, _, inbox := twoAccounts(t)
	subjects := []string{"100% sure", "a_b c", `back\slash`, "Plain Words", "100 percent"}
	uidOf := map[string]uint32{}
	for i, subj := range subjects {
		from := "Ann <ann@example.org>"
		if i%2 == 1 {
			from = "Bob_Smith <bob@example.org>"
		}
		d, err := st.Deliver(ctx, pa, inbox.ID, []byte("From: "+from+"\r\nSubject: "+subj+"\r\n\r\nbody\r\n"), store.DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uidOf[subj] = d.UID
	}
	for _, c := range []struct {
		f    store.MailFilter
		want []string
	}{
		{store.MailFilter{SubjectHas: []string{"0% s"}}, []string{"100% sure"}},
		{store.MailFilter{SubjectHas: []string{"_"}}, []string{"a_b c"}},
		{store.MailFilter{SubjectHas: []string{`\`}}, []string{`back\slash`}},
		{store.MailFilter{SubjectHas: []string{"pLAIN w"}}, []string{"Plain Words"}},
		{store.MailFilter{SubjectHas: []string{"100", "PERCENT"}}, []string{"100 percent"}},
		{store.MailFilter{FromHas: []string{"b_s"}}, []string{"a_b c", "Plain Words"}},
		{store.MailFilter{FromHas: []string{"BOB"}, SubjectHas: []string{"a"}}, []string{"a_b c", "Plain Words"}},
		{store.MailFilter{SubjectHas: []string{"%"}, Set: store.FlagSeen}, nil},
	} {
		rows, err := st.MailRowsByUID(ctx, pa, inbox.ID, []store.UIDRange{{First: 1}}, c.f, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []uint32
		for _, r := range rows {
			got = append(got, r.UID)
		}
		for _, s := range c.want {
			want = append(want, uidOf[s])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: uids %v, want %v", c.f, got, want)
		}
	}
}
