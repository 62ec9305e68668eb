package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// testEASDevice: devices register once, keep their fields, and are the principal's only.
func testEASDevice(t *testing.T, b Backend) {
	e := newEnv(t, b)
	d, err := e.st.DeviceSeen(e.ctx, e.p, "DEV1", "iPhone", "Apple-iPhone/1", "16.1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.st.DeviceSeen(e.ctx, e.p, "DEV1", "", "", "")
	if err != nil || again.ID != d.ID || again.DeviceType != "iPhone" || again.ProtocolVersion != "16.1" {
		t.Fatalf("second contact: %+v %v (first %+v)", again, err, d)
	}
	other, err := e.st.CreateAccount(e.ctx, store.NewAccount{Email: "bob@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Device(e.ctx, store.Principal{AccountID: other.ID}, "DEV1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account reads the device: %v", err)
	}
	sub := e.st.Feed().Subscribe(e.p.AccountID)
	defer sub.Close()
	if _, err := e.st.UpdateDevice(e.ctx, e.p, "DEV1", func(d *store.Device) error { d.Wipe = store.WipeRequested; return nil }); err != nil {
		t.Fatal(err)
	}
	<-sub.Ready()
	changes, _ := sub.Drain()
	if len(changes) != 1 || changes[0].Kind&store.ChangeDevice == 0 || changes[0].Origin != "eas/DEV1" {
		t.Fatalf("a wipe request publishes %+v, want one device hint", changes)
	}
	// A subscriber of every account sees account-wide hints of two accounts apart.
	all := e.st.Feed().Subscribe(0)
	defer all.Close()
	bobP := store.Principal{AccountID: other.ID}
	for _, p := range []store.Principal{e.p, bobP} {
		if _, err := e.st.DeviceSeen(e.ctx, p, "SHARED", "t", "", "16.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.UpdateDevice(e.ctx, p, "SHARED", func(d *store.Device) error { d.Wipe = store.WipeRequested; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	<-all.Ready()
	seen := map[int64]bool{}
	for {
		cs, _ := all.Drain()
		for _, c := range cs {
			if c.Kind&store.ChangeDevice != 0 {
				seen[c.AccountID] = true
			}
		}
		if len(seen) == 2 {
			break
		}
		select {
		case <-all.Ready():
		case <-time.After(5 * time.Second):
			t.Fatalf("device hints of two accounts seen by an all-accounts subscriber: %v", seen)
		}
	}
	devs, err := e.st.Devices(e.ctx, e.p.AccountID)
	if err != nil || len(devs) != 2 || devs[0].DeviceID != "DEV1" || devs[0].Wipe != store.WipeRequested {
		t.Fatalf("Devices: %+v %v", devs, err)
	}
}

// testEASKnownSet: a device's own flag change is recorded at its new modseq (not echoed),
// unless the device had missed an earlier change; a device move updates both collections;
// collection generations advance by compare-and-swap.
func testEASKnownSet(t *testing.T, b Backend) {
	e := newEnv(t, b)
	dev, err := e.st.DeviceSeen(e.ctx, e.p, "DEV1", "t", "", "16.1")
	if err != nil {
		t.Fatal(err)
	}
	a, b2 := e.deliver(t, e.inbox, 1), e.deliver(t, e.inbox, 2)
	d, err := e.st.Delta(e.ctx, e.p, e.inbox, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.SyncCommit(e.ctx, e.p, dev, func(x *store.SyncTx) error {
		for _, it := range d.Items {
			if err := x.SetKnown(e.inbox, it.ID, it.Modseq); err != nil {
				return err
			}
		}
		return x.PutCollection(store.SyncCollection{FolderID: e.inbox, Generation: 1, State: []byte("s1")}, -1)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else flags b2: the device has not been sent that change.
	if _, err := e.st.SetFlags(e.ctx, e.p, store.Selector{FolderID: e.inbox, IDs: []int64{b2.ItemID}}, store.FlagsAdd, store.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	var changes []store.FlagChange
	err = e.st.SyncCommit(e.ctx, e.p, dev, func(x *store.SyncTx) error {
		var err error
		changes, err = x.SetFlags(store.Selector{FolderID: e.inbox, IDs: []int64{a.ItemID, b2.ItemID}}, store.FlagsAdd, store.FlagSeen, nil)
		if err != nil {
			return err
		}
		return x.PutCollection(store.SyncCollection{FolderID: e.inbox, Generation: 2, State: []byte("s2")}, 1)
	})
	if err != nil || len(changes) != 2 {
		t.Fatal(changes, err)
	}
	known, err := e.st.Known(e.ctx, e.p, dev, e.inbox, []int64{a.ItemID, b2.ItemID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		switch c.ItemID {
		case a.ItemID:
			if known[a.ItemID] != c.Modseq {
				t.Errorf("own change on an up-to-date item: known at %d, change at %d (would echo)", known[a.ItemID], c.Modseq)
			}
		case b2.ItemID:
			if known[b2.ItemID] >= c.Modseq {
				t.Errorf("own change on an item with a missed change: known at %d >= %d (the missed \\Flagged is lost)", known[b2.ItemID], c.Modseq)
			}
		}
	}
	// A stale generation loses.
	err = e.st.SyncCommit(e.ctx, e.p, dev, func(x *store.SyncTx) error {
		return x.PutCollection(store.SyncCollection{FolderID: e.inbox, Generation: 3}, 1)
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS on a stale generation: %v", err)
	}
	c, err := e.st.SyncCollection(e.ctx, e.p, dev, e.inbox)
	if err != nil || c.Generation != 2 || string(c.State) != "s2" {
		t.Fatalf("collection after lost CAS: %+v %v", c, err)
	}
	// A move into a folder the device syncs enters its known set there.
	arch, err := e.st.CreateFolder(e.ctx, e.p, 0, "Archive2", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.SyncCommit(e.ctx, e.p, dev, func(x *store.SyncTx) error {
		if err := x.PutCollection(store.SyncCollection{FolderID: arch.ID, Generation: 1}, -1); err != nil {
			return err
		}
		_, err := x.Move(store.Selector{FolderID: e.inbox, IDs: []int64{a.ItemID}}, arch.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := e.st.Known(e.ctx, e.p, dev, e.inbox, []int64{a.ItemID})
	dst, _ := e.st.Known(e.ctx, e.p, dev, arch.ID, []int64{a.ItemID})
	moved, err := e.st.GetItem(e.ctx, e.p, a.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src[a.ItemID]; ok || dst[a.ItemID] != moved.Modseq {
		t.Fatalf("after a device move: source %v, destination %v (item modseq %d)", src, dst, moved.Modseq)
	}
	set, err := e.st.KnownSet(e.ctx, e.p, dev, e.inbox)
	if err != nil || len(set) != 1 || set[0].ItemID != b2.ItemID || !set[0].Live {
		t.Fatalf("KnownSet: %+v %v", set, err)
	}
	// Another account cannot commit for this device.
	if err := e.st.SyncCommit(e.ctx, store.Principal{AccountID: e.p.AccountID + 1000}, dev, func(*store.SyncTx) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SyncCommit by another principal: %v", err)
	}
}
