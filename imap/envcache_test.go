package imap

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse/gatehouse/store"
)

// secondServer serves e's store with other options, for comparing answers.
func (e *env) secondServer(opt func(*Options)) string {
	e.t.Helper()
	opts := Options{Store: e.st, Directory: e.dir, MaxMessageSize: 1 << 20, Hostname: "mail.example.org"}
	opt(&opts)
	srv := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	e.t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// checkCache verifies the cache's bookkeeping: entries parallel to the uids, each
// mailbox's bytes the sum of its entries, the server's the sum of its mailboxes', and
// within the budget.
func checkCache(t *testing.T, srv *Server) {
	t.Helper()
	srv.mu.Lock()
	mbs := make([]*mailbox, 0, len(srv.mailboxes))
	for _, mb := range srv.mailboxes {
		mbs = append(mbs, mb)
	}
	srv.mu.Unlock()
	var total int64
	for _, mb := range mbs {
		mb.mu.Lock()
		var sum int64
		for _, e := range mb.envs {
			if e != nil {
				sum += e.bytes()
			}
		}
		if len(mb.flags) != len(mb.uids) || (mb.envs != nil && len(mb.envs) != len(mb.uids)) {
			t.Errorf("folder %d: %d uids, %d flags, %d entries", mb.key.folder, len(mb.uids), len(mb.flags), len(mb.envs))
		}
		if got := mb.cacheBytes.Load(); got != sum {
			t.Errorf("folder %d: cacheBytes %d, entries take %d", mb.key.folder, got, sum)
		}
		mb.mu.Unlock()
		total += sum
	}
	if got := srv.cacheUsed.Load(); got != total || got > srv.cacheBudget {
		t.Errorf("cacheUsed %d, entries take %d, budget %d", got, total, srv.cacheBudget)
	}
}

// sharedMailbox returns the server's view of a folder, or nil.
func sharedMailbox(srv *Server, p store.Principal, folder int64) *mailbox {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.mailboxes[mailboxKey{p.AccountID, folder}]
}

func flagsOfUID(msgs []*imapclient.FetchMessageBuffer, uid goimap.UID) [][]goimap.Flag {
	var out [][]goimap.Flag
	for _, m := range msgs {
		if m.UID == uid {
			out = append(out, m.Flags)
		}
	}
	return out
}

// FETCH FLAGS answered from the view shows another session's STORE at once, in the
// FETCH response itself (RFC 9051 7.5.2), keywords included.
func TestFetchFlagsAfterOtherSessionStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial("alice@example.org", nil)
	b := e.dial("alice@example.org", nil)
	var uids []goimap.UID
	for _, s := range []string{"one", "two", "three"} {
		uids = append(uids, appendMsg(t, a, "INBOX", textMessage(s, s), nil).UID)
	}
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	opts := &goimap.FetchOptions{UID: true, Flags: true, Envelope: true}
	if _, err := b.Fetch(all, opts).Collect(); err != nil { // warms the cache
		t.Fatal(err)
	}
	for round, op := range []*goimap.StoreFlags{
		{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged, "$Work"}, Silent: true},
		{Op: goimap.StoreFlagsDel, Flags: []goimap.Flag{goimap.FlagFlagged}, Silent: true},
	} {
		if err := a.Store(goimap.UIDSetNum(uids[1]), op, nil).Close(); err != nil {
			t.Fatal(err)
		}
		msgs, err := b.Fetch(all, opts).Collect()
		if err != nil {
			t.Fatal(err)
		}
		want := []goimap.Flag{goimap.FlagFlagged, "$Work"}
		if round == 1 {
			want = []goimap.Flag{"$Work"}
		}
		got := flagsOfUID(msgs, uids[1])
		if len(got) == 0 {
			t.Fatalf("round %d: no FETCH for uid %d", round, uids[1])
		}
		for _, fl := range got {
			if !slices.Equal(fl, want) {
				t.Errorf("round %d: FETCH FLAGS of uid %d: %v, want %v (all: %v)", round, uids[1], fl, want, got)
			}
		}
		for _, u := range []goimap.UID{uids[0], uids[2]} {
			for _, fl := range flagsOfUID(msgs, u) {
				if len(fl) != 0 {
					t.Errorf("round %d: uid %d has flags %v", round, u, fl)
				}
			}
		}
	}
	checkCache(t, e.srv)
}

