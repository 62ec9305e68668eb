package imap

import (
	"errors"
	"io"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/store"
)

func readOnlyErr() error {
	return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "Mailbox is read-only"}
}

// Store changes flags (RFC 9051 6.4.6). The session answers with FETCH FLAGS itself
// (unless .SILENT); the other sessions learn of the change through the tracker.
func (s *session) Store(w *imapserver.FetchWriter, numSet goimap.NumSet, flags *goimap.StoreFlags, options *goimap.StoreOptions) (err error) {
	defer s.enter(&err)()
	if s.sel.readOnly {
		return readOnlyErr()
	}
	if options != nil && options.UnchangedSince != 0 {
		return &goimap.Error{Type: goimap.StatusResponseTypeBad, Text: "CONDSTORE is not supported"}
	}
	ts := s.targets(numSet)
	if len(ts) == 0 {
		return nil
	}
	bits, kw, err := storeFlags(flags.Flags)
	if err != nil {
		return err
	}
	op := store.FlagsReplace
	switch flags.Op {
	case goimap.StoreFlagsAdd:
		op = store.FlagsAdd
	case goimap.StoreFlagsDel:
		op = store.FlagsRemove
	}
	changes, err := s.srv.opts.Store.SetFlags(s.ctx, s.p, store.Selector{FolderID: s.sel.folder.ID, UIDs: uidRanges(ts)}, op, bits, kw)
	if err != nil {
		return s.imapError(err, "store")
	}
	own := make(map[uint32]int64, len(changes))
	byUID := make(map[uint32]store.FlagChange, len(changes))
	for _, c := range changes {
		own[c.UID] = c.Modseq
		byUID[c.UID] = c
	}
	if err := s.sel.mb.syncFrom(s.ctx, s.sel.tracker, own); err != nil {
		return s.imapError(err, "store")
	}
	if flags.Silent {
		return nil
	}
	for _, t := range ts {
		c, ok := byUID[t.uid]
		if !ok {
			continue
		}
		rw := w.CreateMessage(t.clientSeq)
		rw.WriteUID(goimap.UID(t.uid))
		fl := imapFlags(c.Flags, c.Keywords)
		if s.sel.isRecent(t.uid) {
			fl = append(fl, recentFlag)
		}
		rw.WriteFlags(fl)
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// destination resolves the target mailbox of COPY, MOVE and APPEND; a missing one is
// NO [TRYCREATE] (RFC 9051 6.4.7).
func (s *session) destination(name string) (store.Folder, error) {
	f, _, err := s.resolve(name)
	if errors.Is(err, store.ErrNotFound) {
		return f, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	return f, s.imapError(err, "destination")
}

// copyData is the COPYUID of what was copied or moved, nil for nothing: the response
// code names at least one message (RFC 4315 3), and an empty set cannot be written.
func copyData(dest store.Folder, moved []store.Moved) *goimap.CopyData {
	if len(moved) == 0 {
		return nil
	}
	data := &goimap.CopyData{UIDValidity: dest.UIDValidity}
	for _, m := range moved {
		data.SourceUIDs.AddNum(goimap.UID(m.OldUID))
		data.DestUIDs.AddNum(goimap.UID(m.NewUID))
	}
	return data
}

// Copy copies messages (RFC 9051 6.4.7) and answers COPYUID (RFC 4315).
func (s *session) Copy(numSet goimap.NumSet, dest string) (data *goimap.CopyData, err error) {
	defer s.enter(&err)()
	dst, err := s.destination(dest)
	if err != nil {
		return nil, err
	}
	ts := s.targets(numSet)
	if len(ts) == 0 {
		return nil, nil // OK without COPYUID
	}
	moved, err := s.srv.opts.Store.Copy(s.ctx, s.p, store.Selector{FolderID: s.sel.folder.ID, UIDs: uidRanges(ts)}, dst.ID)
	if err != nil {
		return nil, s.imapError(err, "copy")
	}
	return copyData(dst, moved), nil
}

// Move moves messages (RFC 6851): COPYUID first, then the EXPUNGEs, which reach this
// session through its tracker when the library polls before the tagged OK.
func (s *session) Move(w *imapserver.MoveWriter, numSet goimap.NumSet, dest string) (err error) {
	defer s.enter(&err)()
	if s.sel.readOnly {
		return readOnlyErr()
	}
	dst, err := s.destination(dest)
	if err != nil {
		return err
	}
	if dst.ID == s.sel.folder.ID {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "Source and destination are the same mailbox"}
	}
	ts := s.targets(numSet)
	if len(ts) == 0 {
		return nil
	}
	moved, err := s.srv.opts.Store.Move(s.ctx, s.p, store.Selector{FolderID: s.sel.folder.ID, UIDs: uidRanges(ts)}, dst.ID)
	if err != nil {
		return s.imapError(err, "move")
	}
	if data := copyData(dst, moved); data != nil {
		if err := w.WriteCopyData(data); err != nil {
			return err
		}
	}
	return s.imapError(s.sel.mb.sync(s.ctx), "move")
}

// Expunge removes \Deleted messages (RFC 9051 6.4.3; UID EXPUNGE, RFC 4315). The
// EXPUNGE responses go out through the tracker when the library polls.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *goimap.UIDSet) (err error) {
	defer s.enter(&err)()
	if s.sel.readOnly {
		if *w == (imapserver.ExpungeWriter{}) {
			return nil // CLOSE of an EXAMINEd mailbox: nothing to expunge (RFC 9051 6.4.1)
		}
		return readOnlyErr()
	}
	var ranges []store.UIDRange
	if uids != nil {
		ts := s.targets(*uids)
		if len(ts) == 0 {
			return nil
		}
		ranges = uidRanges(ts)
	}
	if _, err := s.srv.opts.Store.Expunge(s.ctx, s.p, s.sel.folder.ID, ranges); err != nil {
		return s.imapError(err, "expunge")
	}
	return s.imapError(s.sel.mb.sync(s.ctx), "expunge")
}

// Append stores a message through the store's Deliver, the delivery path SMTP and
// ActiveSync use too (RFC 9051 6.3.12; APPENDUID, RFC 4315).
func (s *session) Append(mailbox string, r goimap.LiteralReader, options *goimap.AppendOptions) (data *goimap.AppendData, err error) {
	defer s.enter(&err)()
	dst, err := s.destination(mailbox)
	if err != nil {
		io.Copy(io.Discard, r)
		return nil, err
	}
	if limit := s.srv.opts.MaxMessageSize; limit > 0 && r.Size() > limit {
		io.Copy(io.Discard, r)
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTooBig, Text: "Message too large"}
	}
	raw := make([]byte, r.Size())
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	var opts store.DeliverOptions
	if options != nil {
		opts.Flags, opts.Keywords, err = storeFlags(options.Flags)
		if err != nil {
			return nil, err
		}
		opts.InternalDate = options.Time
	}
	d, err := s.srv.opts.Store.Deliver(s.ctx, s.p, dst.ID, raw, opts)
	if err != nil {
		return nil, s.imapError(err, "append")
	}
	if s.sel != nil && s.sel.folder.ID == dst.ID {
		if err := s.sel.mb.sync(s.ctx); err != nil {
			return nil, s.imapError(err, "append")
		}
	}
	return &goimap.AppendData{UID: goimap.UID(d.UID), UIDValidity: dst.UIDValidity}, nil
}
