package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/message"
)

// The full-text index of mail (schema 4, table item_fts): an FTS5 contentless table
// whose rowid is item.id. Its text is extracted from the message before the delivering
// transaction (DESIGN.md §2 invariant 1) and its row is written in the mutation that
// inserts the item and deleted in the one that drops it. A move keeps the item id, so
// it needs no reindexing; a copy is a new item with its own row.
//
// The index is global (one FTS5 table for every account): a query finds the matching
// rowids first and then keeps the principal's items in live folders, so isolation
// comes from the join with item and folder, never from the index.

const (
	// ftsMaxBody bounds the indexed body text so a huge message cannot bloat the index.
	ftsMaxBody = 256 << 10
	// ftsCutMark ends a body cut at ftsMaxBody, so that an IMAP search still takes the
	// message as a candidate (MatchMailUIDs) for text beyond the cut.
	ftsCutMark = "gatehousefulltextcut"
	// ftsMaxHeader bounds the indexed subject and address text (hostile headers).
	ftsMaxHeader = 16 << 10
	// ftsMaxTerms and ftsMaxTermBytes bound a query: more words only narrow a search
	// further, and a 10 KB paste must not become an expensive expression.
	ftsMaxTerms     = 32
	ftsMaxTermBytes = 256
	// ftsCopyBudget bounds the text a Copy extracts before its transaction; the rest
	// is indexed right after the commit.
	ftsCopyBudget = 64 << 20
	// ftsLateChunk is how many items one catch-up mutation indexes.
	ftsLateChunk = 100
)

// ftsDoc is a mail item's text for the index, extracted before the transaction.
type ftsDoc struct {
	subject, addresses, body string
}

func (d *ftsDoc) size() int { return len(d.subject) + len(d.addresses) + len(d.body) }

// ftsDocument extracts the indexed text of a message parsed from raw: the decoded
// subject, the display names and addresses of From, Sender, Reply-To, To, Cc and Bcc,
// and as the body message.SearchText, the text IMAP SEARCH BODY looks through (every
// text part, attached messages' included), so that the index pre-filters such a search
// without leaving out a message it would find.
func ftsDocument(p *message.Parsed, raw []byte) ftsDoc {
	env := p.Envelope
	var addrs strings.Builder
	for _, list := range [][]message.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		for _, a := range message.Mailboxes(list) {
			if addrs.Len() >= ftsMaxHeader {
				break
			}
			if a.Name != "" {
				addrs.WriteString(a.Name)
				addrs.WriteByte(' ')
			}
			addrs.WriteString(a.Addr())
			addrs.WriteByte('\n')
		}
	}
	body := message.SearchText(bytes.NewReader(raw), p.Structure, ftsMaxBody)
	if len(body) > ftsMaxBody {
		body = truncateUTF8(body, ftsMaxBody) + "\n" + ftsCutMark
	}
	return ftsDoc{
		subject:   ftsClean(truncateUTF8(env.Subject, ftsMaxHeader)),
		addresses: ftsClean(truncateUTF8(addrs.String(), ftsMaxHeader)),
		body:      ftsClean(body),
	}
}

// ftsClean makes text safe to bind: valid UTF-8 without NUL (SQLite text ends at one).
func ftsClean(s string) string {
	s = strings.ToValidUTF8(s, " ")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", " ")
	}
	return s
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ftsIndex writes an item's row in the index, in the mutation that inserts the item.
func (t *tx) ftsIndex(id int64, d *ftsDoc) error {
	if _, err := t.exec("INSERT INTO item_fts(rowid, subject, addresses, body) VALUES(?, ?, ?, ?)",
		id, d.subject, d.addresses, d.body); err != nil {
		return fmt.Errorf("store: full-text index: %w", err)
	}
	return nil
}

// ftsRemove deletes an item's row (none is fine), in the mutation that drops the item.
func (t *tx) ftsRemove(id int64) error {
	if _, err := t.exec("DELETE FROM item_fts WHERE rowid = ?", id); err != nil {
		return fmt.Errorf("store: full-text index: %w", err)
	}
	return nil
}

// ftsColumns maps MailQuery.Field to an FTS5 column filter.
var ftsColumns = map[string]string{"": "", "subject": "subject", "addresses": "addresses", "body": "body"}

