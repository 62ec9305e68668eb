package activesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// Sync ([MS-ASCMD] 2.2.1.21) for Email collections. Contacts, Calendar, Tasks and Notes
// collections are answered Status 4 until their classes are built.

// Sync status codes ([MS-ASCMD] 2.2.3.177.17).
const (
	syncOK               = 1
	syncInvalidKey       = 3
	syncProtocolError    = 4
	syncServerError      = 5
	syncConversionError  = 6
	syncConflict         = 7
	syncNotFound         = 8
	syncOutOfSpace       = 9
	syncHierarchyChanged = 12
	syncIncomplete       = 13
	syncBadWait          = 14
	syncTooMany          = 15
	syncRetry            = 16
)

// maxSyncCollections bounds the collections of one request (Status 15 beyond,
// [MS-ASCMD] 2.2.3.177.17).
const maxSyncCollections = 1000

// waitMargin is added to a hanging Sync's wait for its write deadline.
const waitMargin = 30 * time.Second

// syncRequest is a parsed Sync request.
type syncRequest struct {
	collections []*syncCollectionRequest
	// waitElem is "Wait" (minutes, [MS-ASCMD] 2.2.3.198) or "HeartbeatInterval"
	// (seconds, 2.2.3.88.2), or "" for neither; waitValue its value.
	waitElem  string
	waitValue int
	// windowSize is the request-wide WindowSize (14.0+); 0: none.
	windowSize int
	partial    bool
}

// syncCollectionRequest is one Collection of a Sync request.
type syncCollectionRequest struct {
	syncKey      string
	collectionID string
	getChanges   bool
	windowSize   int         // 0: the default
	options      *wbxml.Node // nil: keep the stored options
	// deletesAsMoves is the DeletesAsMoves element: -1 absent, else 0 or 1.
	deletesAsMoves int
	commands       []clientCommand
	// cached: taken from the remembered request (empty or partial Sync); its SyncKey
	// is the collection's current one.
	cached bool
}

// clientCommand is one client command of a collection's Commands.
type clientCommand struct {
	op       string // Add, Change, Delete, Fetch
	serverID string
	clientID string
	data     *wbxml.Node // ApplicationData
}

// errSyncProtocol is a request that breaks [MS-ASCMD] 2.2.1.21 (Status 4).
var errSyncProtocol = errors.New("activesync: malformed Sync request")

// parseSyncRequest reads a Sync request body. It never panics on hostile input; a
// malformed request is errSyncProtocol.
func parseSyncRequest(n *wbxml.Node) (*syncRequest, error) {
	if n == nil || !n.Is("AirSync:Sync") {
		return nil, fmt.Errorf("%w: root is not AirSync:Sync", errSyncProtocol)
	}
	sr := &syncRequest{}
	for _, c := range n.Children {
		if c.Space != "AirSync" {
			continue
		}
		switch c.Tag {
		case "Collections":
			for _, cn := range c.Children {
				if !cn.Is("AirSync:Collection") {
					continue
				}
				if len(sr.collections) >= maxSyncCollections {
					return nil, fmt.Errorf("%w: too many collections", errSyncProtocol)
				}
				col, err := parseSyncCollection(cn)
				if err != nil {
					return nil, err
				}
				sr.collections = append(sr.collections, col)
			}
		case "Wait", "HeartbeatInterval":
			if sr.waitElem != "" {
				// [MS-ASCMD] 2.2.3.198: Wait and HeartbeatInterval exclude each other.
				return nil, fmt.Errorf("%w: both Wait and HeartbeatInterval", errSyncProtocol)
			}
			v, err := strconv.Atoi(strings.TrimSpace(c.Text))
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: %s %q", errSyncProtocol, c.Tag, c.Text)
			}
			sr.waitElem, sr.waitValue = c.Tag, v
		case "WindowSize":
			v, err := strconv.Atoi(strings.TrimSpace(c.Text))
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: WindowSize %q", errSyncProtocol, c.Text)
			}
			sr.windowSize = windowSize(v)
		case "Partial":
			sr.partial = true
		}
	}
	return sr, nil
}

// windowSize clamps a WindowSize ([MS-ASCMD] 2.2.3.199: 1 to 512; 0 or absent: 100).
func windowSize(v int) int {
	switch {
	case v <= 0:
		return defaultWindowSize
	case v > maxWindowSize:
		return maxWindowSize
	}
	return v
}

