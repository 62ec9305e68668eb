package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

const msg1 = "From: Sender <sender@remote.example>\r\nTo: alice@example.org\r\nSubject: hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@remote.example>\r\n\r\nHello there.\r\n"

// unfold undoes header folding (RFC 5322 2.2.3).
func unfold(s string) string {
	return strings.NewReplacer("\r\n\t", " ", "\r\n ", " ").Replace(s)
}

func codeOf(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// An inbound message for three addresses of two accounts (one an alias) is stored as
// one blob, one item per account, with Return-Path and Received added.
func TestMXDeliversLocally(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.remote.example"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES", "STARTTLS", "SIZE"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("extension %s not advertised", ext)
		}
	}
	if _, p := c.Extension("SIZE"); p != "65536" {
		t.Errorf("SIZE %q, want 65536", p)
	}
	if err := c.SendMail("sender@remote.example", []string{"alice@example.org", "AL@Example.ORG", "bob@example.org"}, strings.NewReader(msg1)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	a, b := inbox(t, st, "alice@example.org"), inbox(t, st, "bob@example.org")
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("alice has %d messages, bob %d; want 1 each", len(a), len(b))
	}
	if a[0] != b[0] {
		t.Error("the two recipients' copies differ")
	}
	if !strings.HasPrefix(unfold(a[0]), "Return-Path: <sender@remote.example>\r\nReceived: from client.remote.example ([127.0.0.1]) by mx.example.org (Gatehouse) with ESMTP id ") {
		t.Errorf("trace headers wrong:\n%s", a[0])
	}
	if strings.Contains(a[0], " for <") {
		t.Error("Received names a recipient of a multi-recipient message")
	}
	if !strings.HasSuffix(a[0], msg1) {
		t.Errorf("message body changed:\n%s", a[0])
	}
	// One blob for both items: the store's dedupe plus DeliverMulti-style accept.
	ctx := context.Background()
	acc, _ := st.AccountByEmail(ctx, "alice@example.org")
	f, _ := st.FolderByRole(ctx, store.Principal{AccountID: acc.ID}, store.RoleInbox)
	items, _ := st.ListItems(ctx, store.Principal{AccountID: acc.ID}, f.ID, store.UIDRange{First: 1})
	accB, _ := st.AccountByEmail(ctx, "bob@example.org")
	fB, _ := st.FolderByRole(ctx, store.Principal{AccountID: accB.ID}, store.RoleInbox)
	itemsB, _ := st.ListItems(ctx, store.Principal{AccountID: accB.ID}, fB.ID, store.UIDRange{First: 1})
	if items[0].BlobHash != itemsB[0].BlobHash || items[0].Subject != "hello" {
		t.Errorf("items: %+v / %+v", items[0], itemsB[0])
	}
	if q, _ := st.QueueList(ctx); len(q) != 0 {
		t.Errorf("inbound mail queued: %+v", q)
	}
}

// The open-relay battery: unauthenticated, every one of these is refused with 5xx at
// RCPT, and nothing is stored or queued.
func TestNoOpenRelay(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	cases := []string{
		"<user@remote.example>",
		"<USER@REMOTE.EXAMPLE>",
		"<user%remote.example@example.org>",
		"<remote.example!user@example.org>",
		"<\"user@remote.example\"@example.org>",
		"<\"user%remote.example\"@example.org>",
		"<\"alice\"@remote.example>",
		"<@example.org:user@remote.example>",
		"<@example.org,@mx.example.org:user@remote.example>",
		"<user@remote.example@example.org>",
		"<user@example.org@remote.example>",
		"<user@remote.example.>",
		"<user@remote.example..>",
		"<user@example.org.remote.example>",
		"<user@remoteexample.org>",
		"<user@[127.0.0.1]>",
		"<user@[IPv6:::1]>",
		"<alice@[127.0.0.1]>",
		"<user@localhost>",
		"<postmaster@remote.example>",
		"<user@remote.example >",
		"<user@remote.example\t>",
		"<user@xn--remote-example>",
		"<alice@example.org\\@remote.example>",
		"<\"alice@example.org\"@remote.example>",
		"<user@remote.example%example.org>",
		"<alice@exAMple.NET>",      // hosted domain, no such user
		"<nosuchuser@example.org>", // unknown local user
		"user@remote.example",
		"<>",
		"<user@>",
		"<@remote.example>",
	}
	r := dialRaw(t, e.addr)
	r.expect("EHLO relay.test", 250)
	r.expect("MAIL FROM:<spammer@remote.example>", 250)
	for _, rc := range cases {
		code, msg := r.cmd("RCPT TO:" + rc)
		if code < 500 || code > 599 {
			t.Errorf("RCPT TO:%s: %d %s, want 5xx", rc, code, msg)
		}
	}
	// The same session still accepts a real local recipient (so the test can fail).
	r.expect("RCPT TO:<Alice@EXAMPLE.org.>", 250)
	if code, msg := r.data("Subject: x\n\nbody\n"); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	if got := inbox(t, st, "alice@example.org"); len(got) != 1 {
		t.Fatalf("alice has %d messages", len(got))
	}
	if q, _ := st.QueueList(context.Background()); len(q) != 0 {
		t.Fatalf("relay queued: %+v", q)
	}
}

