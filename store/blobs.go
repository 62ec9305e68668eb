package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// blobDir keeps immutable, content-addressed files: <root>/<first two hex digits>/<sha256>.
// A file is written and fsynced (file and directory) before any transaction that
// references it commits (§2 Blobs).
type blobDir struct {
	root string
}

func newBlobDir(root string) (*blobDir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("store: blobs: %w", err)
	}
	created := false
	for i := 0; i < 256; i++ {
		d := filepath.Join(root, fmt.Sprintf("%02x", i))
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.Mkdir(d, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("store: blobs: %w", err)
		}
		created = true
	}
	if created {
		if err := syncDir(root); err != nil {
			return nil, err
		}
	}
	return &blobDir{root: root}, nil
}

func blobHash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

func (b *blobDir) path(hash string) string {
	return filepath.Join(b.root, hash[:2], hash)
}

func (b *blobDir) exists(hash string) bool {
	_, err := os.Stat(b.path(hash))
	return err == nil
}

// put stores raw under its hash unless a file with that hash is already there, and
// returns once the file and its directory entry are durable.
func (b *blobDir) put(hash string, raw []byte) error {
	if b.exists(hash) {
		return nil
	}
	return b.write(hash, raw)
}

func (b *blobDir) write(hash string, raw []byte) error {
	dir := filepath.Join(b.root, hash[:2])
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("store: blob: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil {
		// fdatasync: the data and the size needed to read it back; the rename and the
		// directory sync below make the name durable.
		err = syscall.Fdatasync(int(f.Fd()))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, b.path(hash))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: blob: %w", err)
	}
	return syncDir(dir)
}

// DefaultInlineBlobMax is the largest message kept in its blob row rather than in a
// file, unless Options say otherwise. A file costs two device flushes of its own (the
// file's and its directory's) before the commit's; a row rides on the commit. 32 KiB
// holds most text and small HTML mail; SQLite reads blobs of this size from a row
// faster than from a file of their own.
const DefaultInlineBlobMax = 32 << 10

// inline reports whether a blob of n bytes is kept in its row.
func (s *Store) inline(n int) bool { return int64(n) <= s.opts.InlineBlobMax }

// Blob is a stored message opened for reading: in full, or at offsets. Reading holds no
// transaction. The caller closes it.
type Blob interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Size() int64
}

// fileBlob is a blob kept as a file.
type fileBlob struct {
	*os.File
	size int64
}

func (b fileBlob) Size() int64 { return b.size }

// rowBlob is a blob kept in its row, read whole by the query that found it.
type rowBlob struct{ *bytes.Reader }

func (rowBlob) Close() error { return nil }

// openBlob opens a blob by hash: the bytes of its row, or its file.
func (s *Store) openBlob(ctx context.Context, hash string) (Blob, error) {
	if !validHash(hash) {
		return nil, ErrNotFound
	}
	var size int64
	var inRow bool
	var data []byte
	err := s.rq.QueryRowContext(ctx, "SELECT size, data IS NOT NULL, data FROM blob WHERE hash = ?", hash).Scan(&size, &inRow, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: blob %s missing: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if inRow {
		return rowBlob{bytes.NewReader(data)}, nil
	}
	return s.openBlobFile(hash, size)
}

// openBlobFile opens a blob known to be a file, of the given size.
func (s *Store) openBlobFile(hash string, size int64) (Blob, error) {
	if !validHash(hash) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.blobs.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: blob %s missing: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return fileBlob{File: f, size: size}, nil
}

func (b *blobDir) remove(hash string) error {
	err := os.Remove(b.path(hash))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// walk calls fn for each blob file (and each leftover temp file) older than before.
func (b *blobDir) walk(before time.Time, fn func(hash string, tmp bool, path string) error) error {
	for i := 0; i < 256; i++ {
		dir := filepath.Join(b.root, fmt.Sprintf("%02x", i))
		ents, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(before) {
				continue
			}
			name := e.Name()
			tmp := strings.HasPrefix(name, ".tmp-")
			if !tmp && !validHash(name) {
				continue
			}
			if err := fn(name, tmp, filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync dir: %w", err)
	}
	return nil
}
