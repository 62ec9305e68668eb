package activesync

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// The sync engine is the one place that computes what a device lacks for a collection
// (DESIGN.md §2 invariant 4): from the store's delta above the collection's watermark
// and the device's known set, never from a diff of whole folders. Sync sends what it
// finds; Ping and GetItemEstimate count it.

// changeKind is what a server change tells the device ([MS-ASCMD] 2.2.3.32 Commands).
type changeKind int

const (
	changeAdd changeKind = iota + 1
	changeChange
	changeDelete
	changeSoftDelete
)

func (k changeKind) tag() string {
	switch k {
	case changeAdd:
		return "Add"
	case changeChange:
		return "Change"
	case changeDelete:
		return "Delete"
	}
	return "SoftDelete"
}

// serverChange is one change for the device. item is set for Add and Change; the
// device is recorded as holding it at item.Modseq once the change is sent.
type serverChange struct {
	kind   changeKind
	itemID int64
	item   store.Item
}

// engineResult is a window of changes and the state the collection is in once they
// have been sent.
type engineResult struct {
	changes []serverChange
	// more: there may be changes beyond the window ([MS-ASCMD] 2.2.3.116 MoreAvailable).
	more bool
	next *collectionState
}

// ageCheckInterval is how often known items are checked for leaving the FilterType
// window without changing (they produce no delta, so the known set is read).
const ageCheckInterval = time.Hour

// Window sizes of [MS-ASCMD] 2.2.3.199: default 100, at most 512.
const (
	defaultWindowSize = 100
	maxWindowSize     = 512
)

// pendingChanges computes up to limit changes the device lacks for a collection whose
// state is st, and the state after sending them. It reads the store only; the caller
// commits. The order is: an initial fill in progress (newest first); then, when due,
// a pass over the known set (tombstones pruned, a fill just ended, items ageing out of
// the window); then the delta above the watermark in modseq order.
func (h *Handler) pendingChanges(ctx context.Context, rq *request, folderID int64, st *collectionState, limit int, now time.Time) (*engineResult, error) {
	res := &engineResult{next: st.clone()}
	next := res.next
	notBefore := filterWindow(next.Options.FilterType, now)
	if limit <= 0 {
		return res, nil
	}
	if next.Fill != nil {
		done, err := h.fill(ctx, rq, folderID, next.Fill, notBefore, limit, res)
		if err != nil || !done {
			res.more = res.more || !done
			return res, err
		}
		// Every change from here on is above the snapshot read before the fill began;
		// the known set is reconciled once (items that left while the fill ran, or
		// known from before a FilterType change).
		next.Modseq, next.Fill, next.Reconcile = next.Fill.Snapshot, nil, true
		if len(res.changes) >= limit {
			res.more = true
			return res, nil
		}
	}

	d, err := h.st.Delta(ctx, rq.p, folderID, next.Modseq)
	if err != nil {
		return res, err
	}
	live := make(map[int64]bool, len(d.Items))
	ids := make([]int64, 0, len(d.Items)+len(d.Tombstones))
	for _, it := range d.Items {
		live[it.ID] = true
		ids = append(ids, it.ID)
	}
	for _, tb := range d.Tombstones {
		if !live[tb.ItemID] {
			ids = append(ids, tb.ItemID)
		}
	}
	known, err := h.st.Known(ctx, rq.p, rq.dev, folderID, ids)
	if err != nil {
		return res, err
	}
	emitted := map[int64]bool{}
	for _, c := range res.changes {
		emitted[c.itemID] = true
	}
	full := func() bool { return len(res.changes) >= limit }
	emit := func(c serverChange) {
		res.changes = append(res.changes, c)
		emitted[c.itemID] = true
	}

	// The known-set pass: what the delta cannot say.
	ageDue := next.Options.FilterType != 0 && now.Unix()-next.AgeChecked >= int64(ageCheckInterval/time.Second)
	if d.Pruned || ageDue || next.Reconcile {
		set, err := h.st.KnownSet(ctx, rq.p, rq.dev, folderID)
		if err != nil {
			return res, err
		}
		for _, k := range set {
			if emitted[k.ItemID] || live[k.ItemID] {
				continue // the delta decides for items it lists
			}
			var kind changeKind
			switch {
			case !k.Live:
				kind = changeDelete
			case !notBefore.IsZero() && k.InternalDate.Before(notBefore):
				kind = changeSoftDelete
			default:
				continue
			}
			if full() {
				res.more = true
				return res, nil // watermark and AgeChecked stay: the pass runs again
			}
			emit(serverChange{kind: kind, itemID: k.ItemID})
		}
		next.AgeChecked, next.Reconcile = now.Unix(), false
	}

	// The delta, in modseq order: items and tombstones merged.
	ti := 0
	for ii := 0; ii <= len(d.Items); ii++ {
		var it *store.Item
		if ii < len(d.Items) {
			it = &d.Items[ii]
		}
		// Tombstones up to this item's modseq (all remaining ones after the last item).
		for ; ti < len(d.Tombstones) && (it == nil || d.Tombstones[ti].Modseq <= it.Modseq); ti++ {
			tb := d.Tombstones[ti]
			if live[tb.ItemID] || emitted[tb.ItemID] {
				continue // back in the folder (a move there and back), or already said
			}
			if _, ok := known[tb.ItemID]; !ok {
				continue
			}
			if full() {
				res.more, next.Modseq = true, tb.Modseq-1
				return res, nil
			}
			emit(serverChange{kind: changeDelete, itemID: tb.ItemID})
		}
		if it == nil {
			break
		}
		if emitted[it.ID] {
			continue
		}
		sent, isKnown := known[it.ID]
		inWindow := notBefore.IsZero() || !it.InternalDate.Before(notBefore)
		var kind changeKind
		switch {
		case isKnown && sent >= it.Modseq:
			continue // already sent at this modseq, or the device's own change
		case isKnown && !inWindow:
			kind = changeSoftDelete
		case isKnown:
			kind = changeChange
		case inWindow:
			kind = changeAdd
		default:
			continue
		}
		if full() {
			// Just below the first change not sent: changes at that modseq already
			// sent are skipped next time by the known-set check.
			res.more, next.Modseq = true, it.Modseq-1
			return res, nil
		}
		emit(serverChange{kind: kind, itemID: it.ID, item: *it})
	}
	next.Modseq = d.Modseq
	return res, nil
}

