package main

import (
	"net"
	"sync"
	"time"
)

// eagerConn reads its socket as fast as bytes arrive, into a buffer the IMAP client then
// reads from, and notes when the last bytes arrived. The client's own parsing (the same
// go-imap code for both servers, and on this machine slower than either server's
// writing) then no longer holds the server back through the socket's flow control,
// and the time of the last arrival is when the server finished answering.
type eagerConn struct {
	net.Conn

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
	last time.Time
}

func newEagerConn(c net.Conn) *eagerConn {
	e := &eagerConn{Conn: c}
	e.cond = sync.NewCond(&e.mu)
	go e.pump()
	return e
}

func (e *eagerConn) pump() {
	chunk := make([]byte, 256<<10)
	for {
		n, err := e.Conn.Read(chunk)
		now := time.Now()
		e.mu.Lock()
		if n > 0 {
			e.buf = append(e.buf, chunk[:n]...)
			e.last = now
		}
		if err != nil {
			e.err = err
		}
		e.cond.Broadcast()
		e.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (e *eagerConn) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.buf) == 0 && e.err == nil {
		e.cond.Wait()
	}
	if len(e.buf) == 0 {
		return 0, e.err
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	if len(e.buf) == 0 {
		e.buf = nil // let the next burst start a fresh buffer
	}
	return n, nil
}

// lastArrival is when bytes last came in from the server.
func (e *eagerConn) lastArrival() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}
