package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HierarchySeparator separates folder names in a path (the IMAP delimiter); it may not
// appear inside a folder name.
const HierarchySeparator = "/"

const folderCols = `id, account_id, parent_id, name, class, role, uidvalidity, uidnext, highest_modseq,
hier_modseq, create_modseq, subscribed, deleted_modseq IS NOT NULL, first_recent_uid`

type scanner interface{ Scan(...any) error }

func scanFolder(sc scanner) (Folder, error) {
	var f Folder
	var class, role string
	err := sc.Scan(&f.ID, &f.AccountID, &f.ParentID, &f.Name, &class, &role, &f.UIDValidity, &f.UIDNext,
		&f.HighestModseq, &f.HierModseq, &f.CreateModseq, &f.Subscribed, &f.Deleted, &f.FirstRecentUID)
	f.Class, f.Role = Class(class), Role(role)
	return f, err
}

func validFolderName(name string) error {
	if name == "" || len(name) > 255 || !utf8.ValidString(name) || strings.Contains(name, HierarchySeparator) {
		return fmt.Errorf("%w: folder name %q", ErrInvalid, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: folder name %q has a control character", ErrInvalid, name)
		}
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: folder name %q has leading or trailing space", ErrInvalid, name)
	}
	return nil
}

// liveFolder returns a live folder the principal owns, or ErrNotFound (§2 invariant 7).
func (t *tx) liveFolder(p Principal, id int64) (Folder, error) {
	f, err := scanFolder(t.queryRow("SELECT "+folderCols+" FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL", id, p.AccountID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("folder %d: %w", id, ErrNotFound)
	}
	return f, err
}

func (t *tx) createFolder(account, parent int64, name string, class Class, role Role) (Folder, error) {
	if err := validFolderName(name); err != nil {
		return Folder{}, err
	}
	if !class.Valid() {
		return Folder{}, fmt.Errorf("%w: folder class %q", ErrInvalid, class)
	}
	if parent != 0 {
		if _, err := t.liveFolder(Principal{account}, parent); err != nil {
			return Folder{}, err
		}
	}
	if err := t.nameFree(account, parent, name, 0); err != nil {
		return Folder{}, err
	}
	m, err := t.modseq(account)
	if err != nil {
		return Folder{}, err
	}
	var uidvalidity uint32
	// A recreated folder gets a new uidvalidity (RFC 9051 2.3.1.1).
	if err := t.queryRow("UPDATE account SET next_uidvalidity = next_uidvalidity + 1 WHERE id = ? RETURNING next_uidvalidity - 1",
		account).Scan(&uidvalidity); err != nil {
		return Folder{}, err
	}
	if uidvalidity == 0 {
		uidvalidity = 1
	}
	f, err := scanFolder(t.queryRow(`INSERT INTO folder(account_id, parent_id, name, class, role, uidvalidity,
highest_modseq, hier_modseq, create_modseq) VALUES(?,?,?,?,?,?,?,?,?) RETURNING `+folderCols,
		account, parent, name, string(class), string(role), uidvalidity, m, m, m))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return Folder{}, fmt.Errorf("folder %q: %w", name, ErrExists)
		}
		return Folder{}, err
	}
	return f, t.touchFolder(account, f.ID, ChangeHierarchy)
}

// nameFree checks that no live sibling (other than self) has the name. IMAP names are
// case-sensitive except INBOX (RFC 9051 5.1), so a top-level "inbox" clashes with INBOX.
func (t *tx) nameFree(account, parent int64, name string, self int64) error {
	q := "SELECT count(*) FROM folder WHERE account_id = ? AND parent_id = ? AND name = ? AND id <> ? AND deleted_modseq IS NULL"
	if parent == 0 && strings.EqualFold(name, "INBOX") {
		q = "SELECT count(*) FROM folder WHERE account_id = ? AND parent_id = ? AND upper(name) = upper(?) AND id <> ? AND deleted_modseq IS NULL"
	}
	var n int
	if err := t.queryRow(q, account, parent, name, self).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("folder %q: %w", name, ErrExists)
	}
	return nil
}

// CreateFolder creates a folder under parent (0: top level).
func (s *Store) CreateFolder(ctx context.Context, p Principal, parent int64, name string, class Class) (Folder, error) {
	var f Folder
	err := s.write(ctx, func(t *tx) error {
		var err error
		f, err = t.createFolder(p.AccountID, parent, name, class, RoleNone)
		return err
	})
	return f, err
}

