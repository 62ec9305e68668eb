package imap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/store"
)

// The fast paths of SEARCH (flags, SUBJECT and FROM applied by the store, flag and keyword keys answered
// from the mailbox view, the full-text pre-filter for BODY, the copy-free ASCII
// matcher) give what the general evaluation gives: each criterion c is compared with
// (OR c c) BEFORE <far future>, which means the same and takes none of them (a date key
// reads every row). The flag keys are compared again after other routes (the store, as
// ActiveSync changes them) changed flags and keywords behind the session's back.
func TestSearchFastPathsMatchGeneral(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.principal("alice@example.org")
	inbox, err := e.st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{"Zebra crossing ahead", "nothing to see", "the ZEBRA and the lion", "Café Zürich", "zebras everywhere"}
	for i := range 40 {
		var fl store.Flags
		if i%3 == 0 {
			fl |= store.FlagSeen
		}
		if i%4 == 0 {
			fl |= store.FlagFlagged
		}
		if i%7 == 0 {
			fl |= store.FlagDeleted
		}
		var kw []string
		if i%5 == 0 {
			kw = []string{"$Work"}
		}
		subject := fmt.Sprintf("Topic%d Report", i%4)
		if i%6 == 5 {
			subject = fmt.Sprintf("Topic_%d 100%% done", i%4) // LIKE's wildcards, literally
		}
		raw := textMessage(subject, bodies[i%len(bodies)])
		if _, err := e.st.Deliver(ctx, p, inbox.ID, []byte(raw), store.DeliverOptions{Flags: fl, Keywords: kw}); err != nil {
			t.Fatal(err)
		}
	}
	// Words only in an attached message and in a text attachment.
	forwarded := "From: Carol <carol@example.net>\r\nSubject: Fwd: trip\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" +
		"Subject: trip\r\nContent-Type: text/html\r\n\r\n<p>Zanzi<b>bar</b> in May.</p>\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nquokka count\r\n--b--\r\n"
	if _, err := e.st.Deliver(ctx, p, inbox.ID, []byte(forwarded), store.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	c := e.dial("alice@example.org", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	hdr := func(k, v string) []goimap.SearchCriteriaHeaderField {
		return []goimap.SearchCriteriaHeaderField{{Key: k, Value: v}}
	}
	criteria := []goimap.SearchCriteria{
		{NotFlag: []goimap.Flag{goimap.FlagSeen}},
		{Flag: []goimap.Flag{goimap.FlagSeen}, NotFlag: []goimap.Flag{goimap.FlagFlagged}},
		{Flag: []goimap.Flag{goimap.FlagDeleted}},
		{Flag: []goimap.Flag{"\\SEEN"}, UID: []goimap.UIDSet{{goimap.UIDRange{Start: 5, Stop: 30}}}},
		{NotFlag: []goimap.Flag{"$Work"}},
		{Flag: []goimap.Flag{"$Work", goimap.FlagSeen}},
		{Flag: []goimap.Flag{`\Recent`}},
		{SeqNum: []goimap.SeqSet{{goimap.SeqRange{Start: 3, Stop: 9}}}, NotFlag: []goimap.Flag{goimap.FlagDeleted}},
		{Not: []goimap.SearchCriteria{{Flag: []goimap.Flag{goimap.FlagFlagged}}}, Or: [][2]goimap.SearchCriteria{{{Flag: []goimap.Flag{"$work"}}, {NotFlag: []goimap.Flag{goimap.FlagSeen}}}}},
		{Body: []string{"zebra"}},
		{Body: []string{"ZEBRA", "lion"}},
		{Body: []string{"café"}},
		{Body: []string{"zebra"}, NotFlag: []goimap.Flag{goimap.FlagSeen}},
		{Header: hdr("Subject", "topic1")},
		{Header: hdr("Subject", "REPORT"), Flag: []goimap.Flag{goimap.FlagFlagged}},
		{Header: hdr("From", "CAROL")},
		{Header: hdr("Subject", "c_1")},
		{Header: hdr("Subject", "_1 100% D")},
		{Header: hdr("Subject", "0%")},
		{Header: hdr("Subject", "%")},
		{Header: append(hdr("Subject", "topic"), hdr("From", "carol@")...), NotFlag: []goimap.Flag{goimap.FlagSeen}},
		{Header: append(hdr("Subject", "report"), hdr("Subject", "topic3")...)},
		{Header: hdr("Subject", "Zürich")},
		{Text: []string{"Zürich"}},
		{Body: []string{"zanzibar"}},
		{Body: []string{"QUOKKA"}},
		{Text: []string{"zanzibar in may"}},
	}
	farFuture := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	compare := func(cr goimap.SearchCriteria) {
		t.Helper()
		fast, err := c.UIDSearch(&cr, nil).Wait()
		if err != nil {
			t.Fatalf("%+v: %v", cr, err)
		}
		general, err := c.UIDSearch(&goimap.SearchCriteria{Or: [][2]goimap.SearchCriteria{{cr, cr}}, Before: farFuture}, nil).Wait()
		if err != nil {
			t.Fatalf("OR %+v: %v", cr, err)
		}
		if !slices.Equal(fast.AllUIDs(), general.AllUIDs()) {
			t.Errorf("%+v:\n fast    %v\n general %v", cr, fast.AllUIDs(), general.AllUIDs())
		}
		if (len(cr.Body) > 0 || len(cr.Header) > 0 && cr.Header[0].Value != "Zürich") && len(fast.AllUIDs()) == 0 {
			t.Errorf("%+v found nothing", cr)
		}
	}
	for _, cr := range criteria {
		compare(cr)
	}
	// Flags changed through the store, not this session: the view must follow.
	some := store.Selector{FolderID: inbox.ID, UIDs: []store.UIDRange{{First: 2, Last: 3}, {First: 5, Last: 5}, {First: 8, Last: 8}, {First: 13, Last: 13}, {First: 21, Last: 21}}}
	if _, err := e.st.SetFlags(ctx, p, some, store.FlagsAdd, store.FlagSeen, []string{"$Work"}); err != nil {
		t.Fatal(err)
	}
	more := store.Selector{FolderID: inbox.ID, UIDs: []store.UIDRange{{First: 1, Last: 1}, {First: 4, Last: 4}, {First: 9, Last: 9}, {First: 16, Last: 16}}}
	if _, err := e.st.SetFlags(ctx, p, more, store.FlagsRemove, store.FlagSeen|store.FlagDeleted, []string{"$Work"}); err != nil {
		t.Fatal(err)
	}
	for _, cr := range criteria[:9] {
		compare(cr)
	}
	unseen, err := c.UIDSearch(&goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []goimap.UID{2, 3, 5} {
		if slices.Contains(unseen.AllUIDs(), u) {
			t.Errorf("uid %d marked seen through the store is still UNSEEN: %v", u, unseen.AllUIDs())
		}
	}
	if !slices.Contains(unseen.AllUIDs(), 1) {
		t.Errorf("uid 1 marked unseen through the store is not UNSEEN: %v", unseen.AllUIDs())
	}
}

// The documented difference of BODY through the full-text index: a string that starts
// a word matches (as a prefix too), one found only inside a word does not.
func TestSearchBodyWordStarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial("alice@example.org", nil)
	appendMsg(t, c, "INBOX", textMessage("animals", "a zebra crossing"), nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int{"zebra": 1, "ZEB": 1, "zebra crossing": 1, "ebr": 0, "zebras": 0} {
		data, err := c.UIDSearch(&goimap.SearchCriteria{Body: []string{body}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(data.AllUIDs()); got != want {
			t.Errorf("BODY %q: %d hits, want %d", body, got, want)
		}
	}
}

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		hay, needle string
		want        bool
	}{
		{"Quarterly Report", "report", true},
		{"Quarterly Report", "REPORT", true},
		{"Quarterly Report", "reports", false},
		{"abc", "", true},
		{"", "a", false},
		{"ab", "abc", false},
		{"Café Zürich", "ZÜRICH", true},
		{"Café Zürich", "café", true},
		{"aaab", "aab", true},
		{"x\xffy", "Y", true},
	} {
		if got := containsFold(c.hay, c.needle); got != c.want {
			t.Errorf("containsFold(%q, %q) = %v", c.hay, c.needle, got)
		}
	}
}

// FuzzContainsFold: on ASCII text the copy-free matcher agrees with lower-casing both.
func FuzzContainsFold(f *testing.F) {
	f.Add("Quarterly Report", "report")
	f.Add("aaab", "aab")
	f.Add("zebra", "ZEBRA!")
	f.Fuzz(func(t *testing.T, hay, needle string) {
		ascii := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 }) < 0 }
		if !ascii(hay) || !ascii(needle) {
			return
		}
		want := strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
		if got := containsFold(hay, needle); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", hay, needle, got, want)
		}
	})
}
