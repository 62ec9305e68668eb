package imap

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/store"
)

func goimapSeq(n ...uint32) goimap.SeqSet { return goimap.SeqSetNum(n...) }

func deletedFlag() *goimap.StoreFlags {
	return &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}
}

// raw is a line-level IMAP connection for checking the exact wire form.
type raw struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func (e *env) raw() *raw {
	e.t.Helper()
	return dialRaw(e.t, e.addr)
}

// dialRaw connects to addr and reads the greeting; the connection belongs to t.
func dialRaw(t testing.TB, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	r.line() // greeting
	return r
}

func (r *raw) line() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return l
}

// expect sends cmd and checks that the answer contains each of want, and none of the
// texts that follow a "!".
func (r *raw) expect(cmd string, want ...string) {
	r.t.Helper()
	got := r.cmd("%s", cmd)
	for _, w := range want {
		if absent, ok := strings.CutPrefix(w, "!"); ok && strings.Contains(got, absent) || !ok && !strings.Contains(got, w) {
			r.t.Errorf("C: %s\nS: %s\nwant %q", cmd, got, w)
		}
	}
}

// cmd sends a command and returns everything up to and including its tagged response.
func (r *raw) cmd(format string, args ...any) string {
	r.t.Helper()
	r.tag++
	tag := fmt.Sprintf("t%d", r.tag)
	fmt.Fprintf(r.c, tag+" "+format+"\r\n", args...)
	var b strings.Builder
	for {
		l := r.line()
		b.WriteString(l)
		if strings.HasPrefix(l, tag+" ") {
			return b.String()
		}
	}
}

func TestWireForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.raw()
	for _, c := range []struct{ cmd, want string }{
		{"CAPABILITY", "AUTH=PLAIN"},
		{`LOGIN alice@example.org "` + testPassword + `"`, "APPENDLIMIT=1048576"},
		{`LIST "" ""`, `* LIST (\Noselect) "/" ""`},
		{`LSUB "" "*"`, `* LSUB (\HasNoChildren \Sent \Subscribed) "/" "Sent"`},
		{`LIST "" "*" RETURN (SPECIAL-USE CHILDREN)`, `* LIST (\HasNoChildren \Trash) "/" "Trash"`},
		{`STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE DELETED RECENT)`, `* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UNSEEN 0 DELETED 0 SIZE 0 RECENT 0)`},
		{`SELECT INBOX`, `[PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft \*)]`},
		{`EXAMINE Sent`, `OK [READ-ONLY]`},
		{`FETCH 1:* FLAGS`, `OK FETCH`},
		{`EXPUNGE`, `NO [CANNOT]`},
		{`CLOSE`, `OK CLOSE`},
		{`EXAMINE Sent`, `OK [READ-ONLY]`},
		{`NAMESPACE`, `* NAMESPACE (("" "/")) NIL NIL`},
		{`UNSELECT`, `OK UNSELECT`},
		{`ENABLE IMAP4rev2`, `* ENABLED IMAP4rev2`},
		{`SELECT inbox`, `* LIST () "/" INBOX`},        // RFC 9051 6.3.2: rev2 SELECT names the mailbox
		{`UID COPY 999 Sent`, "OK COPY completed\r\n"}, // nothing copied: no COPYUID (RFC 4315 3)
		{`COPY 1:* Sent`, "OK COPY completed\r\n"},
		{`UID MOVE 999 Sent`, "OK UID MOVE completed\r\n"},
		{`STATUS "Contacts" (MESSAGES)`, `NO [NONEXISTENT]`},
		{`CREATE "Archive"`, `NO [ALREADYEXISTS]`},
		{`CREATE "a*b"`, `NO [CANNOT]`},
		{`CREATE "x//y"`, `NO [CANNOT]`},
		{`CREATE "Special" (USE (\Flagged))`, `NO [USEATTR]`},
		{`CREATE "Caf&AOk-/Sub"`, `OK CREATE`},                 // modified UTF-7 (RFC 3501 5.1.3)
		{`LIST "" "Caf*"`, `* LIST (\HasChildren) "/" "Café"`}, // rev2 enabled: UTF-8
		{`SUBSCRIBE "Café/Sub"`, `OK SUBSCRIBE`},
		{`UNSUBSCRIBE "Café"`, `OK UNSUBSCRIBE`},
		{`UNSUBSCRIBE "Gone"`, `OK UNSUBSCRIBE`}, // no such folder: subscribed to nothing
		{`SUBSCRIBE "Gone"`, `NO [NONEXISTENT]`},
		{`LIST (SUBSCRIBED RECURSIVEMATCH) "" "Caf*"`, `* LIST (\HasChildren) "/" "Café" (CHILDINFO ("SUBSCRIBED"))`},
		{`LOGOUT`, `* BYE`},
	} {
		r.expect(c.cmd, c.want)
	}
	// An IMAP4rev1 session sees the name in modified UTF-7.
	r1 := e.raw()
	r1.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	if got := r1.cmd(`LIST "" "Caf*"`); !strings.Contains(got, `* LIST (\HasChildren) "/" "Caf&AOk-"`) {
		t.Errorf("rev1 LIST: %s", got)
	}
	if _, err := e.st.FolderByPath(context.Background(), e.principal("alice@example.org"), "Café/Sub"); err != nil {
		t.Errorf("the UTF-7 name was not stored as UTF-8: %v", err)
	}
	if _, err := e.st.FolderByPath(context.Background(), e.principal("alice@example.org"), "x"); err == nil {
		t.Error(`CREATE "x//y" half-created "x"`)
	}
}