// RenameFolder renames a folder and/or moves it under another parent; its children
// follow, its uidvalidity and items stay.
func (s *Store) RenameFolder(ctx context.Context, p Principal, id, newParent int64, newName string) (Folder, error) {
	var f Folder
	err := s.write(ctx, func(t *tx) error {
		if err := validFolderName(newName); err != nil {
			return err
		}
		cur, err := t.liveFolder(p, id)
		if err != nil {
			return err
		}
		if newParent != 0 {
			// The new parent may not be the folder itself or one of its descendants.
			for anc := newParent; anc != 0; {
				if anc == id {
					return fmt.Errorf("%w: a folder cannot move under itself", ErrInvalid)
				}
				af, err := t.liveFolder(p, anc)
				if err != nil {
					return err
				}
				anc = af.ParentID
			}
		}
		if err := t.nameFree(p.AccountID, newParent, newName, id); err != nil {
			return err
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		if _, err := t.exec("UPDATE folder SET parent_id = ?, name = ?, hier_modseq = ? WHERE id = ?", newParent, newName, m, cur.ID); err != nil {
			return err
		}
		if err := t.touchFolder(p.AccountID, id, ChangeHierarchy); err != nil {
			return err
		}
		f, err = t.liveFolder(p, id)
		return err
	})
	return f, err
}

// SetSubscribed sets a folder's IMAP subscription.
func (s *Store) SetSubscribed(ctx context.Context, p Principal, id int64, subscribed bool) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.liveFolder(p, id); err != nil {
			return err
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		if _, err := t.exec("UPDATE folder SET subscribed = ?, hier_modseq = ? WHERE id = ?", subscribed, m, id); err != nil {
			return err
		}
		return t.touchFolder(p.AccountID, id, ChangeHierarchy)
	})
}

