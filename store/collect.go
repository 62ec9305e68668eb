package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
)

// CollectStats reports what a collection removed.
type CollectStats struct {
	Blobs   int // unreferenced blobs past the grace period
	Orphans int // files with no row (a crash between fsync and commit), or whose row holds the bytes, past the grace period
	Temps   int // leftover temporary files
}

// CollectBlobs unlinks blob files whose reference count has been zero for the grace
// period, and files that no committed row references (written before a commit that
// never happened). Unlinking happens inside the writer's transaction, which is what
// lets a delivery that revives a blob trust the file it sees (see blobRef).
func (s *Store) CollectBlobs(ctx context.Context) (CollectStats, error) {
	var st CollectStats
	cutoff := s.now().Add(-s.opts.BlobGrace)
	for {
		var n int
		err := s.write(ctx, func(t *tx) error {
			rows, err := t.query("SELECT hash FROM blob WHERE refcount = 0 AND zero_since <= ? LIMIT ?", cutoff.Unix(), deleteChunk)
			if err != nil {
				return err
			}
			var hashes []string
			for rows.Next() {
				var h string
				if err := rows.Scan(&h); err != nil {
					rows.Close()
					return err
				}
				hashes = append(hashes, h)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, h := range hashes {
				if err := s.blobs.remove(h); err != nil {
					return err
				}
				if _, err := t.exec("DELETE FROM blob WHERE hash = ? AND refcount = 0", h); err != nil {
					return err
				}
			}
			n = len(hashes)
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Blobs += n
		if n < deleteChunk {
			break
		}
	}
	// Files without a row: the modification time stands in for "zero since".
	err := s.blobs.walk(cutoff, func(hash string, tmp bool, path string) error {
		if tmp {
			if err := os.Remove(path); err == nil {
				st.Temps++
			}
			return nil
		}
		return s.write(ctx, func(t *tx) error {
			// A file whose row holds the bytes is surplus too: the row is what readers
			// open (a file left by a crash, or written under a larger inline limit).
			var inRow bool
			err := t.queryRow("SELECT data IS NOT NULL FROM blob WHERE hash = ?", hash).Scan(&inRow)
			if err == nil && !inRow {
				return nil
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err := s.blobs.remove(hash); err != nil {
				return err
			}
			st.Orphans++
			return nil
		})
	})
	if err == nil && st != (CollectStats{}) {
		s.log.Info("blobs collected", "unreferenced", st.Blobs, "orphans", st.Orphans, "temps", st.Temps)
	}
	return st, err
}
