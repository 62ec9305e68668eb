package imap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// target is one message a command acts on: its sequence number in the server view
// (index into mailbox.uids + 1), in the client's view, and its uid.
type target struct {
	seq, clientSeq uint32
	uid            uint32
}

// targets resolves a sequence or uid set against the selected mailbox (RFC 9051 6.4.8:
// "*" is the last message / the highest uid; "$" is the saved search result, RFC 5182).
// Messages the client has not been told of yet are left out.
func (s *session) targets(numSet goimap.NumSet) []target {
	sel := s.sel
	mb := sel.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []target
	if goimap.IsSearchRes(numSet) {
		for _, u := range sel.searchRes {
			if i, ok := slices.BinarySearch(mb.uids, u); ok {
				if cs := sel.tracker.EncodeSeqNum(uint32(i + 1)); cs != 0 {
					out = append(out, target{uint32(i + 1), cs, u})
				}
			}
		}
		return out
	}
	switch set := numSet.(type) {
	case goimap.SeqSet:
		// "*" is the client's last sequence number, which differs from the server's
		// while updates are pending for it: the highest one that maps to a message.
		var n uint32
		for i := len(mb.uids); i > 0 && n == 0; i-- {
			n = sel.tracker.EncodeSeqNum(uint32(i))
		}
		var seqs []uint32
		for _, r := range set {
			start, stop := seqRange(r.Start, r.Stop, n)
			for cs := start; cs <= min(stop, n) && cs != 0; cs++ {
				if ss := sel.tracker.DecodeSeqNum(cs); ss != 0 && int(ss) <= len(mb.uids) {
					seqs = append(seqs, ss)
				}
				if cs == ^uint32(0) {
					break
				}
			}
		}
		slices.Sort(seqs)
		for _, ss := range slices.Compact(seqs) {
			out = append(out, target{ss, sel.tracker.EncodeSeqNum(ss), mb.uids[ss-1]})
		}
	case goimap.UIDSet:
		var maxUID uint32
		if len(mb.uids) > 0 {
			maxUID = mb.uids[len(mb.uids)-1]
		}
		var idx []int
		for _, r := range set {
			start, stop := seqRange(uint32(r.Start), uint32(r.Stop), maxUID)
			lo, _ := slices.BinarySearch(mb.uids, start)
			for i := lo; i < len(mb.uids) && mb.uids[i] <= stop; i++ {
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		for _, i := range slices.Compact(idx) {
			if cs := sel.tracker.EncodeSeqNum(uint32(i + 1)); cs != 0 {
				out = append(out, target{uint32(i + 1), cs, mb.uids[i]})
			}
		}
	}
	return out
}

// uidRanges turns targets (in uid order) into the fewest store ranges that cover
// exactly them, given the mailbox's uid list at the time.
func uidRanges(ts []target) []store.UIDRange {
	var out []store.UIDRange
	for i := 0; i < len(ts); {
		j := i
		for j+1 < len(ts) && ts[j+1].seq == ts[j].seq+1 {
			j++
		}
		out = append(out, store.UIDRange{First: ts[i].uid, Last: ts[j].uid})
		i = j + 1
	}
	return out
}

func uidsOf(ts []target) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = t.uid
	}
	return out
}

func rangesOfUIDs(uids []uint32) []store.UIDRange {
	var out []store.UIDRange
	for _, u := range uids {
		if n := len(out); n > 0 && out[n-1].Last+1 == u {
			out[n-1].Last = u
			continue
		}
		out = append(out, store.UIDRange{First: u, Last: u})
	}
	return out
}