// ftsMinPrefix is the shortest word matched as a prefix: "st*" would merge the
// postings of thousands of words (the schema has no FTS5 prefix index).
const ftsMinPrefix = 3

// ftsQuery turns search text into an FTS5 MATCH expression, within one column when
// column is not "". No user syntax passes through: every word becomes a quoted string
// (quotes doubled inside), all ANDed, and NUL, control characters and invalid UTF-8
// become spaces, so the expression always parses. ok is false when the text has no
// word to search for.
//
// For a user's text (literal false), a word matches as a prefix, or as a whole word
// when its last token is shorter than ftsMinPrefix, and "a quoted phrase" matches
// those words in a row. For IMAP's literal strings (literal true) quotes are not
// syntax, and a word whose last token is short is left out: the result must stay a
// superset of the substring matches.
func ftsQuery(text, column string, literal bool) (expr string, ok bool) {
	text = strings.ToValidUTF8(text, " ")
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	phrases := !literal
	var terms []string
	add := func(term string, phrase bool) {
		if len(terms) >= ftsMaxTerms || !hasWordRune(term) {
			return
		}
		prefix := !phrase && lastTokenRunes(term) >= ftsMinPrefix
		if !phrase && !prefix && literal {
			return
		}
		if len(term) > ftsMaxTermBytes {
			term = truncateUTF8(term, ftsMaxTermBytes)
			prefix = true // the cut word is a prefix of the real one
		}
		q := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
		if prefix {
			q += " *"
		}
		terms = append(terms, q)
	}
	for rest := text; rest != "" && len(terms) < ftsMaxTerms; {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		if phrases && rest[0] == '"' {
			phrase, after, _ := strings.Cut(rest[1:], `"`) // an unclosed quote runs to the end
			add(phrase, true)
			rest = after
			continue
		}
		end := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || phrases && r == '"' })
		if end < 0 {
			end = len(rest)
		}
		add(rest[:end], false)
		rest = rest[end:]
	}
	if len(terms) == 0 {
		return "", false
	}
	expr = strings.Join(terms, " AND ")
	if column != "" {
		expr = "{" + column + "} : (" + expr + ")"
	}
	return expr, true
}

// lastTokenRunes counts the letters and digits of the last token of a word ("3" for
// "bob@exa"), the one a prefix star applies to.
func lastTokenRunes(s string) int {
	s = strings.TrimRightFunc(s, func(r rune) bool { return !isWordRune(r) })
	n := 0
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isWordRune(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r)
}

// hasWordRune reports whether s holds a letter or digit, which the unicode61 tokenizer
// keeps as part of a token. A term without one would become an empty phrase, which
// matches nothing and so would empty the whole AND.
func hasWordRune(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) })
}

// MailQuery is a full-text search of mail (ActiveSync Search and Find, IMAP SEARCH).
type MailQuery struct {
	// Text is free text as a user types it: words ANDed, each a prefix match of a word
	// of the message; "a quoted phrase" matches those words in a row. Case and
	// diacritics are ignored.
	Text string
	// Field is "" (subject, addresses and body), "subject", "addresses" or "body".
	Field string
	// Folders limits the search; nil: every mail folder of the principal.
	Folders []int64
	// Since and Before bound the internal date (Since inclusive); zero: unbounded.
	Since, Before time.Time
	// Offset and Limit page the results; Limit <= 0 means 100.
	Offset, Limit int
}

// ftsMatches is the FROM and WHERE of a search: the matching rowids drive the loop
// (CROSS JOIN keeps that order), each probes item by primary key, and the principal's
// mail items in live (optionally listed) folders with internal dates in range remain.
// Its arguments: match, account, account, folders JSON (or NULL), since, before.
const ftsMatches = `(SELECT rowid AS fts_id FROM item_fts WHERE item_fts MATCH ?) AS m CROSS JOIN item ON item.id = m.fts_id
WHERE item.account_id = ? AND item.class = 'mail'
AND item.folder_id IN (SELECT id FROM folder WHERE account_id = ? AND deleted_modseq IS NULL AND class = 'mail'
AND (?4 IS NULL OR id IN (SELECT value FROM json_each(?4))))
AND item.internal_date >= ? AND item.internal_date < ?`

