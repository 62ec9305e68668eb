package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The outbound queue's storage (owned by smtp/queue, DESIGN.md §2 entity "outbound
// queue"). A queued message is one refcounted blob plus one row per remote recipient
// still to deliver. Accepting a message, recording a delivery and recording a bounce
// are each one mutation, so after a crash every recipient is either still queued or
// done, and a bounce exists exactly when its recipient left the queue as failed.

// Outbound is the remote part of an accepted message.
type Outbound struct {
	From       string // envelope sender; "" is the null sender
	AccountID  int64  // the submitting account; 0 for Gatehouse itself
	Recipients []string
	// Raw is the queued copy when it differs from the local items' bytes (they carry a
	// Return-Path the relayed copy must not have, RFC 5321 4.4); nil: the same bytes.
	Raw []byte
}

// QueueEntry is one queued recipient of one queued message.
type QueueEntry struct {
	ID          int64 // the recipient row
	MsgID       int64
	From        string
	AccountID   int64
	Rcpt        string
	Domain      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Created     time.Time
	Size        int64
}

// Bounce is a delivery status notification to store in the mutation that removes the
// failed recipients: delivered to local mailboxes and/or queued for remote ones.
type Bounce struct {
	Raw   []byte
	Local []Recipient
	Out   *Outbound
}

// prepared is a message whose blob is durable and whose index is computed, ready for
// the writer (parsing and fsync happen before the transaction, §2 invariant 1).
type prepared struct {
	raw   []byte
	hash  string
	inRow bool // kept in its blob row, no file (see DefaultInlineBlobMax)
	idx   *mailIndex
	out   *prepared // the queued copy, when it differs
}

func (s *Store) newPrepared(raw []byte) *prepared {
	return &prepared{raw: raw, hash: blobHash(raw), inRow: s.inline(len(raw))}
}

// rowBytes is what blobRef keeps in the blob row: the bytes, or nil for a file.
func (p *prepared) rowBytes() []byte {
	if p.inRow {
		return p.raw
	}
	return nil
}

