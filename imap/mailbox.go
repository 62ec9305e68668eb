package imap

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/store"
)

type mailboxKey struct{ account, folder int64 }

// mailbox is the server view of one selected folder, shared by every session of this
// process that has it selected: its uids in order (sequence number = index + 1), the
// modseq they are valid at and the keywords announced so far. It is brought forward by
// sync, which applies store.MailFlagDelta (Delta, narrowed to flags) since that modseq and queues the resulting
// EXPUNGE/FETCH/FLAGS/EXISTS updates on the library's tracker, so that each session
// sees every change exactly once whichever session or protocol made it.
//
// A goroutine per mailbox listens to the store's change feed (level-triggered: drain,
// then re-query) and syncs; nothing polls on a timer (DESIGN.md §2 invariant 5).
type mailbox struct {
	srv     *Server
	key     mailboxKey
	p       store.Principal
	tracker *imapserver.MailboxTracker
	refs    int // under srv.mu

	mu       sync.Mutex
	uids     []uint32
	flags    []store.Flags       // parallel to uids: each message's system flags at modseq
	itemKW   map[uint32][]string // each message's keywords at modseq, if it has any
	modseq   int64
	keywords []string
	gone     bool                       // the folder was deleted
	watchers map[chan struct{}]struct{} // IDLE sessions, kicked after updates are queued

	// \Recent (RFC 3501 2.3.2, IMAP4rev1 only): uids above recentHigh have not been
	// shown to a read-write session yet. They go to the earliest-selected rev1
	// read-write session in claimers, and are recent in the rev1 read-only sessions in
	// lookers while nobody claims them. The mark is kept in the folder row
	// (store.ClaimRecent, written by saveRecent), so a message that arrives while no
	// session has the folder selected, or before a restart, is recent at the next
	// SELECT; recentPending is a claim not yet written there.
	recentHigh    uint32
	recentPending bool
	claimers      []*selected
	lookers       []*selected

	// The envelope cache (envcache.go): entries parallel to uids (nil: not cached;
	// the slice itself is nil until the first entry), the bytes they take, and
	// srv.cacheClock at the last FETCH that used it (for eviction).
	envs       []*cachedMsg
	cacheBytes atomic.Int64
	lastUse    atomic.Int64

	sub  *store.Subscription
	stop chan struct{}
}

// openMailbox returns the shared view of a folder, loading it on first use.
func (s *Server) openMailbox(ctx context.Context, p store.Principal, folder int64) (*mailbox, error) {
	key := mailboxKey{p.AccountID, folder}
	s.mu.Lock()
	if mb := s.mailboxes[key]; mb != nil {
		mb.refs++
		s.mu.Unlock()
		// Bring it forward so that SELECT answers from current state.
		if err := mb.sync(ctx); err != nil {
			s.releaseMailbox(mb)
			return nil, err
		}
		return mb, nil
	}
	s.mu.Unlock()

	// Subscribe before reading, so no change between the read and the subscription
	// is missed.
	sub := s.opts.Store.Feed().Subscribe(p.AccountID)
	v, err := s.opts.Store.OpenMailboxView(ctx, p, folder)
	if err != nil {
		sub.Close()
		return nil, err
	}
	mb := &mailbox{
		srv: s, key: key, p: p,
		tracker:    imapserver.NewMailboxTracker(uint32(len(v.UIDs))),
		uids:       v.UIDs,
		flags:      v.Flags,
		itemKW:     v.ItemKeywords,
		modseq:     v.Modseq,
		keywords:   v.Keywords,
		sub:        sub,
		recentHigh: max(v.Folder.FirstRecentUID, 1) - 1,
		stop:       make(chan struct{}),
		refs:       1,
	}
	s.mu.Lock()
	if other := s.mailboxes[key]; other != nil {
		// Another session loaded it meanwhile: use that one.
		other.refs++
		s.mu.Unlock()
		sub.Close()
		if err := other.sync(ctx); err != nil {
			s.releaseMailbox(other)
			return nil, err
		}
		return other, nil
	}
	s.mailboxes[key] = mb
	s.mu.Unlock()
	go mb.listen()
	return mb, nil
}

// numRecent is STATUS RECENT (RFC 3501 6.3.10): from the open view of the folder, whose
// claims may not be written yet, else what the store counted.
func (s *Server) numRecent(p store.Principal, folder int64, stored int64) int64 {
	s.mu.Lock()
	mb := s.mailboxes[mailboxKey{p.AccountID, folder}]
	s.mu.Unlock()
	if mb == nil {
		return stored
	}
	return mb.numUnclaimed()
}

