package activesync

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// Ping statuses, [MS-ASCMD] 2.2.3.177.12.
const (
	pingExpired        = 1
	pingChanges        = 2
	pingResend         = 3
	pingProtocolError  = 4
	pingBadHeartbeat   = 5
	pingTooManyFolders = 6
	pingFolderSync     = 7
	pingServerError    = 8
)

// pingMargin is added to a parked request's write deadline beyond its heartbeat.
const pingMargin = 30 * time.Second

// cmdPing parks until one of the watched folders has something the device has not
// been sent, the hierarchy changes, or the heartbeat expires ([MS-ASCMD] 2.2.1.13). It
// waits on the store's change feed; no timer polls the database.
func (h *Handler) cmdPing(rq *request) (*response, error) {
	ctx := rq.ctx
	st, err := loadDeviceState(rq.dev)
	if err != nil {
		return nil, err
	}
	heartbeat := st.PingHeartbeat
	folders := st.PingFolders
	changedParams := false
	if rq.body != nil {
		if !rq.body.Is("Ping:Ping") {
			return pingStatus(pingProtocolError), nil
		}
		if hb := rq.body.Child("HeartbeatInterval"); hb != nil {
			n, err := strconv.Atoi(hb.Text)
			if err != nil {
				return pingStatus(pingProtocolError), nil
			}
			// [MS-ASCMD] 2.2.3.84.2: out of bounds, Status 5 with the bound.
			lo, hi := int(h.opts.HeartbeatMin/time.Second), int(h.opts.HeartbeatMax/time.Second)
			if n < lo || n > hi {
				bound := lo
				if n > hi {
					bound = hi
				}
				resp := pingStatus(pingBadHeartbeat)
				resp.body.Add(wbxml.NewText("Ping", "HeartbeatInterval", strconv.Itoa(bound)))
				return resp, nil
			}
			if n != heartbeat {
				heartbeat, changedParams = n, true
			}
		}
		if fs := rq.body.Child("Folders"); fs != nil {
			var ids []int64
			for _, f := range fs.All("Folder") {
				id, err := strconv.ParseInt(f.ChildText("Id"), 10, 64)
				if err != nil || id <= 0 {
					// Not one of our folder ids: the device's hierarchy is stale.
					return pingStatus(pingFolderSync), nil
				}
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			if len(ids) > h.opts.MaxPingFolders {
				// [MS-ASCMD] 2.2.3.100: Status 6 with MaxFolders.
				resp := pingStatus(pingTooManyFolders)
				resp.body.Add(wbxml.NewText("Ping", "MaxFolders", strconv.Itoa(h.opts.MaxPingFolders)))
				return resp, nil
			}
			if !slices.Equal(ids, folders) {
				folders, changedParams = ids, true
			}
		}
	}
	// [MS-ASCMD] 2.2.3.177.12 Status 3: an empty Ping with nothing remembered.
	if len(folders) == 0 || heartbeat == 0 {
		return pingStatus(pingResend), nil
	}
	if changedParams {
		if st, err = h.updateDeviceState(ctx, rq, func(s *deviceState) error {
			s.PingFolders, s.PingHeartbeat = folders, heartbeat
			return nil
		}); err != nil {
			return nil, err
		}
	}

	// Subscribe before the first look, so that nothing committed in between is missed.
	sub := h.st.Feed().Subscribe(rq.acct.ID)
	defer sub.Close()
	pctx, release := h.park(rq)
	defer release()
	wait := time.Duration(heartbeat) * time.Second
	http.NewResponseController(rq.w).SetWriteDeadline(time.Now().Add(wait + pingMargin))
	timer := time.NewTimer(wait)
	defer timer.Stop()

	own := "eas/" + rq.dev.DeviceID
	check := folders // first pass: every folder
	hierarchy := true
	for {
		if hierarchy {
			stale, err := h.hierarchyStale(ctx, rq, st, folders)
			if err != nil {
				return nil, err
			}
			if stale {
				return pingStatus(pingFolderSync), nil
			}
		}
		var changed []int64
		for _, id := range check {
			has, err := h.hasPending(ctx, rq, id)
			if errors.Is(err, store.ErrNotFound) {
				return pingStatus(pingFolderSync), nil
			}
			if err != nil {
				return nil, err
			}
			if has {
				changed = append(changed, id)
			}
		}
		if len(changed) > 0 {
			resp := pingStatus(pingChanges)
			list := wbxml.NewElem("Ping", "Folders")
			for _, id := range changed {
				list.Add(wbxml.NewText("Ping", "Folder", strconv.FormatInt(id, 10)))
			}
			resp.body.Add(list)
			return resp, nil
		}
		select {
		case <-pctx.Done():
			if c := context.Cause(pctx); c == errSuperseded || c == errShuttingDown {
				// A newer Ping of this device took over, or the server is stopping:
				// this one ends as if its heartbeat had expired.
				return pingStatus(pingExpired), nil
			}
			return nil, rq.ctx.Err()
		case <-timer.C:
			return pingStatus(pingExpired), nil
		case <-sub.Ready():
		}
		changes, overflow := sub.Drain()
		check, hierarchy = nil, overflow
		if overflow {
			check = folders
		}
		for _, c := range changes {
			if c.Kind&store.ChangeDevice != 0 && c.Origin == own {
				// A wipe request or policy change: end the Ping so that the device
				// meets the provisioning gate with its next request.
				if dev, err := h.st.Device(ctx, rq.p, rq.dev.DeviceID); err == nil {
					rq.dev = dev
					if resp := h.provisioningGate(rq); resp != nil {
						return resp, nil
					}
				}
			}
			if c.Origin == own {
				continue // the device's own change is not news to it
			}
			if c.Kind&store.ChangeHierarchy != 0 {
				hierarchy = true
			}
			if c.Kind&store.ChangeContent != 0 && slices.Contains(folders, c.FolderID) && !slices.Contains(check, c.FolderID) {
				check = append(check, c.FolderID)
			}
		}
	}
}

// hierarchyStale reports whether the device must FolderSync before its Ping can be
// answered ([MS-ASCMD] 2.2.3.177.12 Status 7): it never synchronised its folders, a
// watched folder is gone, or a FolderSync would now report a change (its own folder
// changes excepted).
func (h *Handler) hierarchyStale(ctx context.Context, rq *request, st deviceState, folders []int64) (bool, error) {
	if st.FolderKey == 0 {
		return true, nil
	}
	for _, id := range folders {
		if _, err := h.st.Folder(ctx, rq.p, id); errors.Is(err, store.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
	}
	return h.folderHierarchyChanged(ctx, rq)
}

func pingStatus(code int) *response {
	return &response{body: wbxml.NewElem("Ping", "Ping", statusNode("Ping", code))}
}