func parseSyncCollection(cn *wbxml.Node) (*syncCollectionRequest, error) {
	col := &syncCollectionRequest{getChanges: true, deletesAsMoves: -1}
	for _, e := range cn.Children {
		if e.Space != "AirSync" {
			continue
		}
		switch e.Tag {
		case "SyncKey":
			col.syncKey = strings.TrimSpace(e.Text)
		case "CollectionId":
			col.collectionID = strings.TrimSpace(e.Text)
		case "GetChanges":
			// Empty or 1: true; 0: false ([MS-ASCMD] 2.2.3.84); absent: true for a
			// key other than 0.
			col.getChanges = strings.TrimSpace(e.Text) != "0"
		case "WindowSize":
			v, err := strconv.Atoi(strings.TrimSpace(e.Text))
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: WindowSize %q", errSyncProtocol, e.Text)
			}
			col.windowSize = windowSize(v)
		case "DeletesAsMoves":
			col.deletesAsMoves = 1
			if strings.TrimSpace(e.Text) == "0" {
				col.deletesAsMoves = 0
			}
		case "Options":
			// Several Options may come, one per class (SMS at 14.0+); ours is the one
			// without a Class or with Class Email.
			if cl := e.ChildText("AirSync:Class"); col.options == nil && (cl == "" || cl == "Email") {
				col.options = e
			}
		case "Commands":
			for _, cmd := range e.Children {
				if cmd.Space != "AirSync" {
					continue
				}
				switch cmd.Tag {
				case "Add", "Change", "Delete", "Fetch":
				default:
					continue
				}
				cc := clientCommand{op: cmd.Tag, serverID: strings.TrimSpace(cmd.ChildText("AirSync:ServerId")),
					clientID: strings.TrimSpace(cmd.ChildText("AirSync:ClientId")), data: cmd.Child("AirSync:ApplicationData")}
				if cc.op == "Add" && cc.clientID == "" || cc.op != "Add" && cc.serverID == "" {
					return nil, fmt.Errorf("%w: %s without its id", errSyncProtocol, cc.op)
				}
				col.commands = append(col.commands, cc)
			}
		}
	}
	if col.collectionID == "" {
		return nil, fmt.Errorf("%w: Collection without CollectionId", errSyncProtocol)
	}
	return col, nil
}

// cacheNode is the request as remembered for an empty or partial Sync ([MS-ASCMD]
// 2.2.3.166.4): without SyncKeys (the current key is used) or Commands (never
// repeated).
func (sr *syncRequest) cacheNode() *wbxml.Node {
	root := wbxml.NewElem("AirSync", "Sync")
	cols := wbxml.NewElem("AirSync", "Collections")
	for _, c := range sr.collections {
		cn := wbxml.NewElem("AirSync", "Collection", wbxml.NewText("AirSync", "CollectionId", c.collectionID))
		if c.deletesAsMoves >= 0 {
			cn.Add(wbxml.NewText("AirSync", "DeletesAsMoves", strconv.Itoa(c.deletesAsMoves)))
		}
		cn.Add(wbxml.NewText("AirSync", "GetChanges", boolText(c.getChanges)))
		if c.windowSize > 0 {
			cn.Add(wbxml.NewText("AirSync", "WindowSize", strconv.Itoa(c.windowSize)))
		}
		if c.options != nil {
			cn.Add(c.options)
		}
		cols.Add(cn)
	}
	root.Add(cols)
	if sr.waitElem != "" {
		root.Add(wbxml.NewText("AirSync", sr.waitElem, strconv.Itoa(sr.waitValue)))
	}
	if sr.windowSize > 0 {
		root.Add(wbxml.NewText("AirSync", "WindowSize", strconv.Itoa(sr.windowSize)))
	}
	return root
}

// syncStatus is a Sync response that is only a status.
func syncStatus(code int) *response {
	return &response{body: wbxml.NewElem("AirSync", "Sync", statusNode("AirSync", code))}
}

func (h *Handler) cmdSync(rq *request) (*response, error) {
	sr, status, err := h.syncRequestFor(rq)
	if err != nil {
		return nil, err
	}
	if status != 0 {
		return syncStatus(status), nil
	}
	wait, limit := h.syncWait(sr)
	if limit != nil {
		return limit, nil
	}
	var sub *store.Subscription
	if wait > 0 {
		// Subscribed before the first pass, so that a change made during it wakes us.
		sub = h.st.Feed().Subscribe(rq.acct.ID)
		defer sub.Close()
	}
	body, interesting, err := h.syncOnce(rq.ctx, rq, sr)
	if err != nil {
		return nil, err
	}
	if interesting || wait == 0 {
		return &response{body: body}, nil
	}
	return h.syncHang(rq, sr, sub, wait)
}

