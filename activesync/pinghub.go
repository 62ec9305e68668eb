package activesync

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// A parked Ping costs no goroutine and no HTTP buffers. Once its first look finds
// nothing, cmdPing takes the connection over from net/http (Hijack) and hands it to the
// pingHub, which keeps, per parked Ping, only the connection, the folders it watches and
// what changed since it last looked. One goroutine reads the store's change feed for
// every account and marks the Pings concerned; a few workers re-check marked Pings
// (through the same engine as Sync) and answer those with news; a timer per Ping answers
// Status 1 at the end of its heartbeat. So ten thousand phones waiting for mail cost
// their sockets and a few hundred bytes each, not two goroutine stacks and 8 KB of
// buffers each (docs/benchmarks.md). The answer is written directly on the connection
// with "Connection: close": the phone opens a new one for its next request, as it does
// after any long poll.

// pingWorkers bounds the re-checks running at once (each is a few indexed reads).
const pingWorkers = 8

// pingHub holds the hijacked Pings.
type pingHub struct {
	h *Handler

	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc

	mu        sync.Mutex
	byAccount map[int64]map[*parkedPing]struct{}
	queue     []*parkedPing
	wake      *sync.Cond
	stopped   bool
}

// parkedPing is one Ping waiting for news.
type parkedPing struct {
	hub     *pingHub
	key     parkKey
	rq      *request // a copy without the HTTP request: ctx is the hub's
	folders []int64

	mu        sync.Mutex
	parked    *parkedRequest // its entry as the device's long poll
	armed     bool
	conn      net.Conn         // the hijacked connection, or nil:
	reply     chan<- *response // the goroutine waiting in pingInPlace
	answered  bool
	queued    bool
	dirty     []int64 // watched folders whose content changed
	hierarchy bool    // the folder tree changed
	device    bool    // the device's own state changed (a wipe request)
	timer     *time.Timer
}

func newPingHub(h *Handler) *pingHub {
	hub := &pingHub{h: h, byAccount: map[int64]map[*parkedPing]struct{}{}}
	hub.wake = sync.NewCond(&hub.mu)
	return hub
}

// start runs the feed reader and the workers on first use.
func (hub *pingHub) start() {
	hub.startOnce.Do(func() {
		hub.ctx, hub.cancel = context.WithCancel(context.Background())
		sub := hub.h.st.Feed().Subscribe(0)
		go hub.readFeed(sub)
		for range pingWorkers {
			go hub.work()
		}
	})
}

// register adds a Ping before its first look, so that a change committed while it looks
// is not missed: until armed, changes only mark it.
func (hub *pingHub) register(rq *request, folders []int64) *parkedPing {
	hub.start()
	cp := *rq
	cp.ctx, cp.http, cp.w, cp.body, cp.raw = hub.ctx, nil, nil, nil, nil
	p := &parkedPing{hub: hub, key: parkKey{rq.acct.ID, rq.dev.DeviceID}, rq: &cp, folders: folders}
	hub.mu.Lock()
	m := hub.byAccount[p.key.account]
	if m == nil {
		m = map[*parkedPing]struct{}{}
		hub.byAccount[p.key.account] = m
	}
	m[p] = struct{}{}
	hub.mu.Unlock()
	return p
}

// unregister forgets a Ping (answered, or never armed).
func (hub *pingHub) unregister(p *parkedPing) {
	hub.mu.Lock()
	if m := hub.byAccount[p.key.account]; m != nil {
		delete(m, p)
		if len(m) == 0 {
			delete(hub.byAccount, p.key.account)
		}
	}
	hub.mu.Unlock()
}

// arm parks a registered Ping on its hijacked connection for heartbeat. Changes marked
// since registration are looked at at once.
func (p *parkedPing) arm(conn net.Conn, heartbeat time.Duration) {
	p.mu.Lock()
	p.armed, p.conn = true, conn
	p.timer = time.AfterFunc(heartbeat, func() { p.answer(pingStatus(pingExpired)) })
	pending := len(p.dirty) > 0 || p.hierarchy || p.device
	p.mu.Unlock()
	if pending {
		p.hub.enqueue(p)
	}
}

// setParked records the Ping's entry as its device's long poll; if the Ping was
// answered meanwhile, the entry is dropped at once.
func (p *parkedPing) setParked(pr *parkedRequest) {
	p.mu.Lock()
	p.parked = pr
	done := p.answered
	p.mu.Unlock()
	if done {
		p.hub.h.unparkEntry(p.key, pr)
	}
}

// mark records a change for the Ping and queues it for a look if it is armed.
func (p *parkedPing) mark(c store.Change, overflow bool) {
	own := c.Origin == "eas/"+p.key.device
	p.mu.Lock()
	switch {
	case overflow:
		p.dirty, p.hierarchy = append(p.dirty[:0], p.folders...), true
	case c.Kind&store.ChangeDevice != 0 && own:
		p.device = true
	case own:
		// The device's own change is not news to it.
	default:
		if c.Kind&store.ChangeHierarchy != 0 {
			p.hierarchy = true
		}
		if c.Kind&store.ChangeContent != 0 && slices.Contains(p.folders, c.FolderID) && !slices.Contains(p.dirty, c.FolderID) {
			p.dirty = append(p.dirty, c.FolderID)
		}
	}
	ready := p.armed && !p.answered && (len(p.dirty) > 0 || p.hierarchy || p.device)
	p.mu.Unlock()
	if ready {
		p.hub.enqueue(p)
	}
}