// Fetch answers FETCH (RFC 9051 6.4.5): flags, dates and sizes from the item row,
// ENVELOPE and BODYSTRUCTURE from the structure indexed at delivery (no re-parse),
// BODY[section]<partial> and BINARY from the blob at the stored offsets.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet goimap.NumSet, options *goimap.FetchOptions) (err error) {
	defer s.enter(&err)()
	ts := s.targets(numSet)
	if len(ts) == 0 {
		return nil
	}
	needStructure := options.Envelope || options.BodyStructure != nil || len(options.BodySection) > 0 ||
		len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	markSeen := false
	for _, bs := range options.BodySection {
		if !bs.Peek {
			markSeen = true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			markSeen = true
		}
	}
	markSeen = markSeen && !s.sel.readOnly
	if markSeen {
		// RFC 9051 6.4.5: BODY[...] without PEEK sets \Seen; the FETCH response then
		// carries FLAGS.
		options.Flags = true
	}
	if ok, hdr := viewPlan(options); ok {
		return s.fetchView(w, ts, options, hdr)
	}
	// In chunks: memory stays bounded on a 100,000-message FETCH 1:*, and each chunk's
	// read transaction ends before its responses are written (§2 invariant 1).
	chunk := s.srv.chunk
	if needsMessage(options) {
		chunk = min(chunk, messageChunk) // a chunk holds its messages' bytes
	}
	for len(ts) > 0 {
		n := min(len(ts), chunk)
		if err := s.fetchChunk(w, ts[:n], options, needStructure, markSeen); err != nil {
			return err
		}
		ts = ts[n:]
	}
	return nil
}

// viewPlan reports whether a FETCH asks only for what the mailbox view and its
// envelope cache hold: UID, FLAGS, ENVELOPE, INTERNALDATE, RFC822.SIZE, and at most
// one BODY.PEEK[HEADER.FIELDS (...)] or [HEADER.FIELDS.NOT (...)] of the whole message
// without a partial (what Thunderbird fetches to list a folder), whose result the
// cache keeps too (hdr).
func viewPlan(o *goimap.FetchOptions) (ok bool, hdr *viewHeader) {
	if o.BodyStructure != nil || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 || len(o.BodySection) > 1 {
		return false, nil
	}
	if len(o.BodySection) == 0 {
		return true, nil
	}
	bs := o.BodySection[0]
	fields, not := bs.HeaderFields, false
	if len(fields) == 0 {
		fields, not = bs.HeaderFieldsNot, true
	}
	if len(bs.Part) > 0 || bs.Specifier != goimap.PartSpecifierHeader || len(fields) == 0 || !bs.Peek || bs.Partial != nil ||
		len(bs.HeaderFields) > 0 && len(bs.HeaderFieldsNot) > 0 {
		return false, nil
	}
	key := "HEADER.FIELDS"
	if not {
		key += ".NOT"
	}
	for _, f := range fields {
		key += " " + strings.ToUpper(f)
	}
	return true, &viewHeader{section: bs, fields: fields, not: not, key: key}
}

// viewHeader is the header section a view FETCH answers from the cache. key names the
// field set (upper case: RFC 9051 6.4.5 field names are case-insensitive); an entry
// keeps the filtered header of one key.
type viewHeader struct {
	section *goimap.FetchItemBodySection
	fields  []string
	not     bool
	key     string
}

// viewRow is one message of a FETCH answered from the view: its flags there and its
// cache entry (nil: a miss).
type viewRow struct {
	found  bool
	recent bool // \Recent in this session
	flags  store.Flags
	kw     []string
	e      *cachedMsg
}