// syncRequestFor reads the request, completing an empty or partial one from the
// remembered request ([MS-ASCMD] 2.2.3.166.4, 14.0+; Status 13 when it cannot be
// completed), and remembers a new one.
func (h *Handler) syncRequestFor(rq *request) (*syncRequest, int, error) {
	ds, err := loadDeviceState(rq.dev)
	if err != nil {
		return nil, 0, err
	}
	cached := func() *syncRequest {
		if len(ds.LastSync) == 0 {
			return nil
		}
		n, err := wbxml.Decode(ds.LastSync)
		if err != nil {
			return nil
		}
		sr, err := parseSyncRequest(n)
		if err != nil || len(sr.collections) == 0 {
			return nil
		}
		for _, c := range sr.collections {
			c.cached = true
		}
		return sr
	}
	if rq.body == nil {
		sr := cached()
		if sr == nil {
			return nil, syncIncomplete, nil
		}
		return sr, 0, nil
	}
	sr, err := parseSyncRequest(rq.body)
	if err != nil {
		rq.log.Info("sync: bad request", "err", err)
		return nil, syncProtocolError, nil
	}
	if sr.partial || len(sr.collections) == 0 {
		old := cached()
		if old == nil {
			return nil, syncIncomplete, nil
		}
		have := map[string]bool{}
		for _, c := range sr.collections {
			have[c.collectionID] = true
		}
		for _, c := range old.collections {
			if !have[c.collectionID] {
				sr.collections = append(sr.collections, c)
			}
		}
		if sr.waitElem == "" {
			sr.waitElem, sr.waitValue = old.waitElem, old.waitValue
		}
		if sr.windowSize == 0 {
			sr.windowSize = old.windowSize
		}
		sr.partial = false
	}
	b, err := wbxml.Encode(sr.cacheNode())
	if err != nil {
		rq.log.Info("sync: request not remembered", "err", err)
		return sr, 0, nil
	}
	if !bytes.Equal(b, ds.LastSync) {
		if _, err := h.updateDeviceState(rq.ctx, rq, func(s *deviceState) error { s.LastSync = b; return nil }); err != nil {
			return nil, 0, err
		}
	}
	return sr, 0, nil
}

// syncWait is how long a hanging Sync may wait ([MS-ASCMD] 2.2.3.198 Wait in minutes,
// 2.2.3.88.2 HeartbeatInterval in seconds); out of bounds it is Status 14 with the
// bound in Limit ([MS-ASCMD] 2.2.3.97).
func (h *Handler) syncWait(sr *syncRequest) (time.Duration, *response) {
	if sr.waitElem == "" {
		return 0, nil
	}
	unit := time.Second
	if sr.waitElem == "Wait" {
		unit = time.Minute
	}
	d := time.Duration(sr.waitValue) * unit
	var limit int
	switch {
	case d < h.opts.HeartbeatMin:
		limit = int((h.opts.HeartbeatMin + unit - 1) / unit)
	case d > h.opts.HeartbeatMax:
		limit = int(h.opts.HeartbeatMax / unit)
	default:
		return d, nil
	}
	return 0, &response{body: wbxml.NewElem("AirSync", "Sync", statusNode("AirSync", syncBadWait),
		wbxml.NewText("AirSync", "Limit", strconv.Itoa(limit)))}
}

