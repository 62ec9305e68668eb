package activesync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// The hierarchy commands: FolderSync ([MS-ASCMD] 2.2.1.5), FolderCreate (2.2.1.3),
// FolderUpdate (2.2.1.6) and FolderDelete (2.2.1.4).
//
// The device's hierarchy state is deviceState.Folders (what it was told), FolderModseq
// (the account modseq that set is current to) and FolderKey (the generation in its
// SyncKey). FolderSync answers the store's folder tree delta since FolderModseq compared
// with Folders, so a device's own FolderCreate/Update/Delete, already recorded in
// Folders, is not echoed back. The answer to key N is kept (FolderPrev) until the device
// presents N+1, so that a replay of N gets the same bytes (DESIGN.md §2 invariant 4).

const nsFolder = "FolderHierarchy"

// Command-level statuses ([MS-ASCMD] 2.2.3.177.2–2.2.3.177.6).
const (
	folderStatusOK         = 1
	folderStatusExists     = 2  // Create, Update: name taken; Update: special folder
	folderStatusSpecial    = 3  // Delete: special folder
	folderStatusNotFound   = 4  // Update, Delete: no such folder
	folderStatusNoParent   = 5  // Create, Update: no such parent
	folderStatusBadKey     = 9  // synchronization key mismatch or invalid
	folderStatusBadRequest = 10 // incorrectly formatted request
)

// Server faults are not given Status 6 (server error): they go to writeError as HTTP
// 500 or 503, which every client retries.

// hierarchyKey is a hierarchy SyncKey: the account's sync epoch, so that a restore
// invalidates every key handed out before it, and the device's generation.
type hierarchyKey struct{ epoch, gen int64 }

func (k hierarchyKey) String() string {
	return strconv.FormatInt(k.epoch, 10) + "-" + strconv.FormatInt(k.gen, 10)
}

// parseHierarchyKey reads a key made by hierarchyKey.String; "0" is not one.
func parseHierarchyKey(s string) (hierarchyKey, bool) {
	e, g, ok := strings.Cut(s, "-")
	if !ok {
		return hierarchyKey{}, false
	}
	epoch, ok1 := parseFolderID(e)
	gen, ok2 := parseFolderID(g)
	if !ok1 || !ok2 || gen == 0 {
		return hierarchyKey{}, false
	}
	return hierarchyKey{epoch, gen}, true
}

// folderRequest checks that the body is the command's FolderHierarchy element and
// returns its children's text by tag (the first of each); nil if it is not.
func folderRequest(rq *request, cmd string) map[string]string {
	if rq.body == nil || rq.body.Space != nsFolder || rq.body.Tag != cmd {
		return nil
	}
	fields := map[string]string{}
	for _, c := range rq.body.Children {
		if c.Space != nsFolder || len(c.Children) > 0 || c.Opaque != nil {
			continue
		}
		if _, dup := fields[c.Tag]; !dup {
			fields[c.Tag] = c.Text
		}
	}
	return fields
}

// folderStatusResponse is a hierarchy command's answer carrying only a Status.
func folderStatusResponse(cmd string, status int) *response {
	return &response{body: wbxml.NewElem(nsFolder, cmd, statusNode(nsFolder, status))}
}

// errFolderRace: the device's hierarchy state changed between reading and writing it
// (two requests of the device at once).
var errFolderRace = errors.New("activesync: hierarchy state changed concurrently")

// folderErrorStatuses maps store errors to each command's Status ([MS-ASCMD]
// 2.2.3.177.3 FolderCreate, 2.2.3.177.6 FolderUpdate, 2.2.3.177.4 FolderDelete). The
// commands resolve the folder itself first, so ErrNotFound from the store's mutation
// means the parent for Create and Update.
var folderErrorStatuses = map[string][]struct {
	err    error
	status int
}{
	"FolderCreate": {{store.ErrExists, folderStatusExists}, {store.ErrNotFound, folderStatusNoParent}, {store.ErrInvalid, folderStatusBadRequest}},
	"FolderUpdate": {{store.ErrExists, folderStatusExists}, {store.ErrNotFound, folderStatusNoParent}, {store.ErrInvalid, folderStatusBadRequest}},
	"FolderDelete": {{store.ErrNotFound, folderStatusNotFound}, {store.ErrInvalid, folderStatusSpecial}},
}

