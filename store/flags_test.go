package store

import (
	"context"
	"fmt"
	"testing"
)

// TestSetFlagsManyAtOnce: a flag change over more items than one statement takes (the
// chunks of updateByIDs, the last one padded) and with two different outcomes changes
// exactly the items whose flags change, each at the mutation's one modseq, and keeps the
// folder's unseen count.
func TestSetFlagsManyAtOnce(t *testing.T) {
	ctx := context.Background()
	s, a := openAcceptStore(t)
	p := Principal{AccountID: a.ID}
	inbox, err := s.FolderByRole(ctx, p, RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1300
	for i := range n {
		raw := fmt.Sprintf("Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n", i, i, i)
		if _, err := s.Deliver(ctx, p, inbox.ID, []byte(raw), DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Every third message is \Flagged already: +FLAGS (\Seen \Flagged) has two outcomes
	// for the rest, and one for them.
	if _, err := s.SetFlags(ctx, p, Selector{FolderID: inbox.ID, UIDs: []UIDRange{{First: 1, Last: 1}}}, FlagsAdd, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	items, err := s.ListItems(ctx, p, inbox.ID, UIDRange{First: 1})
	if err != nil || len(items) != n {
		t.Fatalf("%d items, %v", len(items), err)
	}
	for i, it := range items {
		if i%3 == 0 {
			ids = append(ids, it.ID)
		}
	}
	if _, err := s.SetFlags(ctx, p, Selector{FolderID: inbox.ID, IDs: ids}, FlagsAdd, FlagFlagged, []string{"$label1"}); err != nil {
		t.Fatal(err)
	}
	changes, err := s.SetFlags(ctx, p, Selector{FolderID: inbox.ID, UIDs: []UIDRange{{First: 1}}}, FlagsAdd, FlagSeen|FlagFlagged, nil)
	if err != nil || len(changes) != n {
		t.Fatalf("%d changes, %v", len(changes), err)
	}
	after, err := s.ListItems(ctx, p, inbox.ID, UIDRange{First: 1})
	if err != nil {
		t.Fatal(err)
	}
	var modseq int64
	for i, it := range after {
		if it.Flags&(FlagSeen|FlagFlagged) != FlagSeen|FlagFlagged {
			t.Fatalf("uid %d: flags %v", it.UID, it.Flags)
		}
		if (i%3 == 0) != (len(it.Keywords) == 1) {
			t.Fatalf("uid %d: keywords %v", it.UID, it.Keywords)
		}
		if changes[i].Flags != it.Flags || changes[i].Modseq != it.Modseq {
			t.Fatalf("uid %d: reported %+v, stored flags %v modseq %d", it.UID, changes[i], it.Flags, it.Modseq)
		}
		if i == 0 {
			continue // uid 1 was \Seen already but not \Flagged unless i%3 == 0
		}
		if modseq == 0 {
			modseq = it.Modseq
		} else if it.Modseq != modseq {
			t.Fatalf("uid %d changed at modseq %d, others at %d", it.UID, it.Modseq, modseq)
		}
	}
	st, err := s.FolderStatus(ctx, p, inbox.ID)
	if err != nil || st.Unseen != 0 {
		t.Fatalf("unseen %d after marking all seen, %v", st.Unseen, err)
	}
}
