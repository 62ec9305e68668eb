package imap

import (
	"bytes"
	"encoding/json"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// Search evaluates SEARCH on the server side (RFC 9051 6.4.4): flags, dates and sizes
// from the item rows, address and subject keys from the stored envelope, other header
// keys from the stored header, BODY and TEXT over the decoded text parts read from the
// blob (BODY candidates first narrowed by the store's full-text index). Criteria
// strings arrive in UTF-8: the library accepts CHARSET US-ASCII and UTF-8 and answers
// BADCHARSET to others.
func (s *session) Search(kind imapserver.NumKind, criteria *goimap.SearchCriteria, options *goimap.SearchOptions) (data *goimap.SearchData, err error) {
	defer s.enter(&err)()
	if criteria == nil {
		criteria = &goimap.SearchCriteria{}
	}
	if hasModSeq(criteria) {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeBad, Text: "CONDSTORE is not supported"}
	}
	all := s.targets(goimap.SeqSet{goimap.SeqRange{Start: 1, Stop: 0}})
	var maxUID, maxSeq uint32
	if n := len(all); n > 0 {
		maxUID, maxSeq = all[n-1].uid, all[n-1].clientSeq
	}
	needStructure := needsStructure(criteria)
	var cols store.MailCols
	chunkSize := s.srv.chunk
	if needStructure {
		// Such keys read the message too (the header, the text): a small one comes
		// with its row.
		cols = store.WithStructure | store.WithMessage
		chunkSize = min(chunkSize, messageChunk)
	} else if needsSentDate(criteria) {
		cols = store.WithStructure
	}
	filter := rowFilter(criteria)
	fromView := onlyViewKeys(criteria)
	if fromView {
		// Bring the view forward first, so that a change committed before this command
		// is seen, as a read of the store would see it.
		if err := s.sel.mb.sync(s.ctx); err != nil {
			return nil, s.imapError(err, "search")
		}
	}
	if len(criteria.Body) > 0 {
		// RFC 9051 6.4.4 BODY, through store.MatchMailUIDs's candidates.
		if all, err = s.bodyCandidates(all, criteria.Body); err != nil {
			return nil, s.imapError(err, "search")
		}
	}
	data = &goimap.SearchData{}
	var seqs goimap.SeqSet
	var uids goimap.UIDSet
	var saved []uint32
	// In chunks, like FETCH: bounded memory, no read transaction across the evaluation.
	for rest := all; len(rest) > 0; {
		chunk := rest[:min(len(rest), chunkSize)]
		rest = rest[len(chunk):]
		var items []store.MailItem
		if fromView {
			// Flags and keywords are all the keys read: the shared view has them.
			items = s.sel.mb.flagItems(chunk, filter)
		} else if items, err = s.srv.opts.Store.MailRowsByUID(s.ctx, s.p, s.sel.folder.ID, uidRanges(chunk), filter, cols); err != nil {
			return nil, s.imapError(err, "search")
		}
		byUID := make(map[uint32]*store.MailItem, len(items))
		for i := range items {
			byUID[items[i].UID] = &items[i]
		}
		for _, t := range chunk {
			it := byUID[t.uid]
			if it == nil {
				continue
			}
			m := &candidate{s: s, t: t, it: it, maxUID: maxUID, maxSeq: maxSeq, searchRes: s.sel.searchRes}
			ok := m.match(criteria)
			m.close()
			if !ok {
				continue
			}
			saved = append(saved, t.uid)
			num := t.clientSeq
			if kind == imapserver.NumKindUID {
				num = t.uid
				uids.AddNum(goimap.UID(t.uid))
			} else {
				seqs.AddNum(t.clientSeq)
			}
			if data.Min == 0 || num < data.Min {
				data.Min = num
			}
			if num > data.Max {
				data.Max = num
			}
			data.Count++
		}
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if options != nil && options.ReturnSave {
		s.sel.searchRes = saved
	}
	return data, nil
}

// rowFilter is the part of the criteria's top-level keys that the store can apply as
// it reads: system flags (SEEN, UNSEEN, DELETED, ...), and SUBJECT and FROM with an
// ASCII text, matched on the same indexed columns as matchHeader does. Messages it
// leaves out fail the criteria anyway, and match checks every key again on the rest.
func rowFilter(c *goimap.SearchCriteria) store.MailFilter {
	var f store.MailFilter
	bit := func(fl goimap.Flag) store.Flags {
		for _, sf := range systemFlags {
			if strings.EqualFold(string(fl), string(sf.flag)) {
				return sf.bit
			}
		}
		return 0 // \Recent and keywords are not store bits
	}
	for _, fl := range c.Flag {
		f.Set |= bit(fl)
	}
	for _, fl := range c.NotFlag {
		f.Unset |= bit(fl)
	}
	for _, h := range c.Header {
		if h.Value == "" || !isASCII(h.Value) {
			continue // presence, or a text containsFold compares by Unicode case
		}
		switch {
		case strings.EqualFold(h.Key, "subject"):
			f.SubjectHas = append(f.SubjectHas, h.Value)
		case strings.EqualFold(h.Key, "from"):
			f.FromHas = append(f.FromHas, h.Value)
		}
	}
	return f
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// onlyViewKeys reports whether every key of the criteria, at any depth of NOT and OR,
// is a flag, keyword, sequence set or uid set: what the mailbox view holds, so that no
// row needs reading.
func onlyViewKeys(c *goimap.SearchCriteria) bool {
	return !anyKey(c, func(c *goimap.SearchCriteria) bool {
		return !c.Since.IsZero() || !c.Before.IsZero() || !c.SentSince.IsZero() || !c.SentBefore.IsZero() ||
			c.Larger > 0 || c.Smaller > 0 || len(c.Header) > 0 || len(c.Body) > 0 || len(c.Text) > 0 ||
			c.ModSeq != nil
	})
}

// anyKey reports whether has holds for the criteria or any criteria under their NOT
// and OR keys, at any depth.
func anyKey(c *goimap.SearchCriteria, has func(*goimap.SearchCriteria) bool) bool {
	if has(c) {
		return true
	}
	for i := range c.Not {
		if anyKey(&c.Not[i], has) {
			return true
		}
	}
	for i := range c.Or {
		if anyKey(&c.Or[i][0], has) || anyKey(&c.Or[i][1], has) {
			return true
		}
	}
	return false
}

func isSystemFlag(fl goimap.Flag) bool {
	for _, sf := range systemFlags {
		if strings.EqualFold(string(fl), string(sf.flag)) {
			return true
		}
	}
	return false
}

// bodyCandidates narrows the targets of a search with BODY keys to the messages the
// full-text index finds for every BODY string; match then checks RFC 9051 substring
// semantics on each candidate. The index matches words at their start only, so a
// string that occurs only inside a word ("ebr" in "zebra") is not found, as with
// Dovecot's full-text search (see the package comment).
func (s *session) bodyCandidates(ts []target, bodies []string) ([]target, error) {
	for _, text := range bodies {
		uids, err := s.srv.opts.Store.MatchMailUIDs(s.ctx, s.p, s.sel.folder.ID, text, "body")
		if err != nil {
			return nil, err
		}
		ts = slices.DeleteFunc(ts, func(t target) bool {
			_, found := slices.BinarySearch(uids, t.uid)
			return !found
		})
	}
	return ts, nil
}

func hasModSeq(c *goimap.SearchCriteria) bool {
	return anyKey(c, func(c *goimap.SearchCriteria) bool { return c.ModSeq != nil })
}

// needsStructure reports whether the criteria need the stored parse and the message;
// SUBJECT and FROM are answered from the item's index columns.
func needsStructure(c *goimap.SearchCriteria) bool {
	return anyKey(c, func(c *goimap.SearchCriteria) bool {
		if len(c.Body) > 0 || len(c.Text) > 0 {
			return true
		}
		for _, h := range c.Header {
			if h.Value == "" || !(strings.EqualFold(h.Key, "subject") || strings.EqualFold(h.Key, "from")) {
				return true
			}
		}
		return false
	})
}

// needsSentDate reports whether the criteria compare the sent date, which is read
// from the stored envelope for its time zone.
func needsSentDate(c *goimap.SearchCriteria) bool {
	return anyKey(c, func(c *goimap.SearchCriteria) bool { return !c.SentSince.IsZero() || !c.SentBefore.IsZero() })
}

// candidate is one message under evaluation, with what it costs to look at loaded
// lazily: the stored parse, the blob, the raw header and the decoded text.
type candidate struct {
	s              *session
	t              target
	it             *store.MailItem
	maxUID, maxSeq uint32
	searchRes      []uint32

	parsed  *message.Parsed
	blob    store.Blob
	header  []byte
	text    *string
	sent    *time.Time // sentDate, once read (NOT and OR may ask again)
	loadErr bool
}

func (m *candidate) close() {
	if m.blob != nil {
		m.blob.Close()
	}
}

func (m *candidate) structure() *message.Parsed {
	if m.parsed == nil {
		m.parsed = &message.Parsed{}
		if len(m.it.Structure) > 0 {
			if err := json.Unmarshal(m.it.Structure, m.parsed); err != nil {
				m.parsed = &message.Parsed{}
			}
		}
		if m.parsed.Structure == nil {
			m.parsed.Structure = fallbackPart(m.it.Size)
		}
	}
	return m.parsed
}

func (m *candidate) file() store.Blob {
	if m.blob == nil && !m.loadErr {
		f, err := m.s.srv.opts.Store.OpenMailBlob(m.s.ctx, m.s.p, m.it)
		if err != nil {
			m.loadErr = true
			return nil
		}
		m.blob = f
	}
	return m.blob
}

func (m *candidate) rawHeader() []byte {
	if m.header == nil {
		root := m.structure().Structure
		if f := m.file(); f != nil {
			m.header, _ = readRange(f, root.HeaderStart, root.BodyStart)
		}
		if m.header == nil {
			m.header = []byte{}
		}
	}
	return m.header
}

// bodyText is what BODY and TEXT look through in the message's body: the same text
// the full-text index holds (message.SearchText), whole.
func (m *candidate) bodyText() string {
	if m.text == nil {
		var t string
		if f := m.file(); f != nil {
			t = message.SearchText(f, m.structure().Structure, 0)
		}
		m.text = &t
	}
	return *m.text
}

var wordDecoder = mime.WordDecoder{}

// headerValues returns the unfolded, RFC 2047-decoded values of the named fields.
func headerValues(hdr []byte, name string) []string {
	var out []string
	lines := bytes.SplitAfter(hdr, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if !strings.EqualFold(strings.TrimSpace(string(line[:colon])), name) {
			continue
		}
		v := strings.TrimSpace(string(line[colon+1:]))
		for i+1 < len(lines) && len(lines[i+1]) > 0 && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			v += " " + strings.TrimSpace(string(lines[i]))
		}
		if dec, err := wordDecoder.DecodeHeader(v); err == nil {
			v = dec
		}
		out = append(out, v)
	}
	return out
}

// containsFold is case-insensitive substring matching (RFC 9051 6.4.4: "SHOULD be
// case-insensitive for characters within ASCII range"; beyond ASCII, Unicode lower
// case). An ASCII needle is searched for without copying the text.
func containsFold(hay, needle string) bool {
	if needle == "" {
		return true
	}
	if !isASCII(needle) {
		return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
	}
	first := lowerASCII(needle[0])
	for i := 0; i+len(needle) <= len(hay); i++ {
		if lowerASCII(hay[i]) != first {
			continue
		}
		j := 1
		for j < len(needle) && lowerASCII(hay[i+j]) == lowerASCII(needle[j]) {
			j++
		}
		if j == len(needle) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func addressText(as []message.Address) string {
	var b strings.Builder
	for _, a := range as {
		if a.Group {
			continue
		}
		if a.Name != "" {
			b.WriteString(a.Name)
			b.WriteByte(' ')
		}
		b.WriteByte('<')
		b.WriteString(a.Mailbox)
		if a.Host != "" {
			b.WriteByte('@')
			b.WriteString(a.Host)
		}
		b.WriteString(">, ")
	}
	return b.String()
}

func dayOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// sentDate is the Date: header's time in the header's own zone, whose date RFC 9051
// 6.4.4 compares "disregarding time and timezone"; without a Date: header, or one that
// parses, the epoch, as Dovecot answers (the RFC leaves it open).
func (m *candidate) sentDate() time.Time {
	if m.sent != nil {
		return *m.sent
	}
	d := m.it.SentDate // the instant, in UTC: only when the envelope is not at hand
	if m.parsed != nil {
		d = m.parsed.Envelope.Date
	} else if len(m.it.Structure) > 0 {
		if env, err := decodeEnvelope(m.it.Structure); err == nil {
			d = env.Date
		}
	}
	if d.IsZero() {
		d = time.Unix(0, 0).UTC()
	}
	m.sent = &d
	return d
}

func (m *candidate) hasFlag(f goimap.Flag) bool {
	it := m.it
	s := string(f)
	if strings.EqualFold(s, string(recentFlag)) {
		return m.s.sel.isRecent(it.UID)
	}
	if strings.HasPrefix(s, `\`) {
		for _, sf := range systemFlags {
			if strings.EqualFold(s, string(sf.flag)) {
				return it.Flags&sf.bit != 0
			}
		}
		return false
	}
	for _, k := range it.Keywords {
		if equalFoldASCII(k, s) {
			return true
		}
	}
	return false
}

// match reports whether the message satisfies every key of c (RFC 9051 6.4.4).
func (m *candidate) match(c *goimap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if !seqSetHas(set, m.t.clientSeq, m.maxSeq) {
			return false
		}
	}
	for _, set := range c.UID {
		if goimap.IsSearchRes(set) {
			found := false
			for _, u := range m.searchRes {
				if u == m.t.uid {
					found = true
					break
				}
			}
			if !found {
				return false
			}
			continue
		}
		if !uidSetHas(set, m.t.uid, m.maxUID) {
			return false
		}
	}
	it := m.it
	idate := dayOf(it.InternalDate)
	if !c.Since.IsZero() && idate.Before(dayOf(c.Since)) {
		return false
	}
	if !c.Before.IsZero() && !idate.Before(dayOf(c.Before)) {
		return false
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		sd := dayOf(m.sentDate())
		if !c.SentSince.IsZero() && sd.Before(dayOf(c.SentSince)) {
			return false
		}
		if !c.SentBefore.IsZero() && !sd.Before(dayOf(c.SentBefore)) {
			return false
		}
	}
	if c.Larger > 0 && it.Size <= c.Larger {
		return false
	}
	if c.Smaller > 0 && it.Size >= c.Smaller {
		return false
	}
	for _, f := range c.Flag {
		if !m.hasFlag(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if m.hasFlag(f) {
			return false
		}
	}
	for _, h := range c.Header {
		if !m.matchHeader(h.Key, h.Value) {
			return false
		}
	}
	for _, b := range c.Body {
		if !containsFold(m.bodyText(), b) {
			return false
		}
	}
	for _, t := range c.Text {
		if !containsFold(m.headerText(), t) && !containsFold(m.bodyText(), t) {
			return false
		}
	}
	for i := range c.Not {
		if m.match(&c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !m.match(&c.Or[i][0]) && !m.match(&c.Or[i][1]) {
			return false
		}
	}
	return true
}

func (m *candidate) headerText() string {
	s, err := wordDecoder.DecodeHeader(string(m.rawHeader()))
	if err != nil {
		return string(m.rawHeader())
	}
	return s
}

func (m *candidate) matchHeader(key, value string) bool {
	if value == "" {
		// RFC 9051 6.4.4: an empty string matches every message that has the field.
		return len(headerValues(m.rawHeader(), key)) > 0
	}
	switch strings.ToLower(key) {
	case "subject":
		return containsFold(m.it.Subject, value) // the decoded subject indexed at delivery
	case "from":
		return containsFold(m.it.From, value)
	}
	env := &m.structure().Envelope
	switch strings.ToLower(key) {
	case "to":
		return containsFold(addressText(env.To), value)
	case "cc":
		return containsFold(addressText(env.Cc), value)
	case "bcc":
		return containsFold(addressText(env.Bcc), value)
	}
	vals := headerValues(m.rawHeader(), key)
	for _, v := range vals {
		if containsFold(v, value) {
			return true
		}
	}
	return false
}

// seqRange resolves a sequence-set range (RFC 9051 9: "*" is 0 here and stands for
// max; "a:b" and "b:a" are the same range) to start <= stop.
func seqRange(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

func seqSetHas(set goimap.SeqSet, n, max uint32) bool {
	for _, r := range set {
		if start, stop := seqRange(r.Start, r.Stop, max); n >= start && n <= stop {
			return true
		}
	}
	return false
}

func uidSetHas(set goimap.UIDSet, u, max uint32) bool {
	for _, r := range set {
		if start, stop := seqRange(uint32(r.Start), uint32(r.Stop), max); u >= start && u <= stop {
			return true
		}
	}
	return false
}
