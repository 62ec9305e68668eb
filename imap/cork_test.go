package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// recConn records each Write as one chunk.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	return len(p), nil
}

func (c *recConn) Read(p []byte) (int, error) { return 0, nil }

func (c *recConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func TestCorkConn(t *testing.T) {
	rec := &recConn{}
	c := newCorkConn(rec)
	c.Write([]byte("* OK greeting\r\n"))
	if rec.count() != 1 {
		t.Fatalf("uncorked write held back: %d writes", rec.count())
	}
	c.cork()
	for i := range 100 {
		fmt.Fprintf(c, "* %d FETCH (FLAGS ())\r\n", i+1)
	}
	if rec.count() != 1 {
		t.Fatalf("corked writes went out: %d writes", rec.count())
	}
	// A read (the server waiting for a literal) sends what is held first.
	c.Read(make([]byte, 1))
	if rec.count() != 2 || !bytes.HasPrefix(rec.writes[1], []byte("* 1 FETCH")) || !bytes.HasSuffix(rec.writes[1], []byte("* 100 FETCH (FLAGS ())\r\n")) {
		t.Fatalf("read did not flush: %d writes", rec.count())
	}
	big := bytes.Repeat([]byte("x"), corkLimit/2+1)
	c.Write(big)
	c.Write(big) // over the limit: the first goes out
	if rec.count() != 3 {
		t.Fatalf("the limit did not flush: %d writes", rec.count())
	}
	if err := c.uncork(); err != nil || rec.count() != 4 {
		t.Fatalf("uncork: %v, %d writes", err, rec.count())
	}
	c.Write([]byte("A1 OK done\r\n"))
	if rec.count() != 5 {
		t.Fatalf("write after uncork held back: %d writes", rec.count())
	}
	var all []byte
	for _, w := range rec.writes {
		all = append(all, w...)
	}
	if n := bytes.Count(all, []byte("FETCH")); n != 100 || len(all) != len("* OK greeting\r\n")+len("A1 OK done\r\n")+2*len(big)+len(rec.writes[1]) {
		t.Errorf("bytes lost or duplicated: %d FETCH, %d bytes", n, len(all))
	}
}

// countingListener counts the writes of the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// FETCH 1:* on 300 messages goes out in a few writes, not one per message; the
// responses are complete and in order.
func TestFetchResponsesBatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.principal("alice@example.org")
	inbox, err := e.st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if _, err := e.st.Deliver(ctx, p, inbox.ID, []byte(textMessage(fmt.Sprintf("message %d", i+1), "body")), store.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var writes atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(countingListener{ln, &writes})
	e.addr = ln.Addr().String()
	r := e.raw()
	r.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	r.cmd(`SELECT INBOX`)
	before := writes.Load()
	got := r.cmd(`UID FETCH 1:* (FLAGS ENVELOPE)`)
	w := writes.Load() - before
	if c := strings.Count(got, " FETCH (UID "); c != n {
		t.Fatalf("%d FETCH responses, want %d:\n%.500s", c, n, got)
	}
	if !strings.Contains(got, `"message 1"`) || !strings.Contains(got, fmt.Sprintf(`"message %d"`, n)) ||
		strings.Index(got, `"message 1"`) > strings.Index(got, `"message 2"`) {
		t.Errorf("responses incomplete or out of order")
	}
	// 300 responses of ~250 bytes: two 64 KB buffers and the tagged OK.
	if w > 5 {
		t.Errorf("FETCH of %d messages took %d writes", n, w)
	}
	// A synchronizing literal: the continuation request reaches the client before the
	// server waits for the literal.
	msg := textMessage("sync literal", "x")
	fmt.Fprintf(r.c, "a1 APPEND INBOX {%d}\r\n", len(msg))
	if l := r.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("no continuation request: %q", l)
	}
	fmt.Fprintf(r.c, "%s\r\n", msg)
	for {
		l := r.line()
		if strings.HasPrefix(l, "a1 ") {
			if !strings.HasPrefix(l, "a1 OK") {
				t.Fatalf("APPEND: %s", l)
			}
			break
		}
	}
}

// deadlineConn records write deadlines and writes in one sequence.
type deadlineConn struct {
	recConn
	events []string
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.events = append(c.events, "deadline "+t.Format(time.TimeOnly))
	return nil
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.events = append(c.events, "write")
	return len(p), nil
}

// While corked, the write deadlines the library sets before each response line are
// held back: the newest goes to the connection once, right before the bytes do.
func TestCorkConnDeadline(t *testing.T) {
	rec := &deadlineConn{}
	c := newCorkConn(rec)
	at := func(s int) time.Time { return time.Date(2026, 1, 1, 10, 0, s, 0, time.UTC) }
	c.SetWriteDeadline(at(1))
	c.cork()
	for i := range 50 {
		c.SetWriteDeadline(at(10 + i))
		fmt.Fprintf(c, "* %d FETCH (FLAGS ())\r\n", i+1)
	}
	c.uncork()
	want := []string{"deadline 10:00:01", "deadline 10:00:59", "write"}
	if strings.Join(rec.events, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events %v, want %v", rec.events, want)
	}

	// And a deadline that passed while corked still fails the write.
	srv, cli := net.Pipe()
	defer cli.Close()
	cc := newCorkConn(srv)
	cc.cork()
	cc.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := cc.Write([]byte("* 1 EXISTS\r\n")); err != nil {
		t.Fatalf("corked write: %v", err)
	}
	if err := cc.uncork(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush past the deadline: %v", err)
	}
}