// fetchView answers a FETCH viewPlan accepts from the shared mailbox view: flags as the view
// has them, the other items from the envelope cache. Misses are read from the store
// in chunks, as fetchChunk does, and fill the cache. A FETCH of cached messages reads
// nothing from the store but the folder's modseq (the sync below).
func (s *session) fetchView(w *imapserver.FetchWriter, ts []target, options *goimap.FetchOptions, hdr *viewHeader) error {
	mb := s.sel.mb
	// Bring the view forward first, so that a change committed before this command
	// (another session's STORE) is in the answer, as a read of the store would show.
	if err := mb.sync(s.ctx); err != nil {
		return s.imapError(err, "fetch")
	}
	needEntry := options.Envelope || options.InternalDate || options.RFC822Size || hdr != nil
	raw := s.rawConn()
	var buf []byte
	var quotedUTF8 bool
	if raw != nil {
		buf = make([]byte, 0, rawFlushAt+4<<10)
		caps := s.conn.EnabledCaps()
		quotedUTF8 = caps.Has(goimap.CapIMAP4rev2) || caps.Has(goimap.CapUTF8Accept)
	}
	rows := make([]viewRow, 0, min(len(ts), s.srv.chunk))
	var miss []target
	var missRows []int
	for len(ts) > 0 {
		n := min(len(ts), s.srv.chunk)
		chunk := ts[:n]
		ts = ts[n:]
		rows, miss, missRows = rows[:0], miss[:0], missRows[:0]
		mb.lastUse.Store(s.srv.cacheClock.Add(1))
		mb.mu.Lock()
		recent := s.sel.lockRecent()
		for j, t := range chunk {
			i, ok := mb.indexOf(int(t.seq)-1, t.uid)
			if !ok {
				rows = append(rows, viewRow{}) // expunged meanwhile; its EXPUNGE comes later
				continue
			}
			r := viewRow{found: true, recent: recent.has(t.uid), flags: mb.flags[i], kw: mb.itemKW[t.uid]}
			if i < len(mb.envs) {
				r.e = mb.envs[i]
			}
			if needEntry && (r.e == nil || hdr != nil && r.e.hdrKey != hdr.key) {
				miss = append(miss, t)
				missRows = append(missRows, j)
			}
			rows = append(rows, r)
		}
		s.sel.recentMu.Unlock()
		mb.mu.Unlock()
		if len(miss) > 0 {
			entries, err := s.readEntries(miss, options.Envelope, hdr)
			if err != nil {
				return err
			}
			for k, j := range missRows {
				if rows[j].e = entries[k]; entries[k] == nil {
					rows[j].found = false // gone from the store already
				}
			}
			if options.Envelope || hdr != nil { // entries with their envelope
				mb.cacheFill(miss, entries)
			}
		}
		for j, t := range chunk {
			r := &rows[j]
			if !r.found {
				continue
			}
			if raw == nil {
				if err := s.fetchViewOne(w, t, r, options, hdr); err != nil {
					return err
				}
				continue
			}
			buf = appendViewFetch(buf, t.clientSeq, t.uid, options, hdr, viewFlags(r), r.e, quotedUTF8)
			if len(buf) >= rawFlushAt {
				if err := writeRaw(raw, buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if raw != nil && len(buf) > 0 {
		return writeRaw(raw, buf)
	}
	return nil
}

// rawFlushAt is how much of a view FETCH's answer collects before it is written.
const rawFlushAt = 48 << 10

// rawConn is where a view FETCH's answer is written, encoded by appendViewFetch, or
// nil when the library's FetchResponseWriter writes it (Options.LibraryFetchWriter).
// The connection is the library's own (TLS included). Writing it directly keeps the
// order of the stream because the library's encoder flushes its buffer at the end
// of every response line (imapwire Encoder.CRLF), so nothing of the library's is
// pending when a command's method runs or between two of its responses; and the
// answer is whole response lines, as the library's would be.
func (s *session) rawConn() net.Conn {
	if s.srv.opts.LibraryFetchWriter || s.conn == nil {
		return nil
	}
	return s.conn.NetConn()
}

func writeRaw(c net.Conn, b []byte) error {
	_, err := c.Write(b)
	return err
}

// viewFlags is a view row's FLAGS: its system flags and keywords, and \Recent for
// this session (IMAP4rev1).
func viewFlags(r *viewRow) []goimap.Flag {
	var flags []goimap.Flag
	if len(r.kw) == 0 && r.flags < store.Flags(len(systemFlagLists)) {
		flags = systemFlagLists[r.flags]
	} else {
		flags = imapFlags(r.flags, r.kw)
	}
	if r.recent {
		flags = append(flags, recentFlag)
	}
	return flags
}

// readEntries reads the messages of ts (in uid order) from the store and makes their
// cache entries; nil for a message gone from the store. A stored structure that
// cannot be decoded is logged and gives an empty envelope, as fetchChunk answers.
// With hdr, the entries also keep that header section, read from the message at the
// offsets stored at delivery; they then carry their envelope too.
func (s *session) readEntries(ts []target, withEnvelope bool, hdr *viewHeader) ([]*cachedMsg, error) {
	out := make([]*cachedMsg, len(ts))
	j := 0
	var cols store.MailCols
	depth := envelopeOnly
	if withEnvelope {
		cols = store.WithStructure
	}
	if hdr != nil {
		cols, depth = store.WithStructure|store.WithMessage, rootOnly
	}
	err := s.srv.opts.Store.ScanMailRows(s.ctx, s.p, s.sel.folder.ID, uidRanges(ts), store.MailFilter{}, cols, func(it *store.MailItem) error {
		for j < len(ts) && ts[j].uid < it.UID {
			j++
		}
		if j == len(ts) || ts[j].uid != it.UID {
			return nil // not asked for (expunged from the view, still in the store)
		}
		var env message.Envelope
		root := fallbackPart(it.Size)
		if len(it.Structure) > 0 {
			if p := s.decodeStructure(it, depth); p != nil {
				env = p.Envelope
				if p.Structure != nil {
					root = p.Structure
				}
			}
		}
		e := s.srv.newCachedMsg(&env, it.InternalDate, it.Size)
		if hdr != nil {
			h, err := s.headerFields(it, root, hdr)
			if err != nil {
				return err
			}
			e.hdrKey, e.hdr = hdr.key, h
		}
		out[j] = e
		return nil
	})
	if err != nil {
		return nil, s.imapError(err, "fetch")
	}
	return out, nil
}

// headerFields is the HEADER.FIELDS[.NOT] section of a message (RFC 9051 6.4.5): its
// header, from the offsets stored at delivery, filtered. Called inside the row scan
// (it.Message is the driver's memory); it reads a file but writes nothing.
func (s *session) headerFields(it *store.MailItem, root *message.Part, hdr *viewHeader) ([]byte, error) {
	start, end, _ := root.SectionRange(nil, "HEADER.FIELDS")
	b, err := s.srv.opts.Store.OpenMailBlob(s.ctx, s.p, it)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	h, err := readRange(b, start, end)
	if err != nil {
		return nil, err
	}
	out := message.FilterHeader(h, hdr.fields, hdr.not)
	if out == nil {
		out = []byte{}
	}
	return bytes.Clone(out), nil // not the driver's memory
}

func (s *session) fetchViewOne(w *imapserver.FetchWriter, t target, r *viewRow, options *goimap.FetchOptions, hdr *viewHeader) error {
	rw := w.CreateMessage(t.clientSeq)
	// The items in fetchOne's order, so that the bytes on the wire are the same.
	if options.UID {
		rw.WriteUID(goimap.UID(t.uid))
	}
	if options.Flags {
		rw.WriteFlags(viewFlags(r))
	}
	if options.InternalDate {
		rw.WriteInternalDate(r.e.internalDate())
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(r.e.size)
	}
	if options.Envelope {
		rw.WriteEnvelope(&r.e.env)
	}
	if hdr != nil {
		wc := rw.WriteBodySection(hdr.section, int64(len(r.e.hdr)))
		_, err := wc.Write(r.e.hdr)
		if cerr := wc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			rw.Close()
			return err
		}
	}
	return rw.Close()
}

// defaultChunk is how many messages FETCH and SEARCH read per store query.
const defaultChunk = 500

// messageChunk is the chunk when the messages' bytes come with the rows (at most
// store.DefaultInlineBlobMax each): a few MiB at most.
const messageChunk = 100

// needsMessage reports whether a FETCH reads the messages themselves.
func needsMessage(o *goimap.FetchOptions) bool {
	return len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

// fetchRow is one message of a FETCH chunk: its row and its stored parse, decoded as
// the row was read (the envelope alone when nothing else of it is asked for).
type fetchRow struct {
	store.MailItem // without Structure
	parsed         *message.Parsed
}

func (s *session) fetchChunk(w *imapserver.FetchWriter, ts []target, options *goimap.FetchOptions, needStructure, markSeen bool) error {
	depth := structureNeeded(options)
	items := make([]fetchRow, 0, len(ts))
	var cols store.MailCols
	if needStructure {
		cols = store.WithStructure
	}
	if needsMessage(options) {
		cols |= store.WithMessage // the bytes of a small message come with its row
	}
	err := s.srv.opts.Store.ScanMailRows(s.ctx, s.p, s.sel.folder.ID, uidRanges(ts), store.MailFilter{}, cols, func(it *store.MailItem) error {
		r := fetchRow{MailItem: *it}
		r.Structure = nil // the driver's memory, gone after this call
		r.Message = bytes.Clone(it.Message)
		if len(it.Structure) > 0 {
			r.parsed = s.decodeStructure(it, depth)
		}
		items = append(items, r)
		return nil
	})
	if err != nil {
		return s.imapError(err, "fetch")
	}
	byUID := make(map[uint32]*fetchRow, len(items))
	for i := range items {
		byUID[items[i].UID] = &items[i]
	}
	if markSeen {
		var unseen []uint32
		for _, t := range ts {
			if it := byUID[t.uid]; it != nil && it.Flags&store.FlagSeen == 0 {
				unseen = append(unseen, t.uid)
			}
		}
		if len(unseen) > 0 {
			changes, err := s.srv.opts.Store.SetFlags(s.ctx, s.p, store.Selector{FolderID: s.sel.folder.ID, UIDs: rangesOfUIDs(unseen)}, store.FlagsAdd, store.FlagSeen, nil)
			if err != nil {
				return s.imapError(err, "fetch")
			}
			own := map[uint32]int64{}
			for _, c := range changes {
				own[c.UID] = c.Modseq
				if it := byUID[c.UID]; it != nil {
					it.Flags, it.Keywords = c.Flags, c.Keywords
				}
			}
			if err := s.sel.mb.syncFrom(s.ctx, s.sel.tracker, own); err != nil {
				return s.imapError(err, "fetch")
			}
		}
	}
	for _, t := range ts {
		it := byUID[t.uid]
		if it == nil {
			continue // expunged meanwhile; its EXPUNGE comes later
		}
		if err := s.fetchOne(w, t, it, options); err != nil {
			return err
		}
	}
	return nil
}

// decodeStructure decodes as much of a stored parse as depth says. A structure that
// cannot be decoded is logged and treated as missing.
func (s *session) decodeStructure(it *store.MailItem, depth structureDepth) *message.Parsed {
	parsed := new(message.Parsed)
	var err error
	switch depth {
	case envelopeOnly:
		parsed.Envelope, err = decodeEnvelope(it.Structure)
	case rootOnly:
		parsed, err = decodeRoot(it.Structure)
	default:
		err = json.Unmarshal(it.Structure, parsed)
	}
	if err != nil {
		s.log.Error("fetch: stored structure", "uid", it.UID, "err", err)
		return nil
	}
	return parsed
}

// structureDepth is how much of a stored structure a FETCH reads.
type structureDepth int

const (
	fullStructure structureDepth = iota
	envelopeOnly                 // ENVELOPE and no section: decodeEnvelope
	rootOnly                     // sections of the whole message only: decodeRoot
)

// structureNeeded says how much of the stored structure options need: the envelope
// alone, the envelope and the top-level entity's offsets (BODY[], BODY[HEADER],
// BODY[HEADER.FIELDS (...)], BODY[TEXT] with no part number), or all of it.
func structureNeeded(o *goimap.FetchOptions) structureDepth {
	if o.BodyStructure != nil || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 {
		return fullStructure
	}
	if len(o.BodySection) == 0 {
		return envelopeOnly
	}
	for _, bs := range o.BodySection {
		if len(bs.Part) > 0 {
			return fullStructure
		}
		switch bs.Specifier {
		case goimap.PartSpecifierNone, goimap.PartSpecifierHeader, goimap.PartSpecifierText:
		default:
			return fullStructure
		}
	}
	return rootOnly
}

func (s *session) fetchOne(w *imapserver.FetchWriter, t target, it *fetchRow, options *goimap.FetchOptions) error {
	rw := w.CreateMessage(t.clientSeq)
	// The response must be closed on every path: the library holds the connection's
	// encoder until then, and a response left open would stall the connection.
	closed := false
	defer func() {
		if !closed {
			rw.Close()
		}
	}()
	if options.UID {
		rw.WriteUID(goimap.UID(it.UID))
	}
	if options.Flags {
		flags := imapFlags(it.Flags, it.Keywords)
		if s.sel.isRecent(it.UID) {
			flags = append(flags, recentFlag)
		}
		rw.WriteFlags(flags)
	}
	if options.InternalDate {
		rw.WriteInternalDate(it.InternalDate)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(it.Size)
	}
	parsed := it.parsed
	root := fallbackPart(it.Size)
	if parsed != nil && parsed.Structure != nil {
		root = parsed.Structure
	}
	if options.Envelope {
		var env message.Envelope
		if parsed != nil {
			env = parsed.Envelope
		}
		rw.WriteEnvelope(imapEnvelope(&env))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure(root))
	}
	var blob store.Blob
	defer func() {
		if blob != nil {
			blob.Close()
		}
	}()
	open := func() (store.Blob, error) {
		if blob == nil {
			f, err := s.srv.opts.Store.OpenMailBlob(s.ctx, s.p, &it.MailItem)
			if err != nil {
				return nil, err
			}
			blob = f
		}
		return blob, nil
	}
	for _, bs := range options.BodySection {
		f, start, end, data, err := s.sectionRange(open, root, bs)
		if err != nil {
			return s.imapError(err, "fetch body")
		}
		var src io.Reader = bytes.NewReader(data)
		size := int64(len(data))
		if f != nil && end > start {
			if n := f.Size(); end > n {
				// Offsets past the message's end (a damaged index): answer the bytes
				// there are, so that the literal is exactly as long as announced.
				s.log.Error("fetch: stored offsets past the message", "uid", it.UID, "end", end, "size", n)
				start, end = min(start, n), n
			}
			src, size = io.NewSectionReader(f, start, end-start), end-start
		}
		wc := rw.WriteBodySection(bs, size)
		if _, err := io.Copy(wc, src); err != nil {
			wc.Close()
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		data, err := s.binarySection(open, root, bs.Part)
		if err != nil {
			return s.imapError(err, "fetch binary")
		}
		data = partial(data, bs.Partial)
		wc := rw.WriteBinarySection(bs, int64(len(data)))
		if _, err := wc.Write(data); err != nil {
			wc.Close()
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySectionSize {
		data, err := s.binarySection(open, root, bs.Part)
		if err != nil {
			return s.imapError(err, "fetch binary")
		}
		rw.WriteBinarySectionSize(bs, uint32(len(data)))
	}
	closed = true
	return rw.Close()
}

// fallbackPart stands for a message whose structure is missing: one text/plain body.
func fallbackPart(size int64) *message.Part {
	return &message.Part{Type: "text", Subtype: "plain", Encoding: "7BIT", End: size, Size: size}
}

// readRange reads [start, end) of a message, clipped to its end.
func readRange(f store.Blob, start, end int64) ([]byte, error) {
	end = min(end, f.Size())
	if end <= start {
		return nil, nil
	}
	buf := make([]byte, end-start)
	n, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

// bodySection reads BODY[section]<partial> (RFC 9051 6.4.5) into memory.
func (s *session) bodySection(open func() (store.Blob, error), root *message.Part, bs *goimap.FetchItemBodySection) ([]byte, error) {
	f, start, end, data, err := s.sectionRange(open, root, bs)
	if err != nil || data != nil || f == nil {
		return data, err
	}
	return readRange(f, start, end)
}

// sectionRange locates BODY[section]<partial>: either the byte range [start, end) of
// the blob f (streamed to the client, so a large attachment is never held in memory)
// or, for HEADER.FIELDS, the filtered bytes in data. A section that does not exist is
// the empty string, as Dovecot answers (f nil, data nil).
func (s *session) sectionRange(open func() (store.Blob, error), root *message.Part, bs *goimap.FetchItemBodySection) (f store.Blob, start, end int64, data []byte, err error) {
	spec := string(bs.Specifier)
	if spec == string(goimap.PartSpecifierHeader) && (len(bs.HeaderFields) > 0 || len(bs.HeaderFieldsNot) > 0) {
		spec = "HEADER.FIELDS"
	}
	start, end, ok := root.SectionRange(bs.Part, spec)
	if !ok {
		return nil, 0, 0, nil, nil
	}
	f, err = open()
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if spec == "HEADER.FIELDS" {
		hdr, err := readRange(f, start, end)
		if err != nil {
			return nil, 0, 0, nil, err
		}
		if len(bs.HeaderFields) > 0 {
			data = message.FilterHeader(hdr, bs.HeaderFields, false)
		} else {
			data = message.FilterHeader(hdr, bs.HeaderFieldsNot, true)
		}
		data = partial(data, bs.Partial)
		if data == nil {
			data = []byte{}
		}
		return nil, 0, 0, data, nil
	}
	if p := bs.Partial; p != nil {
		if p.Offset >= end-start {
			return nil, 0, 0, nil, nil
		}
		start += p.Offset
		if p.Size >= 0 && start+p.Size < end {
			end = start + p.Size
		}
	}
	return f, start, end, nil, nil
}

// binarySection returns BINARY[section] (RFC 3516): the part's body with its
// Content-Transfer-Encoding undone. BINARY[] is the whole message.
func (s *session) binarySection(open func() (store.Blob, error), root *message.Part, section []int) ([]byte, error) {
	p := root.Find(section)
	if p == nil {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNonExistent, Text: "No such part"}
	}
	f, err := open()
	if err != nil {
		return nil, err
	}
	if len(section) == 0 {
		return readRange(f, p.HeaderStart, p.End)
	}
	body, err := readRange(f, p.BodyStart, p.End)
	if err != nil {
		return nil, err
	}
	if p.Type == "multipart" || p.Message != nil {
		return body, nil
	}
	switch strings.ToUpper(p.Encoding) {
	case "", "7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE":
	default:
		// RFC 3516 4.3: an encoding the server cannot decode.
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeUnknownCTE, Text: fmt.Sprintf("Unknown encoding %s", p.Encoding)}
	}
	local := *p
	local.HeaderStart, local.BodyStart, local.End = 0, 0, int64(len(body))
	return local.DecodedBody(body), nil
}

func partial(data []byte, p *goimap.SectionPartial) []byte {
	if p == nil {
		return data
	}
	if p.Offset >= int64(len(data)) {
		return nil
	}
	data = data[p.Offset:]
	if p.Size >= 0 && p.Size < int64(len(data)) {
		data = data[:p.Size]
	}
	return data
}

// imapEnvelope renders the stored envelope (RFC 9051 7.5.2): Sender and Reply-To
// default to From; message ids lose their angle brackets, which the library adds back.
func imapEnvelope(e *message.Envelope) *goimap.Envelope {
	env := &goimap.Envelope{
		Date:    e.Date,
		Subject: e.Subject,
		From:    addrs(e.From),
		Sender:  addrs(e.Sender),
		ReplyTo: addrs(e.ReplyTo),
		To:      addrs(e.To),
		Cc:      addrs(e.Cc),
		Bcc:     addrs(e.Bcc),
	}
	if len(env.Sender) == 0 {
		env.Sender = env.From
	}
	if len(env.ReplyTo) == 0 {
		env.ReplyTo = env.From
	}
	env.MessageID = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(e.MessageID), "<"), ">")
	for _, id := range strings.Fields(e.InReplyTo) {
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		if id != "" {
			env.InReplyTo = append(env.InReplyTo, id)
		}
	}
	return env
}

func addrs(as []message.Address) []goimap.Address {
	if len(as) == 0 {
		return nil
	}
	out := make([]goimap.Address, len(as))
	for i, a := range as {
		out[i] = goimap.Address{Name: a.Name, Mailbox: a.Mailbox, Host: a.Host}
	}
	return out
}

// bodyStructure renders a stored part as BODYSTRUCTURE (RFC 9051 7.5.2), always with
// the extension data; the library drops it for BODY.
func bodyStructure(p *message.Part) goimap.BodyStructure {
	var disp *goimap.BodyStructureDisposition
	if p.Disposition != "" {
		disp = &goimap.BodyStructureDisposition{Value: p.Disposition, Params: p.DispositionParams}
	}
	if p.Type == "multipart" && len(p.Children) > 0 {
		mp := &goimap.BodyStructureMultiPart{
			Subtype:  p.Subtype,
			Extended: &goimap.BodyStructureMultiPartExt{Params: p.Params, Disposition: disp, Language: p.Language, Location: p.Location},
		}
		for _, c := range p.Children {
			mp.Children = append(mp.Children, bodyStructure(c))
		}
		return mp
	}
	sp := &goimap.BodyStructureSinglePart{
		Type:        p.Type,
		Subtype:     p.Subtype,
		Params:      p.Params,
		ID:          p.ID,
		Description: p.Description,
		Encoding:    p.Encoding,
		Size:        uint32(p.Size),
		Extended:    &goimap.BodyStructureSinglePartExt{Disposition: disp, Language: p.Language, Location: p.Location},
	}
	if p.Type == "multipart" {
		// A multipart without children cannot be written as one; show it as a leaf.
		sp.Type, sp.Subtype = "text", "plain"
	}
	switch {
	case p.Message != nil && p.Message.Structure != nil:
		sp.MessageRFC822 = &goimap.BodyStructureMessageRFC822{
			Envelope:      imapEnvelope(&p.Message.Envelope),
			BodyStructure: bodyStructure(p.Message.Structure),
			NumLines:      p.Lines,
		}
	case strings.EqualFold(sp.Type, "text"):
		sp.Text = &goimap.BodyStructureText{NumLines: p.Lines}
	}
	return sp
}
