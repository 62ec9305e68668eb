package imap

import (
	"errors"
	"fmt"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/store"
)

const delim = '/'

// entry is a visible (mail) folder with its IMAP name.
type entry struct {
	f        store.Folder
	name     string
	children bool
}

// tree lists the mail folders of the account with their IMAP names. The inbox-role
// folder is always "INBOX" (RFC 9051 5.1); folders of other classes are invisible, and
// so is everything below them.
func (s *session) tree() ([]entry, error) {
	all, err := s.srv.opts.Store.Folders(s.ctx, s.p)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	var out []entry
	idx := map[int64]int{}
	for _, f := range all { // parents first
		if f.Class != store.ClassMail {
			continue
		}
		name := f.Name
		if f.Role == store.RoleInbox {
			name = "INBOX"
		}
		if f.ParentID != 0 {
			parent, ok := names[f.ParentID]
			if !ok {
				continue
			}
			name = parent + string(delim) + name
		}
		names[f.ID] = name
		if i, ok := idx[f.ParentID]; ok {
			out[i].children = true
		}
		idx[f.ID] = len(out)
		out = append(out, entry{f: f, name: name})
	}
	return out, nil
}

// resolve finds the visible mail folder an IMAP name designates, and its canonical
// name. Anything else, whatever the spelling, is ErrNotFound: the store only ever sees
// this account's principal (DESIGN.md §2 invariant 7).
func (s *session) resolve(name string) (store.Folder, string, error) {
	if !s.authed {
		return store.Folder{}, "", fmt.Errorf("not authenticated: %w", store.ErrNotFound)
	}
	es, err := s.tree()
	if err != nil {
		return store.Folder{}, "", err
	}
	want := canonicalName(name)
	for _, e := range es {
		if e.name == want {
			return e.f, e.name, nil
		}
	}
	return store.Folder{}, "", fmt.Errorf("mailbox %q: %w", name, store.ErrNotFound)
}

// canonicalName upper-cases a leading INBOX component (RFC 9051 5.1: INBOX is
// case-insensitive, other names are not).
func canonicalName(name string) string {
	first, rest, found := strings.Cut(name, string(delim))
	if strings.EqualFold(first, "INBOX") {
		if found {
			return "INBOX" + string(delim) + rest
		}
		return "INBOX"
	}
	return name
}

var roleAttr = map[store.Role]goimap.MailboxAttr{
	store.RoleDrafts:  goimap.MailboxAttrDrafts,
	store.RoleSent:    goimap.MailboxAttrSent,
	store.RoleTrash:   goimap.MailboxAttrTrash,
	store.RoleJunk:    goimap.MailboxAttrJunk,
	store.RoleArchive: goimap.MailboxAttrArchive,
}

