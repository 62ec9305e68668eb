package store

import "context"

// KnownCount counts a device's known set for a folder: what it holds, for an estimate
// of what an initial fill still has to send (GetItemEstimate) without listing the set.
func (s *Store) KnownCount(ctx context.Context, p Principal, dev Device, folder int64) (int, error) {
	if dev.AccountID != p.AccountID {
		return 0, ErrNotFound
	}
	var n int
	err := s.rq.QueryRowContext(ctx, "SELECT count(*) FROM eas_known WHERE device = ? AND folder_id = ?", dev.ID, folder).Scan(&n)
	return n, err
}
