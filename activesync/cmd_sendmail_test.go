package activesync

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/smtp"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// newSendEnv is a test env whose Sender is the real SMTP submission path over the
// env's store, with bob@example.org as a second local user.
func newSendEnv(t *testing.T) (*testEnv, store.Account) {
	t.Helper()
	e := newTestEnv(t, func(o *Options) {
		o.Sender = smtp.New(smtp.Options{Store: o.Store, Directory: o.Directory, Logger: o.Logger, Hostname: "mail.example.org", Mode: smtp.Submission})
	})
	bob := e.addUser("bob@example.org", "Bob Builder")
	e.provisioned("TESTDEVICE")
	return e, bob
}

// sentMessage is one message in a folder as read back through the store.
type sentMessage struct {
	item store.Item
	raw  string
}

// mailIn lists a folder's messages (by role) of an account, oldest first.
func mailIn(t *testing.T, st *store.Store, acct store.Account, role store.Role) []sentMessage {
	t.Helper()
	items, raws := storetest.FolderMessages(t, st, store.Principal{AccountID: acct.ID}, role)
	out := make([]sentMessage, len(items))
	for i := range items {
		out[i] = sentMessage{item: items[i], raw: raws[i]}
	}
	return out
}

// wantOne checks that a folder holds exactly one message and returns it.
func wantOne(t *testing.T, msgs []sentMessage, where string) sentMessage {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("%s holds %d messages, want 1", where, len(msgs))
	}
	return msgs[0]
}

func composeStatus(t *testing.T, r reply, cmd string) string {
	t.Helper()
	if r.status != 200 || r.body == nil || !r.body.Is("ComposeMail:"+cmd) {
		t.Fatalf("%s answered HTTP %d %v, want a ComposeMail:%s body", cmd, r.status, r.body, cmd)
	}
	return r.body.ChildText("Status")
}

func wantEmptyOK(t *testing.T, r reply) {
	t.Helper()
	if r.status != 200 || len(r.raw) != 0 {
		t.Fatalf("answered HTTP %d with %d bytes (%v), want an empty 200", r.status, len(r.raw), r.body)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const plainToBob = "From: Alice Liddell <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\nShall we have lunch?\r\n"

func TestSendMail121RawDeliversAndSavesInSent(t *testing.T) {
	e, bob := newSendEnv(t)
	r := e.do(call{cmd: "SendMail", version: "12.1", raw: []byte(plainToBob), query: "&SaveInSent=T"})
	wantEmptyOK(t, r)

	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if got.item.Subject != "Lunch" || !strings.Contains(got.raw, "Shall we have lunch?") {
		t.Errorf("bob got subject %q:\n%s", got.item.Subject, got.raw)
	}
	sent := wantOne(t, mailIn(t, e.st, e.acct, store.RoleSent), "alice's Sent")
	if sent.item.Flags&store.FlagSeen == 0 {
		t.Error("the Sent copy is not \\Seen")
	}
	if sent.item.MessageID == "" || sent.item.MessageID != got.item.MessageID {
		t.Errorf("Sent copy Message-ID %q, delivered %q: they must be the same message", sent.item.MessageID, got.item.MessageID)
	}
	if !strings.Contains(got.raw, "Date: ") {
		t.Error("no Date field")
	}
	if n := len(mailIn(t, e.st, e.acct, store.RoleInbox)); n != 0 {
		t.Errorf("alice's Inbox has %d messages", n)
	}
}

func TestSendMail121WithoutSaveInSent(t *testing.T) {
	e, bob := newSendEnv(t)
	wantEmptyOK(t, e.do(call{cmd: "SendMail", version: "12.1", raw: []byte(plainToBob)}))
	wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if n := len(mailIn(t, e.st, e.acct, store.RoleSent)); n != 0 {
		t.Errorf("Sent has %d messages without SaveInSent", n)
	}
}

func TestSendMail141ComposeMail(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "14.1"
	mime := "From: alice@example.org\r\nTo: bob@example.org\r\nBcc: alice@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nHallo Bob\r\n"
	r := e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>1795641586389-0</ClientId><AccountId>x</AccountId>` +
		`<SaveInSentItems/><Mime opaque="base64">` + b64(mime) + `</Mime></SendMail>`})
	wantEmptyOK(t, r)
	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if got.item.Subject != "Grüße" {
		t.Errorf("subject %q", got.item.Subject)
	}
	if strings.Contains(got.raw, "Bcc:") {
		t.Errorf("the Bcc field reached bob:\n%s", got.raw)
	}
	// alice was a Bcc recipient: she has the message in her Inbox, and her Sent copy
	// keeps the Bcc field (as Exchange's does).
	wantOne(t, mailIn(t, e.st, e.acct, store.RoleInbox), "alice's Inbox")
	sent := wantOne(t, mailIn(t, e.st, e.acct, store.RoleSent), "alice's Sent")
	if !strings.Contains(sent.raw, "Bcc: alice@example.org") {
		t.Errorf("the Sent copy lost Bcc:\n%s", sent.raw)
	}
}

func TestSendMailMimeAsString(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "16.1"
	r := e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>c1</ClientId><Mime>` +
		"From: alice@example.org\nTo: bob@example.org\nSubject: string form\n\nbody &amp; more\n" + `</Mime></SendMail>`})
	wantEmptyOK(t, r)
	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if got.item.Subject != "string form" || !strings.Contains(got.raw, "body & more") {
		t.Errorf("got %q:\n%s", got.item.Subject, got.raw)
	}
}

