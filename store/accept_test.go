package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openAcceptStore opens a store that keeps every blob in a file: what Accept overlaps
// with the writer's wait is the file's write (small blobs kept in rows have none).
func openAcceptStore(t *testing.T) (*Store, Account) {
	return openStoreWith(t, Options{Dir: t.TempDir(), InlineBlobMax: -1})
}

func openStoreWith(t *testing.T, opts Options) (*Store, Account) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, NewAccount{Email: "a@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func inboxCount(t *testing.T, s *Store, account int64) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.QueryRow("SELECT count(*) FROM item WHERE account_id = ?", account).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The items, the queue entry and both blobs, as Accept stores them.
func TestAccept(t *testing.T) {
	ctx := context.Background()
	s, a := openAcceptStore(t)
	local := []byte("Return-Path: <a@example.org>\r\nSubject: pipelined\r\n\r\nbody\r\n")
	relayed := []byte("Subject: pipelined\r\n\r\nbody\r\n")
	ds, msg, err := s.Accept(ctx, local, []Recipient{{Principal: Principal{AccountID: a.ID}}},
		&Outbound{From: "a@example.org", AccountID: a.ID, Recipients: []string{"x@remote.example"}, Raw: relayed})
	if err != nil || len(ds) != 1 || msg == 0 {
		t.Fatalf("Accept: %v %v %d", err, ds, msg)
	}
	if refcount(t, s, blobHash(local)) != 1 || refcount(t, s, blobHash(relayed)) != 1 {
		t.Fatal("blob references")
	}
	it, err := s.GetItem(ctx, Principal{AccountID: a.ID}, ds[0].ItemID)
	if err != nil || it.Subject != "pipelined" {
		t.Fatalf("item %+v %v", it, err)
	}
	f, err := s.OpenBlob(ctx, Principal{AccountID: a.ID}, ds[0].ItemID)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := s.QueueMessage(ctx, msg)
	if err != nil || string(got) != string(relayed) {
		t.Fatalf("QueueMessage: %q %v", got, err)
	}
}

// A mutation that reaches the writer before its blob is durable commits nothing and
// waits for the blob (§2 invariant 6).
func TestAcceptWaitsForBlob(t *testing.T) {
	ctx := context.Background()
	s, a := openAcceptStore(t)
	release := make(chan struct{})
	s.accept.blobHook = func() { <-release }
	before := s.accept.requeued.Load()
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Accept(ctx, []byte("Subject: slow disk\r\n\r\nx\r\n"), []Recipient{{Principal: Principal{AccountID: a.ID}}}, nil)
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); s.accept.requeued.Load() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the mutation never reached the writer")
		}
		time.Sleep(time.Millisecond)
	}
	if n := inboxCount(t, s, a.ID); n != 0 {
		t.Fatalf("%d items committed before their blob was written", n)
	}
	select {
	case err := <-done:
		t.Fatalf("returned before the blob was written: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := inboxCount(t, s, a.ID); n != 1 {
		t.Fatalf("%d items after the blob was written", n)
	}
}

// A blob that cannot be written fails the message and commits nothing.
func TestAcceptBlobError(t *testing.T) {
	ctx := context.Background()
	s, a := openAcceptStore(t)
	raw := []byte("Subject: no room\r\n\r\nx\r\n")
	dir := filepath.Join(s.blobs.root, blobHash(raw)[:2])
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil { // a file where the directory was
		t.Fatal(err)
	}
	if _, _, err := s.Accept(ctx, raw, []Recipient{{Principal: Principal{AccountID: a.ID}}}, nil); err == nil {
		t.Fatal("accepted a message whose blob could not be written")
	}
	if n := inboxCount(t, s, a.ID); n != 0 {
		t.Fatalf("%d items committed without their blob", n)
	}
	var rows int64
	s.rdb.QueryRow("SELECT count(*) FROM blob").Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d blob rows", rows)
	}
}