// DeleteFolder deletes a folder and its subfolders. Folders with a special role cannot
// be deleted ([MS-ASCMD] 2.2.3.177.3 Status 3; IMAP refuses to delete INBOX). The
// folders become tombstones at once; their items are purged in chunks afterwards.
func (s *Store) DeleteFolder(ctx context.Context, p Principal, id int64) error {
	var doomed []int64
	err := s.write(ctx, func(t *tx) error {
		f, err := t.liveFolder(p, id)
		if err != nil {
			return err
		}
		if f.Role != RoleNone {
			return fmt.Errorf("%w: the %s folder cannot be deleted", ErrInvalid, f.Role)
		}
		doomed = []int64{id}
		for i := 0; i < len(doomed); i++ {
			rows, err := t.query("SELECT id, role FROM folder WHERE account_id = ? AND parent_id = ? AND deleted_modseq IS NULL", p.AccountID, doomed[i])
			if err != nil {
				return err
			}
			for rows.Next() {
				var child int64
				var role string
				if err := rows.Scan(&child, &role); err != nil {
					rows.Close()
					return err
				}
				if role != "" {
					rows.Close()
					return fmt.Errorf("%w: a subfolder holds the %s role", ErrInvalid, role)
				}
				doomed = append(doomed, child)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		for _, d := range doomed {
			if _, err := t.exec("UPDATE folder SET deleted_modseq = ?, hier_modseq = ?, highest_modseq = ? WHERE id = ?", m, m, m, d); err != nil {
				return err
			}
			if err := t.touchFolder(p.AccountID, d, ChangeHierarchy|ChangeContent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range doomed {
		if err := s.purgeFolder(ctx, p.AccountID, d); err != nil {
			return err
		}
	}
	return nil
}

// purgeFolder removes the items and item tombstones of a deleted folder in chunks,
// releasing blobs and usage. The folder row stays as the folder's tombstone.
func (s *Store) purgeFolder(ctx context.Context, account, folder int64) error {
	for {
		var more bool
		err := s.write(ctx, func(t *tx) error {
			ids, err := t.itemIDs("SELECT id FROM item WHERE account_id = ? AND folder_id = ? LIMIT ?", account, folder, deleteChunk)
			if err != nil {
				return err
			}
			more = len(ids) == deleteChunk
			for _, id := range ids {
				if err := t.dropItem(id); err != nil {
					return err
				}
			}
			if !more {
				_, err = t.exec("DELETE FROM tombstone WHERE account_id = ? AND folder_id = ?", account, folder)
			}
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}

// Folders lists an account's live folders, parents before children.
func (s *Store) Folders(ctx context.Context, p Principal) ([]Folder, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT "+folderCols+" FROM folder WHERE account_id = ? AND deleted_modseq IS NULL ORDER BY id", p.AccountID)
	all, err := collect(rows, err, scanFolder)
	if err != nil {
		return nil, err
	}
	return parentsFirst(all), nil
}

// parentsFirst orders folders so that each parent precedes its children (a rename may
// move an old folder under a newer one).
func parentsFirst(all []Folder) []Folder {
	children := map[int64][]Folder{}
	for _, f := range all {
		children[f.ParentID] = append(children[f.ParentID], f)
	}
	out := make([]Folder, 0, len(all))
	var visit func(parent int64)
	visit = func(parent int64) {
		for _, f := range children[parent] {
			out = append(out, f)
			visit(f.ID)
		}
	}
	visit(0)
	return out
}

// Folder reads one live folder.
func (s *Store) Folder(ctx context.Context, p Principal, id int64) (Folder, error) {
	f, err := scanFolder(s.rq.QueryRowContext(ctx, "SELECT "+folderCols+" FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL", id, p.AccountID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("folder %d: %w", id, ErrNotFound)
	}
	return f, err
}

// FolderByRole finds the live folder holding a special role.
func (s *Store) FolderByRole(ctx context.Context, p Principal, role Role) (Folder, error) {
	f, err := scanFolder(s.rq.QueryRowContext(ctx, "SELECT "+folderCols+" FROM folder WHERE account_id = ? AND role = ? AND deleted_modseq IS NULL", p.AccountID, string(role)))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("folder role %s: %w", role, ErrNotFound)
	}
	return f, err
}

// FolderByPath resolves a "/"-separated path of names ("Archive/2024"). The first
// component "INBOX" matches case-insensitively (RFC 9051 5.1).
func (s *Store) FolderByPath(ctx context.Context, p Principal, path string) (Folder, error) {
	var f Folder
	parent := int64(0)
	for i, name := range strings.Split(path, HierarchySeparator) {
		q := "SELECT " + folderCols + " FROM folder WHERE account_id = ? AND parent_id = ? AND name = ? AND deleted_modseq IS NULL"
		if i == 0 && strings.EqualFold(name, "INBOX") {
			q = "SELECT " + folderCols + " FROM folder WHERE account_id = ? AND parent_id = ? AND upper(name) = upper(?) AND deleted_modseq IS NULL"
		}
		var err error
		f, err = scanFolder(s.rq.QueryRowContext(ctx, q, p.AccountID, parent, name))
		if errors.Is(err, sql.ErrNoRows) {
			return Folder{}, fmt.Errorf("folder %q: %w", path, ErrNotFound)
		}
		if err != nil {
			return Folder{}, err
		}
		parent = f.ID
	}
	return f, nil
}

// FolderStatus reads a folder's counters (kept in the folder row by every mutation, so
// the cost does not grow with the folder).
func (s *Store) FolderStatus(ctx context.Context, p Principal, id int64) (FolderStatus, error) {
	var st FolderStatus
	err := s.rq.QueryRowContext(ctx, `SELECT item_count, unseen_count, total_size, uidnext, uidvalidity, highest_modseq,
(SELECT count(*) FROM item WHERE item.account_id = folder.account_id AND item.folder_id = folder.id AND item.uid >= folder.first_recent_uid)
FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL`, id, p.AccountID).
		Scan(&st.Messages, &st.Unseen, &st.Size, &st.UIDNext, &st.UIDValidity, &st.HighestModseq, &st.Recent)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("folder %d: %w", id, ErrNotFound)
	}
	return st, err
}

// ClaimRecent records that a folder's messages up to uid through have been shown as
// \Recent (RFC 3501 2.3.2) and returns the first uid that was still unclaimed: uids
// from first to through are the caller's to show, none if first > through. A claim never
// moves the mark back. It is session state, not a change of the folder: no modseq, no
// hint.
func (s *Store) ClaimRecent(ctx context.Context, p Principal, folder int64, through uint32) (first uint32, err error) {
	err = s.write(ctx, func(t *tx) error {
		if err := t.queryRow("SELECT first_recent_uid FROM folder WHERE id = ? AND account_id = ? AND deleted_modseq IS NULL",
			folder, p.AccountID).Scan(&first); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("folder %d: %w", folder, ErrNotFound)
			}
			return err
		}
		if through < first {
			return nil
		}
		_, err := t.exec("UPDATE folder SET first_recent_uid = ? WHERE id = ?", int64(through)+1, folder)
		return err
	})
	return first, err
}

// FolderTreeDelta returns the folders created, renamed or re-subscribed and the folders
// deleted since a modseq, with the account's modseq as the new watermark, in one snapshot.
func (s *Store) FolderTreeDelta(ctx context.Context, p Principal, since int64) (FolderDelta, error) {
	var d FolderDelta
	err := s.snapshot(ctx, func(q *sql.Tx) error {
		if err := q.QueryRowContext(ctx, "SELECT modseq, sync_epoch FROM account WHERE id = ?", p.AccountID).Scan(&d.Modseq, &d.SyncEpoch); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT "+folderCols+" FROM folder WHERE account_id = ? AND hier_modseq > ? ORDER BY hier_modseq, id", p.AccountID, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFolder(rows)
			if err != nil {
				return err
			}
			if f.Deleted {
				if f.CreateModseq <= since {
					d.Deleted = append(d.Deleted, f)
				}
			} else {
				d.Folders = append(d.Folders, f)
			}
		}
		return rows.Err()
	})
	return d, err
}

// snapshot runs fn in one read transaction: every query sees the same committed state.
func (s *Store) snapshot(ctx context.Context, fn func(*sql.Tx) error) error {
	q, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer q.Rollback()
	return fn(q)
}
