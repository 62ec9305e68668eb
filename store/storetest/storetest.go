// Package storetest is the conformance suite every store backend must pass: the
// invariants of DESIGN.md §2 checked through the store's public API only, so that the
// SQLite and (later) PostgreSQL backends run the very same tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Backend opens a store for the suite.
type Backend struct {
	// Open opens (or reopens) a store whose blobs live under dir, with the given clock.
	Open func(t testing.TB, dir string, now func() time.Time) *store.Store
	// BlobPath returns where the backend keeps the blob file of a hash, so that the
	// crash-safety tests can plant and check files. Nil when the backend keeps the
	// test messages in rows (small blobs inline): those tests are then skipped.
	BlobPath func(dir, hash string) string
}

// Clock is a test clock that only moves when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Run runs the whole suite.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"AccountsAndDefaultFolders", testAccounts},
		{"UIDsNeverReused", testUIDsNeverReused},
		{"UIDValidityOnRecreate", testUIDValidity},
		{"MoveAndReplaceGiveNewUIDs", testMoveReplace},
		{"DeltaExact", testDeltaExact},
		{"DeltaPruned", testPruned},
		{"FolderTreeDelta", testFolderTreeDelta},
		{"ConcurrentWritersModseqOrder", testConcurrentModseq},
		{"SnapshotsSeeCommitPrefix", testSnapshotPrefix},
		{"Isolation", testIsolation},
		{"FeedWakesListener", testFeedWakes},
		{"StalledListenerBlocksNoWriter", testStalledListener},
		{"DirectoryChangesPublished", testDirectoryChanges},
		{"FlagsAndStatusCounters", testFlagsStatus},
		{"RecentClaims", testRecentClaims},
		{"CopyExpungeDelete", testCopyExpunge},
		{"PIMItems", testPIM},
		{"Props", testProps},
		{"Quota", testQuota},
		{"BlobCollectionAfterGrace", testBlobGrace},
		{"OrphanBlobCollected", testOrphanBlob},
		{"DeleteFolderAndAccount", testDeleteFolderAccount},
		{"EASDevice", testEASDevice},
		{"EASKnownSet", testEASKnownSet},
		{"FullTextSearch", testFullTextSearch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

// env is one fresh store with one account.
type env struct {
	st    *store.Store
	dir   string
	clock *Clock
	p     store.Principal
	inbox int64
	ctx   context.Context
}

func newEnv(t *testing.T, b Backend) *env {
	t.Helper()
	dir := t.TempDir()
	clock := NewClock()
	st := b.Open(t, dir, clock.Now)
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, store.NewAccount{Email: "alice@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: a.ID}
	inbox, err := st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, dir: dir, clock: clock, p: p, inbox: inbox.ID, ctx: ctx}
}

// Msg builds a small distinct message.
func Msg(n int) []byte {
	return []byte(fmt.Sprintf("From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: message %d\r\n"+
		"Message-ID: <m%d@example.net>\r\nDate: Sun, 1 Mar 2026 12:00:00 +0000\r\n\r\nBody of message %d.\r\n", n, n, n))
}

func (e *env) deliver(t *testing.T, folder int64, n int) store.Delivered {
	t.Helper()
	d, err := e.st.Deliver(e.ctx, e.p, folder, Msg(n), store.DeliverOptions{})
	if err != nil {
		t.Fatalf("deliver %d: %v", n, err)
	}
	return d
}

func uidsOf(t *testing.T, e *env, folder int64) []uint32 {
	t.Helper()
	u, err := e.st.FolderUIDs(e.ctx, e.p, folder)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testAccounts(t *testing.T, b Backend) {
	e := newEnv(t, b)
	fs, err := e.st.Folders(e.ctx, e.p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[store.Role]store.Class{}
	for _, f := range fs {
		got[f.Role] = f.Class
	}
	for _, df := range store.DefaultFolders {
		if got[df.Role] != df.Class {
			t.Errorf("default folder %s: class %q, want %q", df.Name, got[df.Role], df.Class)
		}
	}
	if len(fs) != len(store.DefaultFolders) {
		t.Errorf("%d folders, want %d", len(fs), len(store.DefaultFolders))
	}
	if _, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "ALICE@Example.org"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate account (other case): %v, want ErrExists", err)
	}
	if _, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "carol@nothosted.test"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account in unhosted domain: %v, want ErrNotFound", err)
	}
	if err := e.st.AddAlias(e.ctx, e.p.AccountID, "sales@example.org"); err != nil {
		t.Fatal(err)
	}
	if id, err := e.st.ResolveAddress(e.ctx, "Sales@EXAMPLE.org"); err != nil || id != e.p.AccountID {
		t.Errorf("resolve alias: %d, %v", id, err)
	}
	if _, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "sales@example.org"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("account over alias: %v, want ErrExists", err)
	}
	if err := e.st.DeleteDomain(e.ctx, "example.org"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("delete domain in use: %v, want ErrInvalid", err)
	}
}