// SearchMail finds the principal's mail items matching q, newest first (by internal
// date), and the number of matches. Text without any word finds nothing. The cost
// follows the number of matches in every account (the index is global), of which
// only two integers per match are read before the page's items.
func (s *Store) SearchMail(ctx context.Context, p Principal, q MailQuery) (items []Item, total int, err error) {
	column, known := ftsColumns[q.Field]
	if !known {
		return nil, 0, fmt.Errorf("%w: search field %q", ErrInvalid, q.Field)
	}
	expr, ok := ftsQuery(q.Text, column, false)
	if !ok {
		return nil, 0, nil
	}
	var folders any // NULL: every folder
	if q.Folders != nil {
		js, err := json.Marshal(q.Folders)
		if err != nil {
			return nil, 0, err
		}
		folders = string(js)
	}
	since, before := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = q.Since.Unix()
	}
	if !q.Before.IsZero() {
		before = q.Before.Unix()
	}
	limit, offset := q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = 100
	}
	// One pass over the matches counts them and keeps the page's newest offset+limit
	// (ordering by date needs every match anyway); then the page's items are read.
	rows, err := s.rq.QueryContext(ctx, `SELECT item.id, item.internal_date FROM `+ftsMatches,
		expr, p.AccountID, p.AccountID, folders, since, before)
	if err != nil {
		return nil, 0, fmt.Errorf("store: search: %w", err)
	}
	top := newestHits{k: offset + limit}
	for rows.Next() {
		var h searchHit
		if err := rows.Scan(&h.id, &h.date); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: search: %w", err)
		}
		total++
		top.offer(h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: search: %w", err)
	}
	page := top.sorted()
	if offset >= len(page) {
		return nil, total, nil
	}
	page = page[offset:]
	ids := make([]int64, len(page))
	for i, h := range page {
		ids[i] = h.id
	}
	js, _ := json.Marshal(ids)
	rows, err = s.rq.QueryContext(ctx, `SELECT `+itemCols+` FROM (SELECT value AS page_id FROM json_each(?)) AS j
CROSS JOIN item ON item.id = j.page_id WHERE item.account_id = ?`,
		string(js), p.AccountID)
	found, err := collect(rows, err, scanItemOnly)
	if err != nil {
		return nil, 0, fmt.Errorf("store: search: %w", err)
	}
	byID := make(map[int64]Item, len(found))
	for _, it := range found {
		byID[it.ID] = it
	}
	for _, id := range ids {
		if it, ok := byID[id]; ok { // else deleted since the first query
			items = append(items, it)
		}
	}
	return items, total, nil
}

// searchHit is a match's item id and internal date.
type searchHit struct{ id, date int64 }

// newer orders hits newest first: by internal date, then by id.
func (h searchHit) newer(o searchHit) bool {
	return h.date > o.date || h.date == o.date && h.id > o.id
}

// newestHits keeps the k newest hits offered, in a min-heap whose root is the oldest.
type newestHits struct {
	k int
	h []searchHit
}

func (n *newestHits) offer(x searchHit) {
	if len(n.h) < n.k {
		n.h = append(n.h, x)
		for i := len(n.h) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !n.h[parent].newer(n.h[i]) {
				break
			}
			n.h[parent], n.h[i] = n.h[i], n.h[parent]
			i = parent
		}
		return
	}
	if n.k == 0 || !x.newer(n.h[0]) {
		return
	}
	n.h[0] = x
	for i := 0; ; { // sift down
		oldest, l, r := i, 2*i+1, 2*i+2
		if l < len(n.h) && n.h[oldest].newer(n.h[l]) {
			oldest = l
		}
		if r < len(n.h) && n.h[oldest].newer(n.h[r]) {
			oldest = r
		}
		if oldest == i {
			return
		}
		n.h[i], n.h[oldest] = n.h[oldest], n.h[i]
		i = oldest
	}
}

// sorted returns the kept hits newest first.
func (n *newestHits) sorted() []searchHit {
	slices.SortFunc(n.h, func(a, b searchHit) int {
		if a.newer(b) {
			return -1
		}
		if b.newer(a) {
			return 1
		}
		return 0
	})
	return n.h
}

