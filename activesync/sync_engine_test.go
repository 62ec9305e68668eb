package activesync

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// TestSyncLargeInboxFill measures the initial sync of a 10,000-message Inbox in windows
// of 100 (target: at most 10 s of server time in total; each window costs what it
// sends). It is slow to set up, so it runs only with GATEHOUSE_SLOW_TESTS=1.
func TestSyncLargeInboxFill(t *testing.T) {
	if os.Getenv("GATEHOUSE_SLOW_TESTS") == "" {
		t.Skip("set GATEHOUSE_SLOW_TESTS=1")
	}
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	const n = 10000
	base := time.Now().Add(-n * time.Minute)
	done := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := w; i < n; i += 8 {
				_, err := e.st.Deliver(context.Background(), e.principal(), inbox.ID, []byte(syncTestMessage(i, "big")),
					store.DeliverOptions{InternalDate: base.Add(time.Duration(i) * time.Minute)})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	opts := `<Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>5120</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options>`
	key := e.sync(inbox.ID, "0", opts).key
	total, windows := 0, 0
	var slowest time.Duration
	for {
		ws := time.Now()
		r := e.sync(inbox.ID, key, `<WindowSize>100</WindowSize>`)
		slowest = max(slowest, time.Since(ws))
		total += len(r.adds)
		windows++
		key = r.key
		if !r.more {
			break
		}
	}
	el := time.Since(start)
	t.Logf("%d items in %d windows, %v (slowest window %v)", total, windows, el, slowest)
	if total != n {
		t.Errorf("%d items sent, want %d", total, n)
	}
	if el > 10*time.Second {
		t.Errorf("initial sync took %v, target 10 s", el)
	}
}

func TestFilterWindow(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	for ft, want := range map[int]time.Time{
		0: {}, 1: now.AddDate(0, 0, -1), 2: now.AddDate(0, 0, -3), 3: now.AddDate(0, 0, -7),
		4: now.AddDate(0, 0, -14), 5: now.AddDate(0, 0, -30), 6: {}, -1: {},
	} {
		if got := filterWindow(ft, now); !got.Equal(want) {
			t.Errorf("filterWindow(%d) = %v, want %v", ft, got, want)
		}
	}
}

func TestSyncKeyFormat(t *testing.T) {
	k := formatSyncKey(3, 17)
	if k != "3:17" {
		t.Fatalf("formatSyncKey = %q", k)
	}
	if e, g, ok := parseSyncKey(k); !ok || e != 3 || g != 17 {
		t.Errorf("parseSyncKey(%q) = %d, %d, %v", k, e, g, ok)
	}
	for _, bad := range []string{"0", "", "17", "3:", ":17", "3:0", "-1:4", "3:x", "{3:17}"} {
		if _, _, ok := parseSyncKey(bad); ok {
			t.Errorf("parseSyncKey(%q) accepted", bad)
		}
	}
}

// With the tombstones pruned below the watermark, deletions are found from the known
// set (§2 invariant 2) and items still there are not touched.
func TestSyncPrunedTombstonesFallBackToKnownSet(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	inbox := e.folderByRole(store.RoleInbox)
	d1 := e.deliver(inbox.ID, syncTestMessage(1, "stays"))
	d2 := e.deliver(inbox.ID, syncTestMessage(2, "goes"))
	key, all := e.syncFillAll(inbox.ID, "")
	if len(all) != 2 {
		t.Fatalf("fill %v", all)
	}
	if _, err := e.st.Delete(ctx, e.principal(), store.Selector{FolderID: inbox.ID, IDs: []int64{d2.ItemID}}); err != nil {
		t.Fatal(err)
	}
	acct, err := e.st.Account(ctx, e.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.PruneTombstones(ctx, e.acct.ID, acct.Modseq); err != nil {
		t.Fatal(err)
	}
	if d, err := e.st.Delta(ctx, e.principal(), inbox.ID, 1); err != nil || !d.Pruned || len(d.Tombstones) != 0 {
		t.Fatalf("delta after pruning: pruned %v, %d tombstones, %v", d.Pruned, len(d.Tombstones), err)
	}
	if n, known, err := e.h.pendingCount(ctx, e.engineRequest("TESTDEVICE"), inbox.ID); err != nil || !known || n != 1 {
		t.Errorf("pendingCount = %d, %v, %v; want 1", n, known, err)
	}
	r := e.sync(inbox.ID, key, "")
	if len(r.deletes) != 1 || r.deletes[0] != syncSID(inbox.ID, d2.ItemID) || len(r.adds)+len(r.changes) != 0 {
		t.Errorf("after pruning: deletes %v adds %v changes %v (kept %d)", r.deletes, r.adds, r.changes, d1.ItemID)
	}
	if r := e.sync(inbox.ID, r.key, ""); len(r.deletes)+len(r.adds)+len(r.changes) != 0 {
		t.Errorf("second pass: %v %v %v", r.deletes, r.adds, r.changes)
	}
}

// A device that never synced a folder has no pending count.
func TestPendingCountUnknownFolder(t *testing.T) {
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	e.deliver(inbox.ID, syncTestMessage(1, "x"))
	rq := e.engineRequest("TESTDEVICE")
	if n, known, err := e.h.pendingCount(context.Background(), rq, inbox.ID); err != nil || known || n != 0 {
		t.Errorf("never synced: %d, %v, %v", n, known, err)
	}
	e.sync(inbox.ID, "0", "")
	rq = e.engineRequest("TESTDEVICE")
	if n, known, err := e.h.pendingCount(context.Background(), rq, inbox.ID); err != nil || !known || n != 1 {
		t.Errorf("after SyncKey 0: %d, %v, %v; want 1", n, known, err)
	}
	if has, err := e.h.hasPending(context.Background(), rq, inbox.ID); err != nil || !has {
		t.Errorf("hasPending after SyncKey 0 = %v, %v", has, err)
	}
}
