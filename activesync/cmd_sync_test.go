package activesync

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// syncResult is one collection of a Sync response, as a test reads it.
type syncResult struct {
	httpStatus int
	status     int // top-level Status, 0 when absent
	collStatus int
	key        string
	adds       []string
	changes    []string
	deletes    []string
	softDels   []string
	data       map[string]*wbxml.Node // ApplicationData of Adds and Changes by ServerId
	responses  *wbxml.Node
	more       bool
	raw        []byte
	body       *wbxml.Node
}

const syncNS = `xmlns="AirSync" xmlns:email="Email" xmlns:airsyncbase="AirSyncBase"`

// syncXML is a Sync request for one collection; inner follows CollectionId, top
// follows Collections.
func syncXML(folder int64, key, inner, top string) string {
	return `<Sync ` + syncNS + `><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` +
		strconv.FormatInt(folder, 10) + `</CollectionId>` + inner + `</Collection></Collections>` + top + `</Sync>`
}

func (e *testEnv) syncRaw(c call) syncResult {
	e.t.Helper()
	c.cmd = "Sync"
	r := e.do(c)
	res := syncResult{httpStatus: r.status, raw: r.raw, body: r.body, data: map[string]*wbxml.Node{}}
	if r.body == nil {
		return res
	}
	if !r.body.Is("AirSync:Sync") {
		e.t.Fatalf("Sync answered %s", r.body.Name())
	}
	res.status, _ = strconv.Atoi(r.body.ChildText("AirSync:Status"))
	col := r.body.Path("Collections", "Collection")
	if col == nil {
		return res
	}
	res.collStatus, _ = strconv.Atoi(col.ChildText("AirSync:Status"))
	res.key = col.ChildText("AirSync:SyncKey")
	res.more = col.Has("AirSync:MoreAvailable")
	res.responses = col.Child("AirSync:Responses")
	for _, cmd := range col.Child("AirSync:Commands").All("AirSync:Add") {
		sid := cmd.ChildText("AirSync:ServerId")
		res.adds = append(res.adds, sid)
		res.data[sid] = cmd.Child("AirSync:ApplicationData")
	}
	for _, cmd := range col.Child("AirSync:Commands").All("AirSync:Change") {
		sid := cmd.ChildText("AirSync:ServerId")
		res.changes = append(res.changes, sid)
		res.data[sid] = cmd.Child("AirSync:ApplicationData")
	}
	for _, cmd := range col.Child("AirSync:Commands").All("AirSync:Delete") {
		res.deletes = append(res.deletes, cmd.ChildText("AirSync:ServerId"))
	}
	for _, cmd := range col.Child("AirSync:Commands").All("AirSync:SoftDelete") {
		res.softDels = append(res.softDels, cmd.ChildText("AirSync:ServerId"))
	}
	return res
}

// sync sends a one-collection Sync and insists on Status 1.
func (e *testEnv) sync(folder int64, key, inner string) syncResult {
	e.t.Helper()
	res := e.syncRaw(call{xml: syncXML(folder, key, inner, "")})
	if res.httpStatus != 200 || res.collStatus != 1 {
		e.t.Fatalf("Sync %s: HTTP %d status %d/%d\n%s", key, res.httpStatus, res.status, res.collStatus, res.body)
	}
	return res
}

// testMessage is a small message; n makes it unique.
func syncTestMessage(n int, subject string) string {
	return fmt.Sprintf("From: Bob <bob@example.net>\r\nTo: Alice Liddell <alice@example.org>\r\nSubject: %s\r\n"+
		"Message-ID: <m%d@example.net>\r\nDate: Mon, 2 Jan 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello number %d.\r\n", subject, n, n)
}