// original is a message from bob in alice's Inbox.
const originalFromBob = "From: Bob Builder <bob@example.org>\r\nTo: Alice Liddell <alice@example.org>\r\nSubject: Plans\r\n" +
	"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <plans-1@example.org>\r\nReferences: <root@example.org>\r\n\r\n" +
	"Can we build it?\r\nYes we can.\r\n"

func (e *testEnv) inboxItem(raw string) store.Item {
	e.t.Helper()
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, raw)
	it, err := e.st.GetItem(context.Background(), e.principal(), d.ItemID)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

func TestSmartReplyQuotesOriginalAndMarksAnswered(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "14.1"
	orig := e.inboxItem(originalFromBob)
	// The new message has both a plain and an HTML alternative; both get the original.
	mime := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: Plans\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSure, Tuesday.\r\n" +
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Sure, <b>Tuesday</b>.</p></body></html>\r\n--b1--\r\n"
	r := e.do(call{cmd: "SmartReply", xml: `<SmartReply xmlns="ComposeMail"><ClientId>r1</ClientId><Source><FolderId>` +
		strconv.FormatInt(orig.FolderID, 10) + `</FolderId><ItemId>` + orig.ServerID() + `</ItemId></Source><SaveInSentItems/><Mime opaque="base64">` +
		b64(mime) + `</Mime></SmartReply>`})
	wantEmptyOK(t, r)

	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if got.item.InReplyTo != "<plans-1@example.org>" {
		t.Errorf("In-Reply-To %q", got.item.InReplyTo)
	}
	if !strings.Contains(got.raw, "References: <root@example.org> <plans-1@example.org>") {
		t.Errorf("References not continued:\n%s", got.raw)
	}
	p := message.Parse([]byte(got.raw))
	for _, want := range []string{"Sure, Tuesday.", "-----Original Message-----", "From: Bob Builder <bob@example.org>", "Subject: Plans", "> Can we build it?", "> Yes we can."} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("the plain reply lacks %q:\n%s", want, p.Text)
		}
	}
	if strings.Index(p.Text, "Sure, Tuesday.") > strings.Index(p.Text, "Can we build it?") {
		t.Error("the original comes before the new text")
	}
	for _, want := range []string{"<b>Tuesday</b>", "<blockquote", "Can we build it?<br>"} {
		if !strings.Contains(p.HTML, want) {
			t.Errorf("the HTML reply lacks %q:\n%s", want, p.HTML)
		}
	}
	if strings.Count(p.HTML, "</body>") != 1 {
		t.Errorf("HTML not merged into one document:\n%s", p.HTML)
	}
	now, err := e.st.GetItem(context.Background(), e.principal(), orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Flags&store.FlagAnswered == 0 {
		t.Error("the original is not \\Answered")
	}
	sent := wantOne(t, mailIn(t, e.st, e.acct, store.RoleSent), "alice's Sent")
	if sent.item.InReplyTo != "<plans-1@example.org>" || sent.item.MessageID != got.item.MessageID {
		t.Errorf("Sent copy: In-Reply-To %q, Message-ID %q (sent %q)", sent.item.InReplyTo, sent.item.MessageID, got.item.MessageID)
	}
}

// forwardOriginal has an attachment.
const forwardOriginal = "From: Bob Builder <bob@example.org>\r\nTo: alice@example.org\r\nSubject: Report\r\nMessage-ID: <report@example.org>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n" +
	"--outer\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"JVBERi0xLjQKZmFrZSBwZGY=\r\n--outer--\r\n"

