package imap

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// session is one IMAP connection. The library calls its methods one at a time, except
// that Shutdown may call bye concurrently.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	cid    string
	remote netip.Addr
	ctx    context.Context // carries the origin "imap/<cid>"; cancelled at Close
	cancel context.CancelFunc
	log    *slog.Logger

	acct   store.Account
	p      store.Principal
	authed bool

	sel *selected

	cork    *corkConn    // nil if the connection is not one (a test's net.Pipe)
	busy    atomic.Int32 // inside a session method
	idling  atomic.Bool
	byeOnce sync.Once
}

// selected is the state of the Selected state (RFC 9051 3.3).
type selected struct {
	mb        *mailbox
	tracker   *imapserver.SessionTracker
	folder    store.Folder
	name      string
	readOnly  bool
	searchRes []uint32 // SEARCHRES "$" (RFC 5182), as uids

	recentMu        sync.Mutex
	recent          []uint32 // \Recent for this session (IMAP4rev1), sorted
	recentAnnounced int
}

// addRecent adds uids to the session's \Recent set. Claims come in increasing uid
// order (each above the mailbox's mark), so the set is a sorted slice.
func (sel *selected) addRecent(uids []uint32) {
	sel.recentMu.Lock()
	for _, u := range uids {
		if n := len(sel.recent); n == 0 || sel.recent[n-1] < u {
			sel.recent = append(sel.recent, u)
		} else if i, ok := slices.BinarySearch(sel.recent, u); !ok {
			sel.recent = slices.Insert(sel.recent, i, u)
		}
	}
	sel.recentMu.Unlock()
}

func (sel *selected) dropRecent(uid uint32) {
	sel.recentMu.Lock()
	if i, ok := slices.BinarySearch(sel.recent, uid); ok {
		sel.recent = slices.Delete(sel.recent, i, i+1)
	}
	sel.recentMu.Unlock()
}

func (sel *selected) isRecent(uid uint32) bool {
	sel.recentMu.Lock()
	defer sel.recentMu.Unlock()
	if len(sel.recent) == 0 || uid < sel.recent[0] {
		return false
	}
	_, ok := slices.BinarySearch(sel.recent, uid)
	return ok
}

// recentCursor answers \Recent for uids asked in (mostly) increasing order, as a FETCH
// of a sequence set does, in constant time each while recentMu is held.
type recentCursor struct {
	uids []uint32
	i    int
}

// lockRecent takes recentMu, to be released by the caller, and returns a cursor.
func (sel *selected) lockRecent() recentCursor {
	sel.recentMu.Lock()
	return recentCursor{uids: sel.recent}
}

func (c *recentCursor) has(uid uint32) bool {
	if len(c.uids) == 0 {
		return false
	}
	if c.i > 0 && c.uids[c.i-1] >= uid { // out of order: start again from the uid
		c.i, _ = slices.BinarySearch(c.uids, uid)
	}
	for c.i < len(c.uids) && c.uids[c.i] < uid {
		c.i++
	}
	return c.i < len(c.uids) && c.uids[c.i] == uid
}

func (sel *selected) numRecent() int {
	sel.recentMu.Lock()
	defer sel.recentMu.Unlock()
	return len(sel.recent)
}

var (
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionUnauthenticate = (*session)(nil)
	_ imapserver.SessionAppendLimit    = (*session)(nil)
)

// enter marks the session busy for the duration of a method (so Shutdown does not cut
// a command in half) and recovers a panic into a SERVERBUG answer, keeping the
// connection alive.
//
// The connection is corked for the duration: the command's untagged responses go out
// in a few writes at its end, not one per line.
func (s *session) enter(errp *error) func() {
	if s.busy.Add(1) == 1 && s.cork != nil {
		s.cork.cork()
	}
	return func() {
		if r := recover(); r != nil {
			s.log.Error("panic in IMAP command", "panic", r)
			if errp != nil {
				*errp = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeServerBug, Text: "Internal error"}
			}
		}
		if s.busy.Add(-1) == 0 && s.cork != nil {
			if err := s.cork.uncork(); err != nil && errp != nil && *errp == nil {
				*errp = err
			}
		}
	}
}

// quiet reports whether the session is between commands (and not in IDLE, which says
// BYE by itself).
func (s *session) quiet() bool {
	return s.busy.Load() == 0 && !s.idling.Load()
}

func (s *session) bye(text string) {
	s.byeOnce.Do(func() { s.conn.Bye(text) })
}

func (s *session) Close() error {
	s.unselect()
	s.cancel()
	s.srv.sessionEnded(s)
	s.log.Debug("disconnected")
	return nil
}

// Login authenticates through the directory, the one login path of every protocol.
// The library has already refused a clear-text password where policy forbids it.
func (s *session) Login(username, password string) (err error) {
	defer s.enter(&err)()
	acct, err := s.srv.opts.Directory.Authenticate(s.ctx, username, password, "imap", s.remote)
	if err != nil {
		if errors.Is(err, directory.ErrAuthFailed) {
			s.log.Info("login failed", "user", username)
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials"}
		}
		return s.imapError(err, "login")
	}
	s.acct, s.p, s.authed = acct, store.Principal{AccountID: acct.ID}, true
	s.log = s.log.With("user", acct.Email)
	s.log.Info("logged in")
	return nil
}

// Unauthenticate returns to the not-authenticated state (RFC 8437).
func (s *session) Unauthenticate() (err error) {
	defer s.enter(&err)()
	s.unselect()
	s.acct, s.p, s.authed = store.Account{}, store.Principal{}, false
	s.log = s.srv.log.With("cid", s.cid)
	return nil
}

