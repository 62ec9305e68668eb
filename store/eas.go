package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrConflict: a compare-and-swap on sync state lost (another request of the same
// device advanced the state first, §2 invariant 4).
var ErrConflict = errors.New("store: state changed concurrently")

// Wipe states of a device ([MS-ASPROV] 2.2.2.52 RemoteWipe, 2.2.2.1 AccountOnlyRemoteWipe).
const (
	WipeNone        = 0
	WipeRequested   = 1
	WipeAccountOnly = 2
	WipeDone        = 3
)

// Device is one ActiveSync device of an account. State and Info are owned by
// activesync/ (versioned JSON); the store only keeps them.
type Device struct {
	ID               int64 // row id, the key of its collections and known set
	AccountID        int64
	DeviceID         string
	DeviceType       string
	UserAgent        string
	ProtocolVersion  string
	PolicyKey        uint32
	PendingPolicyKey uint32
	Wipe             int
	Info             string
	State            []byte
	FirstSeen        time.Time
	LastSeen         time.Time
	LastSync         time.Time
}

const deviceCols = `id, account_id, device_id, device_type, user_agent, protocol_version, policy_key,
pending_policy_key, wipe, info, state, first_seen, last_seen, last_sync`

func scanDevice(sc scanner) (Device, error) {
	var d Device
	var first, last, lastSync int64
	err := sc.Scan(&d.ID, &d.AccountID, &d.DeviceID, &d.DeviceType, &d.UserAgent, &d.ProtocolVersion, &d.PolicyKey,
		&d.PendingPolicyKey, &d.Wipe, &d.Info, &d.State, &first, &last, &lastSync)
	d.FirstSeen, d.LastSeen, d.LastSync = time.Unix(first, 0), time.Unix(last, 0), unixOrZero(lastSync)
	return d, err
}

// DeviceSeen registers a device on first contact and records its last contact, type,
// user agent and protocol version (empty values keep what is stored). It returns the
// device as stored.
func (s *Store) DeviceSeen(ctx context.Context, p Principal, deviceID, deviceType, userAgent, version string) (Device, error) {
	if deviceID == "" || len(deviceID) > 128 {
		return Device{}, fmt.Errorf("%w: device id", ErrInvalid)
	}
	var d Device
	err := s.write(ctx, func(t *tx) error {
		now := t.s.now().Unix()
		_, err := t.exec(`INSERT INTO eas_device(account_id, device_id, device_type, user_agent, protocol_version, first_seen, last_seen)
VALUES(?,?,?,?,?,?,?) ON CONFLICT(account_id, device_id) DO UPDATE SET
device_type = CASE WHEN excluded.device_type <> '' THEN excluded.device_type ELSE device_type END,
user_agent = CASE WHEN excluded.user_agent <> '' THEN excluded.user_agent ELSE user_agent END,
protocol_version = CASE WHEN excluded.protocol_version <> '' THEN excluded.protocol_version ELSE protocol_version END,
last_seen = excluded.last_seen`, p.AccountID, deviceID, deviceType, userAgent, version, now, now)
		if err != nil {
			return err
		}
		d, err = scanDevice(t.queryRow("SELECT "+deviceCols+" FROM eas_device WHERE account_id = ? AND device_id = ?", p.AccountID, deviceID))
		return err
	})
	return d, err
}

// Device reads one device of the principal.
func (s *Store) Device(ctx context.Context, p Principal, deviceID string) (Device, error) {
	d, err := scanDevice(s.rq.QueryRowContext(ctx, "SELECT "+deviceCols+" FROM eas_device WHERE account_id = ? AND device_id = ?", p.AccountID, deviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("device %q: %w", deviceID, ErrNotFound)
	}
	return d, err
}

// Devices lists the devices of an account, or of every account for 0.
func (s *Store) Devices(ctx context.Context, account int64) ([]Device, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT "+deviceCols+" FROM eas_device WHERE ? = 0 OR account_id = ? ORDER BY account_id, device_id", account, account)
	return collect(rows, err, scanDevice)
}

// UpdateDevice changes a device in one mutation: fn gets the stored row and edits it
// (every field but the ids and first contact is written back). Returning an error
// leaves the row unchanged. A wipe request or a policy change publishes a device hint,
// which ends the device's parked Ping (§2 invariant 5).
func (s *Store) UpdateDevice(ctx context.Context, p Principal, deviceID string, fn func(*Device) error) (Device, error) {
	var d Device
	err := s.write(ctx, func(t *tx) error {
		var err error
		d, err = scanDevice(t.queryRow("SELECT "+deviceCols+" FROM eas_device WHERE account_id = ? AND device_id = ?", p.AccountID, deviceID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("device %q: %w", deviceID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		before := d
		if err := fn(&d); err != nil {
			return err
		}
		if d.State == nil {
			d.State = []byte{}
		}
		var lastSync int64
		if !d.LastSync.IsZero() {
			lastSync = d.LastSync.Unix()
		}
		_, err = t.exec(`UPDATE eas_device SET device_type = ?, user_agent = ?, protocol_version = ?, policy_key = ?,
pending_policy_key = ?, wipe = ?, info = ?, state = ?, last_seen = ?, last_sync = ? WHERE id = ?`,
			d.DeviceType, d.UserAgent, d.ProtocolVersion, d.PolicyKey, d.PendingPolicyKey, d.Wipe, d.Info, d.State,
			d.LastSeen.Unix(), lastSync, d.ID)
		if err != nil {
			return err
		}
		if d.Wipe != before.Wipe || d.PolicyKey != before.PolicyKey {
			t.changes = append(t.changes, Change{AccountID: p.AccountID, Kind: ChangeDevice, Origin: "eas/" + deviceID})
		}
		return nil
	})
	return d, err
}

// DeleteDevice forgets a device with its sync state.
func (s *Store) DeleteDevice(ctx context.Context, p Principal, deviceID string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec("DELETE FROM eas_device WHERE account_id = ? AND device_id = ?", p.AccountID, deviceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("device %q: %w", deviceID, ErrNotFound)
		}
		return nil
	})
}

// SyncCollection is a device's state for one collection (folder): its generation
// (the number in its SyncKey, advanced by compare-and-swap) and activesync's opaque
// state (options, watermark, the last response for replay).
type SyncCollection struct {
	FolderID   int64
	Generation int64
	State      []byte
}

// SyncCollection reads a device's state for a folder; ErrNotFound when it has none.
func (s *Store) SyncCollection(ctx context.Context, p Principal, dev Device, folder int64) (SyncCollection, error) {
	if dev.AccountID != p.AccountID {
		return SyncCollection{}, ErrNotFound
	}
	c := SyncCollection{FolderID: folder}
	err := s.rq.QueryRowContext(ctx, "SELECT generation, state FROM eas_collection WHERE device = ? AND folder_id = ?", dev.ID, folder).
		Scan(&c.Generation, &c.State)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("collection %d: %w", folder, ErrNotFound)
	}
	return c, err
}

// SyncCollections reads every collection state of a device.
func (s *Store) SyncCollections(ctx context.Context, p Principal, dev Device) ([]SyncCollection, error) {
	if dev.AccountID != p.AccountID {
		return nil, ErrNotFound
	}
	rows, err := s.rq.QueryContext(ctx, "SELECT folder_id, generation, state FROM eas_collection WHERE device = ? ORDER BY folder_id", dev.ID)
	return collect(rows, err, func(sc scanner) (SyncCollection, error) {
		var c SyncCollection
		err := sc.Scan(&c.FolderID, &c.Generation, &c.State)
		return c, err
	})
}

// Known reads what a device holds of the given items of a folder: item id → the
// modseq it was sent at. Items it does not hold are absent.
func (s *Store) Known(ctx context.Context, p Principal, dev Device, folder int64, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if dev.AccountID != p.AccountID {
		return out, ErrNotFound
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, 0, n+2)
		args = append(args, dev.ID, folder)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.rdb.QueryContext(ctx, "SELECT item_id, sent_modseq FROM eas_known WHERE device = ? AND folder_id = ? AND item_id IN (?"+
			strings.Repeat(",?", n-1)+")", args...)
		if err != nil {
			return out, err
		}
		for rows.Next() {
			var id, m int64
			if err := rows.Scan(&id, &m); err != nil {
				rows.Close()
				return out, err
			}
			out[id] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// KnownItem is one entry of a device's known set with what the store has of it now.
type KnownItem struct {
	ItemID       int64
	SentModseq   int64
	Live         bool // the item still exists in this folder
	InternalDate time.Time
}

// KnownSet lists a device's whole known set for a folder, each entry joined with the
// item's current state. It is the fallback of §2 invariant 2 (tombstones pruned, a
// changed FilterType) and the way items leaving a FilterType window are found; its
// cost is what the device holds, not what the folder holds.
func (s *Store) KnownSet(ctx context.Context, p Principal, dev Device, folder int64) ([]KnownItem, error) {
	if dev.AccountID != p.AccountID {
		return nil, ErrNotFound
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT k.item_id, k.sent_modseq, i.id IS NOT NULL, coalesce(i.internal_date, 0) FROM eas_known k
LEFT JOIN item i ON i.id = k.item_id AND i.account_id = ? AND i.folder_id = k.folder_id
WHERE k.device = ? AND k.folder_id = ? ORDER BY k.item_id`, p.AccountID, dev.ID, folder)
	return collect(rows, err, func(sc scanner) (KnownItem, error) {
		var k KnownItem
		var date int64
		err := sc.Scan(&k.ItemID, &k.SentModseq, &k.Live, &date)
		k.InternalDate = unixOrZero(date)
		return k, err
	})
}

// ItemsByDate reads a page of a folder's live items newest first (internal date, then
// id, descending), starting after the cursor (beforeDate, beforeID; zero: from the
// newest) and not older than notBefore (zero: no limit). It is how an initial sync fills
// a phone newest first, a window at a time, at the cost of the window.
func (s *Store) ItemsByDate(ctx context.Context, p Principal, folder int64, notBefore, beforeDate time.Time, beforeID int64, limit int) ([]Item, error) {
	before := int64(1<<62 - 1)
	if !beforeDate.IsZero() {
		before = beforeDate.Unix()
	}
	if beforeID == 0 {
		beforeID = 1<<62 - 1
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT `+itemCols+` FROM item WHERE account_id = ? AND folder_id = ?
AND (internal_date < ? OR (internal_date = ? AND id < ?)) AND internal_date >= ?
AND folder_id IN (SELECT id FROM folder WHERE account_id = ? AND deleted_modseq IS NULL)
ORDER BY internal_date DESC, id DESC LIMIT ?`,
		p.AccountID, folder, before, before, beforeID, notBefore.Unix(), p.AccountID, limit)
	return collect(rows, err, scanItemOnly)
}

// CountItemsSince counts a folder's live items not older than notBefore (zero: all).
func (s *Store) CountItemsSince(ctx context.Context, p Principal, folder int64, notBefore time.Time) (int, error) {
	var n int
	err := s.rq.QueryRowContext(ctx, `SELECT count(*) FROM item WHERE account_id = ? AND folder_id = ? AND internal_date >= ?`,
		p.AccountID, folder, notBefore.Unix()).Scan(&n)
	return n, err
}

// SyncTx is one ActiveSync mutation: a device's client commands, its known-set changes
// and its new collection states, committed in one transaction (§2 invariant 4). Item
// changes made through it keep the device's known set current, so that they are not
// echoed back to the device that made them.
type SyncTx struct {
	t   *tx
	p   Principal
	dev Device
}

// SyncCommit runs fn as one mutation for a device. If fn returns an error nothing of it
// is committed. fn may run again if the group commit it was part of is retried, so it
// must not keep results from an earlier run.
func (s *Store) SyncCommit(ctx context.Context, p Principal, dev Device, fn func(*SyncTx) error) error {
	if dev.AccountID != p.AccountID || dev.ID == 0 {
		return ErrNotFound
	}
	return s.write(WithOrigin(ctx, "eas/"+dev.DeviceID), func(t *tx) error {
		t.origin = "eas/" + dev.DeviceID
		return fn(&SyncTx{t: t, p: p, dev: dev})
	})
}

// PutCollection stores a collection's new state if its generation is still
// expectGeneration (use -1 to create it); otherwise ErrConflict.
func (x *SyncTx) PutCollection(c SyncCollection, expectGeneration int64) error {
	if c.State == nil {
		c.State = []byte{}
	}
	if expectGeneration < 0 {
		_, err := x.t.exec(`INSERT INTO eas_collection(device, folder_id, generation, state) VALUES(?,?,?,?)
ON CONFLICT(device, folder_id) DO UPDATE SET generation = excluded.generation, state = excluded.state`, x.dev.ID, c.FolderID, c.Generation, c.State)
		return err
	}
	res, err := x.t.exec("UPDATE eas_collection SET generation = ?, state = ? WHERE device = ? AND folder_id = ? AND generation = ?",
		c.Generation, c.State, x.dev.ID, c.FolderID, expectGeneration)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// ResetCollection drops a collection's state and known set (SyncKey 0, or the folder
// is gone).
func (x *SyncTx) ResetCollection(folder int64) error {
	if _, err := x.t.exec("DELETE FROM eas_collection WHERE device = ? AND folder_id = ?", x.dev.ID, folder); err != nil {
		return err
	}
	_, err := x.t.exec("DELETE FROM eas_known WHERE device = ? AND folder_id = ?", x.dev.ID, folder)
	return err
}

// SetKnown records that the device now holds an item as of sentModseq.
func (x *SyncTx) SetKnown(folder, item, sentModseq int64) error {
	_, err := x.t.exec(`INSERT INTO eas_known(device, folder_id, item_id, sent_modseq) VALUES(?,?,?,?)
ON CONFLICT(device, folder_id, item_id) DO UPDATE SET sent_modseq = excluded.sent_modseq`, x.dev.ID, folder, item, sentModseq)
	return err
}

// Forget records that the device no longer holds an item.
func (x *SyncTx) Forget(folder, item int64) error {
	_, err := x.t.exec("DELETE FROM eas_known WHERE device = ? AND folder_id = ? AND item_id = ?", x.dev.ID, folder, item)
	return err
}

// upToDate says whether the device held an item as of modseq (it had been sent every
// change before the one being made now).
func (x *SyncTx) upToDate(folder, item, modseq int64) (bool, error) {
	var sent int64
	err := x.t.queryRow("SELECT sent_modseq FROM eas_known WHERE device = ? AND folder_id = ? AND item_id = ?", x.dev.ID, folder, item).Scan(&sent)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return sent >= modseq, err
}

// SetFlags is Store.SetFlags made by the device. An item the device was up to date on
// is marked known at its new modseq (its own change is not echoed back); one it was not
// keeps its old mark, so the change it missed still reaches it.
func (x *SyncTx) SetFlags(sel Selector, op FlagOp, flags Flags, keywords []string) ([]FlagChange, error) {
	out, before, err := x.t.setFlags(x.p, sel, op, flags, keywords)
	if err != nil {
		return nil, err
	}
	for _, fc := range out {
		old, changed := before[fc.ItemID]
		if !changed {
			continue
		}
		ok, err := x.upToDate(sel.FolderID, fc.ItemID, old)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := x.SetKnown(sel.FolderID, fc.ItemID, fc.Modseq); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Move is Store.Move made by the device: the items leave the source's known set and,
// where the device syncs the destination, enter its known set at the move's modseq
// (MoveItems updates both collections with no duplicate Add, §2 invariant 4).
func (x *SyncTx) Move(sel Selector, dest int64) ([]Moved, error) {
	out, err := x.t.move(x.p, sel, dest)
	if err != nil || len(out) == 0 {
		return out, err
	}
	m, err := x.t.modseq(x.p.AccountID)
	if err != nil {
		return nil, err
	}
	var syncsDest bool
	err = x.t.queryRow("SELECT count(*) > 0 FROM eas_collection WHERE device = ? AND folder_id = ?", x.dev.ID, dest).Scan(&syncsDest)
	if err != nil {
		return nil, err
	}
	for _, mv := range out {
		if err := x.Forget(sel.FolderID, mv.ItemID); err != nil {
			return nil, err
		}
		if syncsDest {
			if err := x.SetKnown(dest, mv.NewItemID, m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Delete is Store.Delete made by the device: the items leave its known set.
func (x *SyncTx) Delete(sel Selector) ([]int64, error) {
	items, err := x.t.selectItems(x.p, sel)
	if err != nil {
		return nil, err
	}
	if _, err := x.t.removeItems(x.p, sel.FolderID, items); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(items))
	for _, it := range items {
		if err := x.Forget(sel.FolderID, it.ID); err != nil {
			return nil, err
		}
		ids = append(ids, it.ID)
	}
	return ids, nil
}

// Item reads an item of the principal inside the transaction.
func (x *SyncTx) Item(id int64) (Item, error) { return x.t.itemFor(x.p, id) }
