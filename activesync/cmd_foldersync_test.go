package activesync

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// folderSyncResult is a FolderSync response taken apart.
type folderSyncResult struct {
	status  int
	key     string
	count   int
	adds    map[string]folderEntry // ServerId → entry
	updates map[string]folderEntry
	deletes []string
	raw     []byte
}

type folderEntry struct {
	parent, name string
	typ          int
}

func (e *testEnv) folderSync(key string) folderSyncResult {
	e.t.Helper()
	r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + key + `</SyncKey></FolderSync>`})
	if r.status != 200 || r.body == nil || !r.body.Is("FolderHierarchy:FolderSync") {
		e.t.Fatalf("FolderSync %s: HTTP %d %s", key, r.status, r.raw)
	}
	res := folderSyncResult{adds: map[string]folderEntry{}, updates: map[string]folderEntry{}, raw: r.raw}
	res.status, _ = strconv.Atoi(r.body.ChildText("Status"))
	res.key = r.body.ChildText("SyncKey")
	ch := r.body.Child("Changes")
	res.count, _ = strconv.Atoi(ch.ChildText("Count"))
	entry := func(n *wbxml.Node) folderEntry {
		typ, _ := strconv.Atoi(n.ChildText("Type"))
		return folderEntry{parent: n.ChildText("ParentId"), name: n.ChildText("DisplayName"), typ: typ}
	}
	for _, n := range ch.All("Add") {
		res.adds[n.ChildText("ServerId")] = entry(n)
	}
	for _, n := range ch.All("Update") {
		res.updates[n.ChildText("ServerId")] = entry(n)
	}
	for _, n := range ch.All("Delete") {
		res.deletes = append(res.deletes, n.ChildText("ServerId"))
	}
	if res.count != len(res.adds)+len(res.updates)+len(res.deletes) && res.status == 1 {
		e.t.Errorf("Count %d for %d changes", res.count, len(res.adds)+len(res.updates)+len(res.deletes))
	}
	return res
}

func sid(id int64) string { return strconv.FormatInt(id, 10) }

func TestFolderSyncFullHierarchy(t *testing.T) {
	for _, version := range []string{"14.1", "16.1"} {
		t.Run(version, func(t *testing.T) {
			e := newTestEnv(t)
			e.version = version
			e.provisioned("TESTDEVICE")
			r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
			validate(t, r.body, "FolderSyncResponse.xsd")
			res := e.folderSync("0")
			if res.status != 1 || res.key == "" || res.key == "0" {
				t.Fatalf("status %d key %q", res.status, res.key)
			}
			want := map[store.Role]int{
				store.RoleInbox: 2, store.RoleDrafts: 3, store.RoleTrash: 4, store.RoleSent: 5,
				store.RoleTasks: 7, store.RoleCalendar: 8, store.RoleContacts: 9, store.RoleNotes: 10,
				store.RoleJunk: 12, store.RoleArchive: 12,
			}
			if len(res.adds) != len(want) {
				t.Errorf("%d folders, want %d: %v", len(res.adds), len(want), res.adds)
			}
			for role, typ := range want {
				f := e.folderByRole(role)
				got, ok := res.adds[sid(f.ID)]
				if !ok {
					t.Errorf("%s folder %d missing", role, f.ID)
					continue
				}
				if got.typ != typ || got.parent != "0" || got.name != f.Name {
					t.Errorf("%s: %+v, want type %d parent 0 name %q", role, got, typ, f.Name)
				}
			}
		})
	}
}

