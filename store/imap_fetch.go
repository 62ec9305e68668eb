package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Narrow reads for IMAP FETCH, SEARCH and the mailbox views' catch-up: only the columns
// those look at, through prepared statements. Reading the whole item row (27 columns,
// the preview among them) was most of the cost of FETCH FLAGS and SEARCH UNSEEN on a
// large mailbox.

// mailRowCols are the columns MailRowsByUID fills.
const mailRowCols = `id, uid, flags, keywords, internal_date, size, sent_date, subject, from_addr, coalesce(blob_hash, '')`

// MailCols says what MailRowsByUID and ScanMailRows read beyond the fixed columns.
type MailCols int

const (
	// WithStructure reads the stored parse (MailItem.Structure).
	WithStructure MailCols = 1 << iota
	// WithMessage reads the message's bytes along with the row when its blob is kept
	// in the blob row (MailItem.Message), so that OpenMailBlob needs no query: FETCH of
	// sections and SEARCH BODY open every message they read.
	WithMessage
)

// MailFilter narrows MailRowsByUID to items whose flags have every bit of Set and no
// bit of Unset (SEARCH's system-flag keys, answered by SQL).
type MailFilter struct {
	Set, Unset Flags
	// SubjectHas and FromHas are ASCII texts that the indexed subject and from
	// columns must each contain, compared ASCII case-insensitively. The filter may
	// let more rows through than the caller's own test (a database whose lower()
	// folds beyond ASCII), never fewer.
	SubjectHas, FromHas []string
}