// Namespace: one personal namespace, no prefix, "/" (RFC 2342).
func (s *session) Namespace() (*goimap.NamespaceData, error) {
	return &goimap.NamespaceData{Personal: []goimap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// AppendLimit is the APPENDLIMIT (RFC 7889), the one max_message_size.
func (s *session) AppendLimit() uint32 {
	if n := s.srv.opts.MaxMessageSize; n > 0 && n < math.MaxUint32 {
		return uint32(n)
	}
	return math.MaxUint32
}

// Select opens a mailbox (RFC 9051 6.3.2, EXAMINE 6.3.3).
func (s *session) Select(name string, options *goimap.SelectOptions) (data *goimap.SelectData, err error) {
	defer s.enter(&err)()
	s.unselect()
	f, canon, err := s.resolve(name)
	if err != nil {
		return nil, s.imapError(err, "select")
	}
	mb, err := s.srv.openMailbox(s.ctx, s.p, f.ID)
	if err != nil {
		return nil, s.imapError(err, "select")
	}
	rev2 := s.conn.EnabledCaps().Has(goimap.CapIMAP4rev2)
	st, err := s.srv.opts.Store.FolderStatus(s.ctx, s.p, f.ID)
	if err != nil {
		s.srv.releaseMailbox(mb)
		return nil, s.imapError(err, "select")
	}
	sel := &selected{mb: mb, folder: f, name: canon, readOnly: options != nil && options.ReadOnly}
	mb.mu.Lock()
	sel.tracker = mb.tracker.NewSession()
	n := uint32(len(mb.uids))
	kw := append([]string(nil), mb.keywords...)
	var firstUnseen uint32
	if !rev2 {
		// IMAP4rev1 clients get [UNSEEN n] (RFC 3501 7.1); rev2 dropped it. The view
		// has every message's flags.
		if i := slices.IndexFunc(mb.flags, func(fl store.Flags) bool { return fl&store.FlagSeen == 0 }); i >= 0 {
			firstUnseen = uint32(i + 1)
		}
	}
	switch {
	case rev2: // RFC 9051 dropped \Recent
	case sel.readOnly:
		mb.addLooker(sel)
	default:
		mb.addClaimer(sel)
	}
	uidNext := st.UIDNext
	if n > 0 && mb.uids[n-1] >= uidNext {
		uidNext = mb.uids[n-1] + 1 // a delivery synced after FolderStatus was read
	}
	mb.mu.Unlock()
	sel.recentAnnounced = sel.numRecent()
	s.sel = sel
	data = &goimap.SelectData{
		Flags:             mailboxFlags(kw),
		NumMessages:       n,
		NumRecent:         uint32(sel.recentAnnounced),
		FirstUnseenSeqNum: firstUnseen,
		UIDNext:           goimap.UID(uidNext),
		UIDValidity:       st.UIDValidity,
	}
	if !s.sel.readOnly {
		data.PermanentFlags = permanentFlags(kw)
	}
	if rev2 {
		// RFC 9051 6.3.2: a LIST response with the mailbox's canonical name.
		data.List = &goimap.ListData{Delim: delim, Mailbox: canon}
	}
	return data, nil
}

func (s *session) Unselect() (err error) {
	defer s.enter(&err)()
	s.unselect()
	return nil
}

func (s *session) unselect() {
	if s.sel == nil {
		return
	}
	s.sel.tracker.Close()
	s.sel.mb.leaveRecent(s.sel)
	s.srv.releaseMailbox(s.sel.mb)
	s.sel = nil
}

// Poll writes the pending updates of the selected mailbox (after every command). The
// mailbox is brought forward first, so a change committed before this command by any
// front end is reported now even if the feed's goroutine has not run yet.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer s.enter(&err)()
	if s.sel == nil {
		return nil
	}
	if err := s.sel.mb.sync(s.ctx); err != nil {
		return s.imapError(err, "poll")
	}
	return s.pollSelected(w, allowExpunge)
}

// pollSelected writes the tracker's updates, then RECENT if it changed (RFC 3501
// 7.3.2; the library ignores it for IMAP4rev2 sessions).
func (s *session) pollSelected(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if err := s.sel.tracker.Poll(w, allowExpunge); err != nil {
		return err
	}
	if n := s.sel.numRecent(); n != s.sel.recentAnnounced {
		s.sel.recentAnnounced = n
		return w.WriteNumRecent(uint32(n))
	}
	return nil
}

// Idle waits for updates from the change feed (through the mailbox's tracker) until
// the client says DONE or the server shuts down; never on a timer (RFC 2177).
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.idling.Store(true)
	defer s.idling.Store(false)
	var err error
	if sel := s.sel; sel != nil {
		kick := make(chan struct{}, 1)
		sel.mb.watch(kick)
		defer sel.mb.unwatch(kick)
		// Registered first, then drained: nothing queued in between is missed.
		if err = sel.mb.sync(s.ctx); err == nil {
			err = s.pollSelected(w, true)
		}
	loop:
		for err == nil {
			select {
			case <-kick:
				err = s.pollSelected(w, true)
			case <-stop:
				break loop
			case <-s.srv.shutdown:
				break loop
			}
		}
	} else {
		select {
		case <-stop:
		case <-s.srv.shutdown:
		}
	}
	select {
	case <-stop:
	default:
		// Woken by Shutdown: say BYE, which also ends the library's wait for DONE.
		s.bye("Gatehouse is shutting down")
	}
	return err
}