func testUIDsNeverReused(t *testing.T, b Backend) {
	e := newEnv(t, b)
	var uids []uint32
	for i := 0; i < 5; i++ {
		uids = append(uids, e.deliver(t, e.inbox, i).UID)
	}
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			t.Fatalf("uids not increasing: %v", uids)
		}
	}
	// Expunge the two highest; the next delivery must not reuse their uids.
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, UIDs: []store.UIDRange{{First: uids[3], Last: uids[4]}}}); err != nil {
		t.Fatal(err)
	}
	next := e.deliver(t, e.inbox, 99).UID
	if next <= uids[4] {
		t.Errorf("uid %d reused after expunge of %v", next, uids[3:])
	}
	// Survives a restart.
	e.st.Close()
	st := b.Open(t, e.dir, e.clock.Now)
	e.st = st
	again := e.deliver(t, e.inbox, 100).UID
	if again <= next {
		t.Errorf("uid %d after restart, last was %d", again, next)
	}
}

func testUIDValidity(t *testing.T, b Backend) {
	e := newEnv(t, b)
	f1, err := e.st.CreateFolder(e.ctx, e.p, 0, "Projects", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	d1 := e.deliver(t, f1.ID, 1)
	if err := e.st.DeleteFolder(e.ctx, e.p, f1.ID); err != nil {
		t.Fatal(err)
	}
	f2, err := e.st.CreateFolder(e.ctx, e.p, 0, "Projects", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	if f2.ID == f1.ID {
		t.Errorf("folder id %d reused", f1.ID)
	}
	if f2.UIDValidity == f1.UIDValidity {
		t.Errorf("recreated folder kept uidvalidity %d", f1.UIDValidity)
	}
	d2 := e.deliver(t, f2.ID, 2)
	if d2.ItemID == d1.ItemID {
		t.Errorf("item id %d reused", d1.ItemID)
	}
	if _, err := e.st.CreateFolder(e.ctx, e.p, 0, "Projects", store.ClassMail); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate folder: %v", err)
	}
	if _, err := e.st.CreateFolder(e.ctx, e.p, 0, "inbox", store.ClassMail); !errors.Is(err, store.ErrExists) {
		t.Errorf("folder 'inbox' beside INBOX: %v", err)
	}
	if _, err := e.st.CreateFolder(e.ctx, e.p, 0, "a/b", store.ClassMail); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("name with separator: %v", err)
	}
	// Rename keeps uidvalidity and items.
	r, err := e.st.RenameFolder(e.ctx, e.p, f2.ID, 0, "Old projects")
	if err != nil {
		t.Fatal(err)
	}
	if r.UIDValidity != f2.UIDValidity || r.Name != "Old projects" {
		t.Errorf("rename: %+v", r)
	}
	if got := uidsOf(t, e, f2.ID); len(got) != 1 || got[0] != d2.UID {
		t.Errorf("items after rename: %v", got)
	}
	if _, err := e.st.RenameFolder(e.ctx, e.p, f2.ID, f2.ID, "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("move under itself: %v", err)
	}
}