// likeContains is a LIKE pattern for "contains s" in lower case, with \ as the escape
// character.
func likeContains(s string) string {
	var b strings.Builder
	b.WriteByte('%')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '_' || c == '\\' {
			b.WriteByte('\\')
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	b.WriteByte('%')
	return b.String()
}

// MailRowsByUID reads the items of a folder whose uids lie in the ranges (sorted and
// disjoint, each read in uid order) and that pass the filter. Only these fields of
// Item are set: ID, AccountID, FolderID, Class, UID, Flags, Keywords, InternalDate,
// Size, SentDate, Subject, From and BlobHash; Structure and Message as cols say.
func (s *Store) MailRowsByUID(ctx context.Context, p Principal, folder int64, ranges []UIDRange, filter MailFilter, cols MailCols) ([]MailItem, error) {
	var out []MailItem
	err := s.ScanMailRows(ctx, p, folder, ranges, filter, cols, func(it *MailItem) error {
		mi := *it
		mi.Structure = bytes.Clone(it.Structure)
		mi.Message = bytes.Clone(it.Message)
		out = append(out, mi)
		return nil
	})
	return out, err
}

// ScanMailRows is MailRowsByUID calling fn for each item as it is read, inside the
// read snapshot: fn must not write to the network (§2: never hold a read transaction
// while writing to the network), and it.Structure is the driver's memory, valid only
// until fn returns (FETCH decodes the envelope out of it without copying the whole
// structure); so is it.Message. An error from fn ends the scan.
func (s *Store) ScanMailRows(ctx context.Context, p Principal, folder int64, ranges []UIDRange, filter MailFilter, cols MailCols, fn func(it *MailItem) error) error {
	withStructure, withMessage := cols&WithStructure != 0, cols&WithMessage != 0
	sel := mailRowCols
	if withStructure {
		sel += ", structure"
	}
	if withMessage {
		// Whether the blob row holds the bytes (a zero-length message is bytes too),
		// and the bytes.
		sel += ", coalesce((SELECT data IS NOT NULL FROM blob WHERE blob.hash = item.blob_hash), 0)" +
			", (SELECT data FROM blob WHERE blob.hash = item.blob_hash)"
	}
	query := "SELECT " + sel + " FROM item WHERE account_id = ? AND folder_id = ? AND uid BETWEEN ? AND ?"
	var filterArgs []any
	if filter.Set != 0 || filter.Unset != 0 {
		query += " AND flags & ? = ? AND flags & ? = 0"
		filterArgs = append(filterArgs, int64(filter.Set), int64(filter.Set), int64(filter.Unset))
	}
	for _, t := range filter.SubjectHas {
		query += ` AND lower(subject) LIKE ? ESCAPE '\'`
		filterArgs = append(filterArgs, likeContains(t))
	}
	for _, t := range filter.FromHas {
		query += ` AND lower(from_addr) LIKE ? ESCAPE '\'`
		filterArgs = append(filterArgs, likeContains(t))
	}
	query += " ORDER BY uid"
	return s.snapshot(ctx, func(q *sql.Tx) error {
		if err := s.liveFolder(ctx, q, p, folder); err != nil {
			return err
		}
		st, err := s.txStmt(ctx, q, query)
		if err != nil {
			return err
		}
		var mi MailItem
		var keywords string
		var idate, sdate int64
		var structure, message sql.RawBytes
		var inRow bool
		dest := []any{&mi.ID, &mi.UID, &mi.Flags, &keywords, &idate, &mi.Size, &sdate, &mi.Subject, &mi.From, &mi.BlobHash}
		if withStructure {
			dest = append(dest, &structure)
		}
		if withMessage {
			dest = append(dest, &inRow, &message)
		}
		for _, r := range ranges {
			last := int64(r.Last)
			if r.Last == 0 {
				last = 1<<32 - 1
			}
			args := append([]any{p.AccountID, folder, r.First, last}, filterArgs...)
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				mi = MailItem{Item: Item{AccountID: p.AccountID, FolderID: folder, Class: ClassMail}}
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return err
				}
				if keywords != "" {
					mi.Keywords = strings.Split(keywords, " ")
				}
				mi.InternalDate = time.Unix(idate, 0).UTC()
				mi.SentDate = unixOrZero(sdate)
				if withStructure && len(structure) > 0 {
					mi.Structure = structure
				}
				if withMessage {
					mi.messageRead = true
					if inRow {
						mi.Message = message
						if mi.Message == nil {
							mi.Message = []byte{}
						}
					}
				}
				if err := fn(&mi); err != nil {
					rows.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenMailBlob opens the message of an item read by MailRowsByUID (or any read that
// filled its BlobHash) without reading its row again: SEARCH BODY opens every
// message of a folder, and OpenBlob's lookup by id was a query per message. An item
// read WithMessage needs no query at all: its bytes came with the row, or it is a file.
func (s *Store) OpenMailBlob(ctx context.Context, p Principal, it *MailItem) (Blob, error) {
	if it.AccountID != p.AccountID {
		return nil, fmt.Errorf("item %d: %w", it.ID, ErrNotFound)
	}
	switch {
	case it.BlobHash == "":
		return s.OpenBlob(ctx, p, it.ID)
	case it.Message != nil:
		return rowBlob{bytes.NewReader(it.Message)}, nil
	case it.messageRead:
		return s.openBlobFile(it.BlobHash, it.Size)
	}
	return s.openBlob(ctx, it.BlobHash)
}

// FlagDelta is what changed in a folder since a modseq, as an IMAP mailbox view needs
// it: the flags of the items changed or added, the uids of the items gone.
type FlagDelta struct {
	Modseq  int64 // the folder's highest modseq, as of this read
	Items   []FlagChange
	Removed []uint32 // uids, in modseq order
}

// MailFlagDelta is Delta reading only uid, modseq, flags and keywords of the changed
// items and the uids of the tombstones, in one read snapshot.
func (s *Store) MailFlagDelta(ctx context.Context, p Principal, folder int64, since int64) (FlagDelta, error) {
	var d FlagDelta
	err := s.snapshot(ctx, func(q *sql.Tx) error {
		st, err := s.txStmt(ctx, q, "SELECT highest_modseq FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL")
		if err != nil {
			return err
		}
		err = st.QueryRowContext(ctx, folder, p.AccountID).Scan(&d.Modseq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if d.Modseq <= since {
			// Every mutation raises the highest_modseq of the folders it touches
			// (§2 invariant 1): nothing here moved past since.
			return nil
		}
		if st, err = s.txStmt(ctx, q, "SELECT uid, modseq, flags, keywords FROM item WHERE account_id = ? AND folder_id = ? AND modseq > ? ORDER BY modseq, uid"); err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, p.AccountID, folder, since)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c FlagChange
			var keywords string
			if err := rows.Scan(&c.UID, &c.Modseq, &c.Flags, &keywords); err != nil {
				rows.Close()
				return err
			}
			if keywords != "" {
				c.Keywords = strings.Split(keywords, " ")
			}
			d.Items = append(d.Items, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if st, err = s.txStmt(ctx, q, "SELECT uid FROM tombstone WHERE account_id = ? AND folder_id = ? AND modseq > ? ORDER BY modseq, uid"); err != nil {
			return err
		}
		rows, err = st.QueryContext(ctx, p.AccountID, folder, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid uint32
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			d.Removed = append(d.Removed, uid)
		}
		return rows.Err()
	})
	return d, err
}

// liveFolder reports ErrNotFound unless the folder exists, is not deleted and belongs
// to the principal's account.
func (s *Store) liveFolder(ctx context.Context, q *sql.Tx, p Principal, folder int64) error {
	st, err := s.txStmt(ctx, q, "SELECT count(*) FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL")
	if err != nil {
		return err
	}
	var n int
	if err := st.QueryRowContext(ctx, folder, p.AccountID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
	}
	return nil
}

// txStmt is a statement of the read-statement cache bound to a snapshot transaction,
// or, when the cache cannot hold it, the query prepared on the transaction.
func (s *Store) txStmt(ctx context.Context, q *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.rq.stmt(ctx, query); st != nil {
		return q.StmtContext(ctx, st), nil
	}
	return q.PrepareContext(ctx, query)
}