// MatchMailUIDs returns, in order, the uids of the items of one mail folder whose
// index matches text (the literal string of IMAP SEARCH TEXT, BODY or SUBJECT: quotes
// are not syntax) in field ("" for all of subject, addresses and body). Each word of
// text must begin a word of the message (case and diacritics ignored), so the result
// is a candidate set: it holds every message containing the words as substrings that
// start words, and the caller verifies RFC 9051 6.4.4 substring semantics on it. A
// string found only inside a word ("ello" in "hello") is not a candidate — the same
// trade-off Dovecot's full-text search makes. Text without any word (empty, or only
// punctuation) cannot be pre-filtered: every uid of the folder is returned.
func (s *Store) MatchMailUIDs(ctx context.Context, p Principal, folder int64, text, field string) ([]uint32, error) {
	column, known := ftsColumns[field]
	if !known {
		return nil, fmt.Errorf("%w: search field %q", ErrInvalid, field)
	}
	expr, ok := ftsQuery(text, column, true)
	if !ok || s.ftsBacklog.pending.Load() {
		return s.FolderUIDs(ctx, p, folder)
	}
	if column == "" || column == "body" {
		expr = "(" + expr + ") OR {body} : " + ftsCutMark // the text past a cut is not indexed
	}
	if _, err := s.Folder(ctx, p, folder); err != nil {
		return nil, err
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT item.uid FROM (SELECT rowid AS fts_id FROM item_fts WHERE item_fts MATCH ?) AS m
CROSS JOIN item ON item.id = m.fts_id WHERE item.account_id = ? AND item.folder_id = ? ORDER BY item.uid`, expr, p.AccountID, folder)
	uids, err := collect(rows, err, scanOne[uint32])
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return uids, nil
}

// ftsBacklog is IndexBacklog's progress: items at or below mark have been looked at.
// It lives in memory: a restart rescans from the first item, which costs one primary
// key probe per indexed item.
type ftsBacklog struct {
	mu   sync.Mutex
	mark int64
	// pending: mail stored before the index existed may lack rows (store_state
	// 'fts_backfill'); until IndexBacklog has been through it all, the index only
	// narrows nothing (MatchMailUIDs answers every uid).
	pending atomic.Bool
}

// loadBackfillState reads whether a backfill is pending (at Open).
func (s *Store) loadBackfillState(ctx context.Context) error {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM store_state WHERE key = 'fts_backfill'").Scan(&n); err != nil {
		return fmt.Errorf("store: read store state: %w", err)
	}
	s.ftsBacklog.pending.Store(n > 0)
	return nil
}

// IndexBacklog indexes up to batch mail items that have no row in the full-text index
// (delivered before schema 4, or a copy whose catch-up indexing was interrupted), and
// returns how many it indexed; 0 means none is left. Each batch is one short mutation,
// the messages read and parsed before it. Run it in a loop at start.
func (s *Store) IndexBacklog(ctx context.Context, batch int) (indexed int, err error) {
	if batch <= 0 {
		batch = 100
	}
	s.ftsBacklog.mu.Lock()
	defer s.ftsBacklog.mu.Unlock()
	mark := s.ftsBacklog.mark
	var top int64
	if err := s.rq.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM item").Scan(&top); err != nil {
		return 0, fmt.Errorf("store: index backlog: %w", err)
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT id FROM item WHERE id > ? AND id <= ? AND class = 'mail'
AND NOT EXISTS (SELECT 1 FROM item_fts WHERE rowid = item.id) ORDER BY id LIMIT ?`, mark, top, batch)
	ids, err := collect(rows, err, scanOne[int64])
	if err != nil {
		return 0, fmt.Errorf("store: index backlog: %w", err)
	}
	if indexed, err = s.ftsIndexItems(ctx, ids); err != nil {
		return indexed, err
	}
	if len(ids) == batch {
		s.ftsBacklog.mark = ids[len(ids)-1]
		return indexed, nil
	}
	s.ftsBacklog.mark = top
	if s.ftsBacklog.pending.Load() {
		// Everything before the index has been looked at: it narrows searches now.
		if err := s.write(ctx, func(t *tx) error {
			_, err := t.exec("DELETE FROM store_state WHERE key = 'fts_backfill'")
			return err
		}); err != nil {
			return indexed, err
		}
		s.ftsBacklog.pending.Store(false)
	}
	return indexed, nil
}