func testMoveReplace(t *testing.T, b Backend) {
	e := newEnv(t, b)
	arch, err := e.st.FolderByRole(e.ctx, e.p, store.RoleArchive)
	if err != nil {
		t.Fatal(err)
	}
	d := e.deliver(t, e.inbox, 1)
	before, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	mv, err := e.st.Move(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}, arch.ID)
	if err != nil || len(mv) != 1 {
		t.Fatalf("move: %v %v", mv, err)
	}
	if mv[0].NewItemID != d.ItemID || mv[0].OldUID != d.UID {
		t.Errorf("move result %+v", mv[0])
	}
	// Back again: a new uid in the inbox, above the old one.
	back, err := e.st.Move(e.ctx, e.p, store.Selector{FolderID: arch.ID, IDs: []int64{d.ItemID}}, e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	if back[0].NewUID <= d.UID {
		t.Errorf("moved back with uid %d, old uid %d", back[0].NewUID, d.UID)
	}
	it, err := e.st.GetItem(e.ctx, e.p, d.ItemID)
	if err != nil || it.FolderID != e.inbox || it.UID != back[0].NewUID {
		t.Errorf("item after moves: %+v %v", it, err)
	}
	delta, err := e.st.Delta(e.ctx, e.p, e.inbox, before.HighestModseq)
	if err != nil {
		t.Fatal(err)
	}
	if len(delta.Tombstones) != 1 || delta.Tombstones[0].UID != d.UID || delta.Tombstones[0].Reason != store.ReasonMoved {
		t.Errorf("tombstones after move: %+v", delta.Tombstones)
	}

	cal, _ := e.st.FolderByRole(e.ctx, e.p, store.RoleCalendar)
	ev, err := e.st.AppendPIM(e.ctx, e.p, cal.ID, store.PIMItem{Content: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ev1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.st.ReplacePIM(e.ctx, e.p, ev.ItemID, store.PIMItem{Content: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ev1\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ItemID != ev.ItemID || rep.UID <= ev.UID {
		t.Errorf("replace: %+v after %+v", rep, ev)
	}
	cd, _ := e.st.Delta(e.ctx, e.p, cal.ID, ev.Modseq)
	if len(cd.Tombstones) != 1 || cd.Tombstones[0].UID != ev.UID || cd.Tombstones[0].Reason != store.ReasonReplaced {
		t.Errorf("replace tombstone: %+v", cd.Tombstones)
	}
	if len(cd.Items) != 1 || cd.Items[0].UID != rep.UID {
		t.Errorf("replace delta items: %+v", cd.Items)
	}
}

func testDeltaExact(t *testing.T, b Backend) {
	e := newEnv(t, b)
	var ds []store.Delivered
	for i := 0; i < 10; i++ {
		ds = append(ds, e.deliver(t, e.inbox, i))
	}
	mark := ds[len(ds)-1].Modseq
	// After the mark: flag #2, expunge #3 and #4, deliver one more.
	if _, err := e.st.SetFlags(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{ds[2].ItemID}}, store.FlagsAdd, store.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{ds[3].ItemID, ds[4].ItemID}}); err != nil {
		t.Fatal(err)
	}
	extra := e.deliver(t, e.inbox, 50)
	// A change in another folder must not show.
	drafts, _ := e.st.FolderByRole(e.ctx, e.p, store.RoleDrafts)
	e.deliver(t, drafts.ID, 51)

	d, err := e.st.Delta(e.ctx, e.p, e.inbox, mark)
	if err != nil {
		t.Fatal(err)
	}
	var live []int64
	for _, it := range d.Items {
		live = append(live, it.ID)
	}
	if fmt.Sprint(live) != fmt.Sprint([]int64{ds[2].ItemID, extra.ItemID}) {
		t.Errorf("delta items %v, want [%d %d]", live, ds[2].ItemID, extra.ItemID)
	}
	var gone []uint32
	for _, tb := range d.Tombstones {
		gone = append(gone, tb.UID)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	if fmt.Sprint(gone) != fmt.Sprint([]uint32{ds[3].UID, ds[4].UID}) {
		t.Errorf("tombstone uids %v, want [%d %d]", gone, ds[3].UID, ds[4].UID)
	}
	st, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if d.Modseq != st.HighestModseq || d.Modseq != extra.Modseq {
		t.Errorf("watermark %d, status %d, last change %d", d.Modseq, st.HighestModseq, extra.Modseq)
	}
	// From the new watermark: nothing.
	d2, err := e.st.Delta(e.ctx, e.p, e.inbox, d.Modseq)
	if err != nil || len(d2.Items)+len(d2.Tombstones) != 0 {
		t.Errorf("delta from watermark: %d items, %d tombstones, %v", len(d2.Items), len(d2.Tombstones), err)
	}
	// From zero: every live item, and the tombstones.
	d0, _ := e.st.Delta(e.ctx, e.p, e.inbox, 0)
	if len(d0.Items) != 9 || len(d0.Tombstones) != 2 {
		t.Errorf("delta from 0: %d items, %d tombstones", len(d0.Items), len(d0.Tombstones))
	}
}

func testPruned(t *testing.T, b Backend) {
	e := newEnv(t, b)
	d1 := e.deliver(t, e.inbox, 1)
	d2 := e.deliver(t, e.inbox, 2)
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d1.ItemID}}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if err := e.st.PruneTombstones(e.ctx, e.p.AccountID, st.HighestModseq); err != nil {
		t.Fatal(err)
	}
	d, err := e.st.Delta(e.ctx, e.p, e.inbox, d2.Modseq)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Pruned {
		t.Error("delta from below pruned_modseq not flagged Pruned")
	}
	if len(d.Tombstones) != 0 {
		t.Errorf("pruned tombstones still returned: %+v", d.Tombstones)
	}
	d, _ = e.st.Delta(e.ctx, e.p, e.inbox, st.HighestModseq)
	if d.Pruned {
		t.Error("delta from pruned_modseq itself flagged Pruned")
	}

	// Pruning by age takes only the tombstones older than the cutoff.
	d3 := e.deliver(t, e.inbox, 3)
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d2.ItemID}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(48 * time.Hour)
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d3.ItemID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.PruneTombstonesBefore(e.ctx, e.clock.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _ = e.st.Delta(e.ctx, e.p, e.inbox, st.HighestModseq)
	if !d.Pruned || len(d.Tombstones) != 1 || d.Tombstones[0].UID != d3.UID {
		t.Errorf("after pruning by age: pruned %v, tombstones %+v (want only uid %d)", d.Pruned, d.Tombstones, d3.UID)
	}
}

func testFolderTreeDelta(t *testing.T, b Backend) {
	e := newEnv(t, b)
	base, err := e.st.FolderTreeDelta(e.ctx, e.p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Folders) != len(store.DefaultFolders) {
		t.Errorf("initial tree: %d folders", len(base.Folders))
	}
	a, _ := e.st.CreateFolder(e.ctx, e.p, 0, "A", store.ClassMail)
	bb, _ := e.st.CreateFolder(e.ctx, e.p, a.ID, "B", store.ClassMail)
	mid, _ := e.st.FolderTreeDelta(e.ctx, e.p, base.Modseq)
	if len(mid.Folders) != 2 {
		t.Errorf("after two creates: %+v", mid.Folders)
	}
	e.deliver(t, e.inbox, 1) // content change: not a tree change
	if _, err := e.st.RenameFolder(e.ctx, e.p, bb.ID, 0, "B2"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteFolder(e.ctx, e.p, a.ID); err != nil {
		t.Fatal(err)
	}
	d, _ := e.st.FolderTreeDelta(e.ctx, e.p, mid.Modseq)
	if len(d.Folders) != 1 || d.Folders[0].ID != bb.ID || d.Folders[0].ParentID != 0 || d.Folders[0].Name != "B2" {
		t.Errorf("changed folders: %+v", d.Folders)
	}
	if len(d.Deleted) != 1 || d.Deleted[0].ID != a.ID {
		t.Errorf("deleted folders: %+v", d.Deleted)
	}
}

func testConcurrentModseq(t *testing.T, b Backend) {
	e := newEnv(t, b)
	sub := e.st.Feed().Subscribe(e.p.AccountID)
	defer sub.Close()
	// Collect every hint in publication order from a second, draining listener.
	var mu sync.Mutex
	var seen []int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-sub.Ready():
				cs, _ := sub.Drain()
				mu.Lock()
				for _, c := range cs {
					seen = append(seen, c.Modseq)
				}
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	const writers, each = 8, 40
	var wg sync.WaitGroup
	results := make(chan int64, writers*each*2)
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				d, err := e.st.Deliver(e.ctx, e.p, e.inbox, Msg(w*1000+i), store.DeliverOptions{})
				if err != nil {
					errs <- err
					return
				}
				results <- d.Modseq
				if i%5 == 0 {
					fc, err := e.st.SetFlags(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}, store.FlagsAdd, store.FlagSeen, nil)
					if err != nil {
						errs <- err
						return
					}
					results <- fc[0].Modseq
				}
			}
		}(w)
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	var max int64
	for m := range results {
		if got[m] {
			t.Fatalf("modseq %d handed to two mutations", m)
		}
		got[m] = true
		if m > max {
			max = m
		}
	}
	a, err := e.st.Account(e.ctx, e.p.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Modseq != max {
		t.Errorf("account modseq %d, highest handed out %d", a.Modseq, max)
	}
	// Hints arrive in commit order; per folder they must never go backwards.
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("feed hint modseq %d after %d: commit order differs from modseq order", seen[i], seen[i-1])
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != max {
		t.Errorf("last hint %v, want modseq %d", seen, max)
	}
}

