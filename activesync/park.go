package activesync

import (
	"context"
	"errors"
)

// errSuperseded ends a long poll when a newer one of the same device arrives.
var errSuperseded = errors.New("activesync: superseded by a newer request of the device")

// parkKey names a device across accounts.
type parkKey struct {
	account int64
	device  string
}

// parkedRequest is a device's current long poll (Ping or hanging Sync).
type parkedRequest struct {
	cancel context.CancelCauseFunc
}

// park registers rq as its device's one long poll and returns a context that ends when
// rq's own context ends or when a newer long poll of the same device arrives (its cause
// is then errSuperseded; [MS-ASCMD] 2.2.3.84.2: a new Ping ends the previous one).
// release must be called when the poll is over.
func (h *Handler) park(rq *request) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(rq.ctx)
	key := parkKey{rq.acct.ID, rq.dev.DeviceID}
	me := h.parkEntry(key, cancel)
	return ctx, func() {
		h.unparkEntry(key, me)
		cancel(nil)
	}
}

// parkEntry makes cancel the device's current long poll, ending the previous one. While
// the server stops, cancel is called at once.
func (h *Handler) parkEntry(key parkKey, cancel context.CancelCauseFunc) *parkedRequest {
	me := &parkedRequest{cancel: cancel}
	h.mu.Lock()
	old := h.parked[key]
	h.parked[key] = me
	stopping := h.stopping
	h.mu.Unlock()
	if old != nil {
		old.cancel(errSuperseded)
	}
	if stopping {
		cancel(errShuttingDown)
	}
	return me
}

// unparkEntry forgets a long poll if it is still the device's current one.
func (h *Handler) unparkEntry(key parkKey, me *parkedRequest) {
	h.mu.Lock()
	if h.parked[key] == me {
		delete(h.parked, key)
	}
	h.mu.Unlock()
}

// errShuttingDown ends every long poll when the server stops.
var errShuttingDown = errors.New("activesync: server shutting down")

// WakeAll ends every parked Ping and hanging Sync now, as if its heartbeat had expired,
// so that a shutdown does not wait for them (the first phase of the two-phase shutdown).
// Requests parked afterwards end at once.
func (h *Handler) WakeAll() {
	h.mu.Lock()
	h.stopping = true
	all := make([]*parkedRequest, 0, len(h.parked))
	for _, p := range h.parked {
		all = append(all, p)
	}
	h.mu.Unlock()
	for _, p := range all {
		p.cancel(errShuttingDown)
	}
}