func TestUnknownLocalRecipient(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	if msg := r.expect("RCPT TO:<carol@example.org>", 550); !strings.HasPrefix(msg, "5.1.1") {
		t.Errorf("reply %q, want 5.1.1", msg)
	}
	code, _ := r.cmd("DATA")
	if code < 500 {
		t.Errorf("DATA without recipients: %d", code)
	}
}

// RFC 1870: a declared SIZE over the limit gets 552 at MAIL, before any body; an
// undeclared one is refused at the end of DATA and stored nowhere.
func TestSize(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	if msg := r.expect("MAIL FROM:<a@remote.example> SIZE=70000", 552); !strings.HasPrefix(msg, "5.3.4") {
		t.Errorf("reply %q", msg)
	}
	r.expect("MAIL FROM:<a@remote.example> SIZE=1000", 250)
	r.expect("RCPT TO:<bob@example.org>", 250)
	code, _ := r.data("Subject: big\n\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 1100))
	if code != 552 {
		t.Errorf("oversized DATA: %d, want 552", code)
	}
	// BDAT (RFC 3030) over the limit.
	r.expect("MAIL FROM:<a@remote.example>", 250)
	r.expect("RCPT TO:<bob@example.org>", 250)
	if code, _ := r.cmd("BDAT 70000 LAST"); code != 552 {
		t.Errorf("oversized BDAT: %d, want 552", code)
	}
	if n := len(inbox(t, st, "bob@example.org")); n != 0 {
		t.Errorf("%d oversized messages stored", n)
	}
}

// CHUNKING: BDAT delivers byte-exact, bare LF included.
func TestBDAT(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example> BODY=8BITMIME", 250)
	r.expect("RCPT TO:<bob@example.org>", 250)
	body := "Subject: chunks\r\n\r\nline one\nline two \xc3\xa9\r\n"
	r.c.Write([]byte("BDAT 10\r\n" + body[:10]))
	if code, _ := r.read(); code != 250 {
		t.Fatalf("BDAT chunk: %d", code)
	}
	r.c.Write([]byte("BDAT " + strconv.Itoa(len(body)-10) + " LAST\r\n" + body[10:]))
	if code, msg := r.read(); code != 250 {
		t.Fatalf("BDAT LAST: %d %s", code, msg)
	}
	got := inbox(t, st, "bob@example.org")
	if len(got) != 1 || !strings.HasSuffix(got[0], body) {
		t.Fatalf("stored %q", got)
	}
}

// Submission: AUTH first; only the user's own addresses as sender; Date and
// Message-ID completed; local recipients delivered, remote ones queued in the same
// mutation.
func TestSubmission(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, Submission, nil)
	ctx := context.Background()

	r := dialRaw(t, e.addr)
	r.expect("EHLO laptop", 250)
	if msg := r.expect("MAIL FROM:<alice@example.org>", 530); !strings.HasPrefix(msg, "5.7.0") {
		t.Errorf("unauthenticated MAIL: %q", msg)
	}

	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "wrong")); codeOf(err) != 535 {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", testPassword)); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"bob@example.org", "alice@remote.example", "", "carol@example.org"} {
		if err := c.Mail(from, nil); codeOf(err) != 553 {
			t.Errorf("MAIL FROM:<%s>: %v, want 553", from, err)
		}
		c.Reset()
	}
	body := "From: alice@example.org\r\nTo: bob@example.org, x@remote.example\r\nSubject: hi\r\n\r\nhi\r\n"
	if err := c.SendMail("al@example.org", []string{"bob@example.org", "x@remote.example", "X@remote.example", "y@other.example"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	got := inbox(t, st, "bob@example.org")
	if len(got) != 1 {
		t.Fatalf("bob has %d", len(got))
	}
	for _, h := range []string{"Return-Path: <al@example.org>\r\n", " with ESMTPA id ", "\r\nDate: ", "\r\nMessage-ID: <"} {
		if !strings.Contains(unfold(got[0]), h) {
			t.Errorf("delivered message lacks %q:\n%s", h, got[0])
		}
	}
	q, err := st.QueueList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0].Rcpt != "x@remote.example" || q[1].Rcpt != "y@other.example" || q[0].From != "al@example.org" {
		t.Fatalf("queue: %+v", q)
	}
	qraw, err := st.QueueMessage(ctx, q[0].MsgID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(qraw), "Return-Path") || !strings.Contains(string(qraw), "Message-ID: <") {
		t.Errorf("queued copy:\n%s", qraw)
	}
}