// testSnapshotPrefix checks that commit order equals modseq order as a reader sees it:
// a snapshot with watermark W holds every item whose modseq is at most W.
func testSnapshotPrefix(t *testing.T, b Backend) {
	e := newEnv(t, b)
	type snap struct {
		w   int64
		ids map[int64]bool
	}
	var snaps []snap
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			d, err := e.st.Delta(e.ctx, e.p, e.inbox, 0)
			if err != nil {
				done <- err
				return
			}
			s := snap{w: d.Modseq, ids: map[int64]bool{}}
			for _, it := range d.Items {
				s.ids[it.ID] = true
				if it.Modseq > d.Modseq {
					done <- fmt.Errorf("item modseq %d above watermark %d", it.Modseq, d.Modseq)
					return
				}
			}
			snaps = append(snaps, s)
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []store.Delivered
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				d, err := e.st.Deliver(e.ctx, e.p, e.inbox, Msg(w*100+i), store.DeliverOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		for _, d := range all {
			if d.Modseq <= s.w && !s.ids[d.ItemID] {
				t.Fatalf("snapshot at watermark %d misses item %d with modseq %d", s.w, d.ItemID, d.Modseq)
			}
		}
	}
	if len(snaps) == 0 {
		t.Fatal("reader took no snapshot")
	}
}