// After another session's EXPUNGE the shared cache holds nothing for the gone uid and
// FETCH answers the rest right, every envelope with its own message.
func TestFetchAfterExpungeByOtherSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.chunk = 3
	a := e.dial("alice@example.org", nil)
	b := e.dial("alice@example.org", nil)
	subjects := map[goimap.UID]string{}
	var uids []goimap.UID
	for i := range 8 {
		s := fmt.Sprintf("message %d", i)
		u := appendMsg(t, a, "INBOX", textMessage(s, s), nil).UID
		subjects[u] = s
		uids = append(uids, u)
	}
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	opts := &goimap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true}
	if _, err := b.Fetch(all, opts).Collect(); err != nil {
		t.Fatal(err)
	}
	inbox, err := e.st.FolderByRole(context.Background(), e.principal("alice@example.org"), store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	mb := sharedMailbox(e.srv, e.principal("alice@example.org"), inbox.ID)
	mb.mu.Lock()
	cached := 0
	for _, en := range mb.envs {
		if en != nil {
			cached++
		}
	}
	mb.mu.Unlock()
	if cached != len(uids) {
		t.Fatalf("%d of %d envelopes cached", cached, len(uids))
	}
	gone := []goimap.UID{uids[0], uids[3], uids[4], uids[7]}
	var gs goimap.UIDSet
	for _, u := range gone {
		gs.AddNum(u)
	}
	if err := a.Store(gs, deletedFlag(), nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	mb.mu.Lock()
	for _, u := range gone {
		if _, ok := slices.BinarySearch(mb.uids, uint32(u)); ok {
			t.Errorf("uid %d still in the view", u)
		}
	}
	if len(mb.envs) != len(mb.uids) {
		t.Errorf("%d entries for %d uids", len(mb.envs), len(mb.uids))
	}
	for i, en := range mb.envs {
		if en != nil && en.env.Subject != subjects[goimap.UID(mb.uids[i])] {
			t.Errorf("uid %d has the entry of %q", mb.uids[i], en.env.Subject)
		}
	}
	mb.mu.Unlock()
	checkCache(t, e.srv)
	// b has not been told of the EXPUNGEs yet: the library sends them after its FETCH.
	for range 2 {
		msgs, err := b.Fetch(all, opts).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var got []goimap.UID
		for _, m := range msgs {
			if m.Envelope == nil && slices.Contains(gone, m.UID) {
				continue // the \Deleted update queued for b, sent after its FETCH
			}
			got = append(got, m.UID)
			if m.Envelope == nil || m.Envelope.Subject != subjects[m.UID] {
				t.Errorf("uid %d: envelope %+v, want subject %q", m.UID, m.Envelope, subjects[m.UID])
			}
			if m.RFC822Size == 0 || m.InternalDate.IsZero() {
				t.Errorf("uid %d: size %d, internal date %v", m.UID, m.RFC822Size, m.InternalDate)
			}
		}
		want := []goimap.UID{uids[1], uids[2], uids[5], uids[6]}
		if !slices.Equal(got, want) {
			t.Errorf("FETCH after EXPUNGE: uids %v, want %v", got, want)
		}
	}
}

// A cached FETCH answers byte for byte what the store path answers, for every message
// of the corpus: on the first FETCH (misses, filling the cache), from the cache, and
// with the cache turned off. The store path is forced by asking for a header section
// too, whose item is cut from its answer (fetchOne writes it last).
func TestEnvelopeCacheWire(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(o *Options) {})
	e.srv.chunk = 4
	files, _ := filepath.Glob("../message/testdata/*.eml")
	if len(files) == 0 {
		t.Skip("no corpus")
	}
	p := e.principal("alice@example.org")
	ctx := context.Background()
	// What the corpus lacks: a Sender and a Reply-To of their own, a Reply-To equal to
	// From, more addresses than fit inline, a group, several In-Reply-To ids, other
	// zones.
	extra := []string{
		"From: Ann <ann@example.org>\r\nSender: Sec <sec@example.org>\r\nReply-To: List <list@example.org>, ann@example.org\r\n" +
			"To: a@example.org, B <b@example.org>, undisclosed-recipients:;\r\nCc: Team: c@example.org, d@example.org;\r\nBcc: e@example.org\r\n" +
			"Subject: many\r\nDate: Tue, 03 Mar 2026 09:00:00 -0800\r\nIn-Reply-To: <x1@example.org> <x2@example.org>\r\nMessage-ID: <many@example.org>\r\n\r\nbody\r\n",
		"From: Ann <ann@example.org>\r\nReply-To: Ann <ann@example.org>\r\nSender: Ann <ann@example.org>\r\nSubject: same\r\n" +
			"Date: Tue, 03 Mar 2026 09:00:00 +0530\r\n\r\nbody\r\n",
		"Subject: nothing else\r\n\r\nbody\r\n",
		// Quoting and literals: escapes, a subject over the library's 4,096-byte quoted
		// limit, 8-bit address parts (quoted only under UTF8=ACCEPT or IMAP4rev2).
		"From: \"Back\\\\slash \\\"Q\\\"\" <q@example.org>\r\nSubject: say \"hi\" \\ there\r\nMessage-ID: <a\"b@example.org>\r\n\r\nbody\r\n",
		"From: a@example.org\r\nSubject: " + strings.Repeat("long ", 1000) + "\r\n\r\nbody\r\n",
		"From: J\xc3\xb6rg <j\xc3\xb6rg@ex\xc3\xa4mple.org>\r\nTo: \xe5\xbc\xa0\xe4\xb8\x89@example.org\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\nbody\r\n",
	}
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(extra) {
			if _, err := e.st.Deliver(ctx, p, 0, []byte(extra[i]), store.DeliverOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		opts := store.DeliverOptions{InternalDate: time.Date(2026, 3, 1, 10, i, 0, 0, time.FixedZone("", 3600))}
		if i%3 == 0 {
			opts.Flags = store.FlagSeen | store.FlagAnswered
		}
		if i%4 == 1 {
			opts.Keywords = []string{"$Work"}
		}
		if _, err := e.st.Deliver(ctx, p, 0, raw, opts); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	off := e.secondServer(func(o *Options) { o.EnvelopeCacheBytes = -1 })
	library := e.secondServer(func(o *Options) { o.LibraryFetchWriter = true })
	login := `LOGIN alice@example.org "` + testPassword + `"`
	const items = "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE"
	const cut = ` BODY[HEADER.FIELDS ("X-NONE")] {`
	tagged := func(s string) string { // drops the tagged completion
		i := strings.LastIndex(strings.TrimSuffix(s, "\r\n"), "\r\n")
		return s[:i+2]
	}
	// \Recent (RFC 3501 2.3.2) taken beforehand, as by a first read-write selection:
	// it would otherwise differ between the sessions compared.
	inbox, err := e.st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ClaimRecent(ctx, p, inbox.ID, inbox.UIDNext-1); err != nil {
		t.Fatal(err)
	}
	// Once as an IMAP4rev1 client, once with IMAP4rev2 enabled (8-bit text quoted).
	for _, enable := range []string{"", "ENABLE IMAP4rev2"} {
		cached, uncached, lib := e.raw(), dialRaw(e.t, off), dialRaw(e.t, library)
		for _, r := range []*raw{cached, uncached, lib} {
			r.cmd(login)
			if enable != "" {
				r.cmd(enable)
			}
			r.cmd("SELECT INBOX")
		}
		// The store path (two sections: not answered from the view), with each
		// ` BODY[HEADER.FIELDS ("X-NONE")] {n}` CRLF and its n bytes cut out.
		storePath := func(items string) string {
			t.Helper()
			answer := cached.cmd("FETCH 1:* (%s BODY.PEEK[HEADER.FIELDS (X-NONE)] BODY.PEEK[HEADER.FIELDS (X-NONE)])", items)
			var want strings.Builder
			for {
				i := strings.Index(answer, cut)
				if i < 0 {
					break
				}
				want.WriteString(answer[:i])
				rest := answer[i+len(cut):]
				var n int
				if _, err := fmt.Sscanf(rest, "%d}\r\n", &n); err != nil {
					t.Fatalf("store path answer: %v", err)
				}
				answer = rest[strings.Index(rest, "\r\n")+2+n:]
			}
			want.WriteString(answer)
			text := tagged(want.String())
			if n := strings.Count(text, " FETCH ("); n != len(files)+len(extra) {
				t.Fatalf("the store path answered %d messages of %d:\n%s", n, len(files)+len(extra), text)
			}
			return text
		}
		// Thunderbird's list of a folder, whose header fields the cache keeps too, and
		// another field set after it (the entries are replaced), then the first again.
		const thunderbird = `UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)]`
		const notReceived = `UID FLAGS BODY.PEEK[HEADER.FIELDS.NOT (Received DKIM-Signature)]`
		for _, its := range []string{items, thunderbird, notReceived, thunderbird, items} {
			wantText := storePath(its)
			if its == items && (!strings.Contains(wantText, "{4999}\r\n") || !strings.Contains(wantText, `"say \"hi\" \\ there"`)) {
				t.Errorf("the corpus no longer makes a literal or an escape:\n%s", wantText)
			}
			for _, c := range []struct {
				name string
				r    *raw
			}{{"first (misses)", cached}, {"cached", cached}, {"again", cached}, {"cache off", uncached}, {"library writer", lib}} {
				if got := tagged(c.r.cmd("FETCH 1:* (%s)", its)); got != wantText {
					t.Errorf("%s %s %s:\n%s\nwant\n%s", enable, c.name, its, got, wantText)
				}
			}
		}
	}
	checkCache(t, e.srv)
	if e.srv.cacheUsed.Load() == 0 {
		t.Error("nothing was cached")
	}
}

// A budget smaller than a mailbox: FETCH stays complete and correct, the cache stays
// within the budget, another mailbox's FETCH evicts the least recently used cache,
// and releasing a mailbox returns its bytes.
func TestEnvelopeCacheBudget(t *testing.T) {
	t.Parallel()
	const budget = 4000 // about eight of these messages' entries
	e := newEnvWith(t, func(o *Options) { o.EnvelopeCacheBytes = budget })
	e.srv.chunk = 5
	a := e.dial("alice@example.org", nil)
	if err := a.Create("Other", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// INBOX is larger than the budget, Other fits in it.
	subjects := map[string]map[goimap.UID]string{"INBOX": {}, "Other": {}}
	count := map[string]int{"INBOX": 30, "Other": 4}
	for _, mbox := range []string{"INBOX", "Other"} {
		for i := range count[mbox] {
			s := fmt.Sprintf("%s message %d with a longer subject line", mbox, i)
			subjects[mbox][appendMsg(t, a, mbox, textMessage(s, s), nil).UID] = s
		}
	}
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	opts := &goimap.FetchOptions{UID: true, Flags: true, Envelope: true}
	fetchAll := func(c *imapclient.Client, mbox string) {
		t.Helper()
		msgs, err := c.Fetch(all, opts).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != count[mbox] {
			t.Errorf("%s: %d messages", mbox, len(msgs))
		}
		for _, m := range msgs {
			if m.Envelope == nil || m.Envelope.Subject != subjects[mbox][m.UID] {
				t.Errorf("%s uid %d: envelope %+v", mbox, m.UID, m.Envelope)
			}
		}
		checkCache(t, e.srv)
	}
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		fetchAll(a, "INBOX")
	}
	used := e.srv.cacheUsed.Load()
	if used == 0 || used > budget {
		t.Fatalf("cache holds %d bytes, budget %d", used, budget)
	}
	// A second session in another mailbox: INBOX's cache (less recently used) goes.
	b := e.dial("alice@example.org", nil)
	if _, err := b.Select("Other", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fetchAll(b, "Other")
	p := e.principal("alice@example.org")
	inbox, _ := e.st.FolderByRole(context.Background(), p, store.RoleInbox)
	if n := sharedMailbox(e.srv, p, inbox.ID).cacheBytes.Load(); n != 0 {
		t.Errorf("INBOX keeps %d bytes after Other's FETCH", n)
	}
	// INBOX, which cannot fit, takes only what is free: Other keeps its cache.
	other, _ := e.st.FolderByPath(context.Background(), p, "Other")
	otherBytes := sharedMailbox(e.srv, p, other.ID).cacheBytes.Load()
	if otherBytes == 0 {
		t.Fatal("Other's FETCH cached nothing")
	}
	for range 2 {
		fetchAll(a, "INBOX")
	}
	if n := sharedMailbox(e.srv, p, other.ID).cacheBytes.Load(); n != otherBytes {
		t.Errorf("Other holds %d bytes after INBOX's FETCHes, had %d: the larger-than-budget INBOX evicted it", n, otherBytes)
	}
	// Releasing both mailboxes returns every byte.
	for _, c := range []*imapclient.Client{a, b} {
		if err := c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.cacheUsed.Load(); n != 0 {
		t.Errorf("%d bytes still counted after the mailboxes were released", n)
	}
}

// Sessions fetching while others change the mailbox (run with -race): every answer is
// an envelope of its own message, and the bookkeeping holds afterwards.
func TestEnvelopeCacheConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(o *Options) { o.EnvelopeCacheBytes = 6000 })
	e.srv.chunk = 4
	w := e.dial("alice@example.org", nil)
	// A fresh INBOX: message i gets uid i+1, which a fetcher may see before APPEND
	// has answered.
	subject := func(u goimap.UID) string { return fmt.Sprintf("message %d", u-1) }
	add := func(i int) {
		s := fmt.Sprintf("message %d", i)
		if u := appendMsg(t, w, "INBOX", textMessage(s, s), nil).UID; subject(u) != s {
			t.Fatalf("message %d got uid %d", i, u)
		}
	}
	for i := range 20 {
		add(i)
	}
	if _, err := w.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		r := e.dial("alice@example.org", nil)
		if _, err := r.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
			for {
				select {
				case <-done:
					return
				default:
				}
				msgs, err := r.Fetch(all, &goimap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range msgs {
					if m.Envelope != nil && m.Envelope.Subject != subject(m.UID) {
						t.Errorf("uid %d: subject %q, want %q", m.UID, m.Envelope.Subject, subject(m.UID))
					}
				}
			}
		}()
	}
	for i := 20; i < 40; i++ {
		add(i)
		if err := w.Store(goimap.SeqSetNum(1, 3), deletedFlag(), nil).Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Expunge().Collect(); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	checkCache(t, e.srv)
}