func (s *Server) releaseMailbox(mb *mailbox) {
	s.mu.Lock()
	lastUser := mb.refs == 1
	s.mu.Unlock()
	if lastUser {
		// Write the \Recent claims while the view can still be found, so that a
		// session opening the folder meanwhile shares this view and a later one reads
		// the mark from the store.
		mb.saveRecent(context.WithoutCancel(s.baseCtx)) // also at shutdown
	}
	s.mu.Lock()
	mb.refs--
	last := mb.refs == 0
	if last {
		delete(s.mailboxes, mb.key)
	}
	s.mu.Unlock()
	if last {
		close(mb.stop)
		mb.sub.Close()
		mb.mu.Lock()
		mb.dropCache()
		mb.mu.Unlock()
	}
}

// listen syncs the mailbox whenever the feed has a hint for its folder.
func (mb *mailbox) listen() {
	for {
		select {
		case <-mb.stop:
			return
		case _, ok := <-mb.sub.Ready():
			if !ok {
				return // the store closed
			}
			changes, overflow := mb.sub.Drain()
			mine := overflow
			for _, c := range changes {
				if c.FolderID == mb.key.folder || c.FolderID == 0 {
					mine = true
				}
			}
			if mine {
				if err := mb.sync(mb.srv.baseCtx); err != nil && !errors.Is(err, context.Canceled) {
					mb.srv.log.Warn("mailbox sync", "folder", mb.key.folder, "err", err)
				}
			}
		}
	}
}

// sync applies what changed in the store since the mailbox's modseq and queues the
// updates for every session. Flag changes made by source at the modseqs in own are not
// queued for source (it answers them itself).
func (mb *mailbox) sync(ctx context.Context) error {
	return mb.syncFrom(ctx, nil, nil)
}

// watch registers an IDLE session's wake-up channel (one slot); unwatch removes it.
// SessionTracker.Idle cannot be used: it misses updates queued before it starts.
func (mb *mailbox) watch(ch chan struct{}) {
	mb.mu.Lock()
	if mb.watchers == nil {
		mb.watchers = map[chan struct{}]struct{}{}
	}
	mb.watchers[ch] = struct{}{}
	mb.mu.Unlock()
}

func (mb *mailbox) unwatch(ch chan struct{}) {
	mb.mu.Lock()
	delete(mb.watchers, ch)
	mb.mu.Unlock()
}

func (mb *mailbox) kick() {
	for ch := range mb.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (mb *mailbox) syncFrom(ctx context.Context, source *imapserver.SessionTracker, own map[uint32]int64) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	defer mb.kick()
	if mb.gone {
		return nil
	}
	d, err := mb.srv.opts.Store.MailFlagDelta(ctx, mb.p, mb.key.folder, mb.modseq)
	if errors.Is(err, store.ErrNotFound) {
		// The folder was deleted under us: every message is gone (RFC 9051 7.5.1).
		for i := len(mb.uids); i > 0; i-- {
			mb.tracker.QueueExpunge(uint32(i))
		}
		mb.uids, mb.flags, mb.itemKW = nil, nil, nil
		mb.dropCache()
		mb.gone = true
		return nil
	}
	if err != nil {
		return err
	}
	if d.Modseq <= mb.modseq && len(d.Items) == 0 && len(d.Removed) == 0 {
		return nil
	}
	// RFC 9051 7.5.1: EXPUNGE, one message at a time, sequence numbers shift.
	for _, uid := range d.Removed {
		if i, ok := slices.BinarySearch(mb.uids, uid); ok {
			mb.tracker.QueueExpunge(uint32(i + 1))
			mb.uids = slices.Delete(mb.uids, i, i+1)
			mb.flags = slices.Delete(mb.flags, i, i+1)
			delete(mb.itemKW, uid)
			if mb.envs != nil {
				mb.uncache(i)
				mb.envs = slices.Delete(mb.envs, i, i+1)
			}
			for _, c := range mb.claimers {
				c.dropRecent(uid)
			}
			for _, c := range mb.lookers {
				c.dropRecent(uid)
			}
		}
	}
	var fresh []store.FlagChange
	var newKW bool
	for _, it := range d.Items {
		for _, k := range it.Keywords {
			if !hasKeyword(mb.keywords, k) {
				mb.keywords = append(mb.keywords, k)
				newKW = true
			}
		}
	}
	if newKW {
		// RFC 9051 7.3.5: a new keyword is announced with an untagged FLAGS.
		slices.Sort(mb.keywords)
		mb.tracker.QueueMailboxFlags(mailboxFlags(mb.keywords))
	}
	var maxUID uint32
	if n := len(mb.uids); n > 0 {
		maxUID = mb.uids[n-1]
	}
	for _, it := range d.Items {
		if i, ok := slices.BinarySearch(mb.uids, it.UID); ok {
			var src *imapserver.SessionTracker
			if m, ok := own[it.UID]; ok && m == it.Modseq {
				src = source
			}
			// The view's flags change together with the update queued for every
			// session, so FETCH FLAGS from the view never runs behind or ahead of
			// what the tracker will tell a session (RFC 9051 7.5.2).
			mb.flags[i] = it.Flags
			mb.setKeywords(it.UID, it.Keywords)
			mb.tracker.QueueMessageFlags(uint32(i+1), goimap.UID(it.UID), imapFlags(it.Flags, it.Keywords), src)
		} else if it.UID > maxUID {
			fresh = append(fresh, it)
		}
	}
	if len(fresh) > 0 {
		slices.SortFunc(fresh, func(a, b store.FlagChange) int { return cmp.Compare(a.UID, b.UID) })
		fresh = slices.CompactFunc(fresh, func(a, b store.FlagChange) bool { return a.UID == b.UID })
		uids := make([]uint32, len(fresh))
		for i, it := range fresh {
			uids[i] = it.UID
			mb.flags = append(mb.flags, it.Flags)
			mb.setKeywords(it.UID, it.Keywords)
		}
		mb.uids = append(mb.uids, uids...)
		if mb.envs != nil {
			mb.envs = append(mb.envs, make([]*cachedMsg, len(uids))...)
		}
		mb.tracker.QueueNumMessages(uint32(len(mb.uids)))
		mb.claimRecent(uids)
	}
	if d.Modseq > mb.modseq {
		mb.modseq = d.Modseq
	}
	return nil
}