// folderErrorStatus is the one place where a store error of a hierarchy command becomes
// its Status; ok is false for an unexpected error, which goes to writeError.
func folderErrorStatus(cmd string, err error) (status int, ok bool) {
	for _, m := range folderErrorStatuses[cmd] {
		if errors.Is(err, m.err) {
			return m.status, true
		}
	}
	return 0, false
}

// knownFolderOf is how a device is told of f.
func knownFolderOf(f store.Folder) knownFolder {
	return knownFolder{Parent: f.ParentID, Name: f.Name, Type: easFolderType(f)}
}

// sameFolder says whether the device's picture of a folder is still right.
func sameFolder(a, b knownFolder) bool {
	return a.Parent == b.Parent && a.Name == b.Name && a.Type == b.Type
}

// folderChangeNode is an Add or Update of [MS-ASCMD] 2.2.3.7.3 / 2.2.3.190.
func folderChangeNode(tag string, f store.Folder) *wbxml.Node {
	return wbxml.NewElem(nsFolder, tag,
		wbxml.NewText(nsFolder, "ServerId", folderServerID(f.ID)),
		wbxml.NewText(nsFolder, "ParentId", folderParentID(f.ParentID)),
		wbxml.NewText(nsFolder, "DisplayName", f.Name),
		wbxml.NewText(nsFolder, "Type", strconv.Itoa(easFolderType(f))))
}

// hierarchyChanges is what one FolderSync tells a device.
type hierarchyChanges struct {
	updates, adds []store.Folder
	deletes       []int64
	next          map[int64]knownFolder // the device's folder set after this answer
}

func (c hierarchyChanges) empty() bool {
	return len(c.updates) == 0 && len(c.adds) == 0 && len(c.deletes) == 0
}

// folderSyncBody is a successful FolderSync response ([MS-ASCMD] 2.2.3.25.1 Changes:
// Count, then Update, Delete and Add in the schema's order).
func folderSyncBody(key string, c hierarchyChanges) *wbxml.Node {
	changes := wbxml.NewElem(nsFolder, "Changes",
		wbxml.NewText(nsFolder, "Count", strconv.Itoa(len(c.updates)+len(c.deletes)+len(c.adds))))
	for _, f := range c.updates {
		changes.Children = append(changes.Children, folderChangeNode("Update", f))
	}
	for _, id := range c.deletes {
		changes.Children = append(changes.Children, wbxml.NewElem(nsFolder, "Delete", wbxml.NewText(nsFolder, "ServerId", folderServerID(id))))
	}
	for _, f := range folderParentsFirst(c.adds) {
		changes.Children = append(changes.Children, folderChangeNode("Add", f))
	}
	return wbxml.NewElem(nsFolder, "FolderSync", statusNode(nsFolder, folderStatusOK),
		wbxml.NewText(nsFolder, "SyncKey", key), changes)
}

// folderParentsFirst orders folders so that a folder comes after its parent when both
// are in the list (a device creates an Add's parent before the Add), keeping the order
// otherwise.
func folderParentsFirst(fs []store.Folder) []store.Folder {
	in := make(map[int64]bool, len(fs))
	children := map[int64][]store.Folder{}
	for _, f := range fs {
		in[f.ID] = true
	}
	var roots []store.Folder
	for _, f := range fs {
		if in[f.ParentID] {
			children[f.ParentID] = append(children[f.ParentID], f)
		} else {
			roots = append(roots, f)
		}
	}
	out := make([]store.Folder, 0, len(fs))
	var visit func(f store.Folder)
	visit = func(f store.Folder) {
		out = append(out, f)
		for _, c := range children[f.ID] {
			visit(c)
		}
	}
	for _, f := range roots {
		visit(f)
	}
	return out // a cycle cannot happen: the store refuses to move a folder under itself
}

