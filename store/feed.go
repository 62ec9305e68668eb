package store

import (
	"context"
	"sync"
)

// ChangeKind says what a change touched; kinds combine as bits.
type ChangeKind uint8

// Change kinds.
const (
	ChangeContent   ChangeKind = 1 << iota // items of a folder
	ChangeHierarchy                        // the folder tree (create, rename, delete, subscribe)
	ChangeDevice                           // a device's sync state (kicks its Ping or hanging Sync)
	ChangeDirectory                        // an account, alias or domain (the address book)
)

// Change is a hint published after a commit: "this folder changed at this modseq".
// It carries no data; a listener re-queries the store (§2 invariant 5).
type Change struct {
	AccountID int64
	FolderID  int64 // 0: the account as a whole
	Modseq    int64
	Kind      ChangeKind
	Origin    string // who made it (e.g. "imap/c42", "eas/DEVICEID"), from WithOrigin
}

type originKey struct{}

// WithOrigin tags ctx so that mutations made with it publish this origin, letting a
// session recognise (and not echo) its own changes.
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// OriginFrom returns the origin set by WithOrigin, or "".
func OriginFrom(ctx context.Context) string {
	o, _ := ctx.Value(originKey{}).(string)
	return o
}

// maxPending bounds what one subscription keeps before it collapses to "everything
// changed": a stalled listener costs a bounded amount of memory and never blocks a writer.
const maxPending = 1024

// Feed fans change hints out to subscribers. Publishing never blocks: a subscriber is
// level-triggered (a pending set and a one-slot wake-up channel), not a queue.
type Feed struct {
	mu     sync.Mutex
	subs   map[int64]map[*Subscription]struct{} // by account; 0 = every account
	closed bool
}

func newFeed() *Feed {
	return &Feed{subs: map[int64]map[*Subscription]struct{}{}}
}

// Subscription receives the hints of one account (or of all, for account 0).
type Subscription struct {
	feed    *Feed
	account int64
	ready   chan struct{}

	mu       sync.Mutex
	pending  map[pendingKey]Change
	overflow bool
}

// pendingKey keys a subscription's pending hints: by folder, and by account too, since
// account-wide hints (folder 0) of different accounts must not merge for a subscriber
// of every account.
type pendingKey struct{ account, folder int64 }

// Subscribe starts listening to an account's changes (0: every account). Close the
// subscription when done.
func (f *Feed) Subscribe(account int64) *Subscription {
	sub := &Subscription{feed: f, account: account, ready: make(chan struct{}, 1), pending: map[pendingKey]Change{}}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(sub.ready)
		return sub
	}
	m := f.subs[account]
	if m == nil {
		m = map[*Subscription]struct{}{}
		f.subs[account] = m
	}
	m[sub] = struct{}{}
	return sub
}

// Publish hands hints to the subscribers. The store calls it after each commit; a
// cluster backend calls it for changes committed on other nodes.
func (f *Feed) Publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	for _, c := range changes {
		for sub := range f.subs[c.AccountID] {
			sub.mark(c)
		}
		for sub := range f.subs[0] {
			sub.mark(c)
		}
	}
}

func (f *Feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for _, m := range f.subs {
		for sub := range m {
			close(sub.ready)
		}
	}
	f.subs = nil
}

func (s *Subscription) mark(c Change) {
	s.mu.Lock()
	if !s.overflow {
		k := pendingKey{c.AccountID, c.FolderID}
		if old, ok := s.pending[k]; ok {
			old.Kind |= c.Kind
			if c.Modseq > old.Modseq {
				old.Modseq = c.Modseq
			}
			if old.Origin != c.Origin {
				old.Origin = "" // mixed origins: nobody may treat it as only their own
			}
			s.pending[k] = old
		} else if len(s.pending) >= maxPending {
			s.overflow = true
			s.pending = map[pendingKey]Change{}
		} else {
			s.pending[k] = c
		}
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when hints are pending; it is closed when the feed shuts down.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Drain returns the pending hints (one per folder, the highest modseq and every kind
// seen) and clears them. overflow means too many folders changed to list: re-query all.
func (s *Subscription) Drain() (changes []Change, overflow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	overflow = s.overflow
	for _, c := range s.pending {
		changes = append(changes, c)
	}
	if len(s.pending) > 0 {
		s.pending = map[pendingKey]Change{}
	}
	s.overflow = false
	return changes, overflow
}

// Close stops the subscription.
func (s *Subscription) Close() {
	f := s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if m := f.subs[s.account]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			if len(m) == 0 {
				delete(f.subs, s.account)
			}
		}
	}
}
