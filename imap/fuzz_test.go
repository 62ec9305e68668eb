package imap

import (
	"bytes"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// FuzzHeaderValues: the header scanner SEARCH HEADER uses never panics, finds a field
// it is given, and returns values without line breaks.
func FuzzHeaderValues(f *testing.F) {
	f.Add([]byte("Subject: hello\r\nX-Ticket: T-1\r\n continued\r\n\r\n"), "x-ticket")
	f.Add([]byte("Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\n\n"), "SUBJECT")
	f.Add([]byte(":\r\n \r\n\t:\r\n"), "")
	f.Fuzz(func(t *testing.T, hdr []byte, name string) {
		for _, v := range headerValues(hdr, name) {
			if strings.ContainsAny(v, "\n") {
				t.Fatalf("value %q has a line break", v)
			}
		}
		for i := 0; i < len(name); i++ {
			if name[i] <= ' ' || name[i] > '~' || name[i] == ':' { // RFC 5322 2.2 ftext
				return
			}
		}
		if name == "" {
			return
		}
		if strings.ContainsAny(string(hdr), "\r\n") || strings.Contains(string(hdr), "=?") {
			return
		}
		line := []byte(name + ": " + string(hdr) + "\r\n\r\n")
		vals := headerValues(line, strings.ToUpper(name))
		if len(vals) != 1 || vals[0] != strings.TrimSpace(string(hdr)) {
			t.Fatalf("headerValues(%q) = %q", line, vals)
		}
	})
}

// FuzzBodySection: BODY[section]<partial> read from a file at the stored offsets
// equals the same range cut from the raw message in memory.
func FuzzBodySection(f *testing.F) {
	f.Add([]byte(sampleMessage), "2", uint8(0), int64(0), int64(-1))
	f.Add([]byte(sampleMessage), "1", uint8(2), int64(3), int64(4))
	f.Add([]byte(sampleMessage), "", uint8(1), int64(10), int64(1000))
	f.Add([]byte("Subject: x\r\n\r\nbody"), "", uint8(3), int64(0), int64(2))
	f.Fuzz(func(t *testing.T, raw []byte, sec string, specN uint8, off, size int64) {
		if len(raw) > 1<<16 {
			return
		}
		part, err := message.ParseSection(sec)
		if err != nil || len(part) > 8 {
			return
		}
		specs := []goimap.PartSpecifier{goimap.PartSpecifierNone, goimap.PartSpecifierHeader, goimap.PartSpecifierText, goimap.PartSpecifierMIME}
		spec := specs[int(specN)%len(specs)]
		var p *goimap.SectionPartial
		if off >= 0 && off < 1<<20 {
			if size < -1 || size > 1<<20 {
				size = -1
			}
			p = &goimap.SectionPartial{Offset: off, Size: size}
		}
		blob := bytesBlob{bytes.NewReader(raw)}
		root := message.Parse(raw).Structure
		s := &session{}
		got, err := s.bodySection(func() (store.Blob, error) { return blob, nil }, root, &goimap.FetchItemBodySection{Part: part, Specifier: spec, Partial: p})
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		if start, end, ok := root.SectionRange(part, string(spec)); ok {
			want = partial(raw[start:end], p)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("section %q %s partial %+v: got %q, want %q", sec, spec, p, got, want)
		}
	})
}

// bytesBlob is a message held in memory, as the store hands out one kept in its row.
type bytesBlob struct{ *bytes.Reader }

func (bytesBlob) Close() error { return nil }
