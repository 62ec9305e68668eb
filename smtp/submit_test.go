package smtp

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

type countingQueue struct{ n atomic.Int32 }

func (q *countingQueue) Kick() { q.n.Add(1) }

// newSubmitter is a submission-mode Server that is never served: Submit alone.
func newSubmitter(t *testing.T, tweak func(*Options)) (*Server, *store.Store, *countingQueue) {
	t.Helper()
	st, d := newStore(t)
	q := &countingQueue{}
	opts := Options{Store: st, Directory: d, Logger: testLogger(t), Hostname: "mail.example.org", Mode: Submission, Queue: q}
	if tweak != nil {
		tweak(&opts)
	}
	return New(opts), st, q
}

func account(t *testing.T, st *store.Store, email string) store.Account {
	t.Helper()
	a, err := st.AccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantReason(t *testing.T, err error, reason SubmitReason) *SubmitError {
	t.Helper()
	var se *SubmitError
	if !errors.As(err, &se) {
		t.Fatalf("Submit = %v, want a SubmitError %s", err, reason)
	}
	if se.Reason != reason {
		t.Fatalf("Submit refused for %s (%v), want %s", se.Reason, err, reason)
	}
	return se
}

func TestSubmitDeliversLocallyAndQueuesRemote(t *testing.T) {
	srv, st, q := newSubmitter(t, nil)
	alice := account(t, st, "alice@example.org")
	raw := "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nCc: carol@remote.test\r\nBcc: dave@remote.test\r\nSubject: hi\r\n\r\nHello Bob.\r\n"
	if err := srv.Submit(context.Background(), alice, nil, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	msgs := inbox(t, st, "bob@example.org")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	for _, want := range []string{"Return-Path: <alice@example.org>\r\n", "Received: from localhost by mail.example.org (Gatehouse) with ESMTPSA", "\r\nDate: ", "\r\nMessage-ID: <", "Hello Bob."} {
		if !strings.Contains(got, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Bcc:") || strings.Contains(got, "dave@") {
		t.Errorf("the Bcc field was sent on:\n%s", got)
	}
	queued, err := st.QueueList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for _, e := range queued {
		rcpts = append(rcpts, e.Rcpt)
		if e.From != "alice@example.org" || e.AccountID != alice.ID {
			t.Errorf("queued from %q account %d", e.From, e.AccountID)
		}
	}
	if strings.Join(rcpts, ",") != "carol@remote.test,dave@remote.test" {
		t.Errorf("queued for %v, want carol and dave (Bcc)", rcpts)
	}
	if len(queued) > 0 {
		b, err := st.QueueMessage(context.Background(), queued[0].MsgID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "Bcc:") || strings.HasPrefix(string(b), "Return-Path") {
			t.Errorf("relayed copy carries Bcc or Return-Path:\n%s", b)
		}
	}
	if q.n.Load() != 1 {
		t.Errorf("queue kicked %d times, want 1", q.n.Load())
	}
}

func TestSubmitExplicitRecipientsAndAlias(t *testing.T) {
	srv, st, _ := newSubmitter(t, nil)
	alice := account(t, st, "alice@example.org")
	// The alias is alice's own address; the envelope names bob though To does not.
	raw := "From: al@example.org\r\nTo: someone@remote.test\r\nSubject: x\r\n\r\nbody\r\n"
	if err := srv.Submit(context.Background(), alice, []string{"bob@example.org"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, st, "bob@example.org")); n != 1 {
		t.Fatalf("bob has %d messages, want 1", n)
	}
	if q, _ := st.QueueList(context.Background()); len(q) != 0 {
		t.Errorf("queued %v; explicit recipients replace the header's", q)
	}
}

func TestSubmitRefusals(t *testing.T) {
	srv, st, _ := newSubmitter(t, func(o *Options) { o.MaxMessageSize = 2000; o.MaxRecipients = 3 })
	alice := account(t, st, "alice@example.org")
	ctx := context.Background()

	wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: bob@example.org\r\nTo: bob@example.org\r\n\r\nforged\r\n")), ReasonSender)
	wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: alice@example.org, bob@example.org\r\nSender: alice@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n")), ReasonSender)
	wantReason(t, srv.Submit(ctx, alice, nil, []byte("To: bob@example.org\r\n\r\nno From\r\n")), ReasonSender)
	wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: alice@example.org\r\nSubject: nobody\r\n\r\nx\r\n")), ReasonNoRecipients)
	se := wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: alice@example.org\r\nTo: nobody@example.org\r\n\r\nx\r\n")), ReasonRecipient)
	if se.Rcpt != "nobody@example.org" || se.Reply.Code != 550 {
		t.Errorf("refused %q with %d", se.Rcpt, se.Reply.Code)
	}
	wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: alice@example.org\r\nTo: a@x.test, b@x.test, c@x.test, d@x.test\r\n\r\nx\r\n")), ReasonTooManyRecipients)
	big := "From: alice@example.org\r\nTo: bob@example.org\r\n\r\n" + strings.Repeat("x", 3000) + "\r\n"
	wantReason(t, srv.Submit(ctx, alice, nil, []byte(big)), ReasonTooLarge)

	if n := len(inbox(t, st, "bob@example.org")); n != 0 {
		t.Errorf("bob got %d messages from refused submissions", n)
	}
	srv.Close()
	se = wantReason(t, srv.Submit(ctx, alice, nil, []byte("From: alice@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n")), ReasonTemporary)
	if !se.Temporary() {
		t.Error("shutdown is not temporary")
	}
}

func TestSubmitMailboxFull(t *testing.T) {
	srv, st, _ := newSubmitter(t, nil)
	alice := account(t, st, "alice@example.org")
	bob := account(t, st, "bob@example.org")
	if err := st.SetQuota(context.Background(), bob.ID, 10); err != nil {
		t.Fatal(err)
	}
	raw := []byte("From: alice@example.org\r\nTo: bob@example.org\r\n\r\n" + strings.Repeat("y", 100) + "\r\n")
	// The first message takes bob over quota (the check is made at RCPT, on usage so far);
	// the second is refused.
	srv.Submit(context.Background(), alice, nil, raw)
	err := srv.Submit(context.Background(), alice, nil, raw)
	se := wantReason(t, err, ReasonMailboxFull)
	if !se.Temporary() {
		t.Errorf("mailbox full should be temporary: %v", err)
	}
}