// \Recent for IMAP4rev1 sessions (RFC 3501 2.3.2): a new message is recent in exactly
// one session, the first to learn of it.
func TestRecentRev1(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.raw(), e.raw()
	login := `LOGIN alice@example.org "` + testPassword + `"`
	a.cmd(login)
	b.cmd(login)
	deliver := func(subject string) {
		t.Helper()
		if _, err := e.st.Deliver(context.Background(), e.principal("alice@example.org"), 0, []byte(textMessage(subject, "x")), store.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a.expect("SELECT INBOX", "* 0 RECENT")
	deliver("new")
	a.expect("NOOP", "* 1 EXISTS", "* 1 RECENT")
	a.expect("FETCH 1 FLAGS", `\Recent`)
	a.expect("SEARCH NEW", "* SEARCH 1\r\n")
	b.expect("SELECT INBOX", "* 0 RECENT")
	b.expect("FETCH 1 FLAGS", `!\Recent`)
	b.expect("SEARCH RECENT", "* SEARCH\r\n")

	// Delivered while nobody has the folder selected: recent for a read-only session
	// without being taken, then taken by the next read-write one.
	a.cmd("UNSELECT")
	b.cmd("UNSELECT")
	deliver("while nobody looked")
	a.expect("STATUS INBOX (RECENT)", "RECENT 1)")
	a.expect("EXAMINE INBOX", "* 1 RECENT")
	a.expect("FETCH 2 FLAGS", `\Recent`)
	b.expect("SELECT INBOX", "* 1 RECENT")
	a.expect("STATUS INBOX (RECENT)", "RECENT 0)")
	b.cmd("UNSELECT")
	a.cmd("UNSELECT")

	// The mark is in the store: another server on it (as after a restart) shows what
	// arrived since, and once it has left the folder the first server no longer does.
	deliver("before the restart")
	other := dialRaw(t, e.secondServer(func(*Options) {}))
	other.cmd(login)
	other.expect("SELECT INBOX", "* 1 RECENT")
	other.expect("FETCH 1:* FLAGS", "* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())", "* 3 FETCH (FLAGS (\\Recent))")
	other.cmd("UNSELECT") // the claim is written when the folder's last session leaves
	a.expect("SELECT INBOX", "* 0 RECENT")
}

// Sequence numbers stay in the client's view while an EXPUNGE is pending for it
// (RFC 9051 7.5.1: no EXPUNGE during FETCH, STORE or SEARCH).
func TestSequenceNumbersWithPendingExpunge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.dial("alice@example.org", nil)
	var uids []uint32
	for _, s := range []string{"a", "b", "c"} {
		uids = append(uids, uint32(appendMsg(t, b, "INBOX", textMessage(s, s), nil).UID))
	}
	a := e.raw()
	a.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	a.cmd("SELECT INBOX")
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store(goimapSeq(1), deletedFlag(), nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	got := a.cmd("FETCH 1:* (UID)")
	want := fmt.Sprintf("* 2 FETCH (UID %d)\r\n* 3 FETCH (UID %d)\r\n", uids[1], uids[2])
	if !strings.HasPrefix(got, want) || strings.Contains(got, "EXPUNGE") {
		t.Errorf("FETCH 1:* with a pending expunge:\n%s\nwant prefix\n%s", got, want)
	}
	if got := a.cmd("FETCH * (UID)"); !strings.HasPrefix(got, fmt.Sprintf("* 3 FETCH (UID %d)", uids[2])) {
		t.Errorf("FETCH *: %s", got)
	}
	if got := a.cmd("NOOP"); !strings.Contains(got, "* 1 EXPUNGE") {
		t.Errorf("NOOP: %s", got)
	}
	want = fmt.Sprintf("* 1 FETCH (UID %d)\r\n* 2 FETCH (UID %d)\r\n", uids[1], uids[2])
	if got := a.cmd("FETCH 1:* (UID)"); !strings.HasPrefix(got, want) {
		t.Errorf("FETCH after NOOP:\n%s", got)
	}
}

// IMAP4rev1 SELECT names the first unseen message (RFC 3501 7.1 [UNSEEN n]), as a
// sequence number; IMAP4rev2 dropped it.
func TestSelectFirstUnseen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.principal("alice@example.org")
	for i, fl := range []store.Flags{store.FlagSeen, store.FlagSeen | store.FlagFlagged, 0, 0} {
		if _, err := e.st.Deliver(context.Background(), p, 0, []byte(textMessage(fmt.Sprint(i), "x")), store.DeliverOptions{Flags: fl}); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := e.raw(), e.raw()
	for _, r := range []*raw{r1, r2} {
		r.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	}
	r1.expect("SELECT INBOX", "* OK [UNSEEN 3]")
	r2.cmd("ENABLE IMAP4rev2")
	r2.expect("SELECT INBOX", "!UNSEEN")
	r1.cmd("STORE 1:* +FLAGS.SILENT (\\Seen)")
	r1.expect("SELECT INBOX", "!UNSEEN") // everything seen
}

// SENTON/SENTBEFORE/SENTSINCE compare the Date: header's date as written, whatever
// its zone (RFC 9051 6.4.4 "disregarding time and timezone"), and a message without
// one as sent on 1 January 1970, as Dovecot does.
func TestSearchSentDateAsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.principal("alice@example.org")
	for _, date := range []string{"Tue, 03 Mar 2026 00:30:00 +0100", "Mon, 02 Mar 2026 23:30:00 -0500", ""} {
		raw := "From: a@example.org\r\nSubject: s\r\n"
		if date != "" {
			raw += "Date: " + date + "\r\n"
		}
		if _, err := e.st.Deliver(context.Background(), p, 0, []byte(raw+"\r\nx\r\n"), store.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r := e.raw()
	r.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	r.cmd("SELECT INBOX")
	for _, c := range []struct{ search, want string }{
		{"SENTON 3-Mar-2026", "* SEARCH 1\r\n"},
		{"SENTON 2-Mar-2026", "* SEARCH 2\r\n"},
		{"SENTBEFORE 3-Mar-2026", "* SEARCH 2 3\r\n"},
		{"SENTSINCE 3-Mar-2026", "* SEARCH 1\r\n"},
		{"SENTON 1-Jan-1970", "* SEARCH 3\r\n"},
		{"OR SENTON 3-Mar-2026 SENTON 1-Jan-1970", "* SEARCH 1 3\r\n"},
	} {
		r.expect("SEARCH "+c.search, c.want)
	}
}