// syncHang parks a Sync that found nothing until a change of one of its folders
// arrives through the change feed (never by polling the database), the wait runs out
// (an empty 200, DESIGN.md §3) or a newer request of the device supersedes it.
func (h *Handler) syncHang(rq *request, sr *syncRequest, sub *store.Subscription, wait time.Duration) (*response, error) {
	ctx, release := h.park(rq)
	defer release()
	_ = http.NewResponseController(rq.w).SetWriteDeadline(time.Now().Add(wait + waitMargin))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	folders := map[int64]bool{}
	for _, c := range sr.collections {
		if id, err := strconv.ParseInt(c.collectionID, 10, 64); err == nil {
			folders[id] = true
		}
	}
	own := "eas/" + rq.dev.DeviceID
	for {
		select {
		case <-timer.C:
			return &response{}, nil
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errSuperseded) {
				return &response{}, nil
			}
			return nil, ctx.Err()
		case _, ok := <-sub.Ready():
			if !ok {
				return &response{}, nil // the feed is shutting down
			}
			changes, overflow := sub.Drain()
			relevant := overflow
			for _, c := range changes {
				if c.Kind&store.ChangeDevice != 0 && c.Origin == own {
					// A wipe or a policy change: the device comes back and meets the
					// provisioning gate.
					return &response{}, nil
				}
				if c.Origin == own {
					continue
				}
				if c.Kind&(store.ChangeContent|store.ChangeHierarchy) != 0 && (c.FolderID == 0 || folders[c.FolderID]) {
					relevant = true
				}
			}
			if !relevant {
				continue
			}
			body, interesting, err := h.syncOnce(ctx, rq, sr)
			if err != nil {
				if errors.Is(context.Cause(ctx), errSuperseded) {
					return &response{}, nil
				}
				return nil, err
			}
			if interesting {
				return &response{body: body}, nil
			}
		}
	}
}

// syncOnce runs the request, once more if another request of the device advanced a
// collection's state first (§2 invariant 4: the second run sees the first one's key as
// the previous key and replays its answer); a second loss is a 503.
func (h *Handler) syncOnce(ctx context.Context, rq *request, sr *syncRequest) (*wbxml.Node, bool, error) {
	body, interesting, err := h.syncPass(ctx, rq, sr)
	if errors.Is(err, store.ErrConflict) {
		rq.log.Debug("sync: state changed concurrently, running again")
		body, interesting, err = h.syncPass(ctx, rq, sr)
	}
	return body, interesting, err
}

// collectionWork is one collection of a Sync pass: what was read before the commit and
// what the commit decides.
type collectionWork struct {
	req    *syncCollectionRequest
	folder store.Folder
	status int // the collection's Status; only syncOK collections go on
	// replay is the stored answer to a replayed key.
	replay *wbxml.Node
	reset  bool
	// gen is the generation the device presented (the collection's current one).
	gen  int64
	coll store.SyncCollection
	prev *collectionState // as stored
	next *collectionState // after this pass
	// trash is where DeletesAsMoves moves to (0: none, delete for good).
	trash   int64
	changes []serverChange
	appData map[int64]*wbxml.Node
	more    bool
	fetched map[int]*wbxml.Node // Responses/Fetch by command index

	// Decided by the commit (rebuilt on every run of it).
	node        *wbxml.Node
	interesting bool
}