func (s *Store) prepareAccept(raw []byte, local []Recipient) (*prepared, error) {
	p := s.newPrepared(raw)
	if len(local) > 0 {
		p.idx = indexMessage(raw)
	}
	if !p.inRow {
		if err := s.blobs.put(p.hash, raw); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeAccept runs fn in the writer, rewriting the blob once if the collector removed
// it between put and commit (see blobRef).
func (s *Store) writeAccept(ctx context.Context, p *prepared, fn func(*tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.write(ctx, fn)
		if !errors.Is(err, errBlobMissing) || attempt > 0 {
			return err
		}
		for q := p; q != nil; q = q.out {
			if q.inRow {
				continue
			}
			if err := s.blobs.write(q.hash, q.raw); err != nil {
				return err
			}
		}
	}
}

func (t *tx) accept(p *prepared, local []Recipient, out *Outbound) ([]Delivered, int64, error) {
	q := p // the queued copy
	if p.out != nil {
		q = p.out
	}
	refs := len(local)
	if out != nil && q == p {
		refs++
	}
	size := int64(len(p.raw))
	if refs > 0 {
		if err := t.blobRef(p.hash, size, refs, p.rowBytes()); err != nil {
			return nil, 0, err
		}
	}
	if out != nil && q != p {
		if err := t.blobRef(q.hash, int64(len(q.raw)), 1, q.rowBytes()); err != nil {
			return nil, 0, err
		}
	}
	var ds []Delivered
	for _, r := range local {
		d, err := t.insertMail(r, p.hash, size, p.idx)
		if err != nil {
			return nil, 0, err
		}
		ds = append(ds, d)
	}
	if out == nil {
		return ds, 0, nil
	}
	now := t.s.now().Unix()
	var msgID int64
	if err := t.queryRow("INSERT INTO queue_msg(blob_hash, size, mail_from, account_id, created) VALUES(?,?,?,?,?) RETURNING id",
		q.hash, int64(len(q.raw)), out.From, out.AccountID, now).Scan(&msgID); err != nil {
		return nil, 0, fmt.Errorf("store: queue: %w", err)
	}
	for _, rc := range out.Recipients {
		_, domain, err := SplitAddress(rc)
		if err != nil {
			return nil, 0, err
		}
		if _, err := t.exec("INSERT INTO queue_rcpt(msg_id, rcpt, domain, next_attempt) VALUES(?,?,?,?)",
			msgID, rc, domain, now); err != nil {
			return nil, 0, fmt.Errorf("store: queue: %w", err)
		}
	}
	return ds, msgID, nil
}

const queueCols = `r.id, r.msg_id, m.mail_from, m.account_id, r.rcpt, r.domain, r.attempts, r.next_attempt,
r.last_error, m.created, m.size`

func scanQueue(rows *sql.Rows) ([]QueueEntry, error) {
	defer rows.Close()
	var out []QueueEntry
	for rows.Next() {
		var e QueueEntry
		var next, created int64
		if err := rows.Scan(&e.ID, &e.MsgID, &e.From, &e.AccountID, &e.Rcpt, &e.Domain, &e.Attempts, &next,
			&e.LastError, &created, &e.Size); err != nil {
			return nil, err
		}
		e.NextAttempt, e.Created = time.Unix(next, 0), time.Unix(created, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// QueueDue lists up to limit recipients whose next attempt is at or before now, oldest
// message first.
func (s *Store) QueueDue(ctx context.Context, now time.Time, limit int) ([]QueueEntry, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT "+queueCols+
		" FROM queue_rcpt r JOIN queue_msg m ON m.id = r.msg_id WHERE r.next_attempt <= ? ORDER BY r.msg_id, r.domain, r.id LIMIT ?",
		now.Unix(), limit)
	if err != nil {
		return nil, err
	}
	return scanQueue(rows)
}

// QueueList lists every queued recipient by message.
func (s *Store) QueueList(ctx context.Context) ([]QueueEntry, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT "+queueCols+" FROM queue_rcpt r JOIN queue_msg m ON m.id = r.msg_id ORDER BY r.msg_id, r.id")
	if err != nil {
		return nil, err
	}
	return scanQueue(rows)
}

// NextQueueAttempt returns the earliest next attempt in the queue (ok false: empty).
func (s *Store) NextQueueAttempt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.rq.QueryRowContext(ctx, "SELECT min(next_attempt) FROM queue_rcpt").Scan(&next); err != nil {
		return time.Time{}, false, err
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(next.Int64, 0), true, nil
}

// QueueMessage returns the raw bytes of a queued message.
func (s *Store) QueueMessage(ctx context.Context, msgID int64) ([]byte, error) {
	var hash string
	err := s.rq.QueryRowContext(ctx, "SELECT blob_hash FROM queue_msg WHERE id = ?", msgID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("queued message %d: %w", msgID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	f, err := s.openBlob(ctx, hash)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// QueueDone removes recipients that were delivered or failed for good and, in the same
// mutation, stores the bounce for the failed ones (nil: none). A message whose last
// recipient leaves is removed and its blob reference dropped. Recipients no longer
// queued (deleted meanwhile) are skipped; if none is left, no bounce is stored.
func (s *Store) QueueDone(ctx context.Context, rcptIDs []int64, bounce *Bounce) error {
	var p *prepared
	if bounce != nil {
		var err error
		if p, err = s.prepareAccept(bounce.Raw, bounce.Local); err != nil {
			return err
		}
	}
	fn := func(t *tx) error {
		msgs := map[int64]bool{}
		for _, id := range rcptIDs {
			var msg int64
			err := t.queryRow("DELETE FROM queue_rcpt WHERE id = ? RETURNING msg_id", id).Scan(&msg)
			if errors.Is(err, sql.ErrNoRows) {
				// Deleted by an administrator meanwhile: nothing to record.
				continue
			}
			if err != nil {
				return err
			}
			msgs[msg] = true
		}
		if len(msgs) == 0 {
			// None was still queued: no bounce either.
			return nil
		}
		for msg := range msgs {
			if err := t.dropQueueMsgIfEmpty(msg); err != nil {
				return err
			}
		}
		if p != nil {
			if _, _, err := t.accept(p, bounce.Local, bounce.Out); err != nil {
				return err
			}
		}
		return nil
	}
	if p == nil {
		return s.write(ctx, fn)
	}
	return s.writeAccept(ctx, p, fn)
}

func (t *tx) dropQueueMsgIfEmpty(msg int64) error {
	var n int64
	if err := t.queryRow("SELECT count(*) FROM queue_rcpt WHERE msg_id = ?", msg).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var hash string
	err := t.queryRow("DELETE FROM queue_msg WHERE id = ? RETURNING blob_hash", msg).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.blobUnref(hash)
}

// QueueRetry records a failed attempt and schedules the next one.
func (s *Store) QueueRetry(ctx context.Context, rcptID int64, next time.Time, lastErr string) error {
	return s.write(ctx, func(t *tx) error {
		return t.expectOne(t.exec("UPDATE queue_rcpt SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
			next.Unix(), truncate(lastErr, 500), rcptID))
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// QueueFlush makes every queued recipient due now and returns how many there are.
func (s *Store) QueueFlush(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, func(t *tx) error {
		res, err := t.exec("UPDATE queue_rcpt SET next_attempt = ?", t.s.now().Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// QueueDelete removes a queued message with all its recipients, without a bounce.
func (s *Store) QueueDelete(ctx context.Context, msgID int64) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.exec("DELETE FROM queue_rcpt WHERE msg_id = ?", msgID); err != nil {
			return err
		}
		var hash string
		err := t.queryRow("DELETE FROM queue_msg WHERE id = ? RETURNING blob_hash", msgID).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queued message %d: %w", msgID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return t.blobUnref(hash)
	})
}

// DKIMKey is a domain's DKIM signing key (RFC 6376).
type DKIMKey struct {
	Domain     string
	Selector   string
	PrivateKey []byte // PKCS #8 DER
	Created    time.Time
}

// DKIMKeyFor returns a domain's DKIM key (ErrNotFound: none yet).
func (s *Store) DKIMKeyFor(ctx context.Context, domain string) (DKIMKey, error) {
	k := DKIMKey{Domain: NormalizeDomain(domain)}
	var created int64
	err := s.rq.QueryRowContext(ctx, "SELECT selector, private_key, created FROM dkim_key WHERE domain = ?", k.Domain).
		Scan(&k.Selector, &k.PrivateKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("dkim key for %s: %w", k.Domain, ErrNotFound)
	}
	k.Created = time.Unix(created, 0)
	return k, err
}

// AddDKIMKey stores a domain's DKIM key; ErrExists if it has one (keys are not replaced
// silently: the published DNS record would stop matching).
func (s *Store) AddDKIMKey(ctx context.Context, k DKIMKey) error {
	domain := NormalizeDomain(k.Domain)
	if !ValidDomain(domain) || k.Selector == "" || strings.ContainsAny(k.Selector, " ;=\t\r\n") || len(k.PrivateKey) == 0 {
		return fmt.Errorf("%w: dkim key for %q", ErrInvalid, k.Domain)
	}
	return s.write(ctx, func(t *tx) error {
		var id string
		err := t.queryRow("INSERT INTO dkim_key(domain, selector, private_key, created) VALUES(?,?,?,?) ON CONFLICT DO NOTHING RETURNING domain",
			domain, k.Selector, k.PrivateKey, t.s.now().Unix()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("dkim key for %s: %w", domain, ErrExists)
		}
		return err
	})
}