// fill sends a page of the initial fill: the folder's items inside the window, newest
// first, skipping those the device already holds at their current modseq. done is
// true when the folder has no more.
func (h *Handler) fill(ctx context.Context, rq *request, folderID int64, cur *fillCursor, notBefore time.Time, limit int, res *engineResult) (done bool, err error) {
	for len(res.changes) < limit {
		need := limit - len(res.changes)
		var beforeDate time.Time
		if cur.BeforeID != 0 {
			beforeDate = time.Unix(cur.BeforeDate, 0)
		}
		page, err := h.st.ItemsByDate(ctx, rq.p, folderID, notBefore, beforeDate, cur.BeforeID, need+1)
		if err != nil {
			return false, err
		}
		ids := make([]int64, len(page))
		for i, it := range page {
			ids[i] = it.ID
		}
		known, err := h.st.Known(ctx, rq.p, rq.dev, folderID, ids)
		if err != nil {
			return false, err
		}
		for _, it := range page {
			if len(res.changes) >= limit {
				return false, nil // the cursor stays on the last item examined
			}
			cur.BeforeDate, cur.BeforeID = it.InternalDate.Unix(), it.ID
			sent, ok := known[it.ID]
			switch {
			case ok && sent >= it.Modseq:
				continue
			case ok:
				res.changes = append(res.changes, serverChange{kind: changeChange, itemID: it.ID, item: it})
			default:
				res.changes = append(res.changes, serverChange{kind: changeAdd, itemID: it.ID, item: it})
			}
		}
		if len(page) <= need {
			return true, nil
		}
	}
	return false, nil
}

// errNoState: the device holds no usable state for a collection.
var errNoState = errors.New("activesync: no sync state for the collection")

// collectionStateFor reads a device's state for a folder; errNoState when it never
// synced it, or its state is from another sync epoch.
func (h *Handler) collectionStateFor(ctx context.Context, rq *request, folderID int64) (store.SyncCollection, *collectionState, error) {
	coll, err := h.st.SyncCollection(ctx, rq.p, rq.dev, folderID)
	if errors.Is(err, store.ErrNotFound) {
		return coll, nil, errNoState
	}
	if err != nil {
		return coll, nil, err
	}
	st, err := loadCollectionState(coll.State)
	if err != nil {
		return coll, nil, err
	}
	if st.Epoch != rq.acct.SyncEpoch {
		return coll, nil, errNoState
	}
	return coll, st, nil
}

// pendingCount says how many changes the device would get for a folder now, not
// counting its own changes; known is false when it has no state for the folder (never
// synced it). During an initial fill the count is estimated from the folder's count
// and the known set's size, so that it costs two counts, not a pass over the folder.
// Ping and GetItemEstimate call it.
func (h *Handler) pendingCount(ctx context.Context, rq *request, folderID int64) (n int, known bool, err error) {
	_, st, err := h.collectionStateFor(ctx, rq, folderID)
	if errors.Is(err, errNoState) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	now := time.Now()
	if st.Fill != nil {
		total, err := h.st.CountItemsSince(ctx, rq.p, folderID, filterWindow(st.Options.FilterType, now))
		if err != nil {
			return 0, true, err
		}
		held, err := h.st.KnownCount(ctx, rq.p, rq.dev, folderID)
		if err != nil {
			return 0, true, err
		}
		return max(total-held, 0), true, nil
	}
	res, err := h.pendingChanges(ctx, rq, folderID, st, math.MaxInt32, now)
	if err != nil {
		return 0, true, fmt.Errorf("activesync: counting changes of folder %d: %w", folderID, err)
	}
	return len(res.changes), true, nil
}

// hasPending says whether the device would get at least one change for a folder now
// (cheap: it stops at the first). A folder the device has no state for has none.
func (h *Handler) hasPending(ctx context.Context, rq *request, folderID int64) (bool, error) {
	_, st, err := h.collectionStateFor(ctx, rq, folderID)
	if errors.Is(err, errNoState) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res, err := h.pendingChanges(ctx, rq, folderID, st, 1, time.Now())
	if err != nil {
		return false, err
	}
	return len(res.changes) > 0, nil
}