func TestFolderSyncUserFoldersAndOrder(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	// A child created first and then moved under a newer parent must still follow it.
	child, err := e.st.CreateFolder(ctx, e.principal(), 0, "Child", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := e.st.CreateFolder(ctx, e.principal(), 0, "Team calendar", store.ClassCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RenameFolder(ctx, e.principal(), child.ID, cal.ID, "Child"); err != nil {
		t.Fatal(err)
	}
	r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
	seen := map[string]bool{"0": true}
	for _, add := range r.body.Child("Changes").All("Add") {
		if !seen[add.ChildText("ParentId")] {
			t.Errorf("folder %s comes before its parent %s", add.ChildText("ServerId"), add.ChildText("ParentId"))
		}
		seen[add.ChildText("ServerId")] = true
		switch add.ChildText("ServerId") {
		case sid(cal.ID):
			if add.ChildText("Type") != "13" {
				t.Errorf("user calendar type %s", add.ChildText("Type"))
			}
		case sid(child.ID):
			if add.ChildText("Type") != "12" || add.ChildText("ParentId") != sid(cal.ID) {
				t.Errorf("child: %s", add.XML())
			}
		}
	}
	if !seen[sid(child.ID)] || !seen[sid(cal.ID)] {
		t.Fatalf("user folders missing: %s", r.body.XML())
	}
}

func TestFolderSyncIncremental(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	k1 := e.folderSync("0").key

	// Nothing changed: the same key, no changes.
	same := e.folderSync(k1)
	if same.status != 1 || same.key != k1 || same.count != 0 {
		t.Fatalf("no change: %+v", same)
	}

	inbox := e.folderByRole(store.RoleInbox)
	f, err := e.st.CreateFolder(ctx, e.principal(), inbox.ID, "Receipts", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	// A delivery moves the account's modseq but not the hierarchy.
	e.deliver(inbox.ID, "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n")
	added := e.folderSync(k1)
	if added.status != 1 || added.key == k1 || added.count != 1 {
		t.Fatalf("after create: %+v", added)
	}
	if got := added.adds[sid(f.ID)]; got != (folderEntry{parent: sid(inbox.ID), name: "Receipts", typ: 12}) {
		t.Errorf("Add %+v", got)
	}
	r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + k1 + `</SyncKey></FolderSync>`})
	if !bytes.Equal(r.raw, added.raw) {
		t.Errorf("replay of %s answered differently:\n%s\n%s", k1, r.body.XML(), added.raw)
	}
	k2 := added.key
	if again := e.folderSync(k2); again.count != 0 || again.key != k2 {
		t.Errorf("echo after Add: %+v", again)
	}

	if _, err := e.st.RenameFolder(ctx, e.principal(), f.ID, 0, "Receipts 2026"); err != nil {
		t.Fatal(err)
	}
	updated := e.folderSync(k2)
	if got := updated.updates[sid(f.ID)]; updated.count != 1 || got != (folderEntry{parent: "0", name: "Receipts 2026", typ: 12}) {
		t.Fatalf("after rename: %+v", updated)
	}
	k3 := updated.key
	validate(t, e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + k2 + `</SyncKey></FolderSync>`}).body, "FolderSyncResponse.xsd")

	// Presenting k3 retires k1 (state N is kept only until N+1 is presented).
	if _, err := e.st.CreateFolder(ctx, e.principal(), f.ID, "Sub", store.ClassMail); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteFolder(ctx, e.principal(), f.ID); err != nil {
		t.Fatal(err)
	}
	deleted := e.folderSync(k3)
	if deleted.count != 1 || len(deleted.deletes) != 1 || deleted.deletes[0] != sid(f.ID) {
		t.Fatalf("after delete: %+v (the subfolder the device never had is not deleted)", deleted)
	}
	validate(t, e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + k3 + `</SyncKey></FolderSync>`}).body, "FolderSyncResponse.xsd")
	for _, stale := range []string{k1, k2} {
		if res := e.folderSync(stale); res.status != 9 || res.key != "" {
			t.Errorf("stale key %s: %+v", stale, res)
		}
	}
}

