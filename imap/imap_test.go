package imap

import (
	"bytes"
	"context"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

const testPassword = "correct horse battery"

type env struct {
	t    testing.TB
	st   *store.Store
	dir  *directory.Directory
	srv  *Server
	addr string
	acct map[string]store.Account
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server's options changed by opt.
func newEnvWith(t testing.TB, opt func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	e := &env{t: t, st: st, dir: dir, acct: map[string]store.Account{}}
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		a, _, err := dir.CreateUser(ctx, directory.NewUser{Email: u, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		e.acct[u] = a
	}
	opts := Options{Store: st, Directory: dir, MaxMessageSize: 1 << 20, Hostname: "mail.example.org"}
	if opt != nil {
		opt(&opts)
	}
	e.srv = New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.srv.Serve(ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.srv.Shutdown(sctx)
		e.srv.Close()
		<-done
		st.Close()
	})
	return e
}

// updates collects a client's unilateral data.
type updates struct {
	mu      sync.Mutex
	exists  []uint32
	expunge []uint32
	fetch   []*imapclient.FetchMessageBuffer
	flags   [][]goimap.Flag
	signal  chan struct{}
}

func (u *updates) handler() *imapclient.UnilateralDataHandler {
	u.signal = make(chan struct{}, 100)
	note := func() {
		select {
		case u.signal <- struct{}{}:
		default:
		}
	}
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) {
			u.mu.Lock()
			u.expunge = append(u.expunge, seq)
			u.mu.Unlock()
			note()
		},
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			u.mu.Lock()
			if d.NumMessages != nil {
				u.exists = append(u.exists, *d.NumMessages)
			}
			if d.Flags != nil {
				u.flags = append(u.flags, d.Flags)
			}
			u.mu.Unlock()
			note()
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.fetch = append(u.fetch, buf)
			u.mu.Unlock()
			note()
		},
	}
}

// waitFor waits until cond holds (checked under the lock after each update).
func (u *updates) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		u.mu.Lock()
		ok := cond()
		u.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-u.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (e *env) dial(user string, u *updates) *imapclient.Client {
	e.t.Helper()
	opts := &imapclient.Options{}
	if u != nil {
		opts.UnilateralDataHandler = u.handler()
	}
	c, err := imapclient.DialInsecure(e.addr, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if user != "" {
		if err := c.Login(user, testPassword).Wait(); err != nil {
			e.t.Fatalf("login %s: %v", user, err)
		}
	}
	return c
}

func (e *env) principal(user string) store.Principal {
	return store.Principal{AccountID: e.acct[user].ID}
}

const sampleMessage = "From: Alice Example <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: Quarterly report\r\n" +
	"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n" +
	"Message-ID: <report-1@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Numbers are up. Café tomorrow?\r\n" +
	"--b1\r\n" +
	"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
	"\r\n" +
	"aGVsbG8gYmluYXJ5IHdvcmxk\r\n" +
	"--b1--\r\n"

func textMessage(subject, body string) string {
	return "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: " + subject +
		"\r\nDate: Tue, 03 Mar 2026 09:00:00 +0000\r\n\r\n" + body + "\r\n"
}

func appendMsg(t *testing.T, c *imapclient.Client, mailbox, raw string, opts *goimap.AppendOptions) *goimap.AppendData {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append to %s: %v", mailbox, err)
	}
	return data
}