func TestSmartForwardCarriesAttachments(t *testing.T) {
	e, _ := newSendEnv(t)
	e.version = "14.0"
	carol := e.addUser("carol@example.org", "Carol")
	orig := e.inboxItem(forwardOriginal)
	mime := "From: alice@example.org\r\nTo: carol@example.org\r\nSubject: Fw: Report\r\n\r\nFYI\r\n"
	r := e.do(call{cmd: "SmartForward", xml: `<SmartForward xmlns="ComposeMail"><ClientId>f1</ClientId><Source><ItemId>` +
		orig.ServerID() + `</ItemId></Source><Mime opaque="base64">` + b64(mime) + `</Mime></SmartForward>`})
	wantEmptyOK(t, r)

	got := wantOne(t, mailIn(t, e.st, carol, store.RoleInbox), "carol's Inbox")
	p := message.Parse([]byte(got.raw))
	if len(p.Attachments) != 1 || p.Attachments[0].Name != "report.pdf" {
		t.Fatalf("forward attachments %+v:\n%s", p.Attachments, got.raw)
	}
	sec, _ := message.ParseSection(p.Attachments[0].Part)
	if body := p.Structure.Find(sec).DecodedBody([]byte(got.raw)); string(body) != "%PDF-1.4\nfake pdf" {
		t.Errorf("attachment content %q", body)
	}
	if !strings.Contains(p.Text, "FYI") || !strings.Contains(p.Text, "The report is attached.") || strings.Contains(p.Text, "> The report") {
		t.Errorf("forward text (unquoted original expected):\n%s", p.Text)
	}
	if got.item.InReplyTo != "" {
		t.Errorf("a forward has In-Reply-To %q", got.item.InReplyTo)
	}
	now, _ := e.st.GetItem(context.Background(), e.principal(), orig.ID)
	if !slices.Contains(now.Keywords, "$Forwarded") || now.Flags&store.FlagAnswered != 0 {
		t.Errorf("original flags %v keywords %v, want $Forwarded only", now.Flags, now.Keywords)
	}
}

func TestSmartForwardReplaceMime(t *testing.T) {
	e, bob := newSendEnv(t)
	orig := e.inboxItem(forwardOriginal)
	mime := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Fw: Report\r\n\r\nedited inline, nothing appended\r\n"
	r := e.do(call{cmd: "SmartForward", xml: `<SmartForward xmlns="ComposeMail"><ClientId>f2</ClientId><Source><ItemId>` +
		orig.ServerID() + `</ItemId></Source><ReplaceMime/><Mime opaque="base64">` + b64(mime) + `</Mime></SmartForward>`})
	wantEmptyOK(t, r)
	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	// [MS-ASCMD] 2.2.3.148: with ReplaceMime neither the body nor the attachments of the
	// original are included.
	if strings.Contains(got.raw, "report") && strings.Contains(got.raw, "JVBER") || strings.Contains(got.raw, "Original Message") {
		t.Errorf("ReplaceMime forward carries the original:\n%s", got.raw)
	}
	if !strings.HasSuffix(got.raw, "edited inline, nothing appended\r\n") {
		t.Errorf("body changed:\n%s", got.raw)
	}
}

func TestSmartReply121Query(t *testing.T) {
	e, bob := newSendEnv(t)
	orig := e.inboxItem(originalFromBob)
	mime := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: Plans\r\n\r\nOK\r\n"
	r := e.do(call{cmd: "SmartReply", version: "12.1", raw: []byte(mime),
		query: "&ItemId=" + orig.ServerID() + "&CollectionId=" + strconv.FormatInt(orig.FolderID, 10) + "&SaveInSent=T"})
	wantEmptyOK(t, r)
	got := wantOne(t, mailIn(t, e.st, bob, store.RoleInbox), "bob's Inbox")
	if !strings.Contains(got.raw, "> Can we build it?") || got.item.InReplyTo != "<plans-1@example.org>" {
		t.Errorf("12.1 SmartReply:\n%s", got.raw)
	}
	wantOne(t, mailIn(t, e.st, e.acct, store.RoleSent), "alice's Sent")
}