// syncPass reads what every collection needs, then applies the client commands,
// records what is sent and stores the new states in one store commit.
func (h *Handler) syncPass(ctx context.Context, rq *request, sr *syncRequest) (*wbxml.Node, bool, error) {
	ds, err := loadDeviceState(rq.dev)
	if err != nil {
		return nil, false, err
	}
	budget := -1
	if sr.windowSize > 0 {
		budget = sr.windowSize
	}
	now := time.Now()
	works := make([]*collectionWork, 0, len(sr.collections))
	commit := false
	for _, c := range sr.collections {
		w, err := h.prepareCollection(ctx, rq, c, ds, &budget, now)
		if err != nil {
			return nil, false, err
		}
		works = append(works, w)
		if w.status == syncOK && w.replay == nil {
			commit = true
		}
	}
	if commit {
		err := h.st.SyncCommit(ctx, rq.p, rq.dev, func(x *store.SyncTx) error {
			for _, w := range works {
				if w.status == syncOK && w.replay == nil {
					if err := h.commitCollection(x, rq, w); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	cols := wbxml.NewElem("AirSync", "Collections")
	interesting := false
	for _, w := range works {
		switch {
		case w.replay != nil:
			cols.Add(w.replay)
			interesting = true
		case w.status != syncOK:
			n := wbxml.NewElem("AirSync", "Collection")
			if w.req.syncKey != "" {
				n.Add(wbxml.NewText("AirSync", "SyncKey", w.req.syncKey))
			}
			n.Add(wbxml.NewText("AirSync", "CollectionId", w.req.collectionID), statusNode("AirSync", w.status))
			cols.Add(n)
			interesting = true
		default:
			cols.Add(w.node)
			interesting = interesting || w.interesting
		}
	}
	return wbxml.NewElem("AirSync", "Sync", cols), interesting, nil
}

// prepareCollection resolves a collection and reads, outside any transaction, what its
// answer needs: its state, the server changes for the window with their
// ApplicationData, and the Fetches.
func (h *Handler) prepareCollection(ctx context.Context, rq *request, c *syncCollectionRequest, ds deviceState, budget *int, now time.Time) (*collectionWork, error) {
	w := &collectionWork{req: c, status: syncOK}
	id, err := strconv.ParseInt(c.collectionID, 10, 64)
	if err == nil {
		w.folder, err = h.st.Folder(ctx, rq.p, id)
	}
	if err != nil {
		if err := notFoundOnly(err); err != nil {
			return nil, err
		}
		// A folder the device was told of and that is gone asks for a FolderSync
		// (Status 12); anything else, another account's folder too, is not found.
		w.status = syncNotFound
		if _, ok := ds.Folders[id]; ok && id > 0 {
			w.status = syncHierarchyChanged
		}
		return w, nil
	}
	if w.folder.Class != store.ClassMail {
		// Only Email collections are synced so far: the request is not one this
		// server can carry out for that class ([MS-ASCMD] 2.2.3.177.17 Status 4).
		w.status = syncProtocolError
		return w, nil
	}

	if c.syncKey == "0" && !c.cached {
		return w, h.prepareReset(ctx, rq, w)
	}
	coll, st, err := h.collectionStateFor(ctx, rq, id)
	if errors.Is(err, errNoState) {
		w.status = syncInvalidKey
		return w, nil
	}
	if err != nil {
		return nil, err
	}
	w.coll, w.prev = coll, st
	if c.cached {
		c.syncKey = formatSyncKey(st.Epoch, coll.Generation)
	}
	epoch, gen, ok := parseSyncKey(c.syncKey)
	switch {
	case !ok || epoch != st.Epoch:
		w.status = syncInvalidKey
		return w, nil
	case gen == coll.Generation:
	case gen == st.PrevGeneration && len(st.PrevResponse) > 0:
		// The device did not get our answer to this key: the same answer again, so
		// that nothing is lost or sent twice (§2 invariant 4).
		w.replay, err = wbxml.Decode(st.PrevResponse)
		if err != nil {
			return nil, fmt.Errorf("activesync: stored Sync response of folder %d: %w", id, err)
		}
		return w, nil
	default:
		w.status = syncInvalidKey
		return w, nil
	}
	w.gen = gen
	w.next = st.clone()
	h.applyOptions(w, c, now)

	if err := h.prepareCommands(ctx, rq, w); err != nil {
		return nil, err
	}
	if c.getChanges {
		limit := c.windowSize
		if limit == 0 {
			limit = defaultWindowSize
		}
		if *budget >= 0 {
			limit = min(limit, *budget)
		}
		if limit == 0 {
			w.more = true // the request-wide window is spent
		} else {
			res, err := h.pendingChanges(ctx, rq, id, w.next, limit, now)
			if err != nil {
				return nil, err
			}
			w.next, w.more = res.next, res.more
			if err := h.changeData(ctx, rq, w, res.changes); err != nil {
				return nil, err
			}
			if *budget >= 0 {
				*budget = max(*budget-len(w.changes), 0)
			}
		}
	}
	return w, nil
}

// notFoundOnly passes a store error on unless it is "not found".
func notFoundOnly(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// prepareReset handles SyncKey 0 ([MS-ASCMD] 2.2.3.166.4): the state and known set are
// dropped, the answer is a new key and no items, and the fill starts at the next
// request from a snapshot of the folder's modseq taken now.
func (h *Handler) prepareReset(ctx context.Context, rq *request, w *collectionWork) error {
	w.reset = true
	old, err := h.st.SyncCollection(ctx, rq.p, rq.dev, w.folder.ID)
	if err := notFoundOnly(err); err != nil {
		return err
	}
	// Generations go on from the old state, so that a key from before the reset is
	// never valid again.
	w.gen = old.Generation
	w.next = newCollectionState(rq.acct.SyncEpoch, "Email")
	w.next.Fill = &fillCursor{Snapshot: w.folder.HighestModseq}
	h.applyOptions(w, w.req, time.Now())
	return nil
}

// applyOptions takes a collection's new Options and DeletesAsMoves ([MS-ASCMD]
// 2.2.3.125.6). A wider FilterType starts a new fill for the items now inside it; a
// narrower one makes the next pass look for known items now outside it.
func (h *Handler) applyOptions(w *collectionWork, c *syncCollectionRequest, now time.Time) {
	o := &w.next.Options
	if c.deletesAsMoves >= 0 {
		o.KeepDeletes = c.deletesAsMoves == 0
	}
	if c.options == nil {
		return
	}
	oldFilter := o.FilterType
	if s := strings.TrimSpace(c.options.ChildText("AirSync:FilterType")); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 5 {
			v = 0 // 6 and 7 are for calendars and tasks; unknown values mean no filter
		}
		o.FilterType = v
	}
	if s := strings.TrimSpace(c.options.ChildText("AirSync:Conflict")); s == "0" || s == "1" {
		o.Conflict, _ = strconv.Atoi(s)
	}
	bo := parseBodyOptions(c.options)
	o.BodyPrefs, o.BodyPartPrefs, o.MIMESupport = bo.Prefs, bo.PartPrefs, bo.MIMESupport
	o.MIMETruncation = nil
	if bo.MIMETruncation >= 0 {
		v := bo.MIMETruncation
		o.MIMETruncation = &v
	}
	if o.FilterType == oldFilter || w.reset {
		return
	}
	if filterDays(o.FilterType) > filterDays(oldFilter) {
		w.next.Fill = &fillCursor{Snapshot: w.folder.HighestModseq}
	} else {
		w.next.AgeChecked = 0
	}
}

// filterDays orders FilterTypes by the length of their window (0: everything).
func filterDays(ft int) int {
	if ft == 0 {
		return 1 << 30
	}
	return int(time.Since(filterWindow(ft, time.Now())) / (24 * time.Hour))
}

// prepareCommands reads what the client commands need before the commit: the Trash
// folder for DeletesAsMoves and the Fetches' ApplicationData.
func (h *Handler) prepareCommands(ctx context.Context, rq *request, w *collectionWork) error {
	for i, cmd := range w.req.commands {
		switch cmd.op {
		case "Delete":
			if w.trash == 0 && !w.next.Options.KeepDeletes && w.folder.Role != store.RoleTrash {
				t, err := h.st.FolderByRole(ctx, rq.p, store.RoleTrash)
				if err := notFoundOnly(err); err != nil {
					return err
				}
				w.trash = t.ID
			}
		case "Fetch":
			// [MS-ASCMD] 2.2.3.67.2: the item in Responses/Fetch with its ApplicationData.
			n := wbxml.NewElem("AirSync", "Fetch", wbxml.NewText("AirSync", "ServerId", cmd.serverID))
			it, err := h.itemInFolder(ctx, rq, w.folder.ID, cmd.serverID)
			if err == nil {
				var ad *wbxml.Node
				ad, err = h.emailApplicationData(ctx, rq, it, w.next.Options.bodyOptions())
				if err == nil {
					n.Add(statusNode("AirSync", syncOK), ad)
				}
			}
			if err != nil {
				if err := notFoundOnly(err); err != nil {
					return err
				}
				n.Add(statusNode("AirSync", syncNotFound))
			}
			if w.fetched == nil {
				w.fetched = map[int]*wbxml.Node{}
			}
			w.fetched[i] = n
		}
	}
	return nil
}

// itemInFolder resolves a ServerId of a collection; another folder's or another
// account's item is not found.
func (h *Handler) itemInFolder(ctx context.Context, rq *request, folderID int64, serverID string) (store.Item, error) {
	fid, id, err := store.ParseServerID(serverID)
	if err != nil || fid != folderID {
		return store.Item{}, store.ErrNotFound
	}
	it, err := h.st.GetItem(ctx, rq.p, id)
	if err != nil {
		return it, err
	}
	if it.FolderID != folderID {
		return it, store.ErrNotFound
	}
	return it, nil
}

// changeData builds the ApplicationData of the window's Adds and Changes. An item that
// went away meanwhile is left out (its tombstone is past the watermark and ignored, as
// the device never held it); one that cannot be read is left out and logged rather
// than stalling the collection forever.
func (h *Handler) changeData(ctx context.Context, rq *request, w *collectionWork, changes []serverChange) error {
	w.appData = make(map[int64]*wbxml.Node, len(changes))
	bo := w.next.Options.bodyOptions()
	for _, c := range changes {
		switch c.kind {
		case changeAdd:
			ad, err := h.emailApplicationData(ctx, rq, c.item, bo)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !errors.Is(err, store.ErrNotFound) {
					rq.log.Error("sync: item left out", "item", c.itemID, "err", err)
				}
				continue
			}
			w.appData[c.itemID] = ad
		case changeChange:
			w.appData[c.itemID] = emailChangeData(c.item)
		}
		w.changes = append(w.changes, c)
	}
	return nil
}

// commitCollection runs inside the Sync's one commit: it applies the client commands,
// records what the device is sent, and stores the new state by compare-and-swap on the
// generation (§2 invariant 4). It may run more than once; it keeps nothing from a
// previous run.
func (h *Handler) commitCollection(x *store.SyncTx, rq *request, w *collectionWork) error {
	next := w.next.clone()
	folder := w.folder.ID
	if w.reset {
		if err := x.ResetCollection(folder); err != nil {
			return err
		}
	}
	var responses []*wbxml.Node
	touched := map[int64]bool{}
	for i, cmd := range w.req.commands {
		if w.reset {
			break // commands with SyncKey 0 are not carried out ([MS-ASCMD] 2.2.3.166.4)
		}
		switch cmd.op {
		case "Fetch":
			responses = append(responses, w.fetched[i])
		case "Add":
			// Mail can be added only as a draft at 16.0+ ([MS-ASEMAIL] 2.2.2.43), which
			// is not built yet: refused as an item the server cannot take (Status 6).
			responses = append(responses, wbxml.NewElem("AirSync", "Add",
				wbxml.NewText("AirSync", "ClientId", cmd.clientID), statusNode("AirSync", syncConversionError)))
		case "Change":
			status, err := applyEmailChange(x, folder, cmd, touched)
			if err != nil {
				return err
			}
			if status != syncOK {
				// Only failures are answered ([MS-ASCMD] 2.2.3.154).
				responses = append(responses, wbxml.NewElem("AirSync", "Change",
					wbxml.NewText("AirSync", "ServerId", cmd.serverID), statusNode("AirSync", status)))
			}
		case "Delete":
			status, err := applyDelete(x, folder, w.trash, next.Options.KeepDeletes, cmd, touched)
			if err != nil {
				return err
			}
			if status != syncOK {
				responses = append(responses, wbxml.NewElem("AirSync", "Delete",
					wbxml.NewText("AirSync", "ServerId", cmd.serverID), statusNode("AirSync", status)))
			}
		}
	}

	// Server changes. One to an item the client changed or deleted in this request is
	// held back: a deleted item is gone, and a changed one keeps its old mark in the
	// known set (SyncTx.SetFlags), so the merged item goes out as a Change next time
	// — the client's fields win, the server's others survive ([MS-ASCMD] 2.2.3.34:
	// for flags, the last writer wins, as Exchange does).
	var cmds []*wbxml.Node
	for _, c := range w.changes {
		if touched[c.itemID] {
			continue
		}
		sid := (&store.Item{FolderID: folder, ID: c.itemID}).ServerID()
		switch c.kind {
		case changeAdd, changeChange:
			cmds = append(cmds, wbxml.NewElem("AirSync", c.kind.tag(), wbxml.NewText("AirSync", "ServerId", sid), w.appData[c.itemID]))
			if err := x.SetKnown(folder, c.itemID, c.item.Modseq); err != nil {
				return err
			}
		default:
			cmds = append(cmds, wbxml.NewElem("AirSync", c.kind.tag(), wbxml.NewText("AirSync", "ServerId", sid)))
			if err := x.Forget(folder, c.itemID); err != nil {
				return err
			}
		}
	}

	w.interesting = w.reset || len(w.req.commands) > 0 || len(cmds) > 0 || w.more
	newGen := w.gen
	if w.interesting {
		newGen = w.gen + 1
	}
	key := formatSyncKey(next.Epoch, newGen)
	node := wbxml.NewElem("AirSync", "Collection",
		wbxml.NewText("AirSync", "SyncKey", key),
		wbxml.NewText("AirSync", "CollectionId", w.req.collectionID),
		statusNode("AirSync", syncOK))
	if len(cmds) > 0 {
		node.Add(wbxml.NewElem("AirSync", "Commands", cmds...))
	}
	if len(responses) > 0 {
		node.Add(wbxml.NewElem("AirSync", "Responses", responses...))
	}
	if w.more {
		node.Add(wbxml.NewElem("AirSync", "MoreAvailable"))
	}
	w.node = node

	switch {
	case w.reset:
		next.PrevGeneration, next.PrevResponse = 0, nil
	case newGen != w.gen:
		enc, err := wbxml.Encode(node)
		if err != nil {
			return err
		}
		next.PrevGeneration, next.PrevResponse = w.gen, enc
	}
	state, err := next.encode()
	if err != nil {
		return err
	}
	if w.reset {
		return x.PutCollection(store.SyncCollection{FolderID: folder, Generation: newGen, State: state}, -1)
	}
	if newGen == w.gen && bytes.Equal(state, w.coll.State) {
		return nil // nothing happened: the key stays and nothing is written
	}
	return x.PutCollection(store.SyncCollection{FolderID: folder, Generation: newGen, State: state}, w.gen)
}

// applyEmailChange carries out a client Change of a mail item ([MS-ASCMD] 2.2.3.24):
// Read is \Seen, Flag is \Flagged ([MS-ASEMAIL] 2.2.2.35: Status 2 active; 0 cleared
// and 1 complete are not flagged), Categories are keywords. Fields it does not carry
// stay as they are.
func applyEmailChange(x *store.SyncTx, folder int64, cmd clientCommand, touched map[int64]bool) (int, error) {
	it, status, err := txItemInFolder(x, folder, cmd.serverID)
	if status != syncOK || err != nil {
		return status, err
	}
	if cmd.data == nil {
		return syncOK, nil
	}
	flags, keywords := it.Flags, it.Keywords
	if r := cmd.data.Child("Email:Read"); r != nil {
		if strings.TrimSpace(r.Text) == "1" {
			flags |= store.FlagSeen
		} else {
			flags &^= store.FlagSeen
		}
	}
	if f := cmd.data.Child("Email:Flag"); f != nil {
		if strings.TrimSpace(f.ChildText("Email:Status")) == "2" {
			flags |= store.FlagFlagged
		} else {
			flags &^= store.FlagFlagged
		}
	}
	if c := cmd.data.Child("Email:Categories"); c != nil {
		var cats []string
		for _, cat := range c.All("Email:Category") {
			cats = append(cats, cat.Text)
		}
		keywords = withCategories(keywords, cats)
	}
	touched[it.ID] = true
	if flags == it.Flags && sameStrings(keywords, it.Keywords) {
		return syncOK, nil
	}
	if _, err := x.SetFlags(store.Selector{FolderID: folder, IDs: []int64{it.ID}}, store.FlagsReplace, flags, keywords); err != nil {
		return 0, err
	}
	return syncOK, nil
}

// applyDelete carries out a client Delete ([MS-ASCMD] 2.2.3.42.2): a move to the Trash
// with DeletesAsMoves (the default, 2.2.3.43), for good without it or in the Trash.
func applyDelete(x *store.SyncTx, folder, trash int64, keep bool, cmd clientCommand, touched map[int64]bool) (int, error) {
	it, status, err := txItemInFolder(x, folder, cmd.serverID)
	if status != syncOK || err != nil {
		return status, err
	}
	touched[it.ID] = true
	sel := store.Selector{FolderID: folder, IDs: []int64{it.ID}}
	if !keep && trash != 0 && trash != folder {
		var moved []store.Moved
		moved, err = x.Move(sel, trash)
		// Unlike MoveItems, a Delete does not tell the device where the item went:
		// the Trash collection sends it as an Add.
		for _, mv := range moved {
			if err == nil {
				err = x.Forget(trash, mv.NewItemID)
			}
		}
	} else {
		_, err = x.Delete(sel)
	}
	if errors.Is(err, store.ErrNotFound) {
		return syncNotFound, nil
	}
	return syncOK, err
}

// txItemInFolder resolves a client ServerId inside the commit; Status 8 when it names
// no item of this collection.
func txItemInFolder(x *store.SyncTx, folder int64, serverID string) (store.Item, int, error) {
	fid, id, err := store.ParseServerID(serverID)
	if err != nil || fid != folder {
		return store.Item{}, syncNotFound, nil
	}
	it, err := x.Item(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && it.FolderID != folder {
		return it, syncNotFound, nil
	}
	if err != nil {
		return it, 0, err
	}
	return it, syncOK, nil
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