// ftsIndexItems indexes existing mail items that have no index row, in chunks: each
// chunk's messages are read and parsed first, then written in one mutation that skips
// items deleted or indexed meanwhile. It returns how many rows it wrote.
func (s *Store) ftsIndexItems(ctx context.Context, ids []int64) (int, error) {
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), ftsLateChunk)]
		ids = ids[len(chunk):]
		docs := make([]ftsDoc, len(chunk))
		for i, id := range chunk {
			docs[i] = s.ftsDocOfItem(ctx, id)
		}
		err := s.write(ctx, func(t *tx) error {
			for i, id := range chunk {
				var missing bool
				if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM item WHERE id = ? AND class = 'mail')
AND NOT EXISTS (SELECT 1 FROM item_fts WHERE rowid = ?)`, id, id).Scan(&missing); err != nil {
					return err
				}
				if !missing {
					continue
				}
				if err := t.ftsIndex(id, &docs[i]); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("store: full-text index: %w", err)
		}
	}
	return n, nil
}

// ftsDocOfItem extracts an item's text from its blob. When the blob cannot be read,
// the subject and addresses kept in the item row still make it findable.
func (s *Store) ftsDocOfItem(ctx context.Context, id int64) ftsDoc {
	var hash sql.NullString
	var subject, from, to string
	if err := s.rq.QueryRowContext(ctx, "SELECT blob_hash, subject, from_addr, to_addr FROM item WHERE id = ?", id).
		Scan(&hash, &subject, &from, &to); err != nil {
		return ftsDoc{}
	}
	if hash.Valid {
		d, err := s.ftsDocOfBlob(ctx, hash.String)
		if err == nil {
			return d
		}
		s.log.Warn("full-text index: message unreadable, indexing its envelope only", "item", id, "err", err)
	}
	return ftsDoc{subject: ftsClean(subject), addresses: ftsClean(from + "\n" + to)}
}

func (s *Store) ftsDocOfBlob(ctx context.Context, hash string) (ftsDoc, error) {
	f, err := s.openBlob(ctx, hash)
	if err != nil {
		return ftsDoc{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return ftsDoc{}, err
	}
	return ftsDocument(message.Parse(raw), raw), nil
}

// ftsDocsForCopy extracts, before a Copy's transaction, the text of the mail items a
// selector picks, by blob hash (a blob is immutable, so its text is too), up to
// ftsCopyBudget bytes of text. Items it leaves out are indexed after the commit.
func (s *Store) ftsDocsForCopy(ctx context.Context, p Principal, sel Selector) map[string]*ftsDoc {
	var hashes []string
	for _, r := range sel.UIDs {
		last := int64(r.Last)
		if r.Last == 0 {
			last = 1<<32 - 1
		}
		rows, err := s.rq.QueryContext(ctx, `SELECT DISTINCT blob_hash FROM item WHERE account_id = ? AND folder_id = ?
AND uid BETWEEN ? AND ? AND class = 'mail' AND blob_hash IS NOT NULL`, p.AccountID, sel.FolderID, r.First, last)
		hs, err := collect(rows, err, scanOne[string])
		if err != nil {
			return nil
		}
		hashes = append(hashes, hs...)
	}
	for _, id := range sel.IDs {
		var h string
		if err := s.rq.QueryRowContext(ctx, `SELECT blob_hash FROM item WHERE id = ? AND account_id = ? AND folder_id = ?
AND class = 'mail' AND blob_hash IS NOT NULL`, id, p.AccountID, sel.FolderID).Scan(&h); err == nil {
			hashes = append(hashes, h)
		}
	}
	docs := map[string]*ftsDoc{}
	budget := ftsCopyBudget
	for _, h := range hashes {
		if _, done := docs[h]; done {
			continue
		}
		if budget <= 0 {
			break
		}
		d, err := s.ftsDocOfBlob(ctx, h)
		if err != nil {
			continue
		}
		docs[h] = &d
		budget -= d.size()
	}
	return docs
}

// ftsIndexLate indexes copies whose text was not extracted before their transaction.
// The copy has committed, so a failure is logged and left to IndexBacklog.
func (s *Store) ftsIndexLate(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	if _, err := s.ftsIndexItems(context.WithoutCancel(ctx), ids); err != nil && !errors.Is(err, ErrClosed) {
		s.log.Error("full-text index of copied items", "items", len(ids), "err", err)
	}
}
