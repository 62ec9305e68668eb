package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/message"
)

// FarFuture is the RecurEnd of an unbounded recurrence.
var FarFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

const itemCols = `id, account_id, folder_id, uid, modseq, create_modseq, class, flags, keywords, internal_date,
size, coalesce(blob_hash, ''), subject, from_addr, to_addr, message_id, in_reply_to, thread_key, sent_date,
has_attachment, preview, coalesce(ical_uid, ''), coalesce(dav_name, ''), coalesce(start_time, 0),
coalesce(end_time, 0), coalesce(recur_end, 0), sequence`

func unixOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func zeroOrUnix(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func scanItem(sc scanner, extra ...any) (Item, error) {
	var it Item
	var class, keywords string
	var idate, sdate, start, end, recur int64
	dest := []any{&it.ID, &it.AccountID, &it.FolderID, &it.UID, &it.Modseq, &it.CreateModseq, &class, &it.Flags,
		&keywords, &idate, &it.Size, &it.BlobHash, &it.Subject, &it.From, &it.To, &it.MessageID, &it.InReplyTo,
		&it.ThreadKey, &sdate, &it.HasAttachment, &it.Preview, &it.ICalUID, &it.DavName, &start, &end, &recur,
		&it.Sequence}
	err := sc.Scan(append(dest, extra...)...)
	it.Class = Class(class)
	if keywords != "" {
		it.Keywords = strings.Split(keywords, " ")
	}
	it.InternalDate = time.Unix(idate, 0).UTC()
	it.SentDate = unixOrZero(sdate)
	it.Start, it.End, it.RecurEnd = unixOrZero(start), unixOrZero(end), unixOrZero(recur)
	return it, err
}

// scanItemOnly is scanItem without extra columns, for collect.
func scanItemOnly(sc scanner) (Item, error) { return scanItem(sc) }

func formatServerID(folder, item int64) string {
	return strconv.FormatInt(folder, 10) + ":" + strconv.FormatInt(item, 10)
}

// ParseServerID splits an ActiveSync ServerId made by Item.ServerID.
func ParseServerID(sid string) (folder, item int64, err error) {
	f, i, ok := strings.Cut(sid, ":")
	if ok {
		folder, err = strconv.ParseInt(f, 10, 64)
		if err == nil {
			item, err = strconv.ParseInt(i, 10, 64)
		}
	}
	if !ok || err != nil || folder <= 0 || item <= 0 {
		return 0, 0, fmt.Errorf("%w: server id %q", ErrInvalid, sid)
	}
	return folder, item, nil
}

// mailIndex is what delivery derives from a message before its transaction starts.
type mailIndex struct {
	subject, from, to, messageID, inReplyTo, thread, preview string
	sent                                                     int64
	hasAttachment                                            bool
	structure                                                []byte
	fts                                                      ftsDoc // the full-text index's text (fts.go)
}

func indexMessage(raw []byte) *mailIndex {
	p := message.Parse(raw)
	env := p.Envelope
	idx := &mailIndex{
		subject:       env.Subject,
		from:          joinAddrs(env.From),
		to:            joinAddrs(append(append([]message.Address{}, env.To...), env.Cc...)),
		messageID:     env.MessageID,
		inReplyTo:     env.InReplyTo,
		thread:        p.ThreadKey,
		preview:       p.Preview,
		hasAttachment: p.HasAttachments,
	}
	if !env.Date.IsZero() {
		idx.sent = env.Date.Unix()
	}
	idx.fts = ftsDocument(p, raw)
	// Bodies are read from the blob when needed; the row keeps the structure only.
	p.Text, p.HTML = "", ""
	idx.structure, _ = json.Marshal(p)
	return idx
}

func joinAddrs(as []message.Address) string {
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// errBlobMissing: the transaction found a blob row it was reviving but no file (the
// collector took it between our write and our commit); the caller rewrites and retries.
var errBlobMissing = errors.New("store: blob file missing")

// blobRef adds n references to a blob inside the mutation; inRow is the blob's bytes
// when it is kept in its row (nil: a file, or a blob known to exist). When the blob had
// no live reference and has no bytes in its row, its file is checked inside the writer
// transaction: the collector only unlinks from inside the writer too, so a file seen
// here survives until our commit.
func (t *tx) blobRef(hash string, size int64, n int, inRow []byte) error {
	var refs int64
	var hasRow bool
	if err := t.queryRow(`INSERT INTO blob(hash, size, refcount, data) VALUES(?, ?, ?, ?)
ON CONFLICT(hash) DO UPDATE SET refcount = refcount + excluded.refcount, zero_since = NULL,
  data = coalesce(blob.data, excluded.data)
RETURNING refcount, data IS NOT NULL`,
		hash, size, n, inRow).Scan(&refs, &hasRow); err != nil {
		return fmt.Errorf("store: blob ref: %w", err)
	}
	if refs == int64(n) && !hasRow && !t.s.blobs.exists(hash) {
		return errBlobMissing
	}
	return nil
}

// blobUnref drops one reference; at zero the grace period starts.
func (t *tx) blobUnref(hash string) error {
	_, err := t.exec(`UPDATE blob SET refcount = refcount - 1,
zero_since = CASE WHEN refcount = 1 THEN ? ELSE zero_since END WHERE hash = ?`, t.s.now().Unix(), hash)
	return err
}

// Deliver stores a raw message in a mail folder (0: the Inbox): the blob is written and
// fsynced and the message parsed before the transaction, which then indexes it. It is
// the one delivery path for SMTP, IMAP APPEND and ActiveSync.
func (s *Store) Deliver(ctx context.Context, p Principal, folder int64, raw []byte, opts DeliverOptions) (Delivered, error) {
	ds, err := s.DeliverMulti(ctx, raw, []Recipient{{Principal: p, FolderID: folder, DeliverOptions: opts}})
	if err != nil {
		return Delivered{}, err
	}
	return ds[0], nil
}

// DeliverMulti stores one message for several recipients atomically: one blob, one
// item per recipient, each account stamped with its own modseq.
func (s *Store) DeliverMulti(ctx context.Context, raw []byte, rcpts []Recipient) ([]Delivered, error) {
	if len(rcpts) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrInvalid)
	}
	if s.opts.MaxMessageSize > 0 && int64(len(raw)) > s.opts.MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), s.opts.MaxMessageSize)
	}
	idx := indexMessage(raw)
	hash := blobHash(raw)
	var inRow []byte
	var err error
	if s.inline(len(raw)) {
		inRow = raw
	} else if err = s.blobs.put(hash, raw); err != nil {
		return nil, err
	}
	var out []Delivered
	for attempt := 0; ; attempt++ {
		out = out[:0]
		err = s.write(ctx, func(t *tx) error {
			if err := t.blobRef(hash, int64(len(raw)), len(rcpts), inRow); err != nil {
				return err
			}
			for _, r := range rcpts {
				d, err := t.insertMail(r, hash, int64(len(raw)), idx)
				if err != nil {
					return err
				}
				out = append(out, d)
			}
			return nil
		})
		if !errors.Is(err, errBlobMissing) || attempt > 0 {
			break
		}
		if err = s.blobs.write(hash, raw); err != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) insertMail(r Recipient, hash string, size int64, idx *mailIndex) (Delivered, error) {
	p := r.Principal
	var f Folder
	var err error
	if r.FolderID == 0 {
		f, err = scanFolder(t.queryRow("SELECT "+folderCols+" FROM folder WHERE account_id = ? AND role = 'inbox' AND deleted_modseq IS NULL", p.AccountID))
		if errors.Is(err, sql.ErrNoRows) {
			err = fmt.Errorf("inbox of account %d: %w", p.AccountID, ErrNotFound)
		}
	} else {
		f, err = t.liveFolder(p, r.FolderID)
	}
	if err != nil {
		return Delivered{}, err
	}
	if f.Class != ClassMail {
		return Delivered{}, fmt.Errorf("%w: folder %q holds %s, not mail", ErrInvalid, f.Name, f.Class)
	}
	date := r.InternalDate
	if date.IsZero() {
		date = t.s.now()
	}
	kw := normKeywords(r.Keywords)
	d, err := t.insertItem(p.AccountID, f.ID, ClassMail, r.Flags, kw, date, size, func(uid uint32, m int64) (sql.Result, error) {
		return t.exec(`INSERT INTO item(account_id, folder_id, uid, modseq, create_modseq, class, flags, keywords,
internal_date, size, blob_hash, subject, from_addr, to_addr, message_id, in_reply_to, thread_key, sent_date,
has_attachment, preview, structure) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			p.AccountID, f.ID, uid, m, m, string(ClassMail), r.Flags, strings.Join(kw, " "), date.Unix(), size, hash,
			idx.subject, idx.from, idx.to, idx.messageID, idx.inReplyTo, idx.thread, idx.sent, idx.hasAttachment,
			idx.preview, idx.structure)
	})
	if err != nil {
		return d, err
	}
	return d, t.ftsIndex(d.ItemID, &idx.fts)
}

// insertItem allocates the uid, runs the INSERT, and updates the folder's counters and
// the account's usage, enforcing the quota in the same transaction (§2 invariant 8).
func (t *tx) insertItem(account, folder int64, class Class, flags Flags, kw []string, date time.Time, size int64,
	insert func(uid uint32, modseq int64) (sql.Result, error)) (Delivered, error) {
	m, err := t.modseq(account)
	if err != nil {
		return Delivered{}, err
	}
	unseen := 0
	if flags&FlagSeen == 0 {
		unseen = 1
	}
	var uid uint32
	if err := t.queryRow(`UPDATE folder SET uidnext = uidnext + 1, item_count = item_count + 1,
unseen_count = unseen_count + ?, total_size = total_size + ? WHERE id = ? RETURNING uidnext - 1`,
		unseen, size, folder).Scan(&uid); err != nil {
		return Delivered{}, fmt.Errorf("store: allocate uid: %w", err)
	}
	res, err := insert(uid, m)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return Delivered{}, fmt.Errorf("item: %w", ErrExists)
		}
		return Delivered{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Delivered{}, err
	}
	if err := t.addUsage(account, size, 1); err != nil {
		return Delivered{}, err
	}
	if err := t.touchFolder(account, folder, ChangeContent); err != nil {
		return Delivered{}, err
	}
	return Delivered{AccountID: account, FolderID: folder, ItemID: id, UID: uid, Modseq: m}, nil
}

func (t *tx) addUsage(account, bytes, items int64) error {
	var usage, quota int64
	if err := t.queryRow("UPDATE account SET usage_bytes = usage_bytes + ?, usage_items = usage_items + ? WHERE id = ? RETURNING usage_bytes, quota_bytes",
		bytes, items, account).Scan(&usage, &quota); err != nil {
		return err
	}
	if bytes > 0 && quota > 0 && usage > quota {
		return fmt.Errorf("%w: %d of %d bytes", ErrOverQuota, usage, quota)
	}
	return nil
}

// icalUIDFromText finds a UID property in iCalendar or vCard text (the caller's domain
// package normally supplies it).
func icalUIDFromText(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ";")
		if strings.EqualFold(name, "UID") {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// AppendPIM stores an iCalendar (event, task) or vCard (contact) item, or a note, in a
// folder of the matching class. The text is kept exactly as given.
func (s *Store) AppendPIM(ctx context.Context, p Principal, folder int64, it PIMItem) (Delivered, error) {
	if it.ICalUID == "" {
		it.ICalUID = icalUIDFromText(it.Content)
	}
	var d Delivered
	err := s.write(ctx, func(t *tx) error {
		f, err := t.liveFolder(p, folder)
		if err != nil {
			return err
		}
		if f.Class == ClassMail {
			return fmt.Errorf("%w: folder %q holds mail", ErrInvalid, f.Name)
		}
		d, err = t.insertItem(p.AccountID, f.ID, f.Class, it.Flags, nil, t.s.now(), int64(len(it.Content)),
			func(uid uint32, m int64) (sql.Result, error) {
				return t.exec(`INSERT INTO item(account_id, folder_id, uid, modseq, create_modseq, class, flags,
internal_date, size, content, ical_uid, dav_name, start_time, end_time, recur_end, sequence)
VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
					p.AccountID, f.ID, uid, m, m, string(f.Class), it.Flags, t.s.now().Unix(), len(it.Content), it.Content,
					nullIfEmpty(it.ICalUID), nullIfEmpty(it.DavName), zeroOrUnix(it.Start), zeroOrUnix(it.End),
					zeroOrUnix(it.RecurEnd), it.Sequence)
			})
		return err
	})
	return d, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ReplacePIM replaces an item's content (an edit from a device or a DAV PUT). The item
