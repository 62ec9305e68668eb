package imap

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unsafe"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// The envelope cache, in the manner of Dovecot's index cache but in memory: each shared
// mailbox view keeps the decoded ENVELOPE (with INTERNALDATE and RFC822.SIZE) of the
// messages FETCH has read, by position parallel to its uids. A (folder, uid)'s content
// never changes (DESIGN.md §2 invariant 3; a move or a replacement makes a new uid), so
// an entry is never stale: entries go only when their uid is expunged (syncFrom), when
// the last session releases the mailbox, or when the server-wide budget evicts the
// whole cache of the least recently used mailbox.

// defaultEnvelopeCache is the server-wide budget when Options.EnvelopeCacheBytes is 0.
const defaultEnvelopeCache = 64 << 20

// cachedMsg is one cached message: its envelope as the library writes it and the two
// other immutable fetch items. Its strings share one allocation, and the address lists
// of a message with at most two addresses (the common From + To) and its first
// In-Reply-To id live inside it, so most entries are two allocations. Sender and
// Reply-To are nil when they equal From: the library then writes From (RFC 9051 7.5.2
// defaults them to From), the same bytes.
type cachedMsg struct {
	env   goimap.Envelope
	idate int64 // INTERNALDATE, Unix seconds
	size  int64 // RFC822.SIZE
	addrs [2]goimap.Address
	irt   [1]string
	// hdr is the message's BODY[HEADER.FIELDS ...] for the field set hdrKey (see
	// viewHeader), when a FETCH asked for one: Thunderbird asks for the same fields
	// every time it lists a folder. hdrKey's bytes are shared by the entries.
	hdrKey string
	hdr    []byte
}

var (
	cachedMsgSize = int64(unsafe.Sizeof(cachedMsg{}))
	addressSize   = int64(unsafe.Sizeof(goimap.Address{}))
	stringSize    = int64(unsafe.Sizeof(""))
)

// bytes estimates an entry's heap: the struct, its strings, the address and id
// arrays that did not fit inside it, and its slot in the mailbox's slice. Size-class
// rounding is left out; BenchmarkEnvelopeCacheHeap measures the real figure.
func (e *cachedMsg) bytes() int64 {
	n := cachedMsgSize + 8 + int64(len(e.env.Subject)+len(e.env.MessageID)+len(e.hdr))
	na := 0
	for _, l := range [][]goimap.Address{e.env.From, e.env.Sender, e.env.ReplyTo, e.env.To, e.env.Cc, e.env.Bcc} {
		na += len(l)
		for _, a := range l {
			n += int64(len(a.Name) + len(a.Mailbox) + len(a.Host))
		}
	}
	if na > len(e.addrs) {
		n += int64(na) * addressSize
	}
	for _, id := range e.env.InReplyTo {
		n += int64(len(id))
	}
	if len(e.env.InReplyTo) > len(e.irt) {
		n += int64(len(e.env.InReplyTo)) * stringSize
	}
	return n
}

func (e *cachedMsg) internalDate() time.Time { return time.Unix(e.idate, 0).UTC() }