// List answers LIST and LSUB (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE
// RFC 6154, LIST-STATUS RFC 5819).
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *goimap.ListOptions) (err error) {
	defer s.enter(&err)()
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter and root (RFC 9051 6.3.9).
		return w.WriteList(&goimap.ListData{Attrs: []goimap.MailboxAttr{goimap.MailboxAttrNoSelect}, Delim: delim})
	}
	es, err := s.tree()
	if err != nil {
		return s.imapError(err, "list")
	}
	if options == nil {
		options = &goimap.ListOptions{}
	}
	// RFC 5258 3.5: RECURSIVEMATCH also lists a mailbox that is not subscribed itself
	// but has subscribed descendants, with CHILDINFO ("SUBSCRIBED").
	subscribedBelow := map[int64]bool{}
	if options.SelectRecursiveMatch {
		parent := map[int64]int64{}
		for _, e := range es {
			parent[e.f.ID] = e.f.ParentID
		}
		for _, e := range es {
			if e.f.Subscribed {
				for p := parent[e.f.ID]; p != 0; p = parent[p] {
					subscribedBelow[p] = true
				}
			}
		}
	}
	for _, e := range es {
		match := false
		for _, pat := range patterns {
			if imapserver.MatchList(e.name, delim, ref, pat) || imapserver.MatchList(e.name, delim, ref, canonicalName(pat)) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		if options.SelectSubscribed && !e.f.Subscribed && !subscribedBelow[e.f.ID] {
			continue
		}
		special, isSpecial := roleAttr[e.f.Role]
		if options.SelectSpecialUse && !isSpecial {
			continue
		}
		data := &goimap.ListData{Delim: delim, Mailbox: e.name}
		if e.children {
			data.Attrs = append(data.Attrs, goimap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, goimap.MailboxAttrHasNoChildren)
		}
		if isSpecial {
			data.Attrs = append(data.Attrs, special)
		}
		if e.f.Subscribed && (options.SelectSubscribed || options.ReturnSubscribed) {
			data.Attrs = append(data.Attrs, goimap.MailboxAttrSubscribed)
		}
		if subscribedBelow[e.f.ID] {
			data.ChildInfo = &goimap.ListDataChildInfo{Subscribed: true}
		}
		if options.ReturnStatus != nil {
			st, err := s.status(e.f, e.name, options.ReturnStatus)
			if err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// Create makes a mailbox and any missing superiors (RFC 9051 6.3.4).
func (s *session) Create(name string, options *goimap.CreateOptions) (err error) {
	defer s.enter(&err)()
	if options != nil && len(options.SpecialUse) > 0 {
		// RFC 6154 5.3: roles are given by Gatehouse, not chosen by clients yet.
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: "USEATTR", Text: "Special-use attributes cannot be assigned"}
	}
	name = strings.TrimSuffix(name, string(delim))
	if err := checkNewName(name); err != nil {
		return err
	}
	if _, _, err := s.resolve(name); err == nil {
		return s.imapError(store.ErrExists, "create")
	}
	_, err = s.ensurePath(name)
	return s.imapError(err, "create")
}

// checkNewName refuses names that LIST patterns could not address: empty, or with the
// wildcards % and *, or an empty or space-padded level (RFC 9051 5.1), checked before
// any level is created.
func checkNewName(name string) error {
	bad := name == "" || strings.ContainsAny(name, "%*")
	for _, part := range strings.Split(name, string(delim)) {
		bad = bad || part == "" || strings.TrimSpace(part) != part
	}
	if bad {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "Invalid mailbox name"}
	}
	return nil
}

// ensurePath returns the folder of a path, creating missing components.
func (s *session) ensurePath(name string) (store.Folder, error) {
	parts := strings.Split(canonicalName(name), string(delim))
	var parent store.Folder
	for i := range parts {
		path := strings.Join(parts[:i+1], string(delim))
		f, _, err := s.resolve(path)
		if err == nil {
			parent = f
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Folder{}, err
		}
		if i == 0 && parts[0] == "INBOX" {
			return store.Folder{}, err
		}
		f, err = s.srv.opts.Store.CreateFolder(s.ctx, s.p, parent.ID, parts[i], store.ClassMail)
		if err != nil {
			return store.Folder{}, err
		}
		parent = f
	}
	return parent, nil
}

// Delete removes a mailbox (RFC 9051 6.3.5). INBOX and role folders cannot be deleted;
// a mailbox with inferiors is refused, as Dovecot does, since the store has no
// \Noselect placeholder.
func (s *session) Delete(name string) (err error) {
	defer s.enter(&err)()
	f, _, err := s.resolve(name)
	if err != nil {
		return s.imapError(err, "delete")
	}
	if f.Role != store.RoleNone {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "This mailbox cannot be deleted"}
	}
	es, err := s.tree()
	if err != nil {
		return s.imapError(err, "delete")
	}
	for _, e := range es {
		if e.f.ParentID == f.ID {
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeHasChildren, Text: "Mailbox has children, delete them first"}
		}
	}
	return s.imapError(s.srv.opts.Store.DeleteFolder(s.ctx, s.p, f.ID), "delete")
}

