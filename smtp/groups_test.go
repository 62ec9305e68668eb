package smtp

import (
	"context"
	"slices"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// groupStore adds carol@example.org and the groups
//
//	team@example.org  = alice, bob, inner@example.org, x@remote.example
//	inner@example.org = bob (again, through the alias's owner's address), carol, team (a loop)
//	empty@example.org = nobody
func groupStore(t *testing.T) *env {
	st, d := newStore(t)
	ctx := context.Background()
	if _, err := st.CreateAccount(ctx, store.NewAccount{Email: "carol@example.org"}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []store.NewGroup{
		{Email: "inner@example.org", Members: []string{"bob@example.org", "carol@example.org"}},
		{Email: "team@example.org", DisplayName: "Team", Members: []string{"al@example.org", "bob@example.org", "inner@example.org", "x@remote.example"}},
		{Email: "empty@example.org"},
	} {
		if _, err := st.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateGroup(ctx, "inner@example.org", store.GroupUpdate{Add: []string{"team@example.org"}}); err != nil {
		t.Fatal(err)
	}
	return startServer(t, st, d, MX, nil)
}

// TestMXExpandsGroup: mail to a group reaches each member once (one blob, an item
// each), external members are queued, a loop terminates, and the group's address is
// not added to the message.
func TestMXExpandsGroup(t *testing.T) {
	e := groupStore(t)
	msg := "From: s@remote.example\r\nTo: team@example.org\r\nSubject: to the team\r\n\r\nHi all.\r\n"
	// The group, a member also named directly, and the nested group again.
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("s@remote.example", []string{"TEAM@example.org", "alice@example.org", "inner@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	var blobs []string
	for _, u := range []string{"alice@example.org", "bob@example.org", "carol@example.org"} {
		got := inbox(t, e.st, u)
		if len(got) != 1 {
			t.Fatalf("%s has %d messages, want 1", u, len(got))
		}
		if strings.Contains(got[0], "Delivered-To") || strings.Contains(got[0], "X-Original-To") {
			t.Errorf("%s: envelope recipient exposed:\n%s", u, got[0])
		}
		blobs = append(blobs, got[0])
	}
	if blobs[0] != blobs[1] || blobs[1] != blobs[2] {
		t.Error("members got different copies")
	}
	q, err := e.st.QueueList(context.Background())
	if err != nil || len(q) != 1 || q[0].Rcpt != "x@remote.example" || q[0].From != "s@remote.example" {
		t.Errorf("queue: %+v %v", q, err)
	}
}

// TestGroupRefusals: an empty group and one expanding beyond MaxRecipients answer 5xx
// at RCPT; an unknown address is still 550 5.1.1.
func TestGroupRefusals(t *testing.T) {
	st, d := newStore(t)
	ctx := context.Background()
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "empty@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateGroup(ctx, store.NewGroup{Email: "big@example.org", Members: []string{"alice@example.org", "bob@example.org", "a@remote.example"}}); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, st, d, MX, func(o *Options, _ *Server) { o.MaxRecipients = 2 })
	r := dialRaw(t, e.addr)
	r.expect("EHLO client.remote.example", 250)
	r.expect("MAIL FROM:<s@remote.example>", 250)
	if msg := r.expect("RCPT TO:<empty@example.org>", 550); !strings.Contains(msg, "5.2.4") {
		t.Errorf("empty group: %q", msg)
	}
	if msg := r.expect("RCPT TO:<big@example.org>", 550); !strings.Contains(msg, "5.5.3") || !strings.Contains(msg, "more than 2") {
		t.Errorf("big group: %q", msg)
	}
	if msg := r.expect("RCPT TO:<nobody@example.org>", 550); !strings.Contains(msg, "5.1.1") {
		t.Errorf("unknown: %q", msg)
	}
	// The refusals left nothing behind in the transaction.
	r.expect("RCPT TO:<bob@example.org>", 250)
	if code, _ := r.data("Subject: x\n\nx\n"); code != 250 {
		t.Fatalf("DATA: %d", code)
	}
	if n := len(inbox(t, st, "alice@example.org")); n != 0 {
		t.Errorf("alice got %d messages from refused groups", n)
	}
	if q, _ := st.QueueList(ctx); len(q) != 0 {
		t.Errorf("queued from a refused group: %+v", q)
	}
}

// TestSubmissionToGroup: an authenticated user's message to a local group reaches its
// members through Server.Submit (the ActiveSync SendMail path).
func TestSubmissionToGroup(t *testing.T) {
	e := groupStore(t)
	ctx := context.Background()
	acct, err := e.st.AccountByEmail(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: alice@example.org\r\nTo: inner@example.org\r\nSubject: s\r\n\r\nbody\r\n"
	if err := e.srv.Submit(ctx, acct, nil, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range []string{"alice@example.org", "bob@example.org", "carol@example.org"} {
		if n := len(inbox(t, e.st, u)); n != 1 {
			t.Errorf("%s has %d messages", u, n)
		}
		got = append(got, u)
	}
	if !slices.Equal(got, []string{"alice@example.org", "bob@example.org", "carol@example.org"}) {
		t.Error(got)
	}
}
