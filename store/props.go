package store

import (
	"context"
	"fmt"
)

// Prop is one entry of an item's MAPI property bag: a property tag (type in the low
// 16 bits, as in mapi/) and its encoded value. SourceHash is set on a cached derived
// value (e.g. an event's EAS TimeZone blob) to the hash of the canonical text it came
// from, so a stale cache is recognised.
type Prop struct {
	Tag        uint32
	Value      []byte
	SourceHash string
}

// SetProps sets (Value non-nil) or removes (Value nil) properties of an item. It is a
// change of the item: the item gets a new modseq.
func (s *Store) SetProps(ctx context.Context, p Principal, id int64, props []Prop) error {
	return s.write(ctx, func(t *tx) error {
		it, err := t.itemFor(p, id)
		if err != nil {
			return err
		}
		for _, pr := range props {
			if pr.Value == nil {
				_, err = t.exec("DELETE FROM item_prop WHERE account_id = ? AND item_id = ? AND tag = ?", p.AccountID, id, int64(pr.Tag))
			} else {
				_, err = t.exec(`INSERT INTO item_prop(account_id, item_id, tag, value, source_hash) VALUES(?,?,?,?,?)
ON CONFLICT(account_id, item_id, tag) DO UPDATE SET value = excluded.value, source_hash = excluded.source_hash`,
					p.AccountID, id, int64(pr.Tag), pr.Value, pr.SourceHash)
			}
			if err != nil {
				return fmt.Errorf("store: set prop %#x: %w", pr.Tag, err)
			}
		}
		m, err := t.modseq(p.AccountID)
		if err != nil {
			return err
		}
		if _, err := t.exec("UPDATE item SET modseq = ? WHERE id = ?", m, id); err != nil {
			return err
		}
		return t.touchFolder(p.AccountID, it.FolderID, ChangeContent)
	})
}

// Props reads an item's property bag, by tag.
func (s *Store) Props(ctx context.Context, p Principal, id int64) ([]Prop, error) {
	if _, err := s.readItem(ctx, p, id, ""); err != nil {
		return nil, err
	}
	rows, err := s.rq.QueryContext(ctx, "SELECT tag, value, source_hash FROM item_prop WHERE account_id = ? AND item_id = ? ORDER BY tag", p.AccountID, id)
	return collect(rows, err, func(sc scanner) (Prop, error) {
		var pr Prop
		var tag int64
		err := sc.Scan(&tag, &pr.Value, &pr.SourceHash)
		pr.Tag = uint32(tag)
		if pr.Value == nil {
			pr.Value = []byte{}
		}
		return pr, err
	})
}
