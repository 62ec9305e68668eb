package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
// returns the hash once the file and its directory entry are durable.
func (b *blobDir) put(raw []byte) (string, error) {
	hash := blobHash(raw)
	if b.exists(hash) {
		return hash, nil
	}
	return hash, b.write(hash, raw)
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

func (b *blobDir) open(hash string) (*os.File, error) {
	if !validHash(hash) {
		return nil, ErrNotFound
	}
	f, err := os.Open(b.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: blob %s missing: %w", hash, ErrNotFound)
	}
	return f, err
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