func TestLoginAndCapabilities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial("", nil)
	if err := c.Login("alice@example.org", "wrong").Wait(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []goimap.Cap{goimap.CapIMAP4rev1, goimap.CapIMAP4rev2, goimap.CapIdle, goimap.CapMove, goimap.CapUIDPlus,
		goimap.CapNamespace, goimap.CapSpecialUse, goimap.CapCreateSpecialUse, goimap.CapListExtended, goimap.CapListStatus,
		goimap.CapESearch, goimap.CapSearchRes, goimap.CapLiteralPlus, goimap.CapUnselect, goimap.CapStatusSize, goimap.CapBinary,
		goimap.CapChildren, goimap.CapEnable, goimap.CapSASLIR, goimap.CapUnauthenticate} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing", want)
		}
	}
	if _, ok := caps.AppendLimit(); !ok {
		t.Error("APPENDLIMIT missing")
	}
	// The client's CapSet counts what IMAP4rev2 implies as present; the wire must name
	// every capability the issue lists itself, for IMAP4rev1 clients.
	r := e.raw()
	r.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	line := r.cmd("CAPABILITY")
	for _, want := range strings.Fields("IMAP4rev1 IMAP4rev2 IDLE MOVE UIDPLUS NAMESPACE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED " +
		"LIST-STATUS ESEARCH SEARCHRES LITERAL+ APPENDLIMIT UNSELECT STATUS=SIZE BINARY CHILDREN ENABLE SASL-IR UNAUTHENTICATE") {
		if !slices.ContainsFunc(strings.Fields(strings.SplitN(line, "\r\n", 2)[0]), func(c string) bool {
			return strings.EqualFold(c, want) || strings.HasPrefix(strings.ToUpper(c), want+"=")
		}) {
			t.Errorf("CAPABILITY does not name %s: %s", want, line)
		}
	}
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' {
		t.Fatalf("namespace = %+v, %v", ns, err)
	}

	// AUTHENTICATE PLAIN, with a bare user name in the default domain.
	c2 := e.dial("", nil)
	if err := c2.Authenticate(sasl.NewPlainClient("", "bob", testPassword)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN: %v", err)
	}
	if _, err := c2.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Unauthenticate().Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Select("INBOX", nil).Wait(); err == nil {
		t.Fatal("SELECT after UNAUTHENTICATE succeeded")
	}
}

// A connection that is neither TLS nor from loopback must not take a password in the
// clear (the library sees such connections through the strict listener).
func TestPlaintextRefusedWithoutTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srvSide, cliSide := net.Pipe()
	go e.srv.strictLn.push(srvSide)
	c := imapclient.New(cliSide, nil)
	defer c.Close()
	if err := c.Login("alice@example.org", testPassword).Wait(); err == nil {
		t.Fatal("clear-text LOGIN accepted on a non-TLS, non-loopback connection")
	}
	if !c.Caps().Has(goimap.CapLoginDisabled) {
		t.Error("LOGINDISABLED not advertised")
	}
}

func TestListSpecialUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial("alice@example.org", nil)
	boxes, err := c.List("", "*", &goimap.ListOptions{ReturnSpecialUse: true, ReturnStatus: &goimap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]goimap.MailboxAttr{}
	for _, b := range boxes {
		got[b.Mailbox] = b.Attrs
		if b.Delim != '/' {
			t.Errorf("%s: delimiter %q", b.Mailbox, b.Delim)
		}
		if b.Status == nil || b.Status.NumMessages == nil {
			t.Errorf("%s: no LIST-STATUS", b.Mailbox)
		}
	}
	want := map[string]goimap.MailboxAttr{"Drafts": goimap.MailboxAttrDrafts, "Sent": goimap.MailboxAttrSent,
		"Trash": goimap.MailboxAttrTrash, "Junk": goimap.MailboxAttrJunk, "Archive": goimap.MailboxAttrArchive}
	for name, attr := range want {
		if !slices.Contains(got[name], attr) {
			t.Errorf("%s: attrs %v, want %s", name, got[name], attr)
		}
	}
	if _, ok := got["INBOX"]; !ok {
		t.Error("INBOX not listed")
	}
	for _, hidden := range []string{"Contacts", "Calendar", "Tasks", "Notes"} {
		if _, ok := got[hidden]; ok {
			t.Errorf("non-mail folder %s listed", hidden)
		}
	}
	if len(got) != 6 {
		t.Errorf("listed %d mailboxes: %v", len(got), got)
	}
	// SELECT-SPECIAL-USE
	special, err := c.List("", "*", &goimap.ListOptions{SelectSpecialUse: true}).Collect()
	if err != nil || len(special) != 5 {
		t.Errorf("LIST (SPECIAL-USE): %d, %v", len(special), err)
	}
	if _, err := c.Select("Contacts", nil).Wait(); err == nil {
		t.Error("a contacts folder was selectable over IMAP")
	}
}

func TestAppendFetchRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial("alice@example.org", nil)
	date := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	ad := appendMsg(t, c, "INBOX", sampleMessage, &goimap.AppendOptions{Flags: []goimap.Flag{goimap.FlagFlagged, "$Work"}, Time: date})
	if ad.UID == 0 || ad.UIDValidity == 0 {
		t.Fatalf("APPENDUID missing: %+v", ad)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 || sel.UIDValidity != ad.UIDValidity {
		t.Fatalf("select = %+v", sel)
	}
	if !slices.Contains(sel.Flags, "$Work") {
		t.Errorf("FLAGS %v lacks the keyword", sel.Flags)
	}
	whole := &goimap.FetchItemBodySection{Peek: true}
	header := &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, Peek: true}
	part1 := &goimap.FetchItemBodySection{Part: []int{1}, Peek: true}
	part2mime := &goimap.FetchItemBodySection{Part: []int{2}, Specifier: goimap.PartSpecifierMIME, Peek: true}
	partial := &goimap.FetchItemBodySection{Peek: true, Partial: &goimap.SectionPartial{Offset: 6, Size: 5}}
	fields := &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"subject", "TO"}, Peek: true}
	binary := &goimap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	msgs, err := c.Fetch(goimap.UIDSetNum(ad.UID), &goimap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure:     &goimap.FetchItemBodyStructure{Extended: true},
		BodySection:       []*goimap.FetchItemBodySection{whole, header, part1, part2mime, partial, fields},
		BinarySection:     []*goimap.FetchItemBinarySection{binary},
		BinarySectionSize: []*goimap.FetchItemBinarySectionSize{{Part: []int{2}}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.UID != ad.UID || m.RFC822Size != int64(len(sampleMessage)) || !m.InternalDate.Equal(date) {
		t.Errorf("uid %d size %d date %v", m.UID, m.RFC822Size, m.InternalDate)
	}
	if !slices.Contains(m.Flags, goimap.FlagFlagged) || !slices.Contains(m.Flags, "$Work") || slices.Contains(m.Flags, goimap.FlagSeen) {
		t.Errorf("flags %v", m.Flags)
	}
	if got := m.FindBodySection(whole); !bytes.Equal(got, []byte(sampleMessage)) {
		t.Errorf("BODY[] not byte-exact:\n%q", got)
	}
	hdrEnd := strings.Index(sampleMessage, "\r\n\r\n") + 4
	if got := string(m.FindBodySection(header)); got != sampleMessage[:hdrEnd] {
		t.Errorf("BODY[HEADER] = %q", got)
	}
	if got := string(m.FindBodySection(part1)); got != "Numbers are up. Café tomorrow?" {
		t.Errorf("BODY[1] = %q", got)
	}
	if got := string(m.FindBodySection(part2mime)); !strings.HasPrefix(got, "Content-Type: application/octet-stream") || !strings.HasSuffix(got, "\r\n\r\n") {
		t.Errorf("BODY[2.MIME] = %q", got)
	}
	if got := string(m.FindBodySection(partial)); got != sampleMessage[6:11] {
		t.Errorf("BODY[]<6.5> = %q", got)
	}
	if got := string(m.FindBodySection(fields)); got != "To: Bob <bob@example.org>\r\nSubject: Quarterly report\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", got)
	}
	if got := string(m.FindBinarySection(binary)); got != "hello binary world" {
		t.Errorf("BINARY[2] = %q", got)
	}
	if n, ok := m.FindBinarySectionSize([]int{2}); !ok || n != 18 {
		t.Errorf("BINARY.SIZE[2] = %d %v", n, ok)
	}
	env := m.Envelope
	if env == nil || env.Subject != "Quarterly report" || env.MessageID != "report-1@example.org" ||
		len(env.From) != 1 || env.From[0].Addr() != "alice@example.org" || env.From[0].Name != "Alice Example" ||
		len(env.Sender) != 1 || len(env.To) != 1 || env.To[0].Host != "example.org" {
		t.Errorf("envelope %+v", env)
	}
	// ENVELOPE alone takes the envelope-only decoding path: same answer.
	envOnly, err := c.Fetch(goimap.UIDSetNum(ad.UID), &goimap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(envOnly) != 1 || !reflect.DeepEqual(envOnly[0].Envelope, env) {
		t.Errorf("ENVELOPE alone: %+v %v", envOnly, err)
	}
	mp, ok := m.BodyStructure.(*goimap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("bodystructure %#v", m.BodyStructure)
	}
	att, ok := mp.Children[1].(*goimap.BodyStructureSinglePart)
	if !ok || !strings.EqualFold(att.Encoding, "BASE64") || att.Extended == nil || att.Extended.Disposition == nil || att.Extended.Disposition.Value != "attachment" {
		t.Errorf("attachment part %#v", mp.Children[1])
	}

	// A non-PEEK BODY[] sets \Seen and reports FLAGS.
	msgs, err = c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Part: []int{1}}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !slices.Contains(msgs[0].Flags, goimap.FlagSeen) {
		t.Errorf("BODY[1] without PEEK: flags %v", msgs[0].Flags)
	}

	// APPEND to a missing mailbox: TRYCREATE.
	cmd := c.Append("Nope", 3, nil)
	cmd.Write([]byte("x\r\n"))
	cmd.Close()
	if _, err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("APPEND to a missing mailbox: %v", err)
	}
}

func TestFlagsReachIdlingSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ua updates
	a := e.dial("alice@example.org", &ua)
	b := e.dial("alice@example.org", nil)
	appendMsg(t, b, "INBOX", textMessage("one", "first"), nil)
	appendMsg(t, b, "INBOX", textMessage("two", "second"), nil)
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := a.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store(goimap.SeqSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged, "$Urgent"}, Silent: true}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	ua.waitFor(t, "FETCH FLAGS in the idling session", func() bool {
		for _, f := range ua.fetch {
			if f.SeqNum == 2 && slices.Contains(f.Flags, goimap.FlagFlagged) && slices.Contains(f.Flags, "$Urgent") {
				return true
			}
		}
		return false
	})
	ua.waitFor(t, "FLAGS with the new keyword", func() bool {
		for _, fl := range ua.flags {
			if slices.Contains(fl, "$Urgent") {
				return true
			}
		}
		return false
	})
	// Expunge in b reaches a as EXPUNGE.
	if _, err := b.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	ua.waitFor(t, "EXPUNGE in the idling session", func() bool { return slices.Contains(ua.expunge, 1) })
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := a.Mailbox().NumMessages; n != 1 {
		t.Errorf("after expunge the client counts %d messages", n)
	}
}

// A delivery through the store (the SMTP path) reaches an IDLEing client as EXISTS.
func TestDeliverWakesIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ua updates
	a := e.dial("alice@example.org", &ua)
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := a.Idle()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.st.Deliver(context.Background(), e.principal("alice@example.org"), 0, []byte(textMessage("pushed", "hi")), store.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	ua.waitFor(t, "EXISTS after Deliver", func() bool { return slices.Contains(ua.exists, 1) })
	t.Logf("delivery to EXISTS: %v", time.Since(start))
	// A delivery for another user wakes nobody here.
	if _, err := e.st.Deliver(context.Background(), e.principal("bob@example.org"), 0, []byte(textMessage("bob's", "x")), store.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	idle.Close()
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := a.Mailbox().NumMessages; n != 1 {
		t.Errorf("client counts %d messages, want 1", n)
	}
}

func TestCopyMoveExpunge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.chunk = 3 // several store reads per FETCH
	c := e.dial("alice@example.org", nil)
	var uids []goimap.UID
	for _, s := range []string{"a", "b", "c", "d"} {
		uids = append(uids, appendMsg(t, c, "INBOX", textMessage(s, s), nil).UID)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// FETCH across several store reads, setting \Seen on the way.
	all, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true, BodySection: []*goimap.FetchItemBodySection{{Specifier: goimap.PartSpecifierText}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("FETCH 1:* returned %d messages", len(all))
	}
	for i, m := range all {
		if m.SeqNum != uint32(i+1) || m.UID != uids[i] || !slices.Contains(m.Flags, goimap.FlagSeen) {
			t.Errorf("message %d: seq %d uid %d flags %v", i, m.SeqNum, m.UID, m.Flags)
		}
	}
	cd, err := c.Copy(goimap.UIDSetNum(uids[0], uids[1]), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Archive", &goimap.StatusOptions{NumMessages: true, UIDValidity: true, UIDNext: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || cd.UIDValidity != st.UIDValidity {
		t.Errorf("after COPY: %+v, copyuid %+v", st, cd)
	}
	if src, _ := cd.SourceUIDs.Nums(); !slices.Equal(src, uids[:2]) {
		t.Errorf("COPYUID source %v", cd.SourceUIDs)
	}
	if dst, _ := cd.DestUIDs.Nums(); len(dst) != 2 || dst[0] >= dst[1] {
		t.Errorf("COPYUID dest %v", cd.DestUIDs)
	}
	md, err := c.Move(goimap.UIDSetNum(uids[2]), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.UIDValidity == 0 || md.SourceUIDs.String() != goimap.UIDSetNum(uids[2]).String() {
		t.Errorf("MOVE COPYUID %+v", md)
	}
	if n := c.Mailbox().NumMessages; n != 3 {
		t.Errorf("after MOVE the client counts %d", n)
	}
	if _, err := c.Move(goimap.SeqSetNum(1), "Nope").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("MOVE to a missing mailbox: %v", err)
	}
	// Mark 1 and 2 deleted, UID EXPUNGE only the first.
	if _, err := c.Store(goimap.SeqSetNum(1, 2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	seqs, err := c.UIDExpunge(goimap.UIDSetNum(uids[0])).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint32{1}) {
		t.Errorf("UID EXPUNGE expunged %v", seqs)
	}
	seqs, err = c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint32{1}) {
		t.Errorf("EXPUNGE expunged %v", seqs)
	}
	left, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].UID != uids[3] {
		t.Errorf("left %+v", left)
	}
	// CLOSE expunges silently (RFC 9051 6.4.1).
	if _, err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status("INBOX", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("INBOX after CLOSE: %+v %v", st, err)
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.chunk = 2 // several store reads per SEARCH
	c := e.dial("alice@example.org", nil)
	appendMsg(t, c, "INBOX", sampleMessage, nil)                                                                                                 // 1
	appendMsg(t, c, "INBOX", textMessage("Lunch plans", "Shall we meet at noon?"), &goimap.AppendOptions{Flags: []goimap.Flag{goimap.FlagSeen}}) // 2
	b64 := "From: Dave <dave@example.com>\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\nX-Ticket: T-4242\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nU2VjcmV0IHBhc3N3b3JkIGluc2lkZQ==\r\n"
	appendMsg(t, c, "INBOX", b64, nil) // 3
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		c    goimap.SearchCriteria
		want []uint32
	}{
		{"subject", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "quarterly"}}}, []uint32{1}},
		{"subject decoded", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "résumé"}}}, []uint32{3}},
		{"from", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "From", Value: "carol@"}}}, []uint32{2}},
		{"from name", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "From", Value: "alice example"}}}, []uint32{1}},
		{"to", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "To", Value: "bob@"}}}, []uint32{1}},
		{"header exists", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "X-Ticket", Value: ""}}}, []uint32{3}},
		{"header", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "X-Ticket", Value: "4242"}}}, []uint32{3}},
		{"body base64", goimap.SearchCriteria{Body: []string{"PASSWORD"}}, []uint32{3}},
		{"body utf8", goimap.SearchCriteria{Body: []string{"café"}}, []uint32{1}},
		{"body not in header", goimap.SearchCriteria{Body: []string{"Lunch"}}, nil},
		{"text in header", goimap.SearchCriteria{Text: []string{"Lunch"}}, []uint32{2}},
		{"unseen", goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}, []uint32{1, 3}},
		{"or", goimap.SearchCriteria{Or: [][2]goimap.SearchCriteria{{{Body: []string{"noon"}}, {Body: []string{"secret"}}}}}, []uint32{2, 3}},
		{"not", goimap.SearchCriteria{Not: []goimap.SearchCriteria{{Body: []string{"noon"}}}}, []uint32{1, 3}},
		{"larger", goimap.SearchCriteria{Larger: 400}, []uint32{1}},
		{"seqset", goimap.SearchCriteria{SeqNum: []goimap.SeqSet{goimap.SeqSetNum(2, 3)}}, []uint32{2, 3}},
		{"since", goimap.SearchCriteria{Since: time.Now().Add(-48 * time.Hour)}, []uint32{1, 2, 3}},
		{"before", goimap.SearchCriteria{Before: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil},
		{"sentbefore", goimap.SearchCriteria{SentBefore: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}, []uint32{1, 3}},
		// Without a Date: header the sent date is the epoch, as in Dovecot.
		{"senton, no date", goimap.SearchCriteria{SentSince: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), SentBefore: time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)}, []uint32{3}},
		{"sentsince", goimap.SearchCriteria{SentSince: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}, []uint32{2}},
	}
	for _, tc := range cases {
		data, err := c.Search(&tc.c, nil).Wait()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := data.AllSeqNums(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// UID SEARCH with ESEARCH options.
	data, err := c.UIDSearch(&goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}, &goimap.SearchOptions{ReturnCount: true, ReturnMin: true, ReturnMax: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.Count != 2 || data.Min != 1 || data.Max != 3 {
		t.Errorf("ESEARCH %+v", data)
	}
}

// Another user's folders are unreachable under any spelling (DESIGN.md §2 invariant 7).
func TestIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	bob := e.principal("bob@example.org")
	if _, err := e.st.CreateFolder(ctx, bob, 0, "Secret", store.ClassMail); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Deliver(ctx, bob, 0, []byte(textMessage("for bob only", "x")), store.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	c := e.dial("alice@example.org", nil)
	appendMsg(t, c, "INBOX", textMessage("mine", "x"), nil)
	names := []string{"Secret", "secret", "/Secret", "bob@example.org/Secret", "bob/Secret", "../bob@example.org/Secret",
		"#shared/bob/Secret", "~bob/Secret", "Other Users/bob/Secret", "user/bob/Secret", "INBOX/../Secret", "Secret/", "Secret//"}
	for _, n := range names {
		if _, err := c.Select(n, nil).Wait(); err == nil {
			t.Errorf("SELECT %q succeeded", n)
		}
		if _, err := c.Status(n, &goimap.StatusOptions{NumMessages: true}).Wait(); err == nil {
			t.Errorf("STATUS %q succeeded", n)
		}
		cmd := c.Append(n, 3, nil)
		cmd.Write([]byte("x\r\n"))
		cmd.Close()
		if _, err := cmd.Wait(); err == nil {
			t.Errorf("APPEND %q succeeded", n)
		}
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := c.Copy(goimap.SeqSetNum(1), n).Wait(); err == nil {
			t.Errorf("COPY to %q succeeded", n)
		}
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		if strings.Contains(strings.ToLower(b.Mailbox), "secret") {
			t.Errorf("LIST shows %q", b.Mailbox)
		}
	}
	// Bob's INBOX still has only his message; alice's INBOX only hers.
	st, err := e.st.FolderStatus(ctx, bob, mustFolder(t, e.st, bob, "INBOX").ID)
	if err != nil || st.Messages != 1 {
		t.Errorf("bob's INBOX: %+v %v", st, err)
	}
	if n := c.Mailbox().NumMessages; n != 1 {
		t.Errorf("alice's INBOX shows %d messages", n)
	}
}

func mustFolder(t *testing.T, st *store.Store, p store.Principal, path string) store.Folder {
	t.Helper()
	f, err := st.FolderByPath(context.Background(), p, path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMailboxManagement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial("alice@example.org", nil)
	if err := c.Create("Projects/2026/Q1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Projects", nil).Wait(); err == nil || !strings.Contains(err.Error(), "ALREADYEXISTS") {
		t.Errorf("CREATE existing: %v", err)
	}
	if err := c.Create("inbox", nil).Wait(); err == nil {
		t.Error("CREATE inbox succeeded")
	}
	appendMsg(t, c, "Projects/2026/Q1", textMessage("plan", "x"), nil)
	if err := c.Rename("Projects", "Work/Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Work/Projects/2026/Q1", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Fatalf("renamed child: %+v %v", st, err)
	}
	if _, err := c.Status("Projects/2026/Q1", &goimap.StatusOptions{NumMessages: true}).Wait(); err == nil || !strings.Contains(err.Error(), "NONEXISTENT") {
		t.Errorf("old name still there: %v", err)
	}
	if err := c.Subscribe("Work/Projects").Wait(); err != nil {
		t.Fatal(err)
	}
	subs, err := c.List("", "*", &goimap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var subNames []string
	for _, b := range subs {
		subNames = append(subNames, b.Mailbox)
	}
	if !slices.Contains(subNames, "Work/Projects") {
		t.Errorf("subscribed: %v", subNames)
	}
	if err := c.Unsubscribe("Work/Projects").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Work/Projects").Wait(); err == nil || !strings.Contains(err.Error(), "HASCHILDREN") {
		t.Errorf("DELETE with children: %v", err)
	}
	if err := c.Delete("Work/Projects/2026/Q1").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("DELETE INBOX succeeded")
	}
	if err := c.Delete("Trash").Wait(); err == nil {
		t.Error("DELETE of a role folder succeeded")
	}
	kids, err := c.List("Work/", "%", nil).Collect()
	if err != nil || len(kids) != 1 || kids[0].Mailbox != "Work/Projects" {
		t.Errorf("LIST Work/ %%: %+v %v", kids, err)
	}
	// Renaming INBOX moves its messages and leaves it empty (RFC 9051 6.3.6).
	appendMsg(t, c, "INBOX", textMessage("old", "x"), nil)
	if err := c.Rename("INBOX", "Old Inbox", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status("Old Inbox", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("renamed inbox: %+v %v", st, err)
	}
	st, err = c.Status("INBOX", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("INBOX after rename: %+v %v", st, err)
	}
}

// Shutdown wakes an IDLEing session, which says BYE, and returns promptly.
func TestShutdownWakesIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial("alice@example.org", nil)
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Idle(); err != nil {
		t.Fatal(err)
	}
	b := e.dial("alice@example.org", nil) // between commands
	_ = b
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	select {
	case <-a.Closed():
	case <-time.After(2 * time.Second):
		t.Fatal("idling client not disconnected")
	}
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
}

// Changes made over IMAP carry the origin "imap/<cid>" on the change feed, so other
// front ends can tell them apart.
func TestFeedOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.st.Feed().Subscribe(e.acct["alice@example.org"].ID)
	defer sub.Close()
	c := e.dial("alice@example.org", nil)
	appendMsg(t, c, "INBOX", textMessage("x", "y"), nil)
	select {
	case <-sub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("no change published")
	}
	changes, _ := sub.Drain()
	if len(changes) == 0 || !strings.HasPrefix(changes[0].Origin, "imap/c") {
		t.Errorf("changes %+v", changes)
	}
}
