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
		if _, err = h.updateDeviceState(rq.ctx, rq, func(s *deviceState) error {
			s.PingFolders, s.PingHeartbeat = folders, heartbeat
			return nil
		}); err != nil {
			return nil, err
		}
	}

	// Registered before the first look, so that nothing committed meanwhile is missed.
	p := h.pings.register(rq, folders)
	resp, err := h.pingLook(rq, folders, folders, true, false)
	if err != nil || resp != nil {
		h.pings.unregister(p)
		return resp, err
	}
	wait := time.Duration(heartbeat) * time.Second
	conn, _, err := http.NewResponseController(rq.w).Hijack()
	if err != nil {
		// A connection net/http cannot hand over (HTTP/2): wait in this goroutine.
		return h.pingInPlace(rq, p, wait)
	}
	p.arm(conn, wait)
	// The device's previous long poll ends; a newer one, or shutdown, ends this one.
	p.setParked(h.parkEntry(p.key, func(error) { p.answer(pingStatus(pingExpired)) }))
	return &response{hijacked: true}, nil
}

// pingInPlace parks a Ping whose connection cannot be hijacked, in its own goroutine.
func (h *Handler) pingInPlace(rq *request, p *parkedPing, wait time.Duration) (*response, error) {
	reply := make(chan *response, 1)
	p.reply = reply
	http.NewResponseController(rq.w).SetWriteDeadline(time.Now().Add(wait + pingMargin))
	p.arm(nil, wait)
	p.setParked(h.parkEntry(p.key, func(error) { p.answer(pingStatus(pingExpired)) }))
	select {
	case resp := <-reply:
		return resp, nil
	case <-rq.ctx.Done():
		p.answer(nil)
		return nil, rq.ctx.Err()
	}
}

// pingLook answers a Ping if something in check is news to the device, if (when
// hierarchy is set) it must FolderSync first, or (when device is set) if it must
// provision again; nil when there is nothing to say. It works on a copy of rq with the
// device as stored now, so that concurrent looks share nothing.
func (h *Handler) pingLook(rq *request, folders, check []int64, hierarchy, device bool) (*response, error) {
	ctx := rq.ctx
	r := *rq
	if hierarchy || device {
		dev, err := h.st.Device(ctx, r.p, r.dev.DeviceID)
		if err != nil {
			return nil, err
		}
		r.dev = dev
	}
	if device {
		// A wipe request or a policy change ends the Ping with the provisioning
		// gate's answer.
		if resp := h.provisioningGate(&r); resp != nil {
			return resp, nil
		}
	}
	if hierarchy {
		stale, err := h.hierarchyStale(ctx, &r, folders)
		if err != nil {
			return nil, err
		}
		if stale {
			return pingStatus(pingFolderSync), nil
		}
	}
	var changed []int64
	for _, id := range check {
		has, err := h.hasPending(ctx, &r, id)
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
	if len(changed) == 0 {
		return nil, nil
	}
	resp := pingStatus(pingChanges)
	list := wbxml.NewElem("Ping", "Folders")
	for _, id := range changed {
		list.Add(wbxml.NewText("Ping", "Folder", strconv.FormatInt(id, 10)))
	}
	resp.body.Add(list)
	return resp, nil
}

// hierarchyStale reports whether the device must FolderSync before its Ping can be
// answered ([MS-ASCMD] 2.2.3.177.12 Status 7): it never synchronised its folders, a
// watched folder is gone, or a FolderSync would now report a change (its own folder
// changes excepted).
func (h *Handler) hierarchyStale(ctx context.Context, rq *request, folders []int64) (bool, error) {
	st, err := loadDeviceState(rq.dev)
	if err != nil {
		return false, err
	}
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
