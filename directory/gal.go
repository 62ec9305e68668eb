package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/store"
)

// GAL is the Global Address List held in memory: every account not hidden from the
// address book, with an n-gram index over the searched attributes. It is loaded once by
// Run and then kept current from the store's change feed (store.ChangeDirectory hints);
// a search never queries the database.
//
// Readers take an immutable *GALSnapshot; an update builds a new one and swaps it in.
type GAL struct {
	st  *store.Store
	log *slog.Logger

	snap    atomic.Pointer[GALSnapshot]
	ready   chan struct{}
	readyMu sync.Once

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each new snapshot
	byID    map[int64]GALEntry
	groups  map[int64]GALEntry // visible distribution groups, by group id (groups.go)
	domains []string

	personal contactsCache // PersonalContacts, by account
}

// GALAttr names an indexed attribute.
type GALAttr uint8

// The indexed attributes.
const (
	GALCommonName GALAttr = iota
	GALMail
	GALSurname
	GALGivenName
	GALDisplayName
	galAttrs
)

// GALEntry is one person (or, with Kind GALGroup, one distribution group) of the
// address book.
type GALEntry struct {
	ID      int64  // the account's id; a group's own id for a group
	Email   string // primary address
	Local   string // local part of Email
	Domain  string
	Aliases []string
	store.Attributes
	// Kind is GALPerson (the zero value) or GALGroup.
	Kind GALKind
	// Members are a group's direct members: external addresses and the addresses of
	// visible local entries (hidden accounts and groups are left out).
	Members []string
}

// CommonName is the entry's cn: the display name, else given name and surname, else
// the local part (every inetOrgPerson needs a cn).
func (e *GALEntry) CommonName() string {
	if e.DisplayName != "" {
		return e.DisplayName
	}
	if n := strings.TrimSpace(e.GivenName + " " + e.Surname); n != "" {
		return n
	}
	return e.Local
}

// Surname is the entry's sn (required by the person class): the surname, else cn.
func (e *GALEntry) SurnameOrCN() string {
	if e.Surname != "" {
		return e.Surname
	}
	return e.CommonName()
}

// Values returns an indexed attribute's values as served (not folded).
func (e *GALEntry) Values(a GALAttr) []string {
	if e.Kind == GALGroup {
		return e.groupValues(a)
	}
	switch a {
	case GALCommonName:
		return []string{e.CommonName()}
	case GALMail:
		return append([]string{e.Email}, e.Aliases...)
	case GALSurname:
		return []string{e.SurnameOrCN()}
	case GALGivenName:
		if e.GivenName != "" {
			return []string{e.GivenName}
		}
	case GALDisplayName:
		if e.DisplayName != "" {
			return []string{e.DisplayName}
		}
	}
	return nil
}

// GALSnapshot is an immutable view of the address book.
type GALSnapshot struct {
	// Gen grows with every snapshot.
	Gen uint64
	// Entries are sorted by Email.
	Entries []GALEntry
	// Domains are the hosted domains, sorted.
	Domains []string

	byEmail map[string]int32
	// grams maps (attribute, folded 1-, 2- or 3-gram) to the ascending indexes of the
	// entries having a value of that attribute containing it.
	grams map[gramKey][]int32
}

type gramKey struct {
	attr GALAttr
	gram string
}

// NewGAL makes an empty GAL; Run loads and maintains it.
func NewGAL(st *store.Store, log *slog.Logger) *GAL {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &GAL{st: st, log: log.With("sub", "gal"), ready: make(chan struct{}), changed: make(chan struct{}),
		personal: contactsCache{byID: map[int64]cachedContacts{}, gens: map[int64]uint64{}}}
	g.snap.Store(buildSnapshot(0, nil, nil))
	return g
}

// Ready is closed once the first load is done.
func (g *GAL) Ready() <-chan struct{} { return g.ready }

// Changed returns a channel closed when the next snapshot is published.
func (g *GAL) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// Snapshot returns the current address book.
func (g *GAL) Snapshot() *GALSnapshot { return g.snap.Load() }