func TestFolderSyncBadKeys(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	// A device that never synced has no valid key.
	if res := e.folderSync("1-1"); res.status != 9 {
		t.Errorf("before any FolderSync: status %d", res.status)
	}
	key := e.folderSync("0").key
	epoch, gen, _ := strings.Cut(key, "-")
	n, _ := strconv.Atoi(gen)
	e2, _ := strconv.Atoi(epoch)
	for _, bad := range []string{"garbage", "1", "-1", key + "0", epoch + "-" + strconv.Itoa(n+1),
		strconv.Itoa(e2+1) + "-" + gen, "0" + key, epoch + "-0", strings.Repeat("9", 64)} {
		r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + bad + `</SyncKey></FolderSync>`})
		if r.body.ChildText("Status") != "9" || r.body.Has("SyncKey") {
			t.Errorf("key %q: %s", bad, r.body.XML())
		}
	}
	validate(t, e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>x</SyncKey></FolderSync>`}).body, "FolderSyncResponse.xsd")
	// No SyncKey, or not a FolderSync body: Status 10 (incorrectly formatted request).
	for _, body := range []string{`<FolderSync xmlns="FolderHierarchy"/>`, `<FolderCreate xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderCreate>`} {
		r := e.do(call{cmd: "FolderSync", xml: body})
		if r.status != 200 || r.body.ChildText("Status") != "10" {
			t.Errorf("%s: HTTP %d %s", body, r.status, r.raw)
		}
	}
	if r := e.do(call{cmd: "FolderSync"}); r.status != 200 || r.body.ChildText("Status") != "10" {
		t.Errorf("empty body: HTTP %d", r.status)
	}
	// The good key still works after all that.
	if res := e.folderSync(key); res.status != 1 || res.key != key {
		t.Errorf("good key: %+v", res)
	}
}

func TestFolderSyncZeroResetsCollections(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	e.folderSync("0")
	dev, err := e.st.Device(ctx, e.principal(), "TESTDEVICE")
	if err != nil {
		t.Fatal(err)
	}
	inbox := e.folderByRole(store.RoleInbox)
	if err := e.st.SyncCommit(ctx, e.principal(), dev, func(tx *store.SyncTx) error {
		return tx.PutCollection(store.SyncCollection{FolderID: inbox.ID, Generation: 3}, -1)
	}); err != nil {
		t.Fatal(err)
	}
	if cols, _ := e.st.SyncCollections(ctx, e.principal(), dev); len(cols) != 1 {
		t.Fatalf("collections before: %v", cols)
	}
	e.folderSync("0")
	if cols, err := e.st.SyncCollections(ctx, e.principal(), dev); err != nil || len(cols) != 0 {
		t.Fatalf("collections after FolderSync 0: %v %v", cols, err)
	}
}

// folderCmd sends FolderCreate, FolderUpdate or FolderDelete and returns the response.
func (e *testEnv) folderCmd(cmd, inner string) *wbxml.Node {
	e.t.Helper()
	r := e.do(call{cmd: cmd, xml: `<` + cmd + ` xmlns="FolderHierarchy">` + inner + `</` + cmd + `>`})
	if r.status != 200 || r.body == nil || !r.body.Is("FolderHierarchy:"+cmd) {
		e.t.Fatalf("%s: HTTP %d %s", cmd, r.status, r.raw)
	}
	return r.body
}

func TestFolderCreateUpdateDelete(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	key := e.folderSync("0").key
	inbox := e.folderByRole(store.RoleInbox)

	resp := e.folderCmd("FolderCreate", `<SyncKey>`+key+`</SyncKey><ParentId>`+sid(inbox.ID)+`</ParentId><DisplayName>Projects</DisplayName><Type>12</Type>`)
	validate(t, resp, "FolderCreateResponse.xsd")
	if resp.ChildText("Status") != "1" || resp.ChildText("SyncKey") == key || resp.ChildText("ServerId") == "" {
		t.Fatalf("FolderCreate: %s", resp.XML())
	}
	id, _ := strconv.ParseInt(resp.ChildText("ServerId"), 10, 64)
	f, err := e.st.Folder(ctx, e.principal(), id)
	if err != nil || f.Name != "Projects" || f.ParentID != inbox.ID || f.Class != store.ClassMail {
		t.Fatalf("created %+v %v", f, err)
	}
	key = resp.ChildText("SyncKey")
	// The old key is gone; the device's own creation is not echoed.
	if res := e.folderSync(key); res.status != 1 || res.count != 0 {
		t.Errorf("FolderSync after FolderCreate: %+v", res)
	}

	resp = e.folderCmd("FolderUpdate", `<SyncKey>`+key+`</SyncKey><ServerId>`+sid(id)+`</ServerId><ParentId>0</ParentId><DisplayName>Projects 2026</DisplayName>`)
	validate(t, resp, "FolderUpdateResponse.xsd")
	if resp.ChildText("Status") != "1" || resp.ChildText("SyncKey") == key {
		t.Fatalf("FolderUpdate: %s", resp.XML())
	}
	key = resp.ChildText("SyncKey")
	if f, _ := e.st.Folder(ctx, e.principal(), id); f.Name != "Projects 2026" || f.ParentID != 0 {
		t.Errorf("after update: %+v", f)
	}
	if res := e.folderSync(key); res.status != 1 || res.count != 0 {
		t.Errorf("FolderSync after FolderUpdate: %+v", res)
	}

	resp = e.folderCmd("FolderDelete", `<SyncKey>`+key+`</SyncKey><ServerId>`+sid(id)+`</ServerId>`)
	validate(t, resp, "FolderDeleteResponse.xsd")
	if resp.ChildText("Status") != "1" || resp.ChildText("SyncKey") == key {
		t.Fatalf("FolderDelete: %s", resp.XML())
	}
	key = resp.ChildText("SyncKey")
	if _, err := e.st.Folder(ctx, e.principal(), id); err == nil {
		t.Error("folder still there")
	}
	if res := e.folderSync(key); res.status != 1 || res.count != 0 {
		t.Errorf("FolderSync after FolderDelete: %+v", res)
	}

	// A folder the device created and that was then deleted
	// elsewhere (IMAP) reaches the device as a Delete, though the tree delta leaves it out.
	resp = e.folderCmd("FolderCreate", `<SyncKey>`+key+`</SyncKey><ParentId>0</ParentId><DisplayName>Trip</DisplayName><Type>13</Type>`)
	key = resp.ChildText("SyncKey")
	trip, _ := strconv.ParseInt(resp.ChildText("ServerId"), 10, 64)
	if f, _ := e.st.Folder(ctx, e.principal(), trip); f.Class != store.ClassCalendar {
		t.Errorf("type 13 made a %s folder", f.Class)
	}
	if err := e.st.DeleteFolder(ctx, e.principal(), trip); err != nil {
		t.Fatal(err)
	}
	if res := e.folderSync(key); len(res.deletes) != 1 || res.deletes[0] != sid(trip) {
		t.Errorf("deletion of the device's own new folder: %+v", res)
	}
}

func TestFolderCommandStatuses(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	key := e.folderSync("0").key
	inbox := e.folderByRole(store.RoleInbox)
	mine, err := e.st.CreateFolder(ctx, e.principal(), 0, "Mine", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	key = e.folderSync(key).key
	bob := e.addUser("bob@example.org", "Bob")
	bobs, err := e.st.CreateFolder(ctx, store.Principal{AccountID: bob.ID}, 0, "Bob's", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	bobInbox, err := e.st.FolderByRole(ctx, store.Principal{AccountID: bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	create := func(parent, name, typ string) string {
		return `<SyncKey>` + key + `</SyncKey><ParentId>` + parent + `</ParentId><DisplayName>` + name + `</DisplayName><Type>` + typ + `</Type>`
	}
	update := func(id, parent, name string) string {
		return `<SyncKey>` + key + `</SyncKey><ServerId>` + id + `</ServerId><ParentId>` + parent + `</ParentId><DisplayName>` + name + `</DisplayName>`
	}
	del := func(id string) string { return `<SyncKey>` + key + `</SyncKey><ServerId>` + id + `</ServerId>` }
	cases := []struct {
		name, cmd, inner, status, schema string
	}{
		{"create: name taken", "FolderCreate", create("0", "Mine", "12"), "2", "FolderCreateResponse.xsd"},
		{"create: parent of another account", "FolderCreate", create(sid(bobs.ID), "X", "12"), "5", ""},
		{"create: parent garbage", "FolderCreate", create("inbox", "X", "12"), "5", ""},
		{"create: parent gone", "FolderCreate", create("999999", "X", "12"), "5", ""},
		{"create: bad name", "FolderCreate", create("0", "a/b", "12"), "10", "FolderCreateResponse.xsd"},
		{"create: reserved type", "FolderCreate", create("0", "X", "2"), "10", ""},
		{"create: journal", "FolderCreate", create("0", "X", "16"), "10", ""},
		{"create: type not a number", "FolderCreate", create("0", "X", "mail"), "10", ""},
		{"create: no type", "FolderCreate", `<SyncKey>` + key + `</SyncKey><ParentId>0</ParentId><DisplayName>X</DisplayName>`, "10", ""},
		{"create: stale key", "FolderCreate", `<SyncKey>0</SyncKey><ParentId>0</ParentId><DisplayName>X</DisplayName><Type>12</Type>`, "9", "FolderCreateResponse.xsd"},
		{"update: special folder", "FolderUpdate", update(sid(inbox.ID), "0", "Post"), "2", "FolderUpdateResponse.xsd"},
		{"update: name taken", "FolderUpdate", update(sid(mine.ID), "0", "Drafts"), "2", ""},
		{"update: another account's folder", "FolderUpdate", update(sid(bobs.ID), "0", "Stolen"), "4", ""},
		{"update: garbage id", "FolderUpdate", update("x", "0", "Y"), "4", ""},
		{"update: parent of another account", "FolderUpdate", update(sid(mine.ID), sid(bobInbox.ID), "Mine"), "5", ""},
		{"update: under itself", "FolderUpdate", update(sid(mine.ID), sid(mine.ID), "Mine"), "10", ""},
		{"update: stale key", "FolderUpdate", `<SyncKey>1-1</SyncKey><ServerId>` + sid(mine.ID) + `</ServerId><ParentId>0</ParentId><DisplayName>Z</DisplayName>`, "9", ""},
		{"update: no name", "FolderUpdate", `<SyncKey>` + key + `</SyncKey><ServerId>` + sid(mine.ID) + `</ServerId><ParentId>0</ParentId>`, "10", ""},
		{"delete: special folder", "FolderDelete", del(sid(inbox.ID)), "3", "FolderDeleteResponse.xsd"},
		{"delete: another account's folder", "FolderDelete", del(sid(bobs.ID)), "4", "FolderDeleteResponse.xsd"},
		{"delete: garbage", "FolderDelete", del("-1"), "4", ""},
		{"delete: stale key", "FolderDelete", `<SyncKey>junk</SyncKey><ServerId>` + sid(mine.ID) + `</ServerId>`, "9", ""},
		{"delete: no key", "FolderDelete", `<ServerId>` + sid(mine.ID) + `</ServerId>`, "10", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := e.folderCmd(c.cmd, c.inner)
			if resp.ChildText("Status") != c.status || resp.Has("SyncKey") || resp.Has("ServerId") {
				t.Errorf("%s", resp.XML())
			}
			if c.schema != "" {
				validate(t, resp, c.schema)
			}
		})
	}
	// Nothing was changed by any of it: Bob's folder and the Inbox are as they were,
	// and the device's key is still good with nothing to report.
	if f, err := e.st.Folder(ctx, store.Principal{AccountID: bob.ID}, bobs.ID); err != nil || f.Name != "Bob's" {
		t.Errorf("Bob's folder: %+v %v", f, err)
	}
	if f := e.folderByRole(store.RoleInbox); f.Name != inbox.Name {
		t.Errorf("Inbox renamed to %q", f.Name)
	}
	if res := e.folderSync(key); res.status != 1 || res.count != 0 {
		t.Errorf("FolderSync after refused commands: %+v", res)
	}
}

func TestFolderForCollection(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	inbox := e.folderByRole(store.RoleInbox)
	bob := e.addUser("bob@example.org", "Bob")
	bobInbox, err := e.st.FolderByRole(ctx, store.Principal{AccountID: bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	rq := &request{ctx: ctx, p: e.principal()}
	f, err := e.h.folderForCollection(ctx, rq, sid(inbox.ID))
	if err != nil || f.ID != inbox.ID {
		t.Fatalf("own Inbox: %+v %v", f, err)
	}
	for _, id := range []string{sid(bobInbox.ID), "", "0", "-1", "0" + sid(inbox.ID), "+" + sid(inbox.ID), sid(inbox.ID) + ":1", "999999", "99999999999999999999"} {
		if _, err := e.h.folderForCollection(ctx, rq, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%q: %v, want ErrNotFound", id, err)
		}
	}
}

// Phones send the same request twice at once: both get the same answer (§2 invariant 4).
func TestFolderSyncConcurrentReplay(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	key := e.folderSync("0").key
	for round := range 5 {
		if _, err := e.st.CreateFolder(ctx, e.principal(), 0, "Round "+strconv.Itoa(round), store.ClassMail); err != nil {
			t.Fatal(err)
		}
		results := make(chan reply, 2)
		body := `<FolderSync xmlns="FolderHierarchy"><SyncKey>` + key + `</SyncKey></FolderSync>`
		for range 2 {
			go func() { results <- e.do(call{cmd: "FolderSync", xml: body}) }()
		}
		a, b := <-results, <-results
		for _, r := range []reply{a, b} {
			if r.status == 503 {
				continue // told to retry: allowed, never a wrong answer
			}
			if r.status != 200 || r.body.ChildText("Status") != "1" || r.body.Child("Changes").ChildText("Count") != "1" {
				t.Fatalf("round %d: HTTP %d %s", round, r.status, r.raw)
			}
		}
		if a.status == 200 && b.status == 200 && !bytes.Equal(a.raw, b.raw) {
			t.Fatalf("round %d: two answers to one key:\n%s\n%s", round, a.body.XML(), b.body.XML())
		}
		ok := a
		if ok.status != 200 {
			ok = b
		}
		if ok.status != 200 {
			t.Fatalf("round %d: both told to retry", round)
		}
		key = ok.body.ChildText("SyncKey")
	}
}
