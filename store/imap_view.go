package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Read helpers for the IMAP front end. They only read; every mutation stays in the
// store's own files.

// MailboxView is what an IMAP SELECT needs in one snapshot: the folder's uids in order,
// the watermark they are valid at, and the keywords in use (for the FLAGS response).
// Flags (parallel to UIDs) and ItemKeywords (by uid, only items that have any) are
// each message's flags at Modseq, so that FETCH FLAGS can be answered from the view.
type MailboxView struct {
	Folder       Folder
	UIDs         []uint32
	Modseq       int64
	Keywords     []string
	Flags        []Flags
	ItemKeywords map[uint32][]string
}

// OpenMailboxView reads a live folder's uids with their flags, highest modseq and
// distinct keywords in one read transaction, so that a later Delta(since Modseq)
// applies exactly on top of it.
func (s *Store) OpenMailboxView(ctx context.Context, p Principal, folder int64) (MailboxView, error) {
	var v MailboxView
	err := s.snapshot(ctx, func(q *sql.Tx) error {
		f, err := scanFolder(q.QueryRowContext(ctx, "SELECT "+folderCols+" FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL", folder, p.AccountID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
		}
		if err != nil {
			return err
		}
		v.Folder, v.Modseq = f, f.HighestModseq
		// Uids and flags from the item_flags index alone (the rows are large: reading
		// them was most of a first SELECT), then sorted by uid here; keywords from the
		// partial item_keywords index, which holds only the items that have any.
		rows, err := q.QueryContext(ctx, "SELECT uid, flags FROM item INDEXED BY item_flags WHERE account_id = ? AND folder_id = ?", p.AccountID, folder)
		if err != nil {
			return err
		}
		type uidFlags struct {
			uid   uint32
			flags Flags
		}
		var all []uidFlags
		for rows.Next() {
			var e uidFlags
			if err := rows.Scan(&e.uid, &e.flags); err != nil {
				rows.Close()
				return err
			}
			all = append(all, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b uidFlags) int { return cmp.Compare(a.uid, b.uid) })
		v.UIDs = make([]uint32, len(all))
		v.Flags = make([]Flags, len(all))
		for i, e := range all {
			v.UIDs[i], v.Flags[i] = e.uid, e.flags
		}
		rows, err = q.QueryContext(ctx, "SELECT uid, keywords FROM item INDEXED BY item_keywords WHERE account_id = ? AND folder_id = ? AND keywords <> ''", p.AccountID, folder)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u uint32
			var kw string
			if err := rows.Scan(&u, &kw); err != nil {
				rows.Close()
				return err
			}
			if v.ItemKeywords == nil {
				v.ItemKeywords = map[uint32][]string{}
			}
			v.ItemKeywords[u] = strings.Split(kw, " ")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var kws []string
		for _, k := range v.ItemKeywords {
			kws = append(kws, k...)
		}
		v.Keywords = normKeywords(kws)
		return nil
	})
	return v, err
}

// MailItem is an item with the JSON of its delivery-time parse (message.Parsed), left
// undecoded so that a caller that needs only flags pays nothing for it.
type MailItem struct {
	Item
	Structure []byte
	// Message is the message's bytes when read WithMessage and its blob is kept in
	// its row (nil for a file); messageRead says it was read so.
	Message     []byte
	messageRead bool
}

// MailItemsByUID reads the items of a folder whose uids lie in the ranges (each range
// read in uid order; ranges are expected sorted and disjoint), with their stored
// structure when withStructure is set.
func (s *Store) MailItemsByUID(ctx context.Context, p Principal, folder int64, ranges []UIDRange, withStructure bool) ([]MailItem, error) {
	cols := itemCols + ", NULL"
	if withStructure {
		cols = itemCols + ", structure"
	}
	var out []MailItem
	err := s.snapshot(ctx, func(q *sql.Tx) error {
		var n int
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL", folder, p.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
		}
		for _, r := range ranges {
			last := int64(r.Last)
			if r.Last == 0 {
				last = 1<<32 - 1
			}
			rows, err := q.QueryContext(ctx, "SELECT "+cols+" FROM item WHERE account_id = ? AND folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
				p.AccountID, folder, r.First, last)
			if err != nil {
				return err
			}
			for rows.Next() {
				var mi MailItem
				var st []byte
				it, err := scanItem(rows, &st)
				if err != nil {
					rows.Close()
					return err
				}
				mi.Item, mi.Structure = it, st
				out = append(out, mi)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
