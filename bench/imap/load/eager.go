package main

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// eagerConn reads its socket as fast as bytes arrive, into a buffer the IMAP client then
// reads from. With hold, it also keeps that buffer from the client until the server's
// tagged status line has arrived, and notes when it did: the time the server took to
// answer a command, measured while the client's own parsing (the same go-imap code for
// both servers, and slower than either server's writing) neither competes for the CPU
// nor holds the server back through the socket's flow control. The client then parses
// the whole answer as usual.
type eagerConn struct {
	net.Conn

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error

	holding   bool
	scan      int  // offset in buf of the next byte to scan for the tagged line
	lit       int  // bytes of a literal still to skip
	lineStart bool // scan is at the start of a response line
	tagged    time.Time
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
			if e.holding {
				e.scanLocked(now)
			}
		}
		if err != nil {
			e.err = err
			e.holding = false
		}
		e.cond.Broadcast()
		e.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// scanLocked looks for a tagged status line (imapclient tags are "T" and a number) at
// the start of a response line, skipping literals ({n} at a line's end, RFC 9051 4.3),
// whose bytes could look like anything.
func (e *eagerConn) scanLocked(now time.Time) {
	for e.holding {
		rest := e.buf[e.scan:]
		if e.lit > 0 {
			k := min(e.lit, len(rest))
			e.scan += k
			e.lit -= k
			if e.lit > 0 {
				return
			}
			continue
		}
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return
		}
		line := rest[:i]
		if e.lineStart && isTagged(line) {
			e.holding, e.tagged = false, now
			return
		}
		e.scan += i + 2
		if n, ok := literalAtEnd(line); ok {
			e.lit, e.lineStart = n, false
		} else {
			e.lineStart = true
		}
	}
}

func isTagged(line []byte) bool {
	if len(line) < 3 || line[0] != 'T' {
		return false
	}
	i := 1
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	return i > 1 && i < len(line) && line[i] == ' '
}

// literalAtEnd reports the size of a literal announced at the end of line: {n} or {n+}.
func literalAtEnd(line []byte) (int, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	j := bytes.LastIndexByte(line, '{')
	if j < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(line[j+1:len(line)-1], []byte("+"))
	if len(digits) == 0 {
		return 0, false
	}
	n := 0
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}

// hold keeps what arrives from the client until the next tagged status line; call it
// before sending the command, when the client has read everything so far.
func (e *eagerConn) hold() {
	e.mu.Lock()
	e.holding, e.scan, e.lit, e.lineStart = true, len(e.buf), 0, true
	e.tagged = time.Time{}
	e.mu.Unlock()
}

// taggedAt is when the tagged status line of the last held command arrived.
func (e *eagerConn) taggedAt() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tagged
}

func (e *eagerConn) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for (len(e.buf) == 0 || e.holding) && e.err == nil {
		e.cond.Wait()
	}
	if len(e.buf) == 0 {
		return 0, e.err
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	e.scan = max(0, e.scan-n)
	if len(e.buf) == 0 {
		e.buf = nil // let the next burst start a fresh buffer
	}
	return n, nil
}