// Rename renames a mailbox with its inferiors (RFC 9051 6.3.6). Renaming INBOX moves
// its messages to a new mailbox and leaves INBOX empty.
func (s *session) Rename(oldName, newName string, options *goimap.RenameOptions) (err error) {
	defer s.enter(&err)()
	f, _, err := s.resolve(oldName)
	if err != nil {
		return s.imapError(err, "rename")
	}
	newName = strings.TrimSuffix(newName, string(delim))
	if err := checkNewName(newName); err != nil {
		return err
	}
	if _, _, err := s.resolve(newName); err == nil {
		return s.imapError(store.ErrExists, "rename")
	}
	parentPath, leaf := "", newName
	if i := strings.LastIndexByte(newName, delim); i >= 0 {
		parentPath, leaf = newName[:i], newName[i+1:]
	}
	if f.Role == store.RoleInbox {
		dst, err := s.ensurePath(newName)
		if err != nil {
			return s.imapError(err, "rename")
		}
		_, err = s.srv.opts.Store.Move(s.ctx, s.p, store.Selector{FolderID: f.ID, UIDs: []store.UIDRange{{First: 1}}}, dst.ID)
		return s.imapError(err, "rename")
	}
	var parentID int64
	if parentPath != "" {
		parent, err := s.ensurePath(parentPath)
		if err != nil {
			return s.imapError(err, "rename")
		}
		parentID = parent.ID
	}
	_, err = s.srv.opts.Store.RenameFolder(s.ctx, s.p, f.ID, parentID, leaf)
	return s.imapError(err, "rename")
}

func (s *session) Subscribe(name string) (err error) {
	defer s.enter(&err)()
	return s.subscribe(name, true)
}

func (s *session) Unsubscribe(name string) (err error) {
	defer s.enter(&err)()
	return s.subscribe(name, false)
}

func (s *session) subscribe(name string, on bool) error {
	f, _, err := s.resolve(name)
	if !on && errors.Is(err, store.ErrNotFound) {
		// Subscriptions live on the folders: a name without a folder is subscribed to
		// nothing, and a client tidying up after a deleted folder gets OK, as from
		// Dovecot (RFC 9051 6.3.10).
		return nil
	}
	if err != nil {
		return s.imapError(err, "subscribe")
	}
	return s.imapError(s.srv.opts.Store.SetSubscribed(s.ctx, s.p, f.ID, on), "subscribe")
}

// Status answers STATUS (RFC 9051 6.3.11) from the folder's counters.
func (s *session) Status(name string, options *goimap.StatusOptions) (data *goimap.StatusData, err error) {
	defer s.enter(&err)()
	f, canon, err := s.resolve(name)
	if err != nil {
		return nil, s.imapError(err, "status")
	}
	data, err = s.status(f, canon, options)
	return data, s.imapError(err, "status")
}

func (s *session) status(f store.Folder, name string, options *goimap.StatusOptions) (*goimap.StatusData, error) {
	st, err := s.srv.opts.Store.FolderStatus(s.ctx, s.p, f.ID)
	if err != nil {
		return nil, err
	}
	data := &goimap.StatusData{Mailbox: name}
	u32 := func(n int64) *uint32 { v := uint32(n); return &v }
	if options.NumMessages {
		data.NumMessages = u32(st.Messages)
	}
	if options.NumRecent {
		data.NumRecent = u32(s.srv.numRecent(s.p, f.ID, st.Recent))
	}
	if options.UIDNext {
		data.UIDNext = goimap.UID(st.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = st.UIDValidity
	}
	if options.NumUnseen {
		data.NumUnseen = u32(st.Unseen)
	}
	if options.Size {
		size := st.Size
		data.Size = &size
	}
	if options.AppendLimit {
		data.AppendLimit = u32(int64(s.AppendLimit()))
	}
	if options.NumDeleted {
		items, err := s.srv.opts.Store.MailItemsByUID(s.ctx, s.p, f.ID, []store.UIDRange{{First: 1}}, false)
		if err != nil {
			return nil, err
		}
		var n int64
		for _, it := range items {
			if it.Flags&store.FlagDeleted != 0 {
				n++
			}
		}
		data.NumDeleted = u32(n)
	}
	return data, nil
}