// diffHierarchy compares the folder tree delta since st.FolderModseq with what the
// device holds: new folders are Adds, renamed or moved ones Updates, deleted ones it
// holds Deletes. A folder the device created itself after the watermark and that has
// since been deleted is not in the delta's tombstones (the store reports only folders
// that existed at the watermark), so those are checked one by one.
func (h *Handler) diffHierarchy(ctx context.Context, rq *request, st deviceState, d store.FolderDelta) (hierarchyChanges, error) {
	c := hierarchyChanges{next: make(map[int64]knownFolder, len(st.Folders)+len(d.Folders))}
	for id, kf := range st.Folders {
		kf.Created = 0 // the new watermark covers it
		c.next[id] = kf
	}
	seen := map[int64]bool{}
	for _, f := range d.Folders {
		seen[f.ID] = true
		kf := knownFolderOf(f)
		old, known := st.Folders[f.ID]
		switch {
		case !known:
			c.adds = append(c.adds, f)
		case !sameFolder(old, kf):
			c.updates = append(c.updates, f)
		}
		c.next[f.ID] = kf
	}
	for _, f := range d.Deleted {
		seen[f.ID] = true
		if _, known := st.Folders[f.ID]; known {
			c.deletes = append(c.deletes, f.ID)
			delete(c.next, f.ID)
		}
	}
	for id, kf := range st.Folders {
		if kf.Created <= st.FolderModseq || seen[id] {
			continue
		}
		if _, err := h.st.Folder(ctx, rq.p, id); errors.Is(err, store.ErrNotFound) {
			c.deletes = append(c.deletes, id)
			delete(c.next, id)
		} else if err != nil {
			return c, err
		}
	}
	return c, nil
}

// folderHierarchyChanged says whether a FolderSync with the device's current key would
// report a change (for Ping's Status 7, [MS-ASCMD] 2.2.3.177.10: a change the device
// made itself is not one).
func (h *Handler) folderHierarchyChanged(ctx context.Context, rq *request) (bool, error) {
	st, err := loadDeviceState(rq.dev)
	if err != nil {
		return false, err
	}
	d, err := h.st.FolderTreeDelta(ctx, rq.p, st.FolderModseq)
	if err != nil {
		return false, err
	}
	if len(d.Folders) == 0 && len(d.Deleted) == 0 && !hasOwnCreations(st) {
		return false, nil
	}
	c, err := h.diffHierarchy(ctx, rq, st, d)
	return !c.empty(), err
}

func hasOwnCreations(st deviceState) bool {
	for _, kf := range st.Folders {
		if kf.Created > st.FolderModseq {
			return true
		}
	}
	return false
}

// cmdFolderSync answers FolderSync ([MS-ASCMD] 2.2.1.5).
func (h *Handler) cmdFolderSync(rq *request) (*response, error) {
	const cmd = "FolderSync"
	fields := folderRequest(rq, cmd)
	key, ok := fields["SyncKey"]
	if !ok {
		return folderStatusResponse(cmd, folderStatusBadRequest), nil
	}
	st, err := loadDeviceState(rq.dev)
	if err != nil {
		return nil, err
	}
	if key == "0" {
		return h.folderSyncFull(rq)
	}
	k, ok := parseHierarchyKey(key)
	if !ok {
		rq.log.Debug("FolderSync: malformed key", "key", key)
		return folderStatusResponse(cmd, folderStatusBadKey), nil
	}
	d, err := h.st.FolderTreeDelta(rq.ctx, rq.p, st.FolderModseq)
	if err != nil {
		return nil, err
	}
	switch {
	case k.epoch != d.SyncEpoch || st.FolderKey == 0:
		// [MS-ASCMD] 2.2.3.181.2: a key from before a restore, or a device that never
		// had one.
	case k.gen == st.FolderKey:
		return h.folderSyncDelta(rq, st, k, d)
	case st.FolderPrev != nil && k.gen == st.FolderPrev.Key:
		return replayFolderSync(st.FolderPrev)
	}
	rq.log.Debug("FolderSync: stale key", "key", key, "current", st.FolderKey)
	return folderStatusResponse(cmd, folderStatusBadKey), nil
}

// replayFolderSync answers a replayed key with the bytes it was answered with.
func replayFolderSync(prev *folderSyncSnapshot) (*response, error) {
	n, err := wbxml.Decode(prev.Response)
	if err != nil {
		return nil, fmt.Errorf("activesync: stored FolderSync answer: %w", err)
	}
	return &response{body: n}, nil
}