// Plain-text AUTH is refused from a non-loopback client without TLS and offered after
// STARTTLS.
func TestAuthNeedsTLS(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, Submission, func(_ *Options, s *Server) {
		if s != nil {
			s.noLoopbackTrust = true
		}
	})
	c0, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c0.Close()
	if err := c0.Hello("laptop"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c0.Extension("AUTH"); ok {
		t.Error("AUTH advertised without TLS")
	}
	r := dialRaw(t, e.addr)
	r.expect("EHLO laptop", 250)
	if code, _ := r.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n"); code != 538 {
		t.Errorf("AUTH without TLS: %d, want 538", code)
	}
	c, err := gosmtp.DialStartTLS(e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") || !strings.Contains(mechs, "LOGIN") {
		t.Errorf("AUTH after STARTTLS: %v %q", ok, mechs)
	}
	if err := c.Auth(sasl.NewLoginClient("bob@example.org", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("bob@example.org", []string{"alice@example.org"}, strings.NewReader("Subject: tls\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	got := inbox(t, st, "alice@example.org")
	if len(got) != 1 || !strings.Contains(unfold(got[0]), "with ESMTPSA") {
		t.Fatalf("got %q", got)
	}
}

// Implicit TLS (submissions, RFC 8314): the caller passes a tls.NewListener.
func TestImplicitTLS(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, Submission, nil)
	// Re-serve on a TLS listener.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", e.tls)
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(ln)
	defer ln.Close()
	c, err := gosmtp.DialTLS(ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised inside TLS")
	}
	if err := c.Auth(sasl.NewPlainClient("", "bob", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("bob@example.org", []string{"alice@example.org"}, strings.NewReader("Subject: 465\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := inbox(t, st, "alice@example.org"); len(got) != 1 || !strings.Contains(unfold(got[0]), "with ESMTPSA") {
		t.Fatalf("got %q", got)
	}
}

// An authenticated session on the MX port may relay; an unauthenticated one may not.
func TestMXRelayOnlyWhenAuthenticated(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hello("laptop")
	if err := c.Mail("alice@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("x@remote.example", nil); codeOf(err) != 550 {
		t.Fatalf("unauthenticated relay: %v", err)
	}
	c.Reset()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.org", []string{"x@remote.example"}, strings.NewReader("Subject: r\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if q, _ := st.QueueList(context.Background()); len(q) != 1 {
		t.Fatalf("queue %+v", q)
	}
}

// Shutdown waits for a session; Close ends it.
func TestShutdownThenClose(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 100_000_000)
	defer cancel()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with an open session: %v", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	r.c.SetReadDeadline(deadline(2))
	if _, err := r.c.Read(make([]byte, 512)); err == nil {
		// The 421 or EOF; either way the connection must end.
		if _, err := r.c.Read(make([]byte, 512)); err == nil {
			t.Fatal("connection still open after Close")
		}
	}
}

// A panic in a session ends that connection with 421 and the server keeps serving.
func TestPanicIsContained(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, func(o *Options, _ *Server) {
		o.Store = nil // every store call panics
	})
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	if code, _ := r.cmd("RCPT TO:<bob@example.org>"); code != 421 {
		t.Errorf("panicking RCPT: %d, want 421", code)
	}
	r2 := dialRaw(t, e.addr)
	r2.expect("EHLO y.test", 250)
	r2.expect("NOOP", 250)
}

// A full mailbox is refused at RCPT with a temporary error.
func TestOverQuotaAtRcpt(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	ctx := context.Background()
	bob, _ := st.AccountByEmail(ctx, "bob@example.org")
	if err := st.SetQuota(ctx, bob.ID, 10); err != nil {
		t.Fatal(err)
	}
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	r.expect("RCPT TO:<bob@example.org>", 250) // empty mailbox: under quota
	if code, _ := r.data("Subject: too big for quota\n\n" + strings.Repeat("x", 100) + "\n"); code != 452 {
		t.Errorf("over quota at DATA: %d, want 452", code)
	}
	if _, err := st.Deliver(ctx, store.Principal{AccountID: bob.ID}, 0, []byte("Subject: s\r\n\r\n1\r\n"), store.DeliverOptions{}); err == nil {
		t.Fatal("store accepted over quota")
	}
	st.SetQuota(ctx, bob.ID, 0)
	st.Deliver(ctx, store.Principal{AccountID: bob.ID}, 0, []byte("Subject: s\r\n\r\n1234567890\r\n"), store.DeliverOptions{})
	st.SetQuota(ctx, bob.ID, 10)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	if msg := r.expect("RCPT TO:<bob@example.org>", 452); !strings.HasPrefix(msg, "4.2.2") {
		t.Errorf("full mailbox: %q", msg)
	}
}

// RFC 5321 6.3: a looping message is refused.
func TestMailLoop(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	r.expect("RCPT TO:<bob@example.org>", 250)
	if code, msg := r.data(strings.Repeat("Received: from a by b; Tue, 24 Nov 2026 10:00:00 +0000\n", 50) + "Subject: loop\n\nx\n"); code != 554 {
		t.Errorf("looping message: %d %s", code, msg)
	}
	r.expect("MAIL FROM:<a@remote.example>", 250)
	r.expect("RCPT TO:<bob@example.org>", 250)
	if code, msg := r.data(strings.Repeat("Received: from a by b; Tue, 24 Nov 2026 10:00:00 +0000\n", 49) + "Subject: ok\n\nx\n"); code != 250 {
		t.Errorf("49 hops: %d %s", code, msg)
	}
}

// SMTPUTF8 (RFC 6531): an internationalized sender is accepted and the message stored
// byte for byte; a UTF-8 local part that names no user is refused as unknown.
func TestSMTPUTF8(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<josé@exämple.example> SMTPUTF8", 250)
	if msg := r.expect("RCPT TO:<jürgen@example.org>", 550); !strings.HasPrefix(msg, "5.1.1") {
		t.Errorf("unknown UTF-8 user: %q", msg)
	}
	r.expect("RCPT TO:<bob@example.org>", 250)
	body := "From: José <josé@exämple.example>\nSubject: ¡hola!\n\nça marche\n"
	if code, msg := r.data(body); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	got := inbox(t, st, "bob@example.org")
	if len(got) != 1 || !strings.Contains(got[0], "Return-Path: <josé@exämple.example>") || !strings.HasSuffix(got[0], strings.ReplaceAll(body, "\n", "\r\n")) {
		t.Fatalf("stored %q", got)
	}
}

// postmaster@ every hosted domain reaches the configured postmaster.
func TestPostmaster(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, func(o *Options, _ *Server) { o.Postmaster = "bob@example.org" })
	r := dialEHLO(t, e.addr)
	r.expect("MAIL FROM:<a@remote.example>", 250)
	r.expect("RCPT TO:<PostMaster@example.net>", 250)
	r.expect("RCPT TO:<postmaster@example.org>", 250)
	r.expect("RCPT TO:<postmaster@remote.example>", 550)
	if code, _ := r.data("Subject: to postmaster\n\nx\n"); code != 250 {
		t.Fatal(code)
	}
	if got := inbox(t, st, "bob@example.org"); len(got) != 1 {
		t.Fatalf("postmaster got %d messages", len(got))
	}
}

// More connections from one address than allowed get 421 before any greeting; a
// slot frees when a connection ends.
func TestConnectionsPerIP(t *testing.T) {
	st, d := newStore(t)
	e := startServer(t, st, d, MX, func(o *Options, _ *Server) { o.MaxConnectionsPerIP = 2 })
	a := dialRaw(t, e.addr)
	dialRaw(t, e.addr)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline(10))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("third connection: %q", line)
	}
	a.expect("QUIT", 221)
	a.c.Close()
	var ok bool
	for i := 0; i < 50 && !ok; i++ {
		c2, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c2.SetDeadline(deadline(10))
		line, _ = bufio.NewReader(c2).ReadString('\n')
		c2.Close()
		ok = strings.HasPrefix(line, "220 ")
		time.Sleep(20 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("slot not freed: %q", line)
	}
}