func testIsolation(t *testing.T, b Backend) {
	e := newEnv(t, b)
	bob, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "bob@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	pb := store.Principal{AccountID: bob.ID}
	d := e.deliver(t, e.inbox, 1)
	sel := store.Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}
	bobInbox, _ := e.st.FolderByRole(e.ctx, pb, store.RoleInbox)
	checks := map[string]error{}
	_, checks["GetItem"] = e.st.GetItem(e.ctx, pb, d.ItemID)
	_, checks["OpenBlob"] = e.st.OpenBlob(e.ctx, pb, d.ItemID)
	_, checks["Folder"] = e.st.Folder(e.ctx, pb, e.inbox)
	_, checks["FolderStatus"] = e.st.FolderStatus(e.ctx, pb, e.inbox)
	_, checks["Delta"] = e.st.Delta(e.ctx, pb, e.inbox, 0)
	_, checks["SetFlags"] = e.st.SetFlags(e.ctx, pb, sel, store.FlagsAdd, store.FlagSeen, nil)
	_, checks["Move"] = e.st.Move(e.ctx, pb, sel, bobInbox.ID)
	_, checks["MoveInto"] = e.st.Move(e.ctx, e.p, sel, bobInbox.ID)
	_, checks["Delete"] = e.st.Delete(e.ctx, pb, sel)
	_, checks["Deliver"] = e.st.Deliver(e.ctx, pb, e.inbox, Msg(2), store.DeliverOptions{})
	_, checks["CreateFolder"] = e.st.CreateFolder(e.ctx, pb, e.inbox, "sub", store.ClassMail)
	checks["DeleteFolder"] = e.st.DeleteFolder(e.ctx, pb, e.inbox)
	_, checks["Props"] = e.st.Props(e.ctx, pb, d.ItemID)
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s across accounts: %v, want ErrNotFound", name, err)
		}
	}
	// Alice's item is untouched.
	it, err := e.st.GetItem(e.ctx, e.p, d.ItemID)
	if err != nil || it.Flags != 0 || it.FolderID != e.inbox {
		t.Errorf("alice's item after bob's attempts: %+v %v", it, err)
	}
}

func testFeedWakes(t *testing.T, b Backend) {
	e := newEnv(t, b)
	sub := e.st.Feed().Subscribe(e.p.AccountID)
	defer sub.Close()
	other := e.st.Feed().Subscribe(e.p.AccountID + 1000)
	defer other.Close()
	d, err := e.st.Deliver(store.WithOrigin(e.ctx, "imap/c1"), e.p, e.inbox, Msg(1), store.DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("listener not woken within 5s")
	}
	cs, overflow := sub.Drain()
	if overflow || len(cs) != 1 {
		t.Fatalf("hints %+v overflow %v", cs, overflow)
	}
	c := cs[0]
	if c.FolderID != e.inbox || c.Modseq != d.Modseq || c.Kind&store.ChangeContent == 0 || c.Origin != "imap/c1" {
		t.Errorf("hint %+v, want folder %d modseq %d origin imap/c1", c, e.inbox, d.Modseq)
	}
	select {
	case <-other.Ready():
		t.Error("another account's listener was woken")
	default:
	}
	// A failed mutation publishes nothing.
	if _, err := e.st.CreateFolder(e.ctx, e.p, 0, "INBOX", store.ClassMail); err == nil {
		t.Fatal("duplicate INBOX accepted")
	}
	select {
	case <-sub.Ready():
		cs, _ := sub.Drain()
		t.Errorf("failed mutation published %+v", cs)
	default:
	}
}

func testStalledListener(t *testing.T, b Backend) {
	e := newEnv(t, b)
	stalled := e.st.Feed().Subscribe(0) // never drained
	defer stalled.Close()
	var folders []int64
	for i := 0; i < 40; i++ {
		f, err := e.st.CreateFolder(e.ctx, e.p, 0, fmt.Sprintf("f%d", i), store.ClassMail)
		if err != nil {
			t.Fatal(err)
		}
		folders = append(folders, f.ID)
	}
	finished := make(chan error, 1)
	go func() {
		for i := 0; i < 400; i++ {
			if _, err := e.st.Deliver(e.ctx, e.p, folders[i%len(folders)], Msg(i), store.DeliverOptions{}); err != nil {
				finished <- err
				return
			}
		}
		finished <- nil
	}()
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("writers blocked behind a stalled listener")
	}
	cs, _ := stalled.Drain()
	if len(cs) > len(folders)+1 {
		t.Errorf("stalled listener holds %d hints for %d folders: not coalesced", len(cs), len(folders))
	}
}