// folderSyncFull answers SyncKey 0: every live folder of every class, and a new key.
// As Exchange does, it also drops every collection state of the device: a client that
// starts the hierarchy over starts each collection over with SyncKey 0.
func (h *Handler) folderSyncFull(rq *request) (*response, error) {
	ctx := rq.ctx
	// Every live folder has hier_modseq > 0: the delta since 0 is the whole tree with
	// its watermark and epoch, in one snapshot.
	d, err := h.st.FolderTreeDelta(ctx, rq.p, 0)
	if err != nil {
		return nil, err
	}
	c := hierarchyChanges{adds: d.Folders, next: make(map[int64]knownFolder, len(d.Folders))}
	for _, f := range d.Folders {
		c.next[f.ID] = knownFolderOf(f)
	}
	var gen int64
	if _, err := h.updateDeviceState(ctx, rq, func(s *deviceState) error {
		// Generations only grow, so that no key from before the reset is valid again.
		gen = s.FolderKey + 1
		s.FolderKey = gen
		s.FolderModseq = d.Modseq
		s.Folders = c.next
		s.FolderPrev = nil
		return nil
	}); err != nil {
		return nil, err
	}
	if err := h.resetCollections(ctx, rq, nil); err != nil {
		return nil, err
	}
	key := hierarchyKey{d.SyncEpoch, gen}
	rq.log.Debug("FolderSync: full hierarchy", "folders", len(d.Folders), "key", key.String())
	return &response{body: folderSyncBody(key.String(), c)}, nil
}

// folderSyncDelta answers the device's current key with what changed since. With no
// change the key stays the same; the watermark still advances so that the same
// folders are not compared again.
func (h *Handler) folderSyncDelta(rq *request, st deviceState, k hierarchyKey, d store.FolderDelta) (*response, error) {
	ctx := rq.ctx
	c, err := h.diffHierarchy(ctx, rq, st, d)
	if err != nil {
		return nil, err
	}
	if c.empty() {
		if d.Modseq != st.FolderModseq || hasOwnCreations(st) {
			_, err := h.updateDeviceState(ctx, rq, func(s *deviceState) error {
				if s.FolderKey != st.FolderKey {
					return errFolderRace
				}
				s.FolderModseq, s.Folders = d.Modseq, c.next
				return nil
			})
			if errors.Is(err, errFolderRace) {
				return h.folderSyncRace(rq, k)
			}
			if err != nil {
				return nil, err
			}
		}
		return &response{body: folderSyncBody(k.String(), c)}, nil
	}
	next := hierarchyKey{d.SyncEpoch, st.FolderKey + 1}
	body := folderSyncBody(next.String(), c)
	encoded, err := wbxml.Encode(body)
	if err != nil {
		return nil, err
	}
	_, err = h.updateDeviceState(ctx, rq, func(s *deviceState) error {
		if s.FolderKey != st.FolderKey {
			return errFolderRace
		}
		s.FolderKey = next.gen
		s.FolderModseq = d.Modseq
		s.Folders = c.next
		s.FolderPrev = &folderSyncSnapshot{Key: k.gen, Response: encoded}
		return nil
	})
	if errors.Is(err, errFolderRace) {
		return h.folderSyncRace(rq, k)
	}
	if err != nil {
		return nil, err
	}
	if err := h.resetCollections(ctx, rq, c.deletes); err != nil {
		return nil, err
	}
	rq.log.Debug("FolderSync: changes", "add", len(c.adds), "update", len(c.updates), "delete", len(c.deletes), "key", next.String())
	return &response{body: body}, nil
}

// folderSyncRace answers a FolderSync that lost a race with another request of the
// device: if that request answered the same key, this one is a replay and gets the
// same answer; otherwise the device should retry.
func (h *Handler) folderSyncRace(rq *request, k hierarchyKey) (*response, error) {
	dev, err := h.st.Device(rq.ctx, rq.p, rq.dev.DeviceID)
	if err != nil {
		return nil, err
	}
	st, err := loadDeviceState(dev)
	if err != nil {
		return nil, err
	}
	if st.FolderPrev != nil && st.FolderPrev.Key == k.gen {
		return replayFolderSync(st.FolderPrev)
	}
	return nil, fmt.Errorf("%w: FolderSync", store.ErrConflict)
}

