package imap

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// corpusStructures is the stored structure of every message of message/testdata, as
// delivery writes it.
func corpusStructures(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("../message/testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(message.Parse(raw))
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = j
	}
	return out
}

// slowEnvelope is what FETCH ENVELOPE decoded before decodeEnvelope.
func slowEnvelope(structure []byte) (message.Envelope, error) {
	var p struct {
		Envelope message.Envelope `json:"envelope"`
	}
	err := json.Unmarshal(structure, &p)
	return p.Envelope, err
}

func sameEnvelope(a, b message.Envelope) bool {
	if !a.Date.Equal(b.Date) || a.Date.Format(time.RFC3339Nano) != b.Date.Format(time.RFC3339Nano) {
		return false
	}
	a.Date, b.Date = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestDecodeEnvelopeMatchesEncodingJSON(t *testing.T) {
	fast := 0
	for name, st := range corpusStructures(t) {
		want, err := slowEnvelope(st)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := decodeEnvelope(st)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !sameEnvelope(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
		// The wire form too: what FETCH ENVELOPE writes.
		if g, w := imapEnvelope(&got), imapEnvelope(&want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: IMAP envelope differs:\n got %+v\nwant %+v", name, g, w)
		}
		d := envDecoder{b: st}
		if _, ok := d.parsed(); ok {
			fast++
		}
	}
	// The point is speed: the fast path must take the common messages.
	if fast < 25 {
		t.Errorf("fast path took only %d of the corpus messages", fast)
	}
}

func TestDecodeEnvelopeEscapesAndFallback(t *testing.T) {
	cases := []string{
		`{"envelope":{"subject":"a\u003cb\u003e \"q\" \\ \/ \n\t\u00e9 \ud83d\ude00","messageId":"\u003cx@y\u003e"}}`,
		`{"envelope":{"subject":"lone \ud83d surrogate"}}`,
		`{"envelope":{"Subject":"other case"}}`,
		`{"structure":null,"envelope":{"subject":"order"}}`,
		`{"envelope":{"from":null,"to":[]}}`,
		`{"envelope":{"date":"2026-11-26T01:02:03+02:00","from":[{"name":"A","mailbox":"a","host":"b"},{"group":true,"mailbox":"g"}]}}`,
		`{"envelope":{"date":"2026-11-26T01:02:03.5Z"}}`,
		"{\"envelope\":{\"subject\":\"bad \xff utf8\"}}",
		`{"envelope":{"subject":"x"} , "structure": {"type":"text"}}`,
	}
	for _, c := range cases {
		want, werr := slowEnvelope([]byte(c))
		got, gerr := decodeEnvelope([]byte(c))
		if (werr == nil) != (gerr == nil) || !sameEnvelope(got, want) {
			t.Errorf("%s:\n got %+v %v\nwant %+v %v", c, got, gerr, want, werr)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, st := range corpusStructures(f) {
		f.Add(st)
	}
	f.Add([]byte(`{"envelope":{"subject":"\ud83d\ude00\u003c","date":"2026-01-02T03:04:05Z"}}`))
	f.Add([]byte(`{"envelope":{"from":[{"name":"\\","group":false}]}}`))
	f.Fuzz(func(t *testing.T, st []byte) {
		want, werr := slowEnvelope(st)
		got, gerr := decodeEnvelope(st)
		if werr != nil {
			// encoding/json checks the whole document, the fast path only the
			// envelope: on a broken document only the error may differ.
			return
		}
		if gerr != nil || !sameEnvelope(got, want) {
			t.Fatalf("%q:\n got %+v %v\nwant %+v", st, got, gerr, want)
		}
	})
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	sts := corpusStructures(b)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			for _, st := range sts {
				decodeEnvelope(st)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			for _, st := range sts {
				slowEnvelope(st)
			}
		}
	})
}

// FETCH ENVELOPE alone (the fast decoder) answers what FETCH (ENVELOPE BODYSTRUCTURE)
// (the whole stored parse through encoding/json) answers, over the message corpus.
func TestFetchEnvelopeFastPathOverCorpus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.principal("alice@example.org")
	inbox, err := e.st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../message/testdata/*.eml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Deliver(ctx, p, inbox.ID, raw, store.DeliverOptions{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	c := e.dial("alice@example.org", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	fast, err := c.Fetch(all, &goimap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	full, err := c.Fetch(all, &goimap.FetchOptions{UID: true, Envelope: true, BodyStructure: &goimap.FetchItemBodyStructure{Extended: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) != len(files) || len(full) != len(files) {
		t.Fatalf("%d and %d messages, want %d", len(fast), len(full), len(files))
	}
	for i := range fast {
		if fast[i].Envelope == nil || !reflect.DeepEqual(fast[i].Envelope, full[i].Envelope) {
			t.Errorf("uid %d:\n fast %+v\n full %+v", fast[i].UID, fast[i].Envelope, full[i].Envelope)
		}
	}
	// Top-level sections (decodeRoot) against the same with BODYSTRUCTURE (the whole
	// parse): Thunderbird's header fields, the header, the text, the whole message.
	sections := []*goimap.FetchItemBodySection{
		{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"From", "Subject", "Date", "Content-Type"}, Peek: true},
		{Specifier: goimap.PartSpecifierHeader, HeaderFieldsNot: []string{"Received"}, Peek: true},
		{Specifier: goimap.PartSpecifierHeader, Peek: true},
		{Specifier: goimap.PartSpecifierText, Peek: true, Partial: &goimap.SectionPartial{Offset: 3, Size: 40}},
		{Peek: true},
	}
	root, err := c.Fetch(all, &goimap.FetchOptions{UID: true, Envelope: true, BodySection: sections}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := c.Fetch(all, &goimap.FetchOptions{UID: true, Envelope: true, BodySection: sections, BodyStructure: &goimap.FetchItemBodyStructure{}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != len(files) || len(whole) != len(files) {
		t.Fatalf("%d and %d messages, want %d", len(root), len(whole), len(files))
	}
	for i := range root {
		if !reflect.DeepEqual(root[i].Envelope, whole[i].Envelope) {
			t.Errorf("uid %d: envelope %+v, want %+v", root[i].UID, root[i].Envelope, whole[i].Envelope)
		}
		for _, bs := range sections {
			got, want := root[i].FindBodySection(bs), whole[i].FindBodySection(bs)
			if got == nil || !bytes.Equal(got, want) {
				t.Errorf("uid %d %+v: %q, want %q", root[i].UID, bs, got, want)
			}
		}
	}
}

// sameRoot reports whether got is what decodeRoot must give: the envelope and the top-level offsets of the
// whole structure decoded by encoding/json.
func sameRoot(t testing.TB, st []byte, got *message.Parsed) bool {
	t.Helper()
	var want message.Parsed
	if err := json.Unmarshal(st, &want); err != nil {
		return true // a broken document: only the error may differ (see FuzzDecodeEnvelope)
	}
	if got == nil || got.Structure == nil || want.Structure == nil {
		return got != nil && (got.Structure == nil) == (want.Structure == nil)
	}
	g, w := got.Structure, want.Structure
	return sameEnvelope(got.Envelope, want.Envelope) &&
		g.HeaderStart == w.HeaderStart && g.BodyStart == w.BodyStart && g.End == w.End && g.Size == w.Size
}

// decodeRoot gives encoding/json's envelope and top-level offsets for every stored
// structure of the corpus, by its fast path (not the fallback).
func TestDecodeRootMatchesEncodingJSON(t *testing.T) {
	sts := corpusStructures(t)
	for _, st := range sts {
		got, err := decodeRoot(st)
		if err != nil || !sameRoot(t, st, got) {
			t.Fatalf("%s:\n%+v %v", st, got, err)
		}
		if _, ok := decodeRootFast(st); !ok {
			t.Errorf("the fast path gave up on %s", st)
		}
	}
	if len(sts) < 10 {
		t.Fatalf("corpus of %d structures", len(sts))
	}
}

func FuzzDecodeRoot(f *testing.F) {
	for _, st := range corpusStructures(f) {
		f.Add(st)
	}
	f.Add([]byte(`{"envelope":{},"structure":{"type":"text","params":{"a":"\u003c"},"language":["en",null],"x":-1.5e3,"bodyStart":7,"end":9,"children":[{}]}}`))
	f.Fuzz(func(t *testing.T, st []byte) {
		got, err := decodeRoot(st)
		if err == nil && !sameRoot(t, st, got) {
			t.Fatalf("%q: got %+v", st, got)
		}
	})
}