func testFlagsStatus(t *testing.T, b Backend) {
	e := newEnv(t, b)
	var ds []store.Delivered
	for i := 0; i < 4; i++ {
		ds = append(ds, e.deliver(t, e.inbox, i))
	}
	st, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if st.Messages != 4 || st.Unseen != 4 || st.UIDNext != ds[3].UID+1 {
		t.Errorf("status %+v", st)
	}
	sel := store.Selector{FolderID: e.inbox, UIDs: []store.UIDRange{{First: ds[0].UID, Last: ds[1].UID}}}
	fc, err := e.st.SetFlags(e.ctx, e.p, sel, store.FlagsAdd, store.FlagSeen|store.FlagFlagged, []string{"$Forwarded", "work", "work"})
	if err != nil || len(fc) != 2 {
		t.Fatalf("setflags: %+v %v", fc, err)
	}
	if fc[0].Flags != store.FlagSeen|store.FlagFlagged || fmt.Sprint(fc[0].Keywords) != "[$Forwarded work]" {
		t.Errorf("flags %+v", fc[0])
	}
	// Setting the same again changes nothing and takes no modseq.
	again, _ := e.st.SetFlags(e.ctx, e.p, sel, store.FlagsAdd, store.FlagSeen, nil)
	if again[0].Modseq != fc[0].Modseq {
		t.Errorf("no-op store took modseq %d (was %d)", again[0].Modseq, fc[0].Modseq)
	}
	st, _ = e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if st.Unseen != 2 {
		t.Errorf("unseen %d, want 2", st.Unseen)
	}
	rm, _ := e.st.SetFlags(e.ctx, e.p, sel, store.FlagsRemove, store.FlagSeen, []string{"WORK"})
	if rm[0].Flags != store.FlagFlagged || fmt.Sprint(rm[0].Keywords) != "[$Forwarded]" {
		t.Errorf("after remove %+v", rm[0])
	}
	rp, _ := e.st.SetFlags(e.ctx, e.p, sel, store.FlagsReplace, store.FlagAnswered, nil)
	if rp[1].Flags != store.FlagAnswered || len(rp[1].Keywords) != 0 {
		t.Errorf("after replace %+v", rp[1])
	}
	st, _ = e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if st.Unseen != 4 {
		t.Errorf("unseen %d, want 4", st.Unseen)
	}
}

// testRecentClaims: a new folder's messages are unclaimed \Recent until claimed, a
// claim hands out each uid once and never moves the mark back, and STATUS counts the rest.
func testRecentClaims(t *testing.T, b Backend) {
	e := newEnv(t, b)
	for i := 0; i < 3; i++ {
		e.deliver(t, e.inbox, i)
	}
	st, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if st.Recent != 3 {
		t.Errorf("recent %d before any claim, want 3", st.Recent)
	}
	first, err := e.st.ClaimRecent(e.ctx, e.p, e.inbox, st.UIDNext-1)
	if err != nil || first != 1 {
		t.Fatalf("first claim: %d %v", first, err)
	}
	if again, _ := e.st.ClaimRecent(e.ctx, e.p, e.inbox, st.UIDNext-1); again != st.UIDNext {
		t.Errorf("second claim starts at %d, want %d (nothing left)", again, st.UIDNext)
	}
	if back, _ := e.st.ClaimRecent(e.ctx, e.p, e.inbox, 1); back != st.UIDNext {
		t.Errorf("an older claim moved the mark to %d", back)
	}
	d := e.deliver(t, e.inbox, 9)
	st, _ = e.st.FolderStatus(e.ctx, e.p, e.inbox)
	f, _ := e.st.Folder(e.ctx, e.p, e.inbox)
	if st.Recent != 1 || f.FirstRecentUID != d.UID {
		t.Errorf("after a new delivery: recent %d, first %d, want 1 and %d", st.Recent, f.FirstRecentUID, d.UID)
	}
	other, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "mallory@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ClaimRecent(e.ctx, store.Principal{AccountID: other.ID}, e.inbox, d.UID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim in another account's folder: %v", err)
	}
}

func testCopyExpunge(t *testing.T, b Backend) {
	e := newEnv(t, b)
	arch, _ := e.st.FolderByRole(e.ctx, e.p, store.RoleArchive)
	d1 := e.deliver(t, e.inbox, 1)
	d2 := e.deliver(t, e.inbox, 2)
	cp, err := e.st.Copy(e.ctx, e.p, store.Selector{FolderID: e.inbox, UIDs: []store.UIDRange{{First: 1}}}, arch.ID)
	if err != nil || len(cp) != 2 {
		t.Fatalf("copy %+v %v", cp, err)
	}
	if cp[0].NewItemID == d1.ItemID {
		t.Error("copy kept the item id")
	}
	// The copy shares the blob: same bytes.
	orig := readBlob(t, e, d1.ItemID)
	dup := readBlob(t, e, cp[0].NewItemID)
	if orig != dup || orig != string(Msg(1)) {
		t.Error("copied message differs from original")
	}
	if _, err := e.st.SetFlags(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d2.ItemID}}, store.FlagsAdd, store.FlagDeleted, nil); err != nil {
		t.Fatal(err)
	}
	gone, err := e.st.Expunge(e.ctx, e.p, e.inbox, nil)
	if err != nil || fmt.Sprint(gone) != fmt.Sprint([]uint32{d2.UID}) {
		t.Errorf("expunge %v %v", gone, err)
	}
	if _, err := e.st.GetItem(e.ctx, e.p, d2.ItemID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expunged item still readable: %v", err)
	}
	if got := readBlob(t, e, cp[1].NewItemID); got != string(Msg(2)) {
		t.Error("copy lost its blob when the original was expunged")
	}
	a, _ := e.st.Account(e.ctx, e.p.AccountID)
	if a.UsageItems != 3 || a.UsageBytes != int64(len(Msg(1))*2+len(Msg(2))) {
		t.Errorf("usage %d items %d bytes", a.UsageItems, a.UsageBytes)
	}
	// Structure was indexed at delivery.
	ps, err := e.st.Structure(e.ctx, e.p, d1.ItemID)
	if err != nil || ps.Envelope.Subject != "message 1" {
		t.Errorf("structure: %v", err)
	}
	it, _ := e.st.GetItem(e.ctx, e.p, d1.ItemID)
	if it.Subject != "message 1" || it.MessageID == "" || it.Size != int64(len(Msg(1))) {
		t.Errorf("indexed fields %+v", it)
	}
}