func (hub *pingHub) enqueue(p *parkedPing) {
	p.mu.Lock()
	if p.queued || p.answered {
		p.mu.Unlock()
		return
	}
	p.queued = true
	p.mu.Unlock()
	hub.mu.Lock()
	hub.queue = append(hub.queue, p)
	hub.mu.Unlock()
	hub.wake.Signal()
}

// readFeed marks the Pings of each changed account.
func (hub *pingHub) readFeed(sub *store.Subscription) {
	defer sub.Close()
	for {
		select {
		case _, ok := <-sub.Ready():
			if !ok {
				hub.stop()
				return
			}
		case <-hub.ctx.Done():
			return
		}
		changes, overflow := sub.Drain()
		var pings []*parkedPing
		hub.mu.Lock()
		if overflow {
			for _, m := range hub.byAccount {
				for p := range m {
					pings = append(pings, p)
				}
			}
		}
		hub.mu.Unlock()
		for _, p := range pings {
			p.mark(store.Change{}, true)
		}
		for _, c := range changes {
			hub.mu.Lock()
			pings = pings[:0]
			for p := range hub.byAccount[c.AccountID] {
				pings = append(pings, p)
			}
			hub.mu.Unlock()
			for _, p := range pings {
				p.mark(c, false)
			}
		}
	}
}

// work re-checks queued Pings.
func (hub *pingHub) work() {
	for {
		hub.mu.Lock()
		for len(hub.queue) == 0 && !hub.stopped {
			hub.wake.Wait()
		}
		if hub.stopped {
			hub.mu.Unlock()
			return
		}
		p := hub.queue[0]
		hub.queue[0] = nil
		hub.queue = hub.queue[1:]
		hub.mu.Unlock()
		p.look()
	}
}

// look takes the Ping's marks and answers it if they are news to the device.
func (p *parkedPing) look() {
	p.mu.Lock()
	dirty, hierarchy, device := p.dirty, p.hierarchy, p.device
	p.dirty, p.hierarchy, p.device, p.queued = nil, false, false, false
	p.mu.Unlock()
	h, rq := p.hub.h, p.rq
	resp, err := h.pingLook(rq, p.folders, dirty, hierarchy || device, device)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			rq.log.Error("Ping: looking for changes", "err", err)
		}
		resp = pingStatus(pingServerError)
	}
	if resp != nil {
		p.answer(resp)
	}
}

// answer ends the Ping, once: its response is written on its connection (which is then
// closed), or handed to the goroutine waiting for it; nil only forgets it.
func (p *parkedPing) answer(resp *response) {
	p.mu.Lock()
	if p.answered || !p.armed {
		p.mu.Unlock()
		return
	}
	p.answered = true
	conn, reply, parked := p.conn, p.reply, p.parked
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.hub.unregister(p)
	if parked != nil {
		p.hub.h.unparkEntry(p.key, parked)
	}
	switch {
	case resp == nil:
		if conn != nil {
			conn.Close()
		}
	case conn != nil:
		writeHijacked(conn, p.rq, resp)
	case reply != nil:
		reply <- resp
	}
}

// writeHijacked writes an HTTP/1.1 response with a WBXML body on a connection taken from
// net/http, then closes it.
func writeHijacked(conn net.Conn, rq *request, resp *response) {
	defer conn.Close()
	var body []byte
	if resp.body != nil {
		b, err := wbxml.Encode(resp.body)
		if err != nil {
			rq.log.Error("Ping: encoding the response", "err", err)
			return
		}
		body = b
		rq.log.Debug("response", "body", resp.body.String())
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	var buf bytes.Buffer
	buf.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
	buf.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n")
	buf.WriteString("MS-Server-ActiveSync: 16.1\r\nCache-Control: private\r\nConnection: close\r\n")
	if len(body) > 0 {
		buf.WriteString("Content-Type: " + wbxml.ContentType + "\r\n")
	}
	buf.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	buf.Write(body)
	conn.SetWriteDeadline(time.Now().Add(pingMargin))
	if _, err := conn.Write(buf.Bytes()); err != nil {
		rq.log.Debug("Ping: the client is gone", "err", err)
	}
}

// stop answers every parked Ping as expired (shutdown) and ends the workers.
func (hub *pingHub) stop() {
	hub.mu.Lock()
	var all []*parkedPing
	for _, m := range hub.byAccount {
		for p := range m {
			all = append(all, p)
		}
	}
	hub.stopped = true
	hub.mu.Unlock()
	hub.wake.Broadcast()
	for _, p := range all {
		p.answer(pingStatus(pingExpired))
	}
	if hub.cancel != nil {
		hub.cancel()
	}
}