// keeps its id and flags but gets a new uid, and a tombstone keeps the old uid (§2
// invariant 3). it.Flags is ignored: flags change through SetFlags.
func (s *Store) ReplacePIM(ctx context.Context, p Principal, id int64, it PIMItem) (Delivered, error) {
	if it.ICalUID == "" {
		it.ICalUID = icalUIDFromText(it.Content)
	}
	var d Delivered
	err := s.write(ctx, func(t *tx) error {
		cur, err := t.itemFor(p, id)
		if err != nil {
			return err
		}
		if cur.Class == ClassMail {
			return fmt.Errorf("%w: item %d is mail", ErrInvalid, id)
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		if err := t.tombstone(p.AccountID, m, &cur, ReasonReplaced); err != nil {
			return err
		}
		var uid uint32
		delta := int64(len(it.Content)) - cur.Size
		if err := t.queryRow("UPDATE folder SET uidnext = uidnext + 1, total_size = total_size + ? WHERE id = ? RETURNING uidnext - 1",
			delta, cur.FolderID).Scan(&uid); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE item SET uid = ?, modseq = ?, size = ?, content = ?, ical_uid = ?, dav_name = ?,
start_time = ?, end_time = ?, recur_end = ?, sequence = ? WHERE id = ?`,
			uid, m, len(it.Content), it.Content, nullIfEmpty(it.ICalUID), nullIfEmpty(it.DavName), zeroOrUnix(it.Start),
			zeroOrUnix(it.End), zeroOrUnix(it.RecurEnd), it.Sequence, id); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("item uid %q: %w", it.ICalUID, ErrExists)
			}
			return err
		}
		if err := t.addUsage(p.AccountID, delta, 0); err != nil {
			return err
		}
		d = Delivered{AccountID: p.AccountID, FolderID: cur.FolderID, ItemID: id, UID: uid, Modseq: m}
		return t.touchFolder(p.AccountID, cur.FolderID, ChangeContent)
	})
	return d, err
}

// itemFor reads an item the principal owns in a live folder.
func (t *tx) itemFor(p Principal, id int64) (Item, error) {
	it, err := scanItem(t.queryRow(`SELECT `+itemCols+` FROM item WHERE id = ? AND account_id = ?
AND folder_id IN (SELECT id FROM folder WHERE account_id = ? AND deleted_modseq IS NULL)`, id, p.AccountID, p.AccountID))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("item %d: %w", id, ErrNotFound)
	}
	return it, err
}

// selectItems reads the items a selector picks, in the principal's live folder.
func (t *tx) selectItems(p Principal, sel Selector) ([]Item, error) {
	return selectRows(t, p, sel, itemCols, scanItemOnly)
}

// selectRows reads the columns cols of the items a selector picks, in the principal's
// live folder, with scan.
func selectRows[T any](t *tx, p Principal, sel Selector, cols string, scan func(scanner) (T, error)) ([]T, error) {
	if _, err := t.liveFolder(p, sel.FolderID); err != nil {
		return nil, err
	}
	var out []T
	add := func(rows *sql.Rows, err error) error {
		got, err := collect(rows, err, scan)
		out = append(out, got...)
		return err
	}
	for _, r := range sel.UIDs {
		last := int64(r.Last)
		if r.Last == 0 {
			last = 1<<32 - 1
		}
		if err := add(t.query("SELECT "+cols+" FROM item WHERE account_id = ? AND folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
			p.AccountID, sel.FolderID, r.First, last)); err != nil {
			return nil, err
		}
	}
	for _, id := range sel.IDs {
		if err := add(t.query("SELECT "+cols+" FROM item WHERE id = ? AND account_id = ? AND folder_id = ?",
			id, p.AccountID, sel.FolderID)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// flagRow is what a flag change reads of an item.
type flagRow struct {
	id       int64
	uid      uint32
	flags    Flags
	keywords []string
	modseq   int64
}

func scanFlagRow(sc scanner) (flagRow, error) {
	var r flagRow
	var kw string
	err := sc.Scan(&r.id, &r.uid, &r.flags, &kw, &r.modseq)
	if kw != "" {
		r.keywords = strings.Split(kw, " ")
	}
	return r, err
}

// applyFlags combines flags as RFC 9051 6.4.6 STORE does.
func applyFlags(op FlagOp, curF Flags, curK []string, f Flags, kw []string) (Flags, []string) {
	switch op {
	case FlagsAdd:
		return curF | f, normKeywords(append(append([]string{}, curK...), kw...))
	case FlagsRemove:
		drop := map[string]bool{}
		for _, k := range kw {
			drop[strings.ToLower(k)] = true
		}
		var keep []string
		for _, k := range curK {
			if !drop[strings.ToLower(k)] {
				keep = append(keep, k)
			}
		}
		return curF &^ f, normKeywords(keep)
	default:
		return f, normKeywords(kw)
	}
}

func sameKeywords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SetFlags changes flags and keywords of the selected items. Only items whose flags
// actually change get a new modseq; the result lists every selected item's flags.
func (s *Store) SetFlags(ctx context.Context, p Principal, sel Selector, op FlagOp, flags Flags, keywords []string) ([]FlagChange, error) {
	var out []FlagChange
	err := s.write(ctx, func(t *tx) error {
		var err error
		out, _, err = t.setFlags(p, sel, op, flags, keywords)
		return err
	})
	return out, err
}

// setFlags is SetFlags inside a mutation; it also returns each changed item's modseq
// before the change, by item id.
func (t *tx) setFlags(p Principal, sel Selector, op FlagOp, flags Flags, keywords []string) (out []FlagChange, before map[int64]int64, err error) {
	rows, err := selectRows(t, p, sel, "id, uid, flags, keywords, modseq", scanFlagRow)
	if err != nil {
		return nil, nil, err
	}
	before = map[int64]int64{}
	// Items that end with the same flags and keywords are updated by one statement.
	type result struct {
		flags    Flags
		keywords string
	}
	var changed map[result][]int64
	var order []result
	unseenDelta := 0
	for _, r := range rows {
		nf, nk := applyFlags(op, r.flags, r.keywords, flags, keywords)
		fc := FlagChange{ItemID: r.id, UID: r.uid, Flags: nf, Keywords: nk, Modseq: r.modseq}
		if nf != r.flags || !sameKeywords(nk, r.keywords) {
			m, err := t.modseq(p.AccountID)
			if err != nil {
				return nil, nil, err
			}
			fc.Modseq = m
			before[r.id] = r.modseq
			if changed == nil {
				changed = map[result][]int64{}
			}
			k := result{nf, strings.Join(nk, " ")}
			if _, ok := changed[k]; !ok {
				order = append(order, k)
			}
			changed[k] = append(changed[k], r.id)
			if r.flags&FlagSeen != 0 && nf&FlagSeen == 0 {
				unseenDelta++
			} else if r.flags&FlagSeen == 0 && nf&FlagSeen != 0 {
				unseenDelta--
			}
		}
		out = append(out, fc)
	}
	if len(changed) == 0 {
		return out, before, nil
	}
	m, err := t.modseq(p.AccountID)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range order {
		if err := t.updateByIDs("UPDATE item SET flags = ?, keywords = ?, modseq = ? WHERE id IN ", changed[k], k.flags, k.keywords, m); err != nil {
			return nil, nil, err
		}
	}
	if err := t.touchFolder(p.AccountID, sel.FolderID, ChangeContent); err != nil {
		return nil, nil, err
	}
	if unseenDelta != 0 {
		if _, err := t.exec("UPDATE folder SET unseen_count = unseen_count + ? WHERE id = ?", unseenDelta, sel.FolderID); err != nil {
			return nil, nil, err
		}
	}
	return out, before, nil
}

// updateByIDs runs stmt (ending in "id IN ") over ids, args first, in chunks whose
// sizes are powers of two (the last padded by repeating an id), so that a handful of
// prepared statements serve any count.
func (t *tx) updateByIDs(stmt string, ids []int64, args ...any) error {
	for len(ids) > 0 {
		n := 1
		for n < len(ids) && n < 512 {
			n *= 2
		}
		chunk := ids[:min(n, len(ids))]
		ids = ids[len(chunk):]
		a := append([]any(nil), args...)
		for i := range n {
			a = append(a, chunk[min(i, len(chunk)-1)])
		}
		if _, err := t.exec(stmt+"(?"+strings.Repeat(",?", n-1)+")", a...); err != nil {
			return err
		}
	}
	return nil
}

// adjustFolder updates a folder's counters when an item enters (+1) or leaves (-1).
func (t *tx) adjustFolder(folder int64, it *Item, sign int64) error {
	unseen := int64(0)
	if it.Flags&FlagSeen == 0 {
		unseen = sign
	}
	_, err := t.exec("UPDATE folder SET item_count = item_count + ?, unseen_count = unseen_count + ?, total_size = total_size + ? WHERE id = ?",
		sign, unseen, sign*it.Size, folder)
	return err
}

// transfer resolves the two folders of a move or copy, which must be the principal's
// and of one class, and reads the selected items.
func (t *tx) transfer(p Principal, sel Selector, dest int64, verb string) (src, dst Folder, items []Item, err error) {
	if src, err = t.liveFolder(p, sel.FolderID); err != nil {
		return
	}
	if dst, err = t.liveFolder(p, dest); err != nil {
		return
	}
	if src.Class != dst.Class {
		err = fmt.Errorf("%w: cannot %s %s items into a %s folder", ErrInvalid, verb, src.Class, dst.Class)
		return
	}
	items, err = t.selectItems(p, sel)
	return
}

// Move moves the selected items to another folder of the same class. Each item keeps
// its id, gets a new uid in the destination, and leaves a tombstone with its old uid
// (§2 invariant 3; RFC 6851).
func (s *Store) Move(ctx context.Context, p Principal, sel Selector, dest int64) ([]Moved, error) {
	var out []Moved
	err := s.write(ctx, func(t *tx) error {
		var err error
		out, err = t.move(p, sel, dest)
		return err
	})
	return out, err
}

// move is Move inside a mutation.
func (t *tx) move(p Principal, sel Selector, dest int64) (out []Moved, err error) {
	err = func() error {
		src, dst, items, err := t.transfer(p, sel, dest, "move")
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if err := t.tombstone(p.AccountID, m, it, ReasonMoved); err != nil {
				return err
			}
			var uid uint32
			if err := t.queryRow("UPDATE folder SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1", dst.ID).Scan(&uid); err != nil {
				return err
			}
			if _, err := t.exec("UPDATE item SET folder_id = ?, uid = ?, modseq = ? WHERE id = ?", dst.ID, uid, m, it.ID); err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return fmt.Errorf("item uid %q in destination: %w", it.ICalUID, ErrExists)
				}
				return err
			}
			if err := t.adjustFolder(src.ID, it, -1); err != nil {
				return err
			}
			if err := t.adjustFolder(dst.ID, it, +1); err != nil {
				return err
			}
			out = append(out, Moved{ItemID: it.ID, NewItemID: it.ID, OldUID: it.UID, NewUID: uid})
		}
		if err := t.touchFolder(p.AccountID, src.ID, ChangeContent); err != nil {
			return err
		}
		return t.touchFolder(p.AccountID, dst.ID, ChangeContent)
	}()
	return out, err
}

// Copy copies the selected items into another folder of the same class: new items
// with new ids and uids sharing the blobs (RFC 4315 COPYUID).
func (s *Store) Copy(ctx context.Context, p Principal, sel Selector, dest int64) ([]Moved, error) {
	var out []Moved
	docs := s.ftsDocsForCopy(ctx, p, sel) // parsing happens before the transaction
	var late []int64                      // copies to index after the commit
	err := s.write(ctx, func(t *tx) error {
		out, late = out[:0], late[:0]
		_, dst, items, err := t.transfer(p, sel, dest, "copy")
		if err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if it.BlobHash != "" {
				if err := t.blobRef(it.BlobHash, it.Size, 1, nil); err != nil {
					return err
				}
			}
			d, err := t.insertItem(p.AccountID, dst.ID, it.Class, it.Flags, it.Keywords, it.InternalDate, it.Size,
				func(uid uint32, m int64) (sql.Result, error) {
					return t.exec(`INSERT INTO item(account_id, folder_id, uid, modseq, create_modseq, class, flags, keywords,
internal_date, size, blob_hash, subject, from_addr, to_addr, message_id, in_reply_to, thread_key, sent_date,
has_attachment, preview, structure, content, ical_uid, dav_name, start_time, end_time, recur_end, sequence)
SELECT account_id, ?, ?, ?, ?, class, flags, keywords, internal_date, size, blob_hash, subject, from_addr, to_addr,
message_id, in_reply_to, thread_key, sent_date, has_attachment, preview, structure, content, ical_uid, NULL,
start_time, end_time, recur_end, sequence FROM item WHERE id = ?`, dst.ID, uid, m, m, it.ID)
				})
			if err != nil {
				return err
			}
			if _, err := t.exec("INSERT INTO item_prop(account_id, item_id, tag, value, source_hash) SELECT account_id, ?, tag, value, source_hash FROM item_prop WHERE account_id = ? AND item_id = ?",
				d.ItemID, p.AccountID, it.ID); err != nil {
				return err
			}
			if it.Class == ClassMail {
				if doc := docs[it.BlobHash]; doc != nil {
					if err := t.ftsIndex(d.ItemID, doc); err != nil {
						return err
					}
				} else {
					late = append(late, d.ItemID)
				}
			}
			out = append(out, Moved{ItemID: it.ID, NewItemID: d.ItemID, OldUID: it.UID, NewUID: d.UID})
		}
		return nil
	})
	if err == nil {
		s.ftsIndexLate(ctx, late)
	}
	return out, err
}

// dropItem deletes an item row with its properties, releasing its blob, folder counters
// and usage. It writes no tombstone.
func (t *tx) dropItem(id int64) error {
	it, err := scanItem(t.queryRow("SELECT "+itemCols+" FROM item WHERE id = ?", id))
	if err != nil {
		return err
	}
	if it.BlobHash != "" {
		if err := t.blobUnref(it.BlobHash); err != nil {
			return err
		}
	}
	if _, err := t.exec("DELETE FROM item_prop WHERE account_id = ? AND item_id = ?", it.AccountID, id); err != nil {
		return err
	}
	if _, err := t.exec("DELETE FROM item WHERE id = ?", id); err != nil {
		return err
	}
	if it.Class == ClassMail {
		if err := t.ftsRemove(id); err != nil {
			return err
		}
	}
	if err := t.adjustFolder(it.FolderID, &it, -1); err != nil {
		return err
	}
	return t.addUsage(it.AccountID, -it.Size, -1)
}

func (t *tx) itemIDs(q string, args ...any) ([]int64, error) {
	rows, err := t.query(q, args...)
	return collect(rows, err, scanOne[int64])
}

// removeItems deletes items leaving "expunged" tombstones with their uids.
func (t *tx) removeItems(p Principal, folder int64, items []Item) ([]uint32, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m, err := t.modseq(p.AccountID)
	if err != nil {
		return nil, err
	}
	uids := make([]uint32, 0, len(items))
	for _, it := range items {
		if err := t.tombstone(p.AccountID, m, &it, ReasonExpunged); err != nil {
			return nil, err
		}
		if err := t.dropItem(it.ID); err != nil {
			return nil, err
		}
		uids = append(uids, it.UID)
	}
	return uids, t.touchFolder(p.AccountID, folder, ChangeContent)
}

// Expunge removes the items flagged \Deleted in a folder, limited to uid ranges when
// given (RFC 9051 6.4.3, RFC 4315 UID EXPUNGE). It returns the expunged uids.
func (s *Store) Expunge(ctx context.Context, p Principal, folder int64, uids []UIDRange) ([]uint32, error) {
	if len(uids) == 0 {
		uids = []UIDRange{{First: 1, Last: 0}}
	}
	var out []uint32
	err := s.write(ctx, func(t *tx) error {
		items, err := t.selectItems(p, Selector{FolderID: folder, UIDs: uids})
		if err != nil {
			return err
		}
		var doomed []Item
		for _, it := range items {
			if it.Flags&FlagDeleted != 0 {
				doomed = append(doomed, it)
			}
		}
		out, err = t.removeItems(p, folder, doomed)
		return err
	})
	return out, err
}

// Delete removes the selected items whatever their flags (an ActiveSync Delete without
// DeletesAsMoves, a DAV DELETE). It returns the removed uids.
func (s *Store) Delete(ctx context.Context, p Principal, sel Selector) ([]uint32, error) {
	var out []uint32
	err := s.write(ctx, func(t *tx) error {
		items, err := t.selectItems(p, sel)
		if err != nil {
			return err
		}
		out, err = t.removeItems(p, sel.FolderID, items)
		return err
	})
	return out, err
}

// readItem reads an item the principal owns from the reader pool, with extra columns.
func (s *Store) readItem(ctx context.Context, p Principal, id int64, extraCols string, extra ...any) (Item, error) {
	it, err := scanItem(s.rq.QueryRowContext(ctx, `SELECT `+itemCols+extraCols+` FROM item WHERE id = ? AND account_id = ?
AND folder_id IN (SELECT id FROM folder WHERE account_id = ? AND deleted_modseq IS NULL)`, id, p.AccountID, p.AccountID), extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("item %d: %w", id, ErrNotFound)
	}
	return it, err
}

// GetItem reads an item's metadata (and the canonical text of a PIM item).
func (s *Store) GetItem(ctx context.Context, p Principal, id int64) (Item, error) {
	var content sql.NullString
	it, err := s.readItem(ctx, p, id, ", content", &content)
	it.Content = content.String
	return it, err
}

// ItemByUID finds an item by folder and uid.
func (s *Store) ItemByUID(ctx context.Context, p Principal, folder int64, uid uint32) (Item, error) {
	var id int64
	err := s.rq.QueryRowContext(ctx, "SELECT id FROM item WHERE account_id = ? AND folder_id = ? AND uid = ?", p.AccountID, folder, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, fmt.Errorf("uid %d: %w", uid, ErrNotFound)
	}
	if err != nil {
		return Item{}, err
	}
	return s.GetItem(ctx, p, id)
}

// Structure returns the parse of a mail item made at delivery (envelope, body
// structure with offsets into the blob, attachments, preview; not the decoded bodies).
func (s *Store) Structure(ctx context.Context, p Principal, id int64) (*message.Parsed, error) {
	var raw []byte
	if _, err := s.readItem(ctx, p, id, ", structure", &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: item %d has no message structure", ErrInvalid, id)
	}
	var parsed message.Parsed
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return nil, fmt.Errorf("store: item %d structure: %w", id, err)
	}
	return &parsed, nil
}

// OpenBlob opens a mail item's raw message. The caller closes it. Reading it holds no
// transaction, so a slow client never stalls the WAL (§2 invariant 1).
func (s *Store) OpenBlob(ctx context.Context, p Principal, id int64) (Blob, error) {
	it, err := s.readItem(ctx, p, id, "")
	if err != nil {
		return nil, err
	}
	if it.BlobHash == "" {
		return nil, fmt.Errorf("%w: item %d has no blob", ErrInvalid, id)
	}
	return s.openBlob(ctx, it.BlobHash)
}

// ListItems lists a folder's items with uids in r, by uid.
func (s *Store) ListItems(ctx context.Context, p Principal, folder int64, r UIDRange) ([]Item, error) {
	if _, err := s.Folder(ctx, p, folder); err != nil {
		return nil, err
	}
	last := int64(r.Last)
	if r.Last == 0 {
		last = 1<<32 - 1
	}
	rows, err := s.rq.QueryContext(ctx, "SELECT "+itemCols+" FROM item WHERE account_id = ? AND folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
		p.AccountID, folder, r.First, last)
	return collect(rows, err, scanItemOnly)
}

// FolderUIDs lists a folder's uids in order (IMAP builds its sequence numbers from it).
func (s *Store) FolderUIDs(ctx context.Context, p Principal, folder int64) ([]uint32, error) {
	if _, err := s.Folder(ctx, p, folder); err != nil {
		return nil, err
	}
	rows, err := s.rq.QueryContext(ctx, "SELECT uid FROM item WHERE account_id = ? AND folder_id = ? ORDER BY uid", p.AccountID, folder)
	return collect(rows, err, scanOne[uint32])
}

// Delta returns what changed in a folder since a modseq: live items and tombstones
// above it and the new watermark, in one snapshot (§2 invariant 2). Both queries walk
// the (account, folder, modseq) indexes, so the cost follows the changes, not the folder.
func (s *Store) Delta(ctx context.Context, p Principal, folder int64, since int64) (Delta, error) {
	var d Delta
	err := s.snapshot(ctx, func(q *sql.Tx) error {
		var pruned int64
		err := q.QueryRowContext(ctx, `SELECT f.highest_modseq, a.pruned_modseq, a.sync_epoch FROM folder f JOIN account a ON a.id = f.account_id
WHERE f.id = ? AND f.account_id = ? AND f.deleted_modseq IS NULL`, folder, p.AccountID).Scan(&d.Modseq, &pruned, &d.SyncEpoch)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
		}
		if err != nil {
			return err
		}
		d.Pruned = since < pruned
		rows, err := q.QueryContext(ctx, "SELECT "+itemCols+" FROM item WHERE account_id = ? AND folder_id = ? AND modseq > ? ORDER BY modseq, uid",
			p.AccountID, folder, since)
		if err != nil {
			return err
		}
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				rows.Close()
				return err
			}
			d.Items = append(d.Items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, "SELECT folder_id, modseq, item_id, uid, coalesce(dav_name, ''), reason FROM tombstone WHERE account_id = ? AND folder_id = ? AND modseq > ? ORDER BY modseq, uid",
			p.AccountID, folder, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tb Tombstone
			var reason string
			if err := rows.Scan(&tb.FolderID, &tb.Modseq, &tb.ItemID, &tb.UID, &tb.DavName, &reason); err != nil {
				return err
			}
			tb.Reason = Reason(reason)
			d.Tombstones = append(d.Tombstones, tb)
		}
		return rows.Err()
	})
	return d, err
}

// tombstone records that an item left its folder (it still holds its old folder and uid).
func (t *tx) tombstone(account, modseq int64, it *Item, reason Reason) error {
	_, err := t.exec("INSERT INTO tombstone(account_id, folder_id, modseq, item_id, uid, dav_name, reason, created) VALUES(?,?,?,?,?,?,?,?)",
		account, it.FolderID, modseq, it.ID, it.UID, nullIfEmpty(it.DavName), string(reason), t.s.now().Unix())
	return err
}

// PruneTombstonesBefore prunes, in every account, the tombstones created before cutoff
// (store.prune_tombstones_after). Clients whose sync state is older then resynchronise
// from the live items instead (§2 invariant 2).
func (s *Store) PruneTombstonesBefore(ctx context.Context, cutoff time.Time) (int, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT account_id, max(modseq) FROM tombstone WHERE created < ? GROUP BY account_id", cutoff.Unix())
	if err != nil {
		return 0, err
	}
	type mark struct{ account, modseq int64 }
	var marks []mark
	for rows.Next() {
		var m mark
		if err := rows.Scan(&m.account, &m.modseq); err != nil {
			rows.Close()
			return 0, err
		}
		marks = append(marks, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, m := range marks {
		if err := s.PruneTombstones(ctx, m.account, m.modseq); err != nil {
			return 0, err
		}
	}
	return len(marks), nil
}

// PruneTombstones deletes an account's tombstones at or below a modseq and records it
// as pruned_modseq, so that older sync tokens are detected as too old.
func (s *Store) PruneTombstones(ctx context.Context, account int64, upTo int64) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.exec("DELETE FROM tombstone WHERE account_id = ? AND modseq <= ?", account, upTo); err != nil {
			return err
		}
		return t.expectOne(t.exec("UPDATE account SET pruned_modseq = max(pruned_modseq, ?) WHERE id = ?", upTo, account))
	})
}