// newCachedMsg renders a stored envelope as imapEnvelope does, compactly.
func (s *Server) newCachedMsg(src *message.Envelope, idate time.Time, size int64) *cachedMsg {
	e := &cachedMsg{idate: idate.Unix(), size: size}
	msgID := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(src.MessageID), "<"), ">")
	var ids []string
	for _, id := range strings.Fields(src.InReplyTo) {
		if id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">"); id != "" {
			ids = append(ids, id)
		}
	}
	sender, replyTo := src.Sender, src.ReplyTo
	if len(sender) == 0 || sameAddrs(sender, src.From) {
		sender = nil
	}
	if len(replyTo) == 0 || sameAddrs(replyTo, src.From) {
		replyTo = nil
	}
	lists := [6][]message.Address{src.From, sender, replyTo, src.To, src.Cc, src.Bcc}

	// One string holds every string of the entry; the fields are slices of it.
	n := len(src.Subject) + len(msgID)
	na := 0
	for _, l := range lists {
		na += len(l)
		for _, a := range l {
			n += len(a.Name) + len(a.Mailbox) + len(a.Host)
		}
	}
	for _, id := range ids {
		n += len(id)
	}
	var sb strings.Builder
	sb.Grow(n)
	type span struct{ off, end int }
	add := func(s string) span {
		off := sb.Len()
		sb.WriteString(s)
		return span{off, sb.Len()}
	}
	subj, mid := add(src.Subject), add(msgID)
	spans := make([]span, 0, 3*na+len(ids))
	for _, l := range lists {
		for _, a := range l {
			spans = append(spans, add(a.Name), add(a.Mailbox), add(a.Host))
		}
	}
	for _, id := range ids {
		spans = append(spans, add(id))
	}
	all := sb.String()
	str := func(s span) string { return all[s.off:s.end] }

	e.env.Date = s.compactDate(src.Date)
	e.env.Subject, e.env.MessageID = str(subj), str(mid)
	addrs := e.addrs[:]
	if na > len(e.addrs) {
		addrs = make([]goimap.Address, na)
	}
	dst := [6]*[]goimap.Address{&e.env.From, &e.env.Sender, &e.env.ReplyTo, &e.env.To, &e.env.Cc, &e.env.Bcc}
	k, si := 0, 0
	for li, l := range lists {
		if len(l) == 0 {
			continue
		}
		for range l {
			addrs[k] = goimap.Address{Name: str(spans[si]), Mailbox: str(spans[si+1]), Host: str(spans[si+2])}
			k, si = k+1, si+3
		}
		// Full slice expression: nobody may append into the next list.
		*dst[li] = addrs[k-len(l) : k : k]
	}
	if len(ids) > 0 {
		irt := e.irt[:]
		if len(ids) > len(e.irt) {
			irt = make([]string, len(ids))
		}
		for i := range ids {
			irt[i] = str(spans[si+i])
		}
		e.env.InReplyTo = irt[:len(ids):len(ids)]
	}
	return e
}

// sameAddrs reports whether two address lists render the same (Group is not written).
func sameAddrs(a, b []message.Address) bool {
	return slices.EqualFunc(a, b, func(x, y message.Address) bool {
		return x.Name == y.Name && x.Mailbox == y.Mailbox && x.Host == y.Host
	})
}

// compactDate interns the fixed zone of an envelope date (Server.zones): time.Parse
// makes a new Location for each date with an offset, and the library writes the
// envelope date with the offset only.
func (s *Server) compactDate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	name, off := t.Zone()
	if off == 0 && name == "UTC" {
		return t.UTC()
	}
	loc, ok := s.zones.Load(off)
	if !ok {
		loc, _ = s.zones.LoadOrStore(off, time.FixedZone("", off))
	}
	return t.In(loc.(*time.Location))
}

