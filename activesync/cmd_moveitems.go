package activesync

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// MoveItems statuses, [MS-ASCMD] 2.2.3.177.10.
const (
	moveInvalidSource = 1 // unknown source folder, or the item is not (or no longer) in it
	moveInvalidDest   = 2 // unknown destination folder
	moveSuccess       = 3
	moveSameFolder    = 4 // source and destination are the same folder
	moveFailed        = 5 // the move itself failed (e.g. a folder of another class)
)

const nsMove = "Move"

// moveOp is one Move of a MoveItems request as it is validated and carried out.
type moveOp struct {
	srcMsgID    string
	src, dst    int64 // folder ids
	item        int64
	status      int
	dstMsgID    string
	needsCommit bool
}

// cmdMoveItems is [MS-ASCMD] 2.2.1.12. Each Move is checked against the store with the
// requester's principal (another account's item or folder is an invalid source or
// destination); the valid ones are made in one store mutation as this device
// (store.SyncCommit with SyncTx.Move), so that the item leaves the source's known set
// and, where the device syncs the destination, enters that one: the next Sync of either
// folder neither echoes a Delete nor sends a duplicate Add (§2 invariant 4). The item
// keeps its id, so its new ServerId is "<destination>:<id>".
func (h *Handler) cmdMoveItems(rq *request) (*response, error) {
	root := rq.body
	if root == nil || !root.Is(nsMove+":MoveItems") {
		return nil, fmt.Errorf("%w: MoveItems without a MoveItems body", errBadRequest)
	}
	moves := root.All(nsMove + ":Move")
	if len(moves) == 0 {
		return nil, fmt.Errorf("%w: MoveItems without a Move", errBadRequest)
	}
	ctx := rq.ctx
	ops := make([]*moveOp, 0, len(moves))
	for _, m := range moves {
		op, err := h.checkMove(ctx, rq, m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if err := h.commitMoves(ctx, rq, ops); err != nil {
		return nil, err
	}
	out := wbxml.NewElem(nsMove, "MoveItems")
	for _, op := range ops {
		r := wbxml.NewElem(nsMove, "Response", wbxml.NewText(nsMove, "SrcMsgId", op.srcMsgID), statusNode(nsMove, op.status))
		if op.status == moveSuccess {
			r.Add(wbxml.NewText(nsMove, "DstMsgId", op.dstMsgID))
		}
		out.Add(r)
	}
	return &response{body: out}, nil
}

// checkMove validates one Move against the store, before anything is written.
func (h *Handler) checkMove(ctx context.Context, rq *request, m *wbxml.Node) (*moveOp, error) {
	op := &moveOp{srcMsgID: m.ChildText(nsMove + ":SrcMsgId")}
	srcFld, dstFld := m.ChildText(nsMove+":SrcFldId"), m.ChildText(nsMove+":DstFldId")
	msgFolder, item, err := store.ParseServerID(op.srcMsgID)
	if err != nil {
		op.status = moveInvalidSource
		return op, nil
	}
	src, err := h.folderForCollection(ctx, rq, srcFld)
	if errors.Is(err, store.ErrNotFound) || (err == nil && src.ID != msgFolder) {
		op.status = moveInvalidSource
		return op, nil
	}
	if err != nil {
		return nil, err
	}
	if dstFld == srcFld {
		op.status = moveSameFolder
		return op, nil
	}
	dst, err := h.folderForCollection(ctx, rq, dstFld)
	if errors.Is(err, store.ErrNotFound) {
		op.status = moveInvalidDest
		return op, nil
	}
	if err != nil {
		return nil, err
	}
	it, err := h.st.GetItem(ctx, rq.p, item)
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.FolderID != src.ID) {
		op.status = moveInvalidSource
		return op, nil
	}
	if err != nil {
		return nil, err
	}
	if src.Class != dst.Class {
		// The store keeps each class in folders of that class (a mail message cannot
		// become a contact).
		op.status = moveFailed
		return op, nil
	}
	op.src, op.dst, op.item, op.needsCommit = src.ID, dst.ID, item, true
	return op, nil
}

// errMoveRefused: a move of the batch was refused by the store as invalid (it changed
// between the check and the commit, or the destination refuses the item); the batch is
// then retried one move per mutation so that only that move fails.
var errMoveRefused = errors.New("activesync: a move of the batch was refused")

// commitMoves makes the checked moves in one mutation, or, if the store refuses one of
// them, in one mutation each.
func (h *Handler) commitMoves(ctx context.Context, rq *request, ops []*moveOp) error {
	var pending []*moveOp
	for _, op := range ops {
		if op.needsCommit {
			pending = append(pending, op)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	err := h.moveBatch(ctx, rq, pending)
	if !errors.Is(err, errMoveRefused) {
		return err
	}
	for _, op := range pending {
		err := h.moveBatch(ctx, rq, []*moveOp{op})
		if errors.Is(err, errMoveRefused) {
			rq.log.Info("MoveItems: move refused", "src", op.srcMsgID, "dst", op.dst, "err", err)
			op.status = moveFailed
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// moveBatch makes ops in one SyncCommit and sets their status and DstMsgId. The
// transaction function may run more than once (group commit retry), so results are
// collected afresh on each run and applied only after the commit.
func (h *Handler) moveBatch(ctx context.Context, rq *request, ops []*moveOp) error {
	type result struct {
		status   int
		dstMsgID string
	}
	var results []result
	err := h.st.SyncCommit(ctx, rq.p, rq.dev, func(x *store.SyncTx) error {
		results = make([]result, len(ops))
		for i, op := range ops {
			it, err := x.Item(op.item)
			if errors.Is(err, store.ErrNotFound) || (err == nil && it.FolderID != op.src) {
				results[i].status = moveInvalidSource // moved or deleted since the check
				continue
			}
			if err != nil {
				return err
			}
			moved, err := x.Move(store.Selector{FolderID: op.src, IDs: []int64{op.item}}, op.dst)
			if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %w", errMoveRefused, err)
			}
			if err != nil {
				return err
			}
			if len(moved) == 0 {
				results[i].status = moveInvalidSource
				continue
			}
			dst := store.Item{ID: moved[0].NewItemID, FolderID: op.dst}
			results[i] = result{status: moveSuccess, dstMsgID: dst.ServerID()}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, op := range ops {
		op.status, op.dstMsgID = results[i].status, results[i].dstMsgID
	}
	return nil
}
