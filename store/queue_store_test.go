package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func refcount(t *testing.T, s *Store, hash string) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.QueryRow("SELECT refcount FROM blob WHERE hash = ?", hash).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Accept references one blob per local item plus one for the queue (two blobs when
// the queued copy differs); QueueDone and QueueDelete release exactly those.
func TestQueueBlobReferences(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, NewAccount{Email: "a@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	local := []byte("Return-Path: <a@example.org>\r\nSubject: x\r\n\r\nbody\r\n")
	relayed := []byte("Subject: x\r\n\r\nbody\r\n")
	ds, msg, err := s.Accept(ctx, local, []Recipient{{Principal: Principal{AccountID: a.ID}}},
		&Outbound{From: "a@example.org", AccountID: a.ID, Recipients: []string{"x@remote.example", "y@other.example"}, Raw: relayed})
	if err != nil || len(ds) != 1 || msg == 0 {
		t.Fatalf("Accept: %v %v %d", err, ds, msg)
	}
	lh, rh := blobHash(local), blobHash(relayed)
	if refcount(t, s, lh) != 1 || refcount(t, s, rh) != 1 {
		t.Fatalf("refcounts %d %d", refcount(t, s, lh), refcount(t, s, rh))
	}
	got, err := s.QueueMessage(ctx, msg)
	if err != nil || string(got) != string(relayed) {
		t.Fatalf("QueueMessage: %q %v", got, err)
	}
	q, _ := s.QueueList(ctx)
	if len(q) != 2 || q[0].Domain != "remote.example" || q[1].Domain != "other.example" {
		t.Fatalf("queue %+v", q)
	}
	if err := s.QueueRetry(ctx, q[0].ID, time.Now().Add(time.Hour), "451 later"); err != nil {
		t.Fatal(err)
	}
	due, _ := s.QueueDue(ctx, time.Now(), 10)
	if len(due) != 1 || due[0].ID != q[1].ID {
		t.Fatalf("due %+v", due)
	}
	// One recipient done: the message stays; the last one: it goes, with its reference.
	if err := s.QueueDone(ctx, []int64{q[1].ID}, nil); err != nil {
		t.Fatal(err)
	}
	if refcount(t, s, rh) != 1 {
		t.Fatal("reference dropped while a recipient is queued")
	}
	bounce := &Bounce{Raw: []byte("Return-Path: <>\r\nSubject: failed\r\n\r\nx\r\n"), Local: []Recipient{{Principal: Principal{AccountID: a.ID}}}}
	if err := s.QueueDone(ctx, []int64{q[0].ID}, bounce); err != nil {
		t.Fatal(err)
	}
	if refcount(t, s, rh) != 0 || refcount(t, s, blobHash(bounce.Raw)) != 1 {
		t.Fatal("refcounts after the last recipient")
	}
	if _, err := s.QueueMessage(ctx, msg); !errors.Is(err, ErrNotFound) {
		t.Fatalf("message still queued: %v", err)
	}
	// Done again (a row deleted meanwhile): nothing recorded, no second bounce.
	if err := s.QueueDone(ctx, []int64{q[0].ID}, bounce); err != nil {
		t.Fatal(err)
	}
	if refcount(t, s, blobHash(bounce.Raw)) != 1 {
		t.Fatal("bounce stored twice")
	}
	// QueueDelete releases too.
	_, msg2, _ := s.Accept(ctx, relayed, nil, &Outbound{From: "a@example.org", Recipients: []string{"z@remote.example"}})
	if refcount(t, s, rh) != 1 {
		t.Fatal("queued-only message not referenced")
	}
	if err := s.QueueDelete(ctx, msg2); err != nil {
		t.Fatal(err)
	}
	if refcount(t, s, rh) != 0 {
		t.Fatal("QueueDelete kept the reference")
	}
	// DKIM keys: added once, not replaced.
	k := DKIMKey{Domain: "Example.ORG", Selector: "s1", PrivateKey: []byte{1, 2, 3}}
	if err := s.AddDKIMKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDKIMKey(ctx, k); !errors.Is(err, ErrExists) {
		t.Fatalf("second key: %v", err)
	}
	got2, err := s.DKIMKeyFor(ctx, "example.org")
	if err != nil || got2.Selector != "s1" || len(got2.PrivateKey) != 3 {
		t.Fatalf("DKIMKeyFor: %+v %v", got2, err)
	}
	if _, err := s.DKIMKeyFor(ctx, "other.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
}
