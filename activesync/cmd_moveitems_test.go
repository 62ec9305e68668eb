package activesync

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// moveXML is a MoveItems request of (SrcMsgId, SrcFldId, DstFldId) triples.
func moveXML(moves ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<MoveItems xmlns="Move">`)
	for _, m := range moves {
		fmt.Fprintf(&b, "<Move><SrcMsgId>%s</SrcMsgId><SrcFldId>%s</SrcFldId><DstFldId>%s</DstFldId></Move>", m[0], m[1], m[2])
	}
	b.WriteString(`</MoveItems>`)
	return b.String()
}

func TestMoveItems(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	p := e.principal()
	inbox := e.folderByRole(store.RoleInbox)
	projects, err := e.st.CreateFolder(ctx, p, 0, "Projects", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	a := e.deliver(inbox.ID, attachmentMessage("to move"))
	b := e.deliver(inbox.ID, attachmentMessage("stays"))
	sid := func(folder, item int64) string { return (&store.Item{ID: item, FolderID: folder}).ServerID() }

	// The device holds both Inbox items and syncs Projects too.
	dev, err := e.st.Device(ctx, p, "TESTDEVICE")
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.SyncCommit(ctx, p, dev, func(x *store.SyncTx) error {
		for _, f := range []int64{inbox.ID, projects.ID} {
			if err := x.PutCollection(store.SyncCollection{FolderID: f, Generation: 1}, -1); err != nil {
				return err
			}
		}
		if err := x.SetKnown(inbox.ID, a.ItemID, a.Modseq); err != nil {
			return err
		}
		return x.SetKnown(inbox.ID, b.ItemID, b.Modseq)
	})
	if err != nil {
		t.Fatal(err)
	}

	bp, theirs := e.othersMessage("bob's")
	contacts := e.folderByRole(store.RoleContacts)
	in, proj := folderServerID(inbox.ID), folderServerID(projects.ID)

	r := e.do(call{cmd: "MoveItems", xml: moveXML(
		[3]string{sid(inbox.ID, a.ItemID), in, proj},                                          // 3: moved
		[3]string{sid(inbox.ID, b.ItemID), in, in},                                            // 4: same folder
		[3]string{sid(theirs.FolderID, theirs.ItemID), folderServerID(theirs.FolderID), proj}, // 1: another account's folder
		[3]string{sid(inbox.ID, theirs.ItemID), in, proj},                                     // 1: another account's item
		[3]string{sid(inbox.ID, b.ItemID), in, folderServerID(theirs.FolderID)},               // 2: another account's folder
		[3]string{sid(inbox.ID, b.ItemID), in, "424242"},                                      // 2: no such folder
		[3]string{sid(inbox.ID, b.ItemID), in, folderServerID(contacts.ID)},                   // 5: mail into contacts
		[3]string{"junk", in, proj},                                                           // 1: not a ServerId
		[3]string{sid(projects.ID, b.ItemID), proj, in},                                       // 1: not in that folder
		[3]string{sid(inbox.ID, a.ItemID), in, proj},                                          // 1: already moved above
	)})
	if r.status != http.StatusOK || r.body == nil {
		t.Fatalf("MoveItems: HTTP %d", r.status)
	}
	validate(t, r.body, "MoveItemsResponse.xsd")
	resps := r.body.All("Response")
	want := []string{"3", "4", "1", "1", "2", "2", "5", "1", "1", "1"}
	if len(resps) != len(want) {
		t.Fatalf("%d responses, want %d\n%s", len(resps), len(want), r.body.XML())
	}
	for i, resp := range resps {
		if got := resp.ChildText("Status"); got != want[i] {
			t.Errorf("Move %d (%s): Status %s, want %s", i, resp.ChildText("SrcMsgId"), got, want[i])
		}
		if resp.Has("DstMsgId") != (want[i] == "3") {
			t.Errorf("Move %d: DstMsgId present %v with Status %s", i, resp.Has("DstMsgId"), want[i])
		}
	}
	if got, w := resps[0].ChildText("DstMsgId"), sid(projects.ID, a.ItemID); got != w {
		t.Errorf("DstMsgId %q, want %q (the item keeps its id)", got, w)
	}
	if got := resps[0].ChildText("SrcMsgId"); got != sid(inbox.ID, a.ItemID) {
		t.Errorf("SrcMsgId %q", got)
	}

	// In the store: the same item, now in Projects; the rest untouched.
	it, err := e.st.GetItem(ctx, p, a.ItemID)
	if err != nil || it.FolderID != projects.ID {
		t.Fatalf("moved item: folder %d (%v), want %d", it.FolderID, err, projects.ID)
	}
	if it, err := e.st.GetItem(ctx, p, b.ItemID); err != nil || it.FolderID != inbox.ID {
		t.Errorf("unmoved item: folder %d (%v)", it.FolderID, err)
	}
	if it, err := e.st.GetItem(ctx, bp, theirs.ItemID); err != nil || it.FolderID != theirs.FolderID {
		t.Errorf("Bob's item: folder %d (%v)", it.FolderID, err)
	}
	// The device's known sets: gone from the Inbox's, present in Projects' at the move's
	// modseq, so neither folder's next Sync tells it again (§2 invariant 4).
	if k, err := e.st.Known(ctx, p, dev, inbox.ID, []int64{a.ItemID, b.ItemID}); err != nil || len(k) != 1 || k[b.ItemID] == 0 {
		t.Errorf("Inbox known set %v (%v), want only the unmoved item", k, err)
	}
	if k, err := e.st.Known(ctx, p, dev, projects.ID, []int64{a.ItemID}); err != nil || k[a.ItemID] != it.Modseq {
		t.Errorf("Projects known set %v (%v), want the item at modseq %d", k, err, it.Modseq)
	}
}

func TestMoveItemsMalformed(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	for _, body := range []string{`<MoveItems xmlns="Move"/>`, `<Sync xmlns="AirSync"/>`, ""} {
		if r := e.do(call{cmd: "MoveItems", xml: body}); r.status != http.StatusBadRequest {
			t.Errorf("MoveItems %q: HTTP %d, want 400", body, r.status)
		}
	}
}

// A move the check passes but the store refuses is retried alone, and only it fails:
// here an event whose iCalendar UID the destination calendar already holds.
func TestMoveItemsRefusedMoveFailsAlone(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	p := e.principal()
	cal := e.folderByRole(store.RoleCalendar)
	other, err := e.st.CreateFolder(ctx, p, 0, "Team", store.ClassCalendar)
	if err != nil {
		t.Fatal(err)
	}
	event := func(uid string) store.PIMItem {
		return store.PIMItem{Content: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART:20261201T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ICalUID: uid}
	}
	put := func(folder int64, uid string) int64 {
		d, err := e.st.AppendPIM(ctx, p, folder, event(uid))
		if err != nil {
			t.Fatal(err)
		}
		return d.ItemID
	}
	dup := put(cal.ID, "same")
	put(other.ID, "same")
	fine := put(cal.ID, "unique")
	sid := func(item int64) string { return (&store.Item{ID: item, FolderID: cal.ID}).ServerID() }
	r := e.do(call{cmd: "MoveItems", xml: moveXML(
		[3]string{sid(dup), folderServerID(cal.ID), folderServerID(other.ID)},
		[3]string{sid(fine), folderServerID(cal.ID), folderServerID(other.ID)},
	)})
	validate(t, r.body, "MoveItemsResponse.xsd")
	resps := r.body.All("Response")
	if len(resps) != 2 || resps[0].ChildText("Status") != "5" || resps[1].ChildText("Status") != "3" {
		t.Fatalf("statuses\n%s", r.body.XML())
	}
	if it, err := e.st.GetItem(ctx, p, dup); err != nil || it.FolderID != cal.ID {
		t.Errorf("refused item moved anyway: %d %v", it.FolderID, err)
	}
	if it, err := e.st.GetItem(ctx, p, fine); err != nil || it.FolderID != other.ID {
		t.Errorf("valid move not made: %d %v", it.FolderID, err)
	}
}
