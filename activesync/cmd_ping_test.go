package activesync

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// pingEnv is a handler whose heartbeat bounds allow short Pings, with a provisioned
// device that has synchronised its folders and primed and drained its Inbox.
func pingEnv(t *testing.T) (*testEnv, store.Folder) {
	e := newTestEnv(t, func(o *Options) {
		o.HeartbeatMin = time.Second
		o.HeartbeatMax = 120 * time.Second
		o.MaxPingFolders = 3
	})
	e.provisioned("TESTDEVICE")
	inbox := e.folderByRole(store.RoleInbox)
	e.primeCollection("TESTDEVICE", inbox.ID)
	return e, inbox
}

// primeCollection does what a phone does before its first Ping: FolderSync from 0, Sync
// from 0, then Sync until nothing more is available. It returns the last SyncKey.
func (e *testEnv) primeCollection(device string, folder int64) string {
	e.t.Helper()
	r := e.do(call{cmd: "FolderSync", device: device, xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
	if r.body.ChildText("Status") != "1" {
		e.t.Fatalf("FolderSync: %d %v", r.status, r.body)
	}
	key := "0"
	for range 100 {
		r := e.do(call{cmd: "Sync", device: device, xml: `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>` + key +
			`</SyncKey><CollectionId>` + strconv.FormatInt(folder, 10) + `</CollectionId><WindowSize>100</WindowSize></Collection></Collections></Sync>`})
		col := r.body.Path("Collections", "Collection")
		if col.ChildText("Status") != "1" {
			e.t.Fatalf("Sync %s: %v", key, r.body)
		}
		sent := key
		key = col.ChildText("SyncKey")
		// Key 0 only primes ([MS-ASCMD] 2.2.3.166.4); after it, drain until nothing more.
		if sent != "0" && !col.Has("MoreAvailable") {
			return key
		}
	}
	e.t.Fatal("Sync never drained")
	return key
}

func pingXML(heartbeat int, folders ...int64) string {
	s := `<Ping xmlns="Ping"><HeartbeatInterval>` + strconv.Itoa(heartbeat) + `</HeartbeatInterval><Folders>`
	for _, f := range folders {
		s += `<Folder><Id>` + strconv.FormatInt(f, 10) + `</Id><Class>Email</Class></Folder>`
	}
	return s + `</Folders></Ping>`
}

// pingAsync parks a Ping in the background.
func (e *testEnv) pingAsync(c call) <-chan reply {
	ch := make(chan reply, 1)
	c.cmd = "Ping"
	go func() { ch <- e.do(c) }()
	return ch
}

func pingStatusOf(t *testing.T, r reply) string {
	t.Helper()
	if r.status != 200 || r.body == nil {
		t.Fatalf("Ping: HTTP %d %q", r.status, r.raw)
	}
	validate(t, r.body, "PingResponse.xsd")
	return r.body.ChildText("Status")
}

func TestPingParameters(t *testing.T) {
	e, inbox := pingEnv(t)
	// [MS-ASCMD] 2.2.3.84.2: out of bounds, Status 5 with the bound.
	r := e.do(call{cmd: "Ping", xml: pingXML(500, inbox.ID)})
	if pingStatusOf(t, r) != "5" || r.body.ChildText("HeartbeatInterval") != "120" {
		t.Fatalf("heartbeat above the maximum: %s", r.body.XML())
	}
	r = e.do(call{cmd: "Ping", xml: pingXML(0, inbox.ID)})
	if pingStatusOf(t, r) != "5" || r.body.ChildText("HeartbeatInterval") != "1" {
		t.Fatalf("heartbeat below the minimum: %s", r.body.XML())
	}
	// Status 6 with MaxFolders.
	r = e.do(call{cmd: "Ping", xml: pingXML(5, inbox.ID, inbox.ID+1, inbox.ID+2, inbox.ID+3)})
	if pingStatusOf(t, r) != "6" || r.body.ChildText("MaxFolders") != "3" {
		t.Fatalf("too many folders: %s", r.body.XML())
	}
	// Status 3: an empty Ping before any full one.
	r = e.do(call{cmd: "Ping"})
	if pingStatusOf(t, r) != "3" {
		t.Fatalf("empty first Ping: %s", r.body.XML())
	}
	// Status 7: a folder that is not the account's.
	bob := e.addUser("bob@example.org", "Bob")
	bobInbox, err := e.st.FolderByRole(context.Background(), store.Principal{AccountID: bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	r = e.do(call{cmd: "Ping", xml: pingXML(5, bobInbox.ID)})
	if pingStatusOf(t, r) != "7" {
		t.Fatalf("another account's folder: %s", r.body.XML())
	}
	// Expiry: Status 1; then an empty Ping reuses the remembered folders and heartbeat.
	start := time.Now()
	r = e.do(call{cmd: "Ping", xml: pingXML(1, inbox.ID)})
	if pingStatusOf(t, r) != "1" || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("expiry after %v: %s", time.Since(start), r.body.XML())
	}
	r = e.do(call{cmd: "Ping"})
	if pingStatusOf(t, r) != "1" {
		t.Fatalf("empty Ping after a full one: %s", r.body.XML())
	}
}

func TestPingWakesOnDelivery(t *testing.T) {
	e, inbox := pingEnv(t)
	ch := e.pingAsync(call{xml: pingXML(60, inbox.ID)})
	time.Sleep(300 * time.Millisecond) // let it park
	start := time.Now()
	e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: push\r\n\r\nhello\r\n")
	select {
	case r := <-ch:
		if pingStatusOf(t, r) != "2" || r.body.Path("Folders").ChildText("Folder") != strconv.FormatInt(inbox.ID, 10) {
			t.Fatalf("Ping after a delivery: %s", r.body.XML())
		}
		t.Logf("push latency %v", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("parked Ping not woken by a delivery")
	}
	// Not yet synced: a new Ping answers at once.
	r := e.do(call{cmd: "Ping", xml: pingXML(60, inbox.ID)})
	if pingStatusOf(t, r) != "2" {
		t.Fatalf("Ping with an unsynced change: %s", r.body.XML())
	}
}

func TestPingIgnoresOwnChange(t *testing.T) {
	e, inbox := pingEnv(t)
	d := e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: one\r\n\r\nhello\r\n")
	e.primeCollection("TESTDEVICE", inbox.ID) // the device now holds it
	key := e.primeCollection("TESTDEVICE", inbox.ID)
	ch := e.pingAsync(call{xml: pingXML(2, inbox.ID)})
	time.Sleep(300 * time.Millisecond)
	// The device marks the message read from another connection while its Ping is parked.
	sid := (&store.Item{FolderID: inbox.ID, ID: d.ItemID}).ServerID()
	r := e.do(call{cmd: "Sync", xml: `<Sync xmlns="AirSync" xmlns:email="Email"><Collections><Collection><SyncKey>` + key +
		`</SyncKey><CollectionId>` + strconv.FormatInt(inbox.ID, 10) + `</CollectionId><Commands><Change><ServerId>` + sid +
		`</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change></Commands></Collection></Collections></Sync>`})
	if r.body.Path("Collections", "Collection").ChildText("Status") != "1" {
		t.Fatalf("Sync Change: %v", r.body)
	}
	it, err := e.st.GetItem(context.Background(), e.principal(), d.ItemID)
	if err != nil || it.Flags&store.FlagSeen == 0 {
		t.Fatalf("Read=1 not stored: %+v %v", it.Flags, err)
	}
	if got := pingStatusOf(t, <-ch); got != "1" {
		t.Fatalf("the device's own change woke its Ping with Status %s, want 1 (expiry)", got)
	}
}

func TestPingSupersededAndHierarchy(t *testing.T) {
	e, inbox := pingEnv(t)
	first := e.pingAsync(call{xml: pingXML(60, inbox.ID)})
	time.Sleep(300 * time.Millisecond)
	second := e.pingAsync(call{xml: pingXML(60, inbox.ID)})
	select {
	case r := <-first:
		if pingStatusOf(t, r) != "1" {
			t.Fatalf("superseded Ping: %s", r.body.XML())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a newer Ping did not end the older one")
	}
	time.Sleep(200 * time.Millisecond)
	// A folder created elsewhere (IMAP, another phone): Status 7.
	if _, err := e.st.CreateFolder(context.Background(), e.principal(), 0, "Projects", store.ClassMail); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-second:
		if pingStatusOf(t, r) != "7" {
			t.Fatalf("Ping after a hierarchy change: %s", r.body.XML())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked Ping not woken by a hierarchy change")
	}
}

func TestPingEndsOnWipeRequest(t *testing.T) {
	e, inbox := pingEnv(t)
	ch := e.pingAsync(call{xml: pingXML(60, inbox.ID)})
	time.Sleep(300 * time.Millisecond)
	if _, err := e.st.UpdateDevice(context.Background(), e.principal(), "TESTDEVICE", func(d *store.Device) error {
		d.Wipe = store.WipeRequested
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if pingStatusOf(t, r) != "140" {
			t.Fatalf("Ping after a wipe request: %s", r.body.XML())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked Ping not ended by a wipe request")
	}
}

func TestPingWakeAll(t *testing.T) {
	e, inbox := pingEnv(t)
	ch := e.pingAsync(call{xml: pingXML(60, inbox.ID)})
	time.Sleep(300 * time.Millisecond)
	e.h.WakeAll()
	select {
	case r := <-ch:
		if pingStatusOf(t, r) != "1" {
			t.Fatalf("Ping at shutdown: %s", r.body.XML())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WakeAll did not end the parked Ping")
	}
}

func TestGetItemEstimate(t *testing.T) {
	e, inbox := pingEnv(t)
	for i := range 3 {
		e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: n"+strconv.Itoa(i)+"\r\n\r\nhello\r\n")
	}
	drafts := e.folderByRole(store.RoleDrafts)
	bob := e.addUser("bob@example.org", "Bob")
	bobInbox, _ := e.st.FolderByRole(context.Background(), store.Principal{AccountID: bob.ID}, store.RoleInbox)
	req := `<GetItemEstimate xmlns="GetItemEstimate" xmlns:airsync="AirSync"><Collections>`
	for _, f := range []int64{inbox.ID, drafts.ID, bobInbox.ID} {
		req += `<Collection><airsync:SyncKey>1</airsync:SyncKey><CollectionId>` + strconv.FormatInt(f, 10) + `</CollectionId></Collection>`
	}
	req += `</Collections></GetItemEstimate>`
	r := e.do(call{cmd: "GetItemEstimate", xml: req})
	validate(t, r.body, "GetItemEstimateResponse.xsd")
	resps := r.body.All("Response")
	if len(resps) != 3 {
		t.Fatalf("responses: %s", r.body.XML())
	}
	if resps[0].ChildText("Status") != "1" || resps[0].Path("Collection").ChildText("Estimate") != "3" {
		t.Errorf("primed Inbox with 3 new messages: %s", resps[0].XML())
	}
	if resps[1].ChildText("Status") != "3" {
		t.Errorf("unprimed Drafts: %s", resps[1].XML())
	}
	if resps[2].ChildText("Status") != "2" {
		t.Errorf("another account's folder: %s", resps[2].XML())
	}
}