func (e *testEnv) syncDeliverAt(folder int64, raw string, at time.Time) store.Delivered {
	e.t.Helper()
	d, err := e.st.Deliver(context.Background(), e.principal(), folder, []byte(raw), store.DeliverOptions{InternalDate: at})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func syncSID(folder, item int64) string { return (&store.Item{FolderID: folder, ID: item}).ServerID() }

func newSyncEnv(t *testing.T, edit ...func(*Options)) *testEnv {
	e := newTestEnv(t, edit...)
	e.provisioned("TESTDEVICE")
	return e
}

func TestSyncInitialFillInWindows(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	base := time.Now().Add(-250 * time.Minute).Truncate(time.Second)
	want := map[string]time.Time{}
	for i := range 250 {
		at := base.Add(time.Duration(i) * time.Minute)
		d := e.syncDeliverAt(inbox.ID, syncTestMessage(i, "fill "+strconv.Itoa(i)), at)
		want[syncSID(inbox.ID, d.ItemID)] = at
	}
	r0 := e.sync(inbox.ID, "0", "")
	if len(r0.adds) != 0 || r0.key == "" || r0.key == "0" {
		t.Fatalf("SyncKey 0 answered %d adds, key %q", len(r0.adds), r0.key)
	}
	validate(t, r0.body, "SyncResponse.xsd")

	key, seen := r0.key, map[string]bool{}
	last := time.Now().Add(time.Hour)
	var batches []int
	for range 5 {
		r := e.sync(inbox.ID, key, `<WindowSize>100</WindowSize><Options><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>200</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options>`)
		if len(batches) == 0 {
			validate(t, r.body, "SyncResponse.xsd")
		}
		batches = append(batches, len(r.adds))
		for _, s := range r.adds {
			if seen[s] {
				t.Fatalf("ServerId %s sent twice", s)
			}
			seen[s] = true
			at, ok := want[s]
			if !ok {
				t.Fatalf("unknown ServerId %s", s)
			}
			if at.After(last) {
				t.Fatalf("%s (%v) after an older one (%v): not newest first", s, at, last)
			}
			last = at
			got, _ := time.Parse(easTime, r.data[s].ChildText("Email:DateReceived"))
			if !got.Equal(at) {
				t.Errorf("%s DateReceived %v, want %v", s, got, at)
			}
		}
		if r.key == key {
			t.Fatalf("key did not advance after %d adds", len(r.adds))
		}
		key = r.key
		if !r.more {
			break
		}
	}
	if fmt.Sprint(batches) != "[100 100 50]" {
		t.Errorf("batches %v, want [100 100 50]", batches)
	}
	if len(seen) != 250 {
		t.Errorf("%d items sent, want 250", len(seen))
	}
	// Nothing more: the key stays.
	r := e.sync(inbox.ID, key, "")
	if len(r.adds)+len(r.changes)+len(r.deletes) != 0 || r.more || r.key != key {
		t.Errorf("idle Sync: %d adds, %d changes, %d deletes, more %v, key %q→%q", len(r.adds), len(r.changes), len(r.deletes), r.more, key, r.key)
	}
}

// fillAll syncs a folder from SyncKey 0 to the end and returns the key.
func (e *testEnv) syncFillAll(folder int64, options string) (string, []string) {
	e.t.Helper()
	key := e.sync(folder, "0", options).key
	var all []string
	for {
		r := e.sync(folder, key, "")
		all = append(all, r.adds...)
		key = r.key
		if !r.more {
			return key, all
		}
	}
}

func TestSyncIncrementalChanges(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	inbox := e.folderByRole(store.RoleInbox)
	trash := e.folderByRole(store.RoleTrash)
	d1 := e.deliver(inbox.ID, syncTestMessage(1, "one"))
	d2 := e.deliver(inbox.ID, syncTestMessage(2, "two"))
	key, all := e.syncFillAll(inbox.ID, "")
	if len(all) != 2 {
		t.Fatalf("fill sent %v", all)
	}

	// A delivery is an Add.
	d3 := e.deliver(inbox.ID, syncTestMessage(3, "three"))
	r := e.sync(inbox.ID, key, "")
	if len(r.adds) != 1 || r.adds[0] != syncSID(inbox.ID, d3.ItemID) || len(r.changes) != 0 {
		t.Fatalf("after a delivery: adds %v changes %v", r.adds, r.changes)
	}
	if got := r.data[r.adds[0]].ChildText("Email:Subject"); got != "three" {
		t.Errorf("Subject %q", got)
	}
	key = r.key

	// A flag set elsewhere (IMAP) is a Change carrying the Flag.
	if _, err := e.st.SetFlags(ctx, e.principal(), store.Selector{FolderID: inbox.ID, IDs: []int64{d1.ItemID}}, store.FlagsAdd, store.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	n, known, err := e.h.pendingCount(ctx, e.engineRequest("TESTDEVICE"), inbox.ID)
	if err != nil || !known || n != 1 {
		t.Errorf("pendingCount = %d, %v, %v; want 1, true", n, known, err)
	}
	r = e.sync(inbox.ID, key, "")
	validate(t, r.body, "SyncResponse.xsd")
	if len(r.changes) != 1 || r.changes[0] != syncSID(inbox.ID, d1.ItemID) || len(r.adds) != 0 {
		t.Fatalf("after a flag: adds %v changes %v", r.adds, r.changes)
	}
	if st := r.data[r.changes[0]].Path("Flag", "Status"); st == nil || st.Text != "2" {
		t.Errorf("Change carries no active Flag: %s", r.data[r.changes[0]])
	}
	key = r.key

	// The device's own change is applied and not echoed back.
	r = e.sync(inbox.ID, key, `<Commands><Change><ServerId>`+syncSID(inbox.ID, d2.ItemID)+`</ServerId><ApplicationData><email:Read>1</email:Read>`+
		`<email:Categories><email:Category>Red Team</email:Category></email:Categories></ApplicationData></Change></Commands>`)
	if r.responses != nil || len(r.changes) != 0 {
		t.Fatalf("own Change: responses %s, changes %v", r.responses, r.changes)
	}
	key = r.key
	it, err := e.st.GetItem(ctx, e.principal(), d2.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Flags&store.FlagSeen == 0 {
		t.Errorf("Read=1 did not set \\Seen: flags %v", it.Flags)
	}
	if len(it.Keywords) != 1 || keywordCategory(it.Keywords[0]) != "Red Team" {
		t.Errorf("keywords %q", it.Keywords)
	}
	if has, err := e.h.hasPending(ctx, e.engineRequest("TESTDEVICE"), inbox.ID); err != nil || has {
		t.Errorf("hasPending after the device's own change = %v, %v", has, err)
	}
	r = e.sync(inbox.ID, key, "")
	if len(r.changes)+len(r.adds)+len(r.deletes) != 0 {
		t.Fatalf("own change echoed: %v %v %v", r.adds, r.changes, r.deletes)
	}
	key = r.key

	// Delete with DeletesAsMoves (the default) moves to the Trash.
	r = e.sync(inbox.ID, key, `<Commands><Delete><ServerId>`+syncSID(inbox.ID, d3.ItemID)+`</ServerId></Delete></Commands>`)
	if r.responses != nil || len(r.deletes) != 0 {
		t.Fatalf("Delete: responses %s deletes %v", r.responses, r.deletes)
	}
	key = r.key
	it, err = e.st.GetItem(ctx, e.principal(), d3.ItemID)
	if err != nil || it.FolderID != trash.ID {
		t.Fatalf("deleted item: folder %d (Trash %d), %v", it.FolderID, trash.ID, err)
	}
	r = e.sync(inbox.ID, key, "")
	if len(r.deletes)+len(r.changes)+len(r.adds) != 0 {
		t.Fatalf("own Delete echoed: %v %v %v", r.adds, r.changes, r.deletes)
	}
	key = r.key

	// A deletion elsewhere is a Delete; an unknown ServerId is Status 8.
	if _, err := e.st.Delete(ctx, e.principal(), store.Selector{FolderID: inbox.ID, IDs: []int64{d1.ItemID}}); err != nil {
		t.Fatal(err)
	}
	r = e.sync(inbox.ID, key, `<Commands><Change><ServerId>`+syncSID(inbox.ID, 999999)+`</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change></Commands>`)
	if len(r.deletes) != 1 || r.deletes[0] != syncSID(inbox.ID, d1.ItemID) {
		t.Errorf("after a deletion: deletes %v", r.deletes)
	}
	if st := r.responses.Path("Change", "Status"); st == nil || st.Text != "8" {
		t.Errorf("Change of an unknown item: %s", r.responses)
	}
	validate(t, r.body, "SyncResponse.xsd")
}

// request builds a *request for calling the engine directly, as Ping does.
func (e *testEnv) engineRequest(deviceID string) *request {
	e.t.Helper()
	dev, err := e.st.Device(context.Background(), e.principal(), deviceID)
	if err != nil {
		e.t.Fatal(err)
	}
	acct, err := e.st.Account(context.Background(), e.acct.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return &request{ctx: context.Background(), acct: acct, p: e.principal(), dev: dev, version: v161, log: e.h.log}
}

func TestSyncReplayOfPreviousKey(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	for i := range 30 {
		e.deliver(inbox.ID, syncTestMessage(i, "replay"))
	}
	k1 := e.sync(inbox.ID, "0", "").key
	win := `<WindowSize>10</WindowSize>`
	first := e.sync(inbox.ID, k1, win)
	again := e.sync(inbox.ID, k1, win)
	if !bytes.Equal(first.raw, again.raw) {
		t.Fatalf("replay of %s differs:\n%s\n%s", k1, first.body, again.body)
	}
	if len(first.adds) != 10 {
		t.Fatalf("%d adds", len(first.adds))
	}
	seen := map[string]int{}
	for _, s := range first.adds {
		seen[s]++
	}
	key := first.key
	for {
		r := e.sync(inbox.ID, key, win)
		for _, s := range r.adds {
			seen[s]++
		}
		key = r.key
		if !r.more {
			break
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d distinct items, want 30", len(seen))
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", s, n)
		}
	}
	// The key before the previous one is stale.
	r := e.syncRaw(call{xml: syncXML(inbox.ID, k1, "", "")})
	if r.collStatus != 3 {
		t.Errorf("stale key: status %d, want 3", r.collStatus)
	}
}

func TestSyncStatusCodes(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	bob := e.addUser("bob@example.org", "Bob")
	bobInbox, err := e.st.FolderByRole(context.Background(), store.Principal{AccountID: bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	contacts := e.folderByRole(store.RoleContacts)
	for _, tc := range []struct {
		name   string
		folder int64
		key    string
		want   int
	}{
		{"garbage key", inbox.ID, "banana", 3},
		{"never synced", inbox.ID, "0:5", 3},
		{"another account's folder", bobInbox.ID, "0", 8},
		{"no such folder", 987654, "0", 8},
		{"contacts not yet", contacts.ID, "0", 4},
	} {
		r := e.syncRaw(call{xml: syncXML(tc.folder, tc.key, "", "")})
		if r.httpStatus != 200 || r.collStatus != tc.want {
			t.Errorf("%s: HTTP %d status %d, want %d", tc.name, r.httpStatus, r.collStatus, tc.want)
		}
	}
	// Another epoch's key is stale.
	k := e.sync(inbox.ID, "0", "").key
	epoch, gen, _ := parseSyncKey(k)
	if r := e.syncRaw(call{xml: syncXML(inbox.ID, formatSyncKey(epoch+1, gen), "", "")}); r.collStatus != 3 {
		t.Errorf("other epoch: status %d", r.collStatus)
	}
	// A malformed request is Status 4.
	if r := e.syncRaw(call{xml: `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>0</SyncKey></Collection></Collections></Sync>`}); r.status != 4 {
		t.Errorf("Collection without CollectionId: status %d", r.status)
	}
}

func TestSyncFilterTypeWindow(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	now := time.Now()
	old := e.syncDeliverAt(inbox.ID, syncTestMessage(1, "old"), now.AddDate(0, 0, -10))
	recent := e.syncDeliverAt(inbox.ID, syncTestMessage(2, "recent"), now.AddDate(0, 0, -2))
	opts := `<Options><FilterType>3</FilterType></Options>`
	key, all := e.syncFillAll(inbox.ID, opts)
	if len(all) != 1 || all[0] != syncSID(inbox.ID, recent.ItemID) {
		t.Fatalf("one-week window sent %v (old %d, recent %d)", all, old.ItemID, recent.ItemID)
	}
	// An old message arriving later stays out; a new one comes in.
	e.syncDeliverAt(inbox.ID, syncTestMessage(3, "older"), now.AddDate(0, 0, -20))
	fresh := e.deliver(inbox.ID, syncTestMessage(4, "fresh"))
	r := e.sync(inbox.ID, key, "")
	if len(r.adds) != 1 || r.adds[0] != syncSID(inbox.ID, fresh.ItemID) {
		t.Fatalf("incremental in window: %v", r.adds)
	}
	// Narrowing the window to one day soft-deletes what falls out of it.
	r = e.sync(inbox.ID, r.key, `<Options><FilterType>1</FilterType></Options>`)
	if len(r.softDels) != 1 || r.softDels[0] != syncSID(inbox.ID, recent.ItemID) {
		t.Fatalf("narrowed window: soft deletes %v", r.softDels)
	}
	// Widening it to everything brings the old ones in.
	key = r.key
	var adds []string
	for {
		r = e.sync(inbox.ID, key, `<Options><FilterType>0</FilterType></Options>`)
		adds = append(adds, r.adds...)
		key = r.key
		if !r.more {
			break
		}
	}
	if len(adds) != 3 {
		t.Errorf("widened window added %v, want the 3 older ones", adds)
	}
}

func TestSyncBodies(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	long := strings.Repeat("héllo wörld ", 100) // multi-byte characters across the cut
	raw := "From: Bob <bob@example.net>\r\nTo: Alice <alice@example.org>\r\nSubject: long\r\nMessage-ID: <long@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" + long + "\r\n--b\r\nContent-Type: application/pdf; name=doc.pdf\r\n" +
		"Content-Disposition: attachment; filename=doc.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
	d := e.deliver(inbox.ID, raw)
	s := syncSID(inbox.ID, d.ItemID)

	body := func(options string) *wbxml.Node {
		t.Helper()
		k := e.sync(inbox.ID, "0", options).key
		r := e.sync(inbox.ID, k, "")
		if len(r.adds) != 1 {
			t.Fatalf("adds %v", r.adds)
		}
		return r.data[s]
	}
	pref := func(typ, size int, allOrNone bool) string {
		x := `<airsyncbase:BodyPreference><airsyncbase:Type>` + strconv.Itoa(typ) + `</airsyncbase:Type>`
		if size > 0 {
			x += `<airsyncbase:TruncationSize>` + strconv.Itoa(size) + `</airsyncbase:TruncationSize>`
		}
		if allOrNone {
			x += `<airsyncbase:AllOrNone>1</airsyncbase:AllOrNone>`
		}
		return x + `<airsyncbase:Preview>50</airsyncbase:Preview></airsyncbase:BodyPreference>`
	}

	ad := body(`<Options>` + pref(1, 100, false) + `</Options>`)
	b := ad.Child("AirSyncBase:Body")
	data := b.ChildText("AirSyncBase:Data")
	if b.ChildText("AirSyncBase:Truncated") != "1" || len(data) > 100 || len(data) < 95 || !strings.HasPrefix(long, data) {
		t.Errorf("truncated body: %q (%d bytes) %s", data, len(data), b)
	}
	if b.ChildText("AirSyncBase:EstimatedDataSize") != strconv.Itoa(len(long)) {
		t.Errorf("EstimatedDataSize %s, want %d", b.ChildText("AirSyncBase:EstimatedDataSize"), len(long))
	}
	if p := b.ChildText("AirSyncBase:Preview"); p == "" || len([]rune(p)) > 50 {
		t.Errorf("Preview %q", p)
	}
	att := ad.Path("Attachments", "Attachment")
	if att.ChildText("AirSyncBase:DisplayName") != "doc.pdf" || att.ChildText("AirSyncBase:FileReference") != formatFileRef(inbox.ID, d.ItemID, "2") {
		t.Errorf("attachment %s", att)
	}

	b = body(`<Options>` + pref(1, 100, true) + `</Options>`).Child("AirSyncBase:Body")
	if b.Has("AirSyncBase:Data") || b.ChildText("AirSyncBase:Truncated") != "1" {
		t.Errorf("AllOrNone too small: %s", b)
	}
	b = body(`<Options>` + pref(1, 100000, true) + `</Options>`).Child("AirSyncBase:Body")
	if b.ChildText("AirSyncBase:Data") != long || b.Has("AirSyncBase:Truncated") {
		t.Errorf("AllOrNone fits: %s", b)
	}
	b = body(`<Options>` + pref(2, 0, false) + `</Options>`).Child("AirSyncBase:Body")
	if b.ChildText("AirSyncBase:Type") != "2" || !strings.Contains(b.ChildText("AirSyncBase:Data"), "héllo wörld") ||
		!strings.Contains(b.ChildText("AirSyncBase:Data"), "<html>") {
		t.Errorf("text as HTML: %s", b)
	}
	b = body(`<Options><MIMESupport>2</MIMESupport>` + pref(4, 0, false) + `</Options>`).Child("AirSyncBase:Body")
	if b.ChildText("AirSyncBase:Type") != "4" || !bytes.Equal(b.Child("AirSyncBase:Data").Opaque, []byte(raw)) {
		t.Errorf("MIME body differs from the message: %s", b)
	}
}

func TestSyncEmptyAndPartialRequests(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	// Nothing remembered yet: Status 13.
	if r := e.syncRaw(call{}); r.httpStatus != 200 || r.status != 13 {
		t.Fatalf("empty Sync without a previous one: HTTP %d status %d", r.httpStatus, r.status)
	}
	key, _ := e.syncFillAll(inbox.ID, "")
	d := e.deliver(inbox.ID, syncTestMessage(9, "later"))
	// The empty request is the last full one, at the current key.
	r := e.syncRaw(call{})
	if r.collStatus != 1 || len(r.adds) != 1 || r.adds[0] != syncSID(inbox.ID, d.ItemID) {
		t.Fatalf("empty Sync: status %d adds %v\n%s", r.collStatus, r.adds, r.body)
	}
	if r.key == key {
		t.Errorf("key did not advance")
	}
	// A partial request with only a Wait completes from the remembered one.
	r = e.syncRaw(call{xml: `<Sync xmlns="AirSync"><Partial/></Sync>`})
	if r.collStatus != 1 {
		t.Errorf("partial Sync: status %d %s", r.collStatus, r.body)
	}
}

func TestSyncHanging(t *testing.T) {
	e := newSyncEnv(t, func(o *Options) { o.HeartbeatMin = time.Second })
	inbox := e.folderByRole(store.RoleInbox)
	key, _ := e.syncFillAll(inbox.ID, "")

	// Out of bounds: Status 14 with the bound.
	r := e.syncRaw(call{xml: syncXML(inbox.ID, key, "", `<HeartbeatInterval>4000</HeartbeatInterval>`)})
	if r.status != 14 || r.body.ChildText("AirSync:Limit") != "3540" {
		t.Fatalf("HeartbeatInterval 4000: %s", r.body)
	}
	validate(t, r.body, "SyncResponse.xsd")

	// Nothing changes: an empty 200 when the wait runs out.
	start := time.Now()
	r = e.syncRaw(call{xml: syncXML(inbox.ID, key, "", `<HeartbeatInterval>1</HeartbeatInterval>`)})
	if r.httpStatus != 200 || len(r.raw) != 0 || time.Since(start) < time.Second {
		t.Fatalf("expired hanging Sync: HTTP %d, %d bytes after %v", r.httpStatus, len(r.raw), time.Since(start))
	}

	// A delivery ends the wait with the new item.
	done := make(chan struct{})
	var d store.Delivered
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		d, _ = e.st.Deliver(context.Background(), e.principal(), inbox.ID, []byte(syncTestMessage(7, "pushed")), store.DeliverOptions{})
	}()
	start = time.Now()
	r = e.syncRaw(call{xml: syncXML(inbox.ID, key, "", `<HeartbeatInterval>30</HeartbeatInterval>`)})
	<-done
	if len(r.adds) != 1 || r.adds[0] != syncSID(inbox.ID, d.ItemID) {
		t.Fatalf("hanging Sync: adds %v\n%s", r.adds, r.body)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("push took %v", el)
	}
}

func TestSyncSameRequestTwiceAtOnce(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	for i := range 20 {
		e.deliver(inbox.ID, syncTestMessage(i, "twice"))
	}
	k := e.sync(inbox.ID, "0", "").key
	results := make(chan syncResult, 2)
	for range 2 {
		go func() { results <- e.syncRaw(call{xml: syncXML(inbox.ID, k, `<WindowSize>5</WindowSize>`, "")}) }()
	}
	a, b := <-results, <-results
	if a.collStatus != 1 || b.collStatus != 1 {
		t.Fatalf("statuses %d and %d", a.collStatus, b.collStatus)
	}
	// Both get the same answer: one made it, the other is its replay.
	if !bytes.Equal(a.raw, b.raw) {
		t.Errorf("two answers to one key:\n%s\n%s", a.body, b.body)
	}
	seen := map[string]bool{}
	for _, s := range a.adds {
		seen[s] = true
	}
	key := a.key
	for {
		r := e.sync(inbox.ID, key, `<WindowSize>5</WindowSize>`)
		for _, s := range r.adds {
			if seen[s] {
				t.Fatalf("%s sent twice", s)
			}
			seen[s] = true
		}
		key = r.key
		if !r.more {
			break
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d items, want 20", len(seen))
	}
}

func FuzzParseSyncRequest(f *testing.F) {
	for _, x := range []string{
		syncXML(5, "0", "", ""),
		syncXML(5, "1:3", `<DeletesAsMoves>1</DeletesAsMoves><GetChanges/><WindowSize>100</WindowSize><Options><FilterType>3</FilterType>`+
			`<airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>5000</airsyncbase:TruncationSize>`+
			`<airsyncbase:AllOrNone>1</airsyncbase:AllOrNone><airsyncbase:Preview>100</airsyncbase:Preview></airsyncbase:BodyPreference>`+
			`<MIMESupport>2</MIMESupport><MIMETruncation>8</MIMETruncation></Options>`+
			`<Commands><Change><ServerId>5:9</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change>`+
			`<Delete><ServerId>5:10</ServerId></Delete><Fetch><ServerId>5:11</ServerId></Fetch>`+
			`<Add><ClientId>c1</ClientId><ApplicationData><email:Subject>x</email:Subject></ApplicationData></Add></Commands>`, `<Wait>5</Wait><WindowSize>50</WindowSize>`),
		`<Sync xmlns="AirSync"><Partial/><HeartbeatInterval>600</HeartbeatInterval></Sync>`,
		`<Sync xmlns="AirSync"><Wait>1</Wait><HeartbeatInterval>60</HeartbeatInterval></Sync>`,
	} {
		b := wbxmlOf(f, x)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := wbxml.Decode(b)
		if err != nil {
			return
		}
		sr, err := parseSyncRequest(n)
		if err != nil {
			return
		}
		// What is remembered for an empty Sync must read back as the same request.
		c, err := wbxml.Encode(sr.cacheNode())
		if err != nil {
			return // a CollectionId with NUL cannot be re-encoded; it is never remembered then
		}
		m, err := wbxml.Decode(c)
		if err != nil {
			t.Fatalf("remembered request does not decode: %v", err)
		}
		again, err := parseSyncRequest(m)
		if err != nil || len(again.collections) != len(sr.collections) {
			t.Fatalf("remembered request reads back differently: %v", err)
		}
		for _, col := range sr.collections {
			parseBodyOptions(col.options)
		}
	})
}

func TestSyncDeletesAndTrash(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	inbox := e.folderByRole(store.RoleInbox)
	trash := e.folderByRole(store.RoleTrash)
	d1 := e.deliver(inbox.ID, syncTestMessage(1, "to trash"))
	d2 := e.deliver(inbox.ID, syncTestMessage(2, "for good"))
	key, _ := e.syncFillAll(inbox.ID, "")
	tkey, _ := e.syncFillAll(trash.ID, "")

	// DeletesAsMoves (default): the item shows up in the Trash collection as an Add.
	key = e.sync(inbox.ID, key, `<Commands><Delete><ServerId>`+syncSID(inbox.ID, d1.ItemID)+`</ServerId></Delete></Commands>`).key
	r := e.sync(trash.ID, tkey, "")
	if len(r.adds) != 1 || r.adds[0] != syncSID(trash.ID, d1.ItemID) {
		t.Fatalf("Trash after a delete: adds %v", r.adds)
	}
	tkey = r.key
	// DeletesAsMoves 0: gone for good.
	e.sync(inbox.ID, key, `<DeletesAsMoves>0</DeletesAsMoves><Commands><Delete><ServerId>`+syncSID(inbox.ID, d2.ItemID)+`</ServerId></Delete></Commands>`)
	if _, err := e.st.GetItem(ctx, e.principal(), d2.ItemID); err == nil {
		t.Error("DeletesAsMoves 0 left the item")
	}
	// Deleting in the Trash deletes.
	e.sync(trash.ID, tkey, `<Commands><Delete><ServerId>`+syncSID(trash.ID, d1.ItemID)+`</ServerId></Delete></Commands>`)
	if _, err := e.st.GetItem(ctx, e.principal(), d1.ItemID); err == nil {
		t.Error("a delete in the Trash left the item")
	}
}

func TestSyncVersionsAndFetch(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	d := e.deliver(inbox.ID, syncTestMessage(1, "Re: versions"))
	for _, v := range []string{"12.1", "14.0", "16.1"} {
		dev := "DEV" + strings.ReplaceAll(v, ".", "")
		e.provisioned(dev)
		k := e.syncRaw(call{device: dev, version: v, xml: syncXML(inbox.ID, "0", "", "")}).key
		r := e.syncRaw(call{device: dev, version: v, xml: syncXML(inbox.ID, k, "", "")})
		if len(r.adds) != 1 {
			t.Fatalf("%s: adds %v", v, r.adds)
		}
		ad := r.data[r.adds[0]]
		if has := ad.Has("Email2:ConversationId"); has != (v != "12.1") {
			t.Errorf("%s: ConversationId present %v", v, has)
		}
		if has := ad.Has("Email2:IsDraft"); has != (v == "16.1") {
			t.Errorf("%s: IsDraft present %v", v, has)
		}
		if got := ad.ChildText("Email:ThreadTopic"); got != "versions" {
			t.Errorf("%s: ThreadTopic %q", v, got)
		}
		if got := ad.ChildText("Email:From"); got != `"Bob" <bob@example.net>` && got != "Bob <bob@example.net>" {
			t.Errorf("%s: From %q", v, got)
		}
		// Without BodyPreference the body is plain text.
		if got := ad.Path("Body", "Type"); got == nil || got.Text != "1" {
			t.Errorf("%s: body %s", v, ad.Child("AirSyncBase:Body"))
		}
		validate(t, r.body, "SyncResponse.xsd") // 16.1's IsDraft and Bcc are in Email2.xsd
		// Fetch answers the item in Responses.
		r = e.syncRaw(call{device: dev, version: v, xml: syncXML(inbox.ID, r.key, `<GetChanges>0</GetChanges><Commands><Fetch><ServerId>`+
			syncSID(inbox.ID, d.ItemID)+`</ServerId></Fetch><Fetch><ServerId>`+syncSID(inbox.ID, d.ItemID+100)+`</ServerId></Fetch></Commands>`, "")})
		fetches := r.responses.All("AirSync:Fetch")
		if len(fetches) != 2 || fetches[0].ChildText("AirSync:Status") != "1" || !fetches[0].Has("AirSync:ApplicationData") ||
			fetches[1].ChildText("AirSync:Status") != "8" {
			t.Errorf("%s: Fetch responses %s", v, r.responses)
		}
		validate(t, r.body, "SyncResponse.xsd")
	}
}

func TestSyncFolderGone(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	f, err := e.st.CreateFolder(ctx, e.principal(), 0, "Projects", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	// The device learns of the folder through FolderSync, syncs it, then it is deleted.
	if r := e.do(call{cmd: "FolderSync", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`}); r.status != 200 {
		t.Fatalf("FolderSync: HTTP %d", r.status)
	}
	key := e.sync(f.ID, "0", "").key
	if err := e.st.DeleteFolder(ctx, e.principal(), f.ID); err != nil {
		t.Fatal(err)
	}
	r := e.syncRaw(call{xml: syncXML(f.ID, key, "", "")})
	if r.collStatus != 12 {
		t.Errorf("deleted folder: status %d, want 12 (FolderSync required)", r.collStatus)
	}
}