// setKeywords records a message's keywords (mb.mu held).
func (mb *mailbox) setKeywords(uid uint32, kw []string) {
	if len(kw) == 0 {
		delete(mb.itemKW, uid)
		return
	}
	if mb.itemKW == nil {
		mb.itemKW = map[uint32][]string{}
	}
	mb.itemKW[uid] = kw
}

func hasKeyword(list []string, k string) bool {
	for _, x := range list {
		if equalFoldASCII(x, k) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// claimRecent gives the uids above recentHigh to the first claimer, or shows them
// to the lookers while there is none (mb.mu held).
func (mb *mailbox) claimRecent(uids []uint32) {
	var unclaimed []uint32
	for _, u := range uids {
		if u > mb.recentHigh {
			unclaimed = append(unclaimed, u)
		}
	}
	if len(unclaimed) == 0 {
		return
	}
	if len(mb.claimers) == 0 {
		for _, l := range mb.lookers {
			l.addRecent(unclaimed)
		}
		return
	}
	mb.claimers[0].addRecent(unclaimed)
	mb.recentHigh = unclaimed[len(unclaimed)-1]
	mb.recentPending = true
}

// addClaimer registers a rev1 read-write selection and gives it what is recent now;
// addLooker registers a rev1 read-only one, to which that is recent too (mb.mu held).
func (mb *mailbox) addClaimer(sel *selected) {
	mb.claimers = append(mb.claimers, sel)
	mb.claimRecent(mb.uids)
}

func (mb *mailbox) addLooker(sel *selected) {
	mb.lookers = append(mb.lookers, sel)
	i, _ := slices.BinarySearch(mb.uids, mb.recentHigh+1)
	sel.addRecent(mb.uids[i:])
}

// leaveRecent removes a selection from the claimers and lookers.
func (mb *mailbox) leaveRecent(sel *selected) {
	mb.mu.Lock()
	mb.claimers = slices.DeleteFunc(mb.claimers, func(c *selected) bool { return c == sel })
	mb.lookers = slices.DeleteFunc(mb.lookers, func(c *selected) bool { return c == sel })
	mb.mu.Unlock()
}

// saveRecent writes the claims made since the view was opened to the folder row.
// Claims are made in the shared view, which is the truth while it is open, and written
// when its last session leaves: a delivery to a selected folder costs no second write,
// and a crash only makes the messages recent again. One server process serves a data
// directory; stateless nodes over one database would make each claim in the store
// instead (ClaimRecent returns the first uid still free for that).
func (mb *mailbox) saveRecent(ctx context.Context) {
	mb.mu.Lock()
	high, pending := mb.recentHigh, mb.recentPending
	mb.recentPending = false
	mb.mu.Unlock()
	if !pending {
		return
	}
	if _, err := mb.srv.opts.Store.ClaimRecent(ctx, mb.p, mb.key.folder, high); err != nil &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrNotFound) {
		mb.srv.log.Warn("saving the recent mark", "folder", mb.key.folder, "err", err)
	}
}

// numUnclaimed is STATUS RECENT from the open view: the messages above the mark.
func (mb *mailbox) numUnclaimed() int64 {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	i, _ := slices.BinarySearch(mb.uids, mb.recentHigh+1)
	return int64(len(mb.uids) - i)
}