// Await returns the first published snapshot, the current one included, that satisfies
// ok, or ctx's error. A snapshot published for an earlier hint may precede the one that
// carries a given change, so whoever must see its own change waits for its outcome.
func (g *GAL) Await(ctx context.Context, ok func(*GALSnapshot) bool) (*GALSnapshot, error) {
	for {
		ch := g.Changed()
		if s := g.Snapshot(); s != nil && ok(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Run loads the address book and then follows the change feed until ctx ends or the
// store closes. It returns nil then; an error only if the first load fails.
func (g *GAL) Run(ctx context.Context) error {
	sub := g.st.Feed().Subscribe(0) // before loading, so that no change falls in between
	defer sub.Close()
	if err := g.loadAll(ctx); err != nil {
		return fmt.Errorf("gal: load: %w", err)
	}
	g.readyMu.Do(func() { close(g.ready) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-sub.Ready():
			if !ok {
				return nil
			}
		}
		changes, overflow := sub.Drain()
		g.personal.invalidate(changes, overflow)
		var ids []int64
		full := overflow
		for _, c := range changes {
			if c.Kind&store.ChangeDirectory == 0 {
				continue
			}
			if c.AccountID == 0 {
				full = true
			}
			ids = append(ids, c.AccountID)
		}
		if !full && len(ids) == 0 {
			continue
		}
		var err error
		if full {
			err = g.loadAll(ctx)
		} else {
			err = g.loadAccounts(ctx, ids)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, store.ErrClosed) {
				return nil
			}
			// Keep serving the previous snapshot; the next hint retries (a full load).
			g.log.Error("gal: reload failed", "err", err)
			sub.Drain()
			if err := g.loadAll(ctx); err != nil {
				g.log.Error("gal: full reload failed", "err", err)
			}
		}
	}
}

func entryFrom(a store.Account, aliases []string) (GALEntry, bool) {
	if a.HiddenFromGAL {
		return GALEntry{}, false
	}
	local, domain, _ := strings.Cut(a.Email, "@")
	e := GALEntry{ID: a.ID, Email: a.Email, Local: local, Domain: domain, Aliases: aliases, Attributes: a.Attributes}
	e.HiddenFromGAL = false
	return e, true
}

func (g *GAL) loadAll(ctx context.Context) error {
	accts, err := g.st.Accounts(ctx)
	if err != nil {
		return err
	}
	doms, err := g.st.Domains(ctx)
	if err != nil {
		return err
	}
	groups, err := g.loadGroups(ctx)
	if err != nil {
		return err
	}
	byID := make(map[int64]GALEntry, len(accts))
	for _, a := range accts {
		if a.HiddenFromGAL {
			continue
		}
		aliases, err := g.st.Aliases(ctx, a.ID)
		if err != nil {
			return err
		}
		if e, ok := entryFrom(a, aliases); ok {
			byID[a.ID] = e
		}
	}
	names := make([]string, 0, len(doms))
	for _, d := range doms {
		names = append(names, d.Name)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byID, g.groups, g.domains = byID, groups, names
	g.publishLocked()
	return nil
}

func (g *GAL) loadAccounts(ctx context.Context, ids []int64) error {
	type upd struct {
		e   GALEntry
		del bool
	}
	got := make(map[int64]upd, len(ids))
	for _, id := range ids {
		a, err := g.st.Account(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			got[id] = upd{del: true}
			continue
		}
		if err != nil {
			return err
		}
		aliases, err := g.st.Aliases(ctx, id)
		if err != nil {
			return err
		}
		e, ok := entryFrom(a, aliases)
		got[id] = upd{e: e, del: !ok}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, u := range got {
		if u.del {
			delete(g.byID, id)
		} else {
			g.byID[id] = u.e
		}
	}
	g.publishLocked()
	return nil
}

func (g *GAL) publishLocked() {
	entries := make([]GALEntry, 0, len(g.byID)+len(g.groups))
	for _, e := range g.byID {
		entries = append(entries, e)
	}
	entries = g.appendGroupsLocked(entries)
	g.snap.Store(buildSnapshot(g.snap.Load().Gen+1, entries, g.domains))
	close(g.changed)
	g.changed = make(chan struct{})
}

func buildSnapshot(gen uint64, entries []GALEntry, domains []string) *GALSnapshot {
	slices.SortFunc(entries, func(a, b GALEntry) int { return strings.Compare(a.Email, b.Email) })
	s := &GALSnapshot{
		Gen:     gen,
		Entries: entries,
		Domains: slices.Sorted(slices.Values(slices.Clone(domains))),
		byEmail: make(map[string]int32, len(entries)),
		grams:   map[gramKey][]int32{},
	}
	seen := map[gramKey]struct{}{}
	for i := range entries {
		e := &entries[i]
		s.byEmail[strings.ToLower(e.Email)] = int32(i)
		for _, al := range e.Aliases {
			s.byEmail[strings.ToLower(al)] = int32(i)
		}
		clear(seen)
		for a := range galAttrs {
			for _, v := range e.Values(a) {
				r := []rune(Fold(v))
				for n := 1; n <= 3; n++ {
					for j := 0; j+n <= len(r); j++ {
						k := gramKey{a, string(r[j : j+n])}
						if _, dup := seen[k]; dup {
							continue
						}
						seen[k] = struct{}{}
						s.grams[k] = append(s.grams[k], int32(i))
					}
				}
			}
		}
	}
	return s
}

// Fold is the case folding of the address book's caseIgnore matching: lower case,
// leading and trailing spaces removed, inner runs of spaces reduced to one
// (RFC 4518 2.6.1 insignificant space handling, simplified).
func Fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// ByEmail finds an entry by its address or one of its aliases (case-insensitive).
func (s *GALSnapshot) ByEmail(addr string) (*GALEntry, bool) {
	i, ok := s.byEmail[strings.ToLower(strings.TrimSpace(addr))]
	if !ok {
		return nil, false
	}
	return &s.Entries[i], true
}

// Candidates returns, ascending, the indexes of the entries that may have a value of
// attr matching the substring assertion initial*any…*final (RFC 4511 4.5.1.7.2): a
// superset that the caller checks with its matching rule. The components are folded
// with Fold; an empty assertion answers every entry.
func (s *GALSnapshot) Candidates(attr GALAttr, initial string, any []string, final string) []int32 {
	var lists [][]int32
	add := func(part string) bool {
		r := []rune(Fold(part))
		if len(r) == 0 {
			return true
		}
		if len(r) <= 3 {
			l, ok := s.grams[gramKey{attr, string(r)}]
			if !ok {
				return false
			}
			lists = append(lists, l)
			return true
		}
		for j := 0; j+3 <= len(r); j++ {
			l, ok := s.grams[gramKey{attr, string(r[j : j+3])}]
			if !ok {
				return false
			}
			lists = append(lists, l)
		}
		return true
	}
	if !add(initial) || !add(final) {
		return nil
	}
	for _, a := range any {
		if !add(a) {
			return nil
		}
	}
	if len(lists) == 0 {
		all := make([]int32, len(s.Entries))
		for i := range all {
			all[i] = int32(i)
		}
		return all
	}
	slices.SortFunc(lists, func(a, b []int32) int { return len(a) - len(b) })
	out := slices.Clone(lists[0])
	for _, l := range lists[1:] {
		out = intersect(out, l)
		if len(out) == 0 {
			break
		}
	}
	return out
}

// intersect keeps in a (ascending) the values also in b (ascending), in place.
func intersect(a, b []int32) []int32 {
	out := a[:0]
	j := 0
	for _, v := range a {
		for j < len(b) && b[j] < v {
			j++
		}
		if j == len(b) {
			break
		}
		if b[j] == v {
			out = append(out, v)
		}
	}
	return out
}
