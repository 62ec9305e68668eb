package activesync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestBrokenItemSkippedNotRetried: an item that cannot be sent (its blob file lost)
// is left out and logged, and the device is not made to ask for it again and again
// (loop protection): the watermark moves past it, so it is tried again only if it
// changes. The other items arrive, in windows of one, and the collection settles.
func TestBrokenItemSkippedNotRetried(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	inbox := e.folderByRole(store.RoleInbox)
	// The device is up to date first, so the items come as incremental changes.
	key := e.primeCollection("TESTDEVICE", inbox.ID)
	first := e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: fine\r\n\r\nhello\r\n")
	bad := e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: broken\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("this blob is cut short\r\n", store.DefaultInlineBlobMax/24+10)) // over the inline limit: a file
	last := e.deliver(inbox.ID, "From: bob@example.net\r\nSubject: also fine\r\n\r\nhello again\r\n")
	it, err := e.st.GetItem(context.Background(), e.principal(), bad.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(e.dataDir, "blobs", "*", it.BlobHash+"*"))
	if len(matches) == 0 {
		matches, _ = filepath.Glob(filepath.Join(e.dataDir, "blobs", "*", "*", it.BlobHash+"*"))
	}
	if len(matches) != 1 {
		t.Fatalf("blob file of the broken item: %v", matches)
	}
	if err := os.Remove(matches[0]); err != nil {
		t.Fatal(err)
	}
	folder := strconv.FormatInt(inbox.ID, 10)
	sync := func(key string) (string, []string, bool) {
		r := e.do(call{cmd: "Sync", xml: `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` +
			folder + `</CollectionId><WindowSize>1</WindowSize><Options><BodyPreference xmlns="AirSyncBase"><Type>1</Type></BodyPreference></Options></Collection></Collections></Sync>`})
		col := r.body.Path("Collections", "Collection")
		if col.ChildText("Status") != "1" {
			t.Fatalf("Sync %s: %d %v", key, r.status, r.body)
		}
		var adds []string
		for _, a := range col.Child("Commands").All("Add") {
			adds = append(adds, a.ChildText("ServerId"))
		}
		return col.ChildText("SyncKey"), adds, col.Has("MoreAvailable")
	}
	var got []string
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatalf("Sync does not settle: %v", got)
		}
		var adds []string
		var more bool
		key, adds, more = sync(key)
		got = append(got, adds...)
		if !more {
			break
		}
	}
	sid := func(id int64) string { return (&store.Item{FolderID: inbox.ID, ID: id}).ServerID() }
	if len(got) != 2 || !slices.Contains(got, sid(first.ItemID)) || !slices.Contains(got, sid(last.ItemID)) {
		t.Fatalf("synced %v, want %s and %s (and not the broken %s)", got, sid(first.ItemID), sid(last.ItemID), sid(bad.ItemID))
	}
	if _, adds, more := sync(key); len(adds) != 0 || more {
		t.Fatalf("the broken item is retried: adds %v more %v", adds, more)
	}
	// Nothing pending either: a Ping would not be woken by it forever.
	n, known, err := e.h.pendingCount(context.Background(), e.engineRequest("TESTDEVICE"), inbox.ID)
	if err != nil || !known || n != 0 {
		t.Fatalf("pending after the skip: %d %v %v", n, known, err)
	}
}