func readBlob(t *testing.T, e *env, id int64) string {
	t.Helper()
	f, err := e.st.OpenBlob(e.ctx, e.p, id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

func testPIM(t *testing.T, b Backend) {
	e := newEnv(t, b)
	cal, _ := e.st.FolderByRole(e.ctx, e.p, store.RoleCalendar)
	text := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc-123\r\nX-UNKNOWN;P=1:keep me\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	d, err := e.st.AppendPIM(e.ctx, e.p, cal.ID, store.PIMItem{Content: text, Start: start, End: start.Add(time.Hour), RecurEnd: store.FarFuture})
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.st.GetItem(e.ctx, e.p, d.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Content != text || it.ICalUID != "abc-123" || !it.Start.Equal(start) || !it.RecurEnd.Equal(store.FarFuture) || it.Class != store.ClassCalendar {
		t.Errorf("pim item %+v", it)
	}
	if _, err := e.st.AppendPIM(e.ctx, e.p, cal.ID, store.PIMItem{Content: text}); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate UID in folder: %v", err)
	}
	if _, err := e.st.AppendPIM(e.ctx, e.p, e.inbox, store.PIMItem{Content: text}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("event into mail folder: %v", err)
	}
	if _, err := e.st.Deliver(e.ctx, e.p, cal.ID, Msg(1), store.DeliverOptions{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("mail into calendar: %v", err)
	}
	sid := it.ServerID()
	f, i, err := store.ParseServerID(sid)
	if err != nil || f != cal.ID || i != d.ItemID || len(sid) > 64 {
		t.Errorf("server id %q -> %d %d %v", sid, f, i, err)
	}
}

func testProps(t *testing.T, b Backend) {
	e := newEnv(t, b)
	d := e.deliver(t, e.inbox, 1)
	if err := e.st.SetProps(e.ctx, e.p, d.ItemID, []store.Prop{{Tag: 0x10900003, Value: []byte{2, 0, 0, 0}}, {Tag: 0x1e, Value: []byte("x"), SourceHash: "h1"}}); err != nil {
		t.Fatal(err)
	}
	ps, err := e.st.Props(e.ctx, e.p, d.ItemID)
	if err != nil || len(ps) != 2 || ps[0].Tag != 0x1e || ps[0].SourceHash != "h1" || ps[1].Value[0] != 2 {
		t.Fatalf("props %+v %v", ps, err)
	}
	it, _ := e.st.GetItem(e.ctx, e.p, d.ItemID)
	if it.Modseq <= d.Modseq {
		t.Error("setting a property did not change the item's modseq")
	}
	if err := e.st.SetProps(e.ctx, e.p, d.ItemID, []store.Prop{{Tag: 0x1e}}); err != nil {
		t.Fatal(err)
	}
	ps, _ = e.st.Props(e.ctx, e.p, d.ItemID)
	if len(ps) != 1 {
		t.Errorf("after removal %+v", ps)
	}
	// Props follow a move (same item) and are copied with a copy.
	arch, _ := e.st.FolderByRole(e.ctx, e.p, store.RoleArchive)
	cp, _ := e.st.Copy(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}, arch.ID)
	ps, _ = e.st.Props(e.ctx, e.p, cp[0].NewItemID)
	if len(ps) != 1 {
		t.Errorf("copied props %+v", ps)
	}
}

func testQuota(t *testing.T, b Backend) {
	e := newEnv(t, b)
	if err := e.st.SetQuota(e.ctx, e.p.AccountID, int64(len(Msg(1))*2)); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, e.inbox, 1)
	e.deliver(t, e.inbox, 2)
	if _, err := e.st.Deliver(e.ctx, e.p, e.inbox, Msg(3), store.DeliverOptions{}); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("over quota: %v", err)
	}
	st, _ := e.st.FolderStatus(e.ctx, e.p, e.inbox)
	if st.Messages != 2 {
		t.Errorf("refused delivery left %d messages", st.Messages)
	}
}