func TestSendMailAsSomeoneElseRefused(t *testing.T) {
	e, bob := newSendEnv(t)
	forged := "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: forged\r\n\r\nIt is me, Bob.\r\n"
	e.version = "14.1"
	r := e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>x1</ClientId><SaveInSentItems/><Mime opaque="base64">` + b64(forged) + `</Mime></SendMail>`})
	if st := composeStatus(t, r, "SendMail"); st != "120" {
		t.Errorf("Status %s, want 120 MailSubmissionFailed", st)
	}
	validate(t, r.body, r.body.Tag+"Response.xsd")

	// At 12.1 there is no Status: an HTTP error.
	r = e.do(call{cmd: "SendMail", version: "12.1", raw: []byte(forged), query: "&SaveInSent=T"})
	if r.status != 500 {
		t.Errorf("12.1 forged SendMail: HTTP %d, want 500", r.status)
	}
	for _, who := range []store.Account{e.acct, bob} {
		if n := len(mailIn(t, e.st, who, store.RoleInbox)); n != 0 {
			t.Errorf("%s received %d forged messages", who.Email, n)
		}
	}
	if n := len(mailIn(t, e.st, e.acct, store.RoleSent)); n != 0 {
		t.Errorf("a refused message was saved in Sent")
	}
}

func TestSmartReplyToAnotherAccountsItem(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "16.1"
	d, err := e.st.Deliver(context.Background(), store.Principal{AccountID: bob.ID}, 0, []byte(originalFromBob), store.DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bobsItem := (&store.Item{FolderID: d.FolderID, ID: d.ItemID}).ServerID()
	mime := b64("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re\r\n\r\nx\r\n")
	for _, cmd := range []string{"SmartReply", "SmartForward"} {
		for _, id := range []string{bobsItem, "garbage", "1:999999"} {
			r := e.do(call{cmd: cmd, xml: `<` + cmd + ` xmlns="ComposeMail"><ClientId>o1</ClientId><Source><ItemId>` + id +
				`</ItemId></Source><Mime opaque="base64">` + mime + `</Mime></` + cmd + `>`})
			if st := composeStatus(t, r, cmd); st != "150" {
				t.Errorf("%s of %q: Status %s, want 150 ItemNotFound", cmd, id, st)
			}
			validate(t, r.body, r.body.Tag+"Response.xsd")
		}
	}
	if n := len(mailIn(t, e.st, bob, store.RoleInbox)); n != 1 {
		t.Errorf("bob has %d messages, want only his own", n)
	}
	it, _ := e.st.GetItem(context.Background(), store.Principal{AccountID: bob.ID}, d.ItemID)
	if it.Flags&store.FlagAnswered != 0 {
		t.Error("bob's message was marked answered by alice")
	}
}

func TestSendMailStatuses(t *testing.T) {
	e, _ := newSendEnv(t)
	e.version = "14.1"
	send := func(body string) reply {
		return e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail">` + body + `</SendMail>`})
	}
	cases := []struct {
		name, body, status string
	}{
		{"no recipients", `<ClientId>s1</ClientId><Mime opaque="base64">` + b64("From: alice@example.org\r\nSubject: x\r\n\r\nx\r\n") + `</Mime>`, "119"},
		{"unknown local user", `<ClientId>s2</ClientId><Mime opaque="base64">` + b64("From: alice@example.org\r\nTo: nobody@example.org\r\n\r\nx\r\n") + `</Mime>`, "116"},
		{"no Mime", `<ClientId>s3</ClientId><SaveInSentItems/>`, "103"},
		{"not a message", `<ClientId>s4</ClientId><Mime>just some words</Mime>`, "107"},
	}
	for _, c := range cases {
		r := send(c.body)
		if st := composeStatus(t, r, "SendMail"); st != c.status {
			t.Errorf("%s: Status %s, want %s", c.name, st, c.status)
		}
		validate(t, r.body, r.body.Tag+"Response.xsd")
	}
	// SmartReply without a Source is malformed.
	r := e.do(call{cmd: "SmartReply", xml: `<SmartReply xmlns="ComposeMail"><ClientId>s5</ClientId><Mime>From: a@b.c` + "\n\nx" + `</Mime></SmartReply>`})
	if st := composeStatus(t, r, "SmartReply"); st != "103" {
		t.Errorf("SmartReply without Source: Status %s", st)
	}
	if n := len(mailIn(t, e.st, e.acct, store.RoleSent)); n != 0 {
		t.Errorf("failed sends left %d messages in Sent", n)
	}
}