// resetCollections drops the device's collection state of the given folders (nil: of
// every collection), as for Sync with SyncKey 0 (store.SyncTx.ResetCollection).
func (h *Handler) resetCollections(ctx context.Context, rq *request, folders []int64) error {
	if folders == nil {
		cols, err := h.st.SyncCollections(ctx, rq.p, rq.dev)
		if err != nil {
			return err
		}
		for _, c := range cols {
			folders = append(folders, c.FolderID)
		}
	}
	if len(folders) == 0 {
		return nil
	}
	return h.st.SyncCommit(ctx, rq.p, rq.dev, func(tx *store.SyncTx) error {
		for _, id := range folders {
			if err := tx.ResetCollection(id); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkHierarchyKey says whether key is the device's current hierarchy key
// ([MS-ASCMD] 2.2.3.181.1: FolderCreate, FolderUpdate and FolderDelete carry it).
func (h *Handler) checkHierarchyKey(ctx context.Context, rq *request, st deviceState, key string) (hierarchyKey, bool, error) {
	k, ok := parseHierarchyKey(key)
	if !ok || st.FolderKey == 0 || k.gen != st.FolderKey {
		return k, false, nil
	}
	acct, err := h.st.Account(ctx, rq.p.AccountID)
	if err != nil {
		return k, false, err
	}
	return k, k.epoch == acct.SyncEpoch, nil
}

// advanceHierarchy records a device's own hierarchy change in its folder set and
// returns its new key. The key generation advances so that the change is ordered with
// FolderSync; the previous FolderSync answer can no longer be replayed.
func (h *Handler) advanceHierarchy(ctx context.Context, rq *request, st deviceState, k hierarchyKey, change func(map[int64]knownFolder)) (hierarchyKey, error) {
	next := hierarchyKey{k.epoch, st.FolderKey + 1}
	_, err := h.updateDeviceState(ctx, rq, func(s *deviceState) error {
		if s.FolderKey != st.FolderKey {
			return errFolderRace
		}
		if s.Folders == nil {
			s.Folders = map[int64]knownFolder{}
		}
		change(s.Folders)
		s.FolderKey = next.gen
		s.FolderPrev = nil
		return nil
	})
	if errors.Is(err, errFolderRace) {
		err = fmt.Errorf("%w: %s", store.ErrConflict, rq.cmd)
	}
	return next, err
}

// cmdFolderCreate answers FolderCreate ([MS-ASCMD] 2.2.1.3).
func (h *Handler) cmdFolderCreate(rq *request) (*response, error) {
	const cmd = "FolderCreate"
	ctx := rq.ctx
	fields := folderRequest(rq, cmd)
	key, hasKey := fields["SyncKey"]
	parentText, hasParent := fields["ParentId"]
	name, hasName := fields["DisplayName"]
	typeText, hasType := fields["Type"]
	if !hasKey || !hasParent || !hasName || !hasType {
		return folderStatusResponse(cmd, folderStatusBadRequest), nil
	}
	// [MS-ASCMD] 2.2.3.186.2: only the user-created types; 2–11 and 19 are reserved.
	t, err := strconv.Atoi(typeText)
	class, ok := classForType(t)
	if err != nil || !ok {
		return folderStatusResponse(cmd, folderStatusBadRequest), nil
	}
	st, err := loadDeviceState(rq.dev)
	if err != nil {
		return nil, err
	}
	k, ok, err := h.checkHierarchyKey(ctx, rq, st, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return folderStatusResponse(cmd, folderStatusBadKey), nil
	}
	parent, ok := parseFolderID(parentText)
	if !ok {
		return folderStatusResponse(cmd, folderStatusNoParent), nil
	}
	f, err := h.st.CreateFolder(ctx, rq.p, parent, name, class)
	if err != nil {
		if status, ok := folderErrorStatus(cmd, err); ok {
			rq.log.Debug("FolderCreate refused", "status", status, "err", err)
			return folderStatusResponse(cmd, status), nil
		}
		return nil, err
	}
	next, err := h.advanceHierarchy(ctx, rq, st, k, func(fs map[int64]knownFolder) {
		kf := knownFolderOf(f)
		kf.Created = f.CreateModseq
		fs[f.ID] = kf
	})
	if err != nil {
		return nil, err
	}
	return &response{body: wbxml.NewElem(nsFolder, cmd, statusNode(nsFolder, folderStatusOK),
		wbxml.NewText(nsFolder, "SyncKey", next.String()),
		wbxml.NewText(nsFolder, "ServerId", folderServerID(f.ID)))}, nil
}

// cmdFolderUpdate answers FolderUpdate ([MS-ASCMD] 2.2.1.6): rename and/or move.
func (h *Handler) cmdFolderUpdate(rq *request) (*response, error) {
	const cmd = "FolderUpdate"
	ctx := rq.ctx
	fields := folderRequest(rq, cmd)
	key, hasKey := fields["SyncKey"]
	idText, hasID := fields["ServerId"]
	parentText, hasParent := fields["ParentId"]
	name, hasName := fields["DisplayName"]
	if !hasKey || !hasID || !hasParent || !hasName {
		return folderStatusResponse(cmd, folderStatusBadRequest), nil
	}
	st, k, cur, refused, err := h.hierarchyTarget(rq, cmd, key, idText)
	if refused != nil || err != nil {
		return refused, err
	}
	// [MS-ASCMD] 2.2.3.177.6: special folders (Inbox, Drafts…) cannot be updated.
	if cur.Role != store.RoleNone {
		return folderStatusResponse(cmd, folderStatusExists), nil
	}
	parent, ok := parseFolderID(parentText)
	if !ok {
		return folderStatusResponse(cmd, folderStatusNoParent), nil
	}
	f, err := h.st.RenameFolder(ctx, rq.p, cur.ID, parent, name)
	if err != nil {
		if status, ok := folderErrorStatus(cmd, err); ok {
			rq.log.Debug("FolderUpdate refused", "status", status, "err", err)
			return folderStatusResponse(cmd, status), nil
		}
		return nil, err
	}
	next, err := h.advanceHierarchy(ctx, rq, st, k, func(fs map[int64]knownFolder) {
		kf := knownFolderOf(f)
		kf.Created = fs[f.ID].Created
		fs[f.ID] = kf
	})
	if err != nil {
		return nil, err
	}
	return &response{body: wbxml.NewElem(nsFolder, cmd, statusNode(nsFolder, folderStatusOK),
		wbxml.NewText(nsFolder, "SyncKey", next.String()))}, nil
}

// hierarchyTarget checks the SyncKey of a FolderUpdate or FolderDelete and finds the
// folder it names; refused is the answer when either is wrong (Status 9 or 4).
func (h *Handler) hierarchyTarget(rq *request, cmd, key, id string) (st deviceState, k hierarchyKey, f store.Folder, refused *response, err error) {
	if st, err = loadDeviceState(rq.dev); err != nil {
		return
	}
	var ok bool
	if k, ok, err = h.checkHierarchyKey(rq.ctx, rq, st, key); err != nil {
		return
	}
	if !ok {
		refused = folderStatusResponse(cmd, folderStatusBadKey)
		return
	}
	f, err = h.folderForCollection(rq.ctx, rq, id)
	if errors.Is(err, store.ErrNotFound) {
		refused, err = folderStatusResponse(cmd, folderStatusNotFound), nil
	}
	return
}

// cmdFolderDelete answers FolderDelete ([MS-ASCMD] 2.2.1.4). The folder's subfolders
// go with it, from the store and from the device's folder set.
func (h *Handler) cmdFolderDelete(rq *request) (*response, error) {
	const cmd = "FolderDelete"
	ctx := rq.ctx
	fields := folderRequest(rq, cmd)
	key, hasKey := fields["SyncKey"]
	idText, hasID := fields["ServerId"]
	if !hasKey || !hasID {
		return folderStatusResponse(cmd, folderStatusBadRequest), nil
	}
	st, k, f, refused, err := h.hierarchyTarget(rq, cmd, key, idText)
	if refused != nil || err != nil {
		return refused, err
	}
	// [MS-ASCMD] 2.2.3.177.4: a special folder cannot be deleted.
	if f.Role != store.RoleNone {
		return folderStatusResponse(cmd, folderStatusSpecial), nil
	}
	if err := h.st.DeleteFolder(ctx, rq.p, f.ID); err != nil {
		if status, ok := folderErrorStatus(cmd, err); ok {
			rq.log.Debug("FolderDelete refused", "status", status, "err", err)
			return folderStatusResponse(cmd, status), nil
		}
		return nil, err
	}
	var gone []int64
	next, err := h.advanceHierarchy(ctx, rq, st, k, func(fs map[int64]knownFolder) {
		gone = folderSubtree(fs, f.ID)
		for _, id := range gone {
			delete(fs, id)
		}
	})
	if err != nil {
		return nil, err
	}
	if err := h.resetCollections(ctx, rq, gone); err != nil {
		return nil, err
	}
	return &response{body: wbxml.NewElem(nsFolder, cmd, statusNode(nsFolder, folderStatusOK),
		wbxml.NewText(nsFolder, "SyncKey", next.String()))}, nil
}

// folderSubtree lists root and its descendants in a device's folder set.
func folderSubtree(fs map[int64]knownFolder, root int64) []int64 {
	out := []int64{root}
	in := map[int64]bool{root: true}
	for i := 0; i < len(out); i++ {
		for id, kf := range fs {
			if kf.Parent == out[i] && !in[id] {
				in[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