func testBlobGrace(t *testing.T, b Backend) {
	if b.BlobPath == nil {
		t.Skip("blobs kept in rows")
	}
	e := newEnv(t, b)
	d := e.deliver(t, e.inbox, 7)
	hash := blobHashOf(t, e, d.ItemID)
	path := b.BlobPath(e.dir, hash)
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d.ItemID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CollectBlobs(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("blob unlinked within the grace period: %v", err)
	}
	// The same content arriving again revives the blob.
	d2 := e.deliver(t, e.inbox, 7)
	e.clock.Advance(30 * 24 * time.Hour)
	if _, err := e.st.CollectBlobs(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, e, d2.ItemID); got != string(Msg(7)) {
		t.Fatal("revived blob was collected")
	}
	if _, err := e.st.Delete(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{d2.ItemID}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	st, err := e.st.CollectBlobs(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) || st.Blobs != 1 {
		t.Errorf("blob after grace: stat %v, collected %+v", err, st)
	}
	// And a later delivery of the same bytes writes it anew.
	d3 := e.deliver(t, e.inbox, 7)
	if got := readBlob(t, e, d3.ItemID); got != string(Msg(7)) {
		t.Error("redelivered content unreadable after collection")
	}
}

func blobHashOf(t *testing.T, e *env, id int64) string {
	t.Helper()
	it, err := e.st.GetItem(e.ctx, e.p, id)
	if err != nil || it.BlobHash == "" {
		t.Fatalf("item %d: %+v %v", id, it, err)
	}
	return it.BlobHash
}

func testOrphanBlob(t *testing.T, b Backend) {
	if b.BlobPath == nil {
		t.Skip("blobs kept in rows")
	}
	e := newEnv(t, b)
	d := e.deliver(t, e.inbox, 1)
	kept := b.BlobPath(e.dir, blobHashOf(t, e, d.ItemID))
	// A crash after the blob's fsync but before the commit leaves a file with no row.
	orphanHash := "00" + fmt.Sprintf("%062x", 12345)
	orphan := b.BlobPath(e.dir, orphanHash)
	if err := os.MkdirAll(filepath.Dir(orphan), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan, []byte("never committed"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := e.clock.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	os.Chtimes(kept, old, old)
	if _, err := e.st.CollectBlobs(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Fatalf("orphan removed within grace: %v", err)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	st, err := e.st.CollectBlobs(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) || st.Orphans != 1 {
		t.Errorf("orphan after grace: %v, stats %+v", err, st)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("referenced blob collected as orphan: %v", err)
	}
}

func testDeleteFolderAccount(t *testing.T, b Backend) {
	e := newEnv(t, b)
	parent, _ := e.st.CreateFolder(e.ctx, e.p, 0, "P", store.ClassMail)
	child, _ := e.st.CreateFolder(e.ctx, e.p, parent.ID, "C", store.ClassMail)
	for i := 0; i < 3; i++ {
		e.deliver(t, child.ID, i)
	}
	if err := e.st.DeleteFolder(e.ctx, e.p, parent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Folder(e.ctx, e.p, child.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("child survived parent deletion: %v", err)
	}
	if err := e.st.DeleteFolder(e.ctx, e.p, e.inbox); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("deleting the inbox: %v", err)
	}
	a, _ := e.st.Account(e.ctx, e.p.AccountID)
	if a.UsageItems != 0 || a.UsageBytes != 0 {
		t.Errorf("usage after folder deletion: %+v", a)
	}
	e.deliver(t, e.inbox, 9)
	if err := e.st.DeleteAccount(e.ctx, e.p.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AccountByEmail(e.ctx, "alice@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted account still found: %v", err)
	}
	if _, err := e.st.Folders(e.ctx, e.p); err != nil {
		t.Error(err)
	}
	// The address is free again.
	if _, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "alice@example.org"}); err != nil {
		t.Errorf("recreate deleted account: %v", err)
	}
}

// testDirectoryChanges: address-book changes (attributes, aliases) wake listeners, so an
// in-memory GAL can follow the store without polling.
func testDirectoryChanges(t *testing.T, b Backend) {
	e := newEnv(t, b)
	sub := e.st.Feed().Subscribe(0)
	defer sub.Close()
	expect := func(what string) {
		t.Helper()
		select {
		case <-sub.Ready():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no hint", what)
		}
		cs, _ := sub.Drain()
		for _, c := range cs {
			if c.AccountID == e.p.AccountID && c.Kind&store.ChangeDirectory != 0 {
				return
			}
		}
		t.Errorf("%s: hints %+v carry no directory change for the account", what, cs)
	}
	if err := e.st.SetAttributes(e.ctx, e.p.AccountID, store.Attributes{DisplayName: "Alice A", Title: "CEO"}); err != nil {
		t.Fatal(err)
	}
	expect("SetAttributes")
	a, _ := e.st.Account(e.ctx, e.p.AccountID)
	if a.Title != "CEO" || a.DisplayName != "Alice A" {
		t.Errorf("attributes not stored: %+v", a.Attributes)
	}
	if err := e.st.AddAlias(e.ctx, e.p.AccountID, "ceo@example.org"); err != nil {
		t.Fatal(err)
	}
	expect("AddAlias")
	if err := e.st.DeleteAlias(e.ctx, "ceo@example.org"); err != nil {
		t.Fatal(err)
	}
	expect("DeleteAlias")
	if err := e.st.DeleteAlias(e.ctx, "ceo@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing alias: %v", err)
	}
}
