package imap

import (
	"net"
	"sync"
	"time"
)

// corkLimit is how much response data a corked connection holds before it writes.
const corkLimit = 64 << 10

// corkBuffers hold corked data; a connection has one only while it holds data.
var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit); return &b }}

// corkConn batches the writes of one command. The library's encoder flushes its
// buffer at every CRLF, which costs one write(2) (and, under TLS, one record) per
// response line: 2,000 of them for FETCH 1:* on 2,000 messages. While corked, writes
// collect in memory and go out when the buffer is full, when the connection is about
// to read (a continuation request such as APPEND's "+ Ready" must reach the client
// before the server waits for the literal), or at uncork, which the session calls
// before returning from a command (so the tagged status follows at once). Outside a
// command (greeting, IDLE updates, BYE from Shutdown) the connection is not corked
// and every write goes straight out.
type corkConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    []byte
	err    error // a failed write; later writes report it

	// The library sets a write deadline before every response (one per FETCH line); a
	// deadline matters only once bytes are written, so while corked the newest one is
	// kept and applied at the next real write: one timer update per write(2) instead
	// of one per line.
	deadline        time.Time
	deadlinePending bool
}

func newCorkConn(c net.Conn) *corkConn { return &corkConn{Conn: c} }

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return c.writeLocked(p)
	}
	if len(c.buf)+len(p) > corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > corkLimit {
			return c.writeLocked(p)
		}
	}
	if c.buf == nil {
		c.buf = (*corkBuffers.Get().(*[]byte))[:0]
	}
	c.buf = append(c.buf, p...) // within the buffer's capacity: the flush above
	return len(p), nil
}

func (c *corkConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *corkConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

// SetWriteDeadline holds the deadline back while corked (see deadlinePending).
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.deadline, c.deadlinePending = t, true
		return nil
	}
	c.deadlinePending = false
	return c.Conn.SetWriteDeadline(t)
}

// writeLocked writes p under the newest write deadline asked for.
func (c *corkConn) writeLocked(p []byte) (int, error) {
	if c.deadlinePending {
		c.deadlinePending = false
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

func (c *corkConn) flushLocked() error {
	if len(c.buf) == 0 || c.err != nil {
		return c.err
	}
	_, err := c.writeLocked(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
	}
	return err
}

// cork starts holding writes back.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was held back and lets later writes through at once. The
// buffer is released: an idle connection keeps no response memory.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	err := c.flushLocked()
	if c.buf != nil {
		b := c.buf[:0]
		corkBuffers.Put(&b)
		c.buf = nil
	}
	return err
}
