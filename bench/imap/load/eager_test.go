package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The held answer is released at its tagged line only, however the bytes are split
// and whatever a literal holds.
func TestEagerConnHoldsUntilTagged(t *testing.T) {
	answer := "* 1 FETCH (UID 1 ENVELOPE (\"d\" {12}\r\nT7 OK fake\r\n NIL))\r\n" +
		"* 2 FETCH (UID 2 FLAGS (\\Seen))\r\nT7 OK UID FETCH completed\r\n"
	for _, split := range []int{1, 5, 17, 40, len(answer)} {
		srv, cli := net.Pipe()
		ec := newEagerConn(cli)
		ec.hold()
		go func() {
			for i := 0; i < len(answer); i += split {
				srv.Write([]byte(answer[i:min(len(answer), i+split)]))
				time.Sleep(time.Millisecond)
			}
		}()
		got := make([]byte, len(answer))
		if _, err := io.ReadFull(ec, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != answer {
			t.Fatalf("split %d: read %q", split, got)
		}
		if ec.taggedAt().IsZero() {
			t.Fatalf("split %d: no tagged line seen", split)
		}
		srv.Close()
		cli.Close()
	}
	// Released early, the client could read before the last line arrived.
	srv, cli := net.Pipe()
	defer srv.Close()
	ec := newEagerConn(cli)
	ec.hold()
	go srv.Write([]byte(strings.Split(answer, "T7 OK UID")[0]))
	done := make(chan struct{})
	go func() {
		b := make([]byte, 1)
		ec.Read(b)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("the client read before the tagged line arrived (the literal's fake one counted)")
	case <-time.After(100 * time.Millisecond):
	}
	cli.Close()
}