// reserveCache takes n bytes of the server's budget, or reports false if they do not
// fit.
func (s *Server) reserveCache(n int64) bool {
	for {
		used := s.cacheUsed.Load()
		if used+n > s.cacheBudget {
			return false
		}
		if s.cacheUsed.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// evictCaches drops whole mailboxes' caches, least recently used first and never
// keep's, until need more bytes fit in the budget. Whole mailboxes, because a client
// re-reads a mailbox's envelopes all together (FETCH 1:*), and because it needs no
// per-entry list: an entry costs no more than it must. It takes no mailbox lock while
// holding another.
func (s *Server) evictCaches(keep *mailbox, need int64) {
	type cand struct {
		mb  *mailbox
		use int64
	}
	s.mu.Lock()
	var cands []cand
	for _, mb := range s.mailboxes {
		if mb != keep && mb.cacheBytes.Load() > 0 {
			cands = append(cands, cand{mb, mb.lastUse.Load()})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.use, b.use) })
	for _, c := range cands {
		if s.cacheUsed.Load()+need <= s.cacheBudget {
			return
		}
		c.mb.mu.Lock()
		c.mb.dropCache()
		c.mb.mu.Unlock()
	}
}

// dropCache forgets every cached entry and returns its bytes (mb.mu held).
func (mb *mailbox) dropCache() {
	mb.envs = nil
	mb.srv.cacheUsed.Add(-mb.cacheBytes.Swap(0))
}

// uncache forgets the entry at index i of uids, which is going away (mb.mu held).
func (mb *mailbox) uncache(i int) {
	if i >= len(mb.envs) || mb.envs[i] == nil {
		return
	}
	n := mb.envs[i].bytes()
	mb.cacheBytes.Add(-n)
	mb.srv.cacheUsed.Add(-n)
}

// indexOf finds uid in the view, trying first the index a target had when it was
// resolved (mb.mu held).
func (mb *mailbox) indexOf(hint int, uid uint32) (int, bool) {
	if hint >= 0 && hint < len(mb.uids) && mb.uids[hint] == uid {
		return hint, true
	}
	return slices.BinarySearch(mb.uids, uid)
}

// envsAt is the cache entry at index i of uids, or nil (mb.mu held).
func (mb *mailbox) envsAt(i int) *cachedMsg {
	if i < len(mb.envs) {
		return mb.envs[i]
	}
	return nil
}

// flagItems returns the messages of ts (those still in the view) that pass filter, as
// items carrying only their uid, flags and keywords as the view has them: what SEARCH
// needs for flag, keyword and set keys.
func (mb *mailbox) flagItems(ts []target, filter store.MailFilter) []store.MailItem {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]store.MailItem, 0, len(ts))
	for _, t := range ts {
		i, ok := mb.indexOf(int(t.seq)-1, t.uid)
		if !ok {
			continue
		}
		fl := mb.flags[i]
		if fl&filter.Set != filter.Set || fl&filter.Unset != 0 {
			continue
		}
		var it store.MailItem
		it.UID, it.Flags, it.Keywords = t.uid, fl, mb.itemKW[t.uid]
		out = append(out, it)
	}
	return out
}

// cacheFill stores fresh entries (in uid order, from one FETCH chunk) as far as the
// budget allows; least recently used other mailboxes are evicted first.
func (mb *mailbox) cacheFill(ts []target, entries []*cachedMsg) {
	s := mb.srv
	if s.cacheBudget <= 0 {
		return
	}
	var need int64
	for _, e := range entries {
		if e != nil {
			need += e.bytes()
		}
	}
	if need == 0 {
		return
	}
	mb.mu.Lock()
	// A mailbox whose whole cache would not fit in the budget even alone evicts no
	// other: it takes what is free. Otherwise every FETCH of it would empty the other
	// mailboxes' caches and still miss for its own rest.
	fitsAlone := need/int64(len(entries))*int64(len(mb.uids)) <= s.cacheBudget
	mb.mu.Unlock()
	if s.cacheUsed.Load()+need > s.cacheBudget && fitsAlone {
		s.evictCaches(mb, need)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.gone {
		return
	}
	for j, e := range entries {
		if e == nil {
			continue
		}
		i, ok := mb.indexOf(int(ts[j].seq)-1, ts[j].uid)
		if !ok {
			continue // expunged meanwhile
		}
		if old := mb.envsAt(i); old != nil {
			if e.hdrKey == "" || old.hdrKey == e.hdrKey {
				continue // another session filled it
			}
			// The entry with another header section: it replaces the old one.
			n := old.bytes()
			mb.cacheBytes.Add(-n)
			s.cacheUsed.Add(-n)
			mb.envs[i] = nil
		}
		n := e.bytes()
		if !s.reserveCache(n) {
			return // full: this mailbox stops caching new entries
		}
		if mb.envs == nil {
			mb.envs = make([]*cachedMsg, len(mb.uids))
		}
		mb.envs[i] = e
		mb.cacheBytes.Add(n)
	}
}

// systemFlagLists are the FLAGS lists of messages without keywords, one per
// combination of system flags, shared read-only (capacity-capped, so appending
// \Recent copies).
var systemFlagLists = func() [32][]goimap.Flag {
	var out [32][]goimap.Flag
	for i := range out {
		l := imapFlags(store.Flags(i), nil)
		out[i] = l[:len(l):len(l)]
	}
	return out
}()