func TestSendMailOverQuota(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "14.1"
	if err := e.st.SetQuota(context.Background(), e.acct.ID, 100); err != nil {
		t.Fatal(err)
	}
	r := e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>q1</ClientId><SaveInSentItems/><Mime opaque="base64">` + b64(plainToBob) + `</Mime></SendMail>`})
	if st := composeStatus(t, r, "SendMail"); st != "113" {
		t.Errorf("Status %s, want 113 MailboxQuotaExceeded", st)
	}
	if n := len(mailIn(t, e.st, bob, store.RoleInbox)); n != 0 {
		t.Error("sent despite the quota")
	}
}

// recordingSender is a Sender that keeps what it was given.
type recordingSender struct {
	mu   sync.Mutex
	sent [][]byte
	err  error
}

func (s *recordingSender) Submit(_ context.Context, _ store.Account, rcpts []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rcpts) != 0 {
		panic("ActiveSync takes the recipients from the message")
	}
	s.sent = append(s.sent, bytes.Clone(raw))
	return s.err
}

type refusal string

func (r refusal) Error() string        { return "refused: " + string(r) }
func (r refusal) SubmitReason() string { return string(r) }

func TestComposeSubmitStatusMapping(t *testing.T) {
	rec := &recordingSender{}
	e := newTestEnv(t, func(o *Options) { o.Sender = rec })
	e.provisioned("TESTDEVICE")
	e.version = "14.0"
	for reason, want := range map[string]string{"temporary": "111", "mailbox-full": "111", "too-large": "122", "rejected": "120", "too-many-recipients": "120"} {
		rec.err = refusal(reason)
		r := e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>m</ClientId><Mime opaque="base64">` + b64(plainToBob) + `</Mime></SendMail>`})
		if st := composeStatus(t, r, "SendMail"); st != want {
			t.Errorf("%s: Status %s, want %s", reason, st, want)
		}
	}
	rec.err = refusal("temporary")
	r := e.do(call{cmd: "SendMail", version: "12.1", raw: []byte(plainToBob)})
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("12.1 temporary failure: HTTP %d", r.status)
	}
	// A fault that is not a refusal is a server error.
	rec.err = io.ErrUnexpectedEOF
	if r := e.do(call{cmd: "SendMail", raw: []byte(plainToBob), version: "12.1"}); r.status != 500 {
		t.Errorf("fault: HTTP %d", r.status)
	}
	// The message handed over has the header completed.
	rec.err = nil
	wantEmptyOK(t, e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>m</ClientId><Mime opaque="base64">` +
		b64("To: bob@example.org\r\nSubject: no from\r\n\r\nx\r\n") + `</Mime></SendMail>`}))
	last := string(rec.sent[len(rec.sent)-1])
	for _, want := range []string{"From: \"Alice Liddell\" <alice@example.org>\r\n", "Date: ", "Message-ID: <"} {
		if !strings.Contains(last, want) {
			t.Errorf("submitted message lacks %q:\n%s", want, last)
		}
	}
}

func TestSendMailWithoutSender(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	r := e.do(call{cmd: "SendMail", version: "14.1", xml: `<SendMail xmlns="ComposeMail"><ClientId>n</ClientId><Mime opaque="base64">` + b64(plainToBob) + `</Mime></SendMail>`})
	if st := composeStatus(t, r, "SendMail"); st != "110" {
		t.Errorf("Status %s, want 110", st)
	}
	validate(t, r.body, r.body.Tag+"Response.xsd")
}

// TestSendMailResentClientID: a phone that lost the answer and sends the same ClientId
// again gets Status 118 and no second copy; a ClientId whose send failed may be retried.
func TestSendMailResentClientID(t *testing.T) {
	e, bob := newSendEnv(t)
	e.version = "14.1"
	send := func(id, mime string) reply {
		return e.do(call{cmd: "SendMail", xml: `<SendMail xmlns="ComposeMail"><ClientId>` + id + `</ClientId>` +
			`<SaveInSentItems/><Mime opaque="base64">` + b64(mime) + `</Mime></SendMail>`})
	}
	wantEmptyOK(t, send("dup-1", plainToBob))
	r := send("dup-1", plainToBob)
	if st := composeStatus(t, r, "SendMail"); st != "118" {
		t.Fatalf("resent ClientId: Status %s, want 118", st)
	}
	validate(t, r.body, "SendMailResponse.xsd")
	if n := len(mailIn(t, e.st, bob, store.RoleInbox)); n != 1 {
		t.Fatalf("bob has %d copies", n)
	}
	// A refused send releases its ClientId.
	forged := "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: forged\r\n\r\nx\r\n"
	if st := composeStatus(t, send("dup-2", forged), "SendMail"); st != "120" {
		t.Fatalf("forged: Status %s", st)
	}
	wantEmptyOK(t, send("dup-2", plainToBob))
	if n := len(mailIn(t, e.st, bob, store.RoleInbox)); n != 2 {
		t.Fatalf("bob has %d messages after the retry, want 2", n)
	}
}
