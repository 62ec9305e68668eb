package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// inRow reports whether hash's blob row holds the bytes, and whether its file exists.
func blobPlace(t *testing.T, s *Store, hash string) (inRow, file bool) {
	t.Helper()
	if err := s.rdb.QueryRow("SELECT data IS NOT NULL FROM blob WHERE hash = ?", hash).Scan(&inRow); err != nil {
		t.Fatalf("blob row %s: %v", hash, err)
	}
	_, err := os.Stat(s.blobs.path(hash))
	return inRow, err == nil
}

func readItemBlob(t *testing.T, s *Store, p Principal, id int64) []byte {
	t.Helper()
	b, err := s.OpenBlob(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	raw, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(len(raw)) {
		t.Errorf("Size %d, read %d bytes", b.Size(), len(raw))
	}
	// ReadAt serves the section reads of IMAP and ActiveSync.
	if len(raw) > 10 {
		part := make([]byte, 5)
		if _, err := b.ReadAt(part, 5); err != nil || !bytes.Equal(part, raw[5:10]) {
			t.Errorf("ReadAt(5) = %q, %v", part, err)
		}
	}
	return raw
}

func sizedMessage(subject string, n int) []byte {
	head := "Subject: " + subject + "\r\n\r\n"
	return []byte(head + strings.Repeat("x", n-len(head)-2) + "\r\n")
}

// Messages up to the inline limit live in their blob row and no file is written;
// larger ones are files, as before; both read back byte for byte.
func TestInlineBlobPlacement(t *testing.T) {
	ctx := context.Background()
	s, a := openStoreWith(t, Options{Dir: t.TempDir()})
	p := Principal{AccountID: a.ID}
	small := sizedMessage("small", 2000)
	limit := sizedMessage("at the limit", DefaultInlineBlobMax)
	large := sizedMessage("large", DefaultInlineBlobMax+1)
	for _, c := range []struct {
		raw     []byte
		wantRow bool
	}{{small, true}, {limit, true}, {large, false}} {
		d, err := s.Deliver(ctx, p, 0, c.raw, DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		inRow, file := blobPlace(t, s, blobHash(c.raw))
		if inRow != c.wantRow || file == c.wantRow {
			t.Errorf("%d bytes: in row %v, file %v; want in row %v", len(c.raw), inRow, file, c.wantRow)
		}
		if got := readItemBlob(t, s, p, d.ItemID); !bytes.Equal(got, c.raw) {
			t.Errorf("%d bytes: read back %d bytes that differ", len(c.raw), len(got))
		}
	}
	// Accept: the local copy and the queued copy, both small, write no file at all.
	local := []byte("Return-Path: <a@example.org>\r\nSubject: both\r\n\r\nbody\r\n")
	relayed := []byte("Subject: both\r\n\r\nbody\r\n")
	ds, msg, err := s.Accept(ctx, local, []Recipient{{Principal: p}},
		&Outbound{From: "a@example.org", AccountID: a.ID, Recipients: []string{"x@remote.example"}, Raw: relayed})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{local, relayed} {
		if inRow, file := blobPlace(t, s, blobHash(raw)); !inRow || file {
			t.Errorf("Accept: in row %v, file %v", inRow, file)
		}
	}
	if got := readItemBlob(t, s, p, ds[0].ItemID); !bytes.Equal(got, local) {
		t.Error("Accept: local copy differs")
	}
	if got, err := s.QueueMessage(ctx, msg); err != nil || !bytes.Equal(got, relayed) {
		t.Errorf("queued copy %q, %v", got, err)
	}
	if s.accept.requeued.Load() != 0 {
		t.Error("a mutation with nothing to write waited for a blob")
	}
}

// An unreferenced row keeps its bytes for the grace period (a delivery of the same
// content revives it) and is deleted after it.
func TestInlineBlobGrace(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, a := openStoreWith(t, Options{Dir: t.TempDir(), BlobGrace: time.Hour, Now: func() time.Time { return now }})
	p := Principal{AccountID: a.ID}
	raw := sizedMessage("graceful", 3000)
	hash := blobHash(raw)
	rows := func() (n int) {
		s.rdb.QueryRow("SELECT count(*) FROM blob WHERE hash = ?", hash).Scan(&n)
		return n
	}
	del := func(id int64) {
		t.Helper()
		inbox, _ := s.FolderByRole(ctx, p, RoleInbox)
		if _, err := s.Delete(ctx, p, Selector{FolderID: inbox.ID, IDs: []int64{id}}); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := s.Deliver(ctx, p, 0, raw, DeliverOptions{})
	del(d.ItemID)
	if st, err := s.CollectBlobs(ctx); err != nil || st.Blobs != 0 || rows() != 1 {
		t.Fatalf("within grace: %+v %v, %d rows", st, err, rows())
	}
	d, _ = s.Deliver(ctx, p, 0, raw, DeliverOptions{})
	if refcount(t, s, hash) != 1 || !bytes.Equal(readItemBlob(t, s, p, d.ItemID), raw) {
		t.Fatal("revived row")
	}
	del(d.ItemID)
	now = now.Add(2 * time.Hour)
	if st, err := s.CollectBlobs(ctx); err != nil || st.Blobs != 1 || rows() != 0 {
		t.Fatalf("after grace: %+v %v, %d rows", st, err, rows())
	}
	d, _ = s.Deliver(ctx, p, 0, raw, DeliverOptions{})
	if !bytes.Equal(readItemBlob(t, s, p, d.ItemID), raw) {
		t.Error("redelivered after collection")
	}
}

// A blob first stored as a file (a larger file-only limit at the time) and delivered
// again under the inline limit gains its bytes in the row; the file is then surplus
// and collected after the grace period, and every item still reads.
func TestInlineBlobLimitChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, a := openStoreWith(t, Options{Dir: dir, InlineBlobMax: -1, Now: clock})
	p := Principal{AccountID: a.ID}
	raw := sizedMessage("limits", 1500)
	hash := blobHash(raw)
	d1, err := s.Deliver(ctx, p, 0, raw, DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inRow, file := blobPlace(t, s, hash); inRow || !file {
		t.Fatalf("file-only store: in row %v, file %v", inRow, file)
	}
	s.Close()
	s, err = Open(ctx, Options{Dir: dir, BlobGrace: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d2, err := s.Deliver(ctx, p, 0, raw, DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inRow, file := blobPlace(t, s, hash); !inRow || !file {
		t.Fatalf("after the second delivery: in row %v, file %v", inRow, file)
	}
	old := now.Add(-2 * time.Hour)
	os.Chtimes(s.blobs.path(hash), old, old)
	st, err := s.CollectBlobs(ctx)
	if err != nil || st.Orphans != 1 {
		t.Fatalf("surplus file: %+v %v", st, err)
	}
	if _, file := blobPlace(t, s, hash); file {
		t.Error("surplus file kept")
	}
	for _, id := range []int64{d1.ItemID, d2.ItemID} {
		if !bytes.Equal(readItemBlob(t, s, p, id), raw) {
			t.Errorf("item %d unreadable", id)
		}
	}
}

// Read WithMessage, a small message's bytes come with its row and a large one is
// known to be a file; OpenMailBlob reads both right without asking again.
func TestMailRowsWithMessage(t *testing.T) {
	ctx := context.Background()
	s, a := openStoreWith(t, Options{Dir: t.TempDir()})
	p := Principal{AccountID: a.ID}
	small := sizedMessage("small", 1500)
	large := sizedMessage("large", DefaultInlineBlobMax+100)
	inbox, _ := s.FolderByRole(ctx, p, RoleInbox)
	var want [][]byte
	for _, raw := range [][]byte{small, large, {}} {
		if _, err := s.Deliver(ctx, p, inbox.ID, raw, DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, raw)
	}
	rows, err := s.MailRowsByUID(ctx, p, inbox.ID, []UIDRange{{First: 1}}, MailFilter{}, WithMessage)
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if !bytes.Equal(rows[0].Message, small) || rows[1].Message != nil || rows[2].Message == nil || len(rows[2].Message) != 0 {
		t.Errorf("messages with the rows: %d bytes, %v, %v", len(rows[0].Message), rows[1].Message != nil, rows[2].Message)
	}
	for i := range rows {
		b, err := s.OpenMailBlob(ctx, p, &rows[i])
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(got, want[i]) || b.Size() != int64(len(want[i])) {
			t.Errorf("row %d: read %d bytes (size %d), want %d", i, len(got), b.Size(), len(want[i]))
		}
	}
	// Without WithMessage nothing comes with the rows.
	rows, _ = s.MailRowsByUID(ctx, p, inbox.ID, []UIDRange{{First: 1}}, MailFilter{}, 0)
	if rows[0].Message != nil {
		t.Error("message bytes read without WithMessage")
	}
}
