package activesync

import (
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// GetItemEstimate statuses, [MS-ASCMD] 2.2.3.177.6.
const (
	estimateOK            = 1
	estimateBadCollection = 2
	estimateNotPrimed     = 3
	estimateBadSyncKey    = 4
)

// cmdGetItemEstimate answers how many changes a Sync of each collection would bring
// ([MS-ASCMD] 2.2.1.9), from the same engine as Sync: the store's delta against the
// device's known set.
func (h *Handler) cmdGetItemEstimate(rq *request) (*response, error) {
	root := wbxml.NewElem("GetItemEstimate", "GetItemEstimate")
	cols := rq.body.Path("Collections")
	if !rq.body.Is("GetItemEstimate:GetItemEstimate") || cols == nil {
		// [MS-ASCMD] 2.2.3.177.6: a malformed request answers Status 2 at the top.
		return &response{body: root.Add(wbxml.NewElem("GetItemEstimate", "Response", statusNode("GetItemEstimate", estimateBadCollection)))}, nil
	}
	for _, c := range cols.All("Collection") {
		id := c.ChildText("CollectionId")
		resp := wbxml.NewElem("GetItemEstimate", "Response")
		root.Add(resp)
		folder, err := h.folderForCollection(rq.ctx, rq, id)
		if errors.Is(err, store.ErrNotFound) {
			resp.Add(statusNode("GetItemEstimate", estimateBadCollection))
			continue
		}
		if err != nil {
			return nil, err
		}
		n, known, err := h.pendingCount(rq.ctx, rq, folder.ID)
		if errors.Is(err, store.ErrNotFound) {
			resp.Add(statusNode("GetItemEstimate", estimateBadCollection))
			continue
		}
		if err != nil {
			return nil, err
		}
		// [MS-ASCMD] 2.2.3.177.6 Status 3: no Sync has primed this collection (a SyncKey
		// of 0, or no state at all).
		if !known || c.Path("AirSync:SyncKey") != nil && c.ChildText("AirSync:SyncKey") == "0" {
			resp.Add(statusNode("GetItemEstimate", estimateNotPrimed))
			continue
		}
		resp.Add(statusNode("GetItemEstimate", estimateOK),
			wbxml.NewElem("GetItemEstimate", "Collection",
				wbxml.NewText("GetItemEstimate", "CollectionId", id),
				wbxml.NewText("GetItemEstimate", "Estimate", strconv.Itoa(n))))
	}
	return &response{body: root}, nil
}
