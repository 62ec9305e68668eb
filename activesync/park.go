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
// rq's own context ends or when a newer long poll of the same device arrives (its cause is then errSuperseded)
// ([MS-ASCMD] 2.2.3.84.2: a new Ping ends the previous one). release must be called when
// the poll is over.
func (h *Handler) park(rq *request) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(rq.ctx)
	key := parkKey{rq.acct.ID, rq.dev.DeviceID}
	me := &parkedRequest{cancel: cancel}
	h.mu.Lock()
	if old := h.parked[key]; old != nil {
		old.cancel(errSuperseded)
	}
	h.parked[key] = me
	if h.stopping {
		cancel(errShuttingDown)
	}
	h.mu.Unlock()
	return ctx, func() {
		h.mu.Lock()
		if h.parked[key] == me {
			delete(h.parked, key)
		}
		h.mu.Unlock()
		cancel(nil)
	}
}

// errShuttingDown ends every long poll when the server stops.
var errShuttingDown = errors.New("activesync: server shutting down")

// WakeAll ends every parked Ping and hanging Sync now, as if its heartbeat had expired,
// so that a shutdown does not wait for them (the first phase of the two-phase shutdown).
// Requests parked afterwards end at once.
func (h *Handler) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopping = true
	for _, p := range h.parked {
		p.cancel(errShuttingDown)
	}
}
