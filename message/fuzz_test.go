package message

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that its result keeps the
// offsets invariant (doc.go) for any input. Seeds are the testdata corpus.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed corpus: %v", err)
	}
	for _, name := range files {
		if st, err := os.Stat(name); err == nil && st.IsDir() {
			continue // testdata/fuzz: the engine's own corpus
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(raw) > 64<<10 {
			raw = raw[:64<<10] // keep mutation fast
		}
		f.Add(raw)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: x\n\n--b--\n--a--\n"))
	for _, s := range []string{
		"Subject: =?a?q?x=?utf-8?B?w6k=?= =?iso-2022-jp?B?GyRC?=\n\n",
		"To: a:b<c@d>,(e)\"f\"@[g];, <@h:i@j>\n\n",
		"Content-Type: text/plain; name*0*=utf-8''%C3; name*1*=%A9; name=x\nContent-Disposition: inline; filename*=\n\n",
		"Content-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: text/html\n\n<style><!-- <p>\n--q\n\n\n--q--",
		"Date: Tue, 1 Jul 03 10:52:37 GMT+01:00 (x)\nReferences: <a@b> <c\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := parse(raw) // without Parse's recover, so panics surface
		checkInvariants(t, raw, p)
		// Every part's sections resolve to ranges within raw.
		var walk func(part *Part, sec []int)
		walk = func(part *Part, sec []int) {
			for _, spec := range []string{"", "MIME", "HEADER", "TEXT"} {
				if s, e, ok := p.Structure.SectionRange(sec, spec); ok && (s < 0 || s > e || e > int64(len(raw))) {
					t.Fatalf("SectionRange(%v, %q) = %d,%d", sec, spec, s, e)
				}
			}
			if len(sec) > 0 {
				if s, e, ok := p.Structure.SectionRange(sec, "MIME"); ok {
					FilterHeader(raw[s:e], []string{"content-type"}, false)
				}
			}
			part.DecodedText(raw)
			for i, c := range part.Children {
				walk(c, append(sec[:len(sec):len(sec)], i+1))
			}
		}
		walk(p.Structure, nil)
		// The search text reads only within raw, and a limit bounds it.
		if all := SearchText(bytes.NewReader(raw), p.Structure, 0); !utf8.ValidString(all) {
			t.Fatalf("SearchText is not UTF-8: %q", all)
		}
		// Each part is read while less than the limit is had, at most three encoded
		// bytes a text byte, each of which decodes to at most three UTF-8 bytes.
		if cut := SearchText(bytes.NewReader(raw), p.Structure, 64); len(cut) > 64+3*(3*64+4)+1 {
			t.Fatalf("SearchText with limit 64: %d bytes", len(cut))
		}
	})
}
