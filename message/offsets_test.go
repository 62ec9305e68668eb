package message

import (
	"strings"
	"testing"
)

// TestNestedOffsets slices raw with the offsets of a nested structure, in
// LF and CRLF form, and compares with the bytes each part must have.
func TestNestedOffsets(t *testing.T) {
	const msg = "Subject: nest\n" +
		"Content-Type: multipart/mixed; boundary=\"o\"\n" +
		"\n" +
		"preamble --o not a delimiter\n" +
		"--o\n" +
		"Content-Type: multipart/alternative; boundary=\"a\"\n" +
		"\n" +
		"--a\n" +
		"Content-Type: text/plain\n" +
		"\n" +
		"plain line 1\n" +
		"plain line 2\n" +
		"\n" +
		"--a\n" +
		"Content-Type: text/html\n" +
		"\n" +
		"<p>html</p>\n" +
		"--a--\n" +
		"--o \t\n" + // transport padding after the delimiter (RFC 2046 5.1.1)
		"Content-Type: message/rfc822\n" +
		"\n" +
		"Subject: inner\n" +
		"Content-Type: multipart/mixed; boundary=i\n" +
		"\n" +
		"--i\n" +
		"\n" +
		"inner text\n" +
		"--i\n" +
		"Content-Type: image/gif\n" +
		"Content-Transfer-Encoding: base64\n" +
		"\n" +
		"R0lGODlh\n" +
		"--i--\n" +
		"--o--\n" +
		"epilogue\n"
	type want struct {
		section      []int
		header, body string
	}
	wants := []want{
		{[]int{1}, "Content-Type: multipart/alternative; boundary=\"a\"\n\n",
			"--a\nContent-Type: text/plain\n\nplain line 1\nplain line 2\n\n--a\nContent-Type: text/html\n\n<p>html</p>\n--a--"},
		{[]int{1, 1}, "Content-Type: text/plain\n\n", "plain line 1\nplain line 2\n"},
		{[]int{1, 2}, "Content-Type: text/html\n\n", "<p>html</p>"},
		{[]int{2}, "Content-Type: message/rfc822\n\n",
			"Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ninner text\n--i\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n--i--"},
		{[]int{2, 1}, "\n", "inner text"},
		{[]int{2, 2}, "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\n", "R0lGODlh"},
	}
	for _, crlf := range []bool{false, true} {
		conv := func(s string) string {
			if crlf {
				return strings.ReplaceAll(s, "\n", "\r\n")
			}
			return s
		}
		raw := []byte(conv(msg))
		p := parse(raw)
		checkInvariants(t, raw, p)
		if len(p.Problems) > 0 {
			t.Errorf("crlf=%v: problems %q", crlf, p.Problems)
		}
		root := p.Structure
		if got := string(raw[root.BodyStart:root.End]); !strings.HasPrefix(got, conv("preamble")) || !strings.HasSuffix(got, conv("--o--\nepilogue\n")) {
			t.Errorf("crlf=%v: root body = %q", crlf, got)
		}
		for _, w := range wants {
			part := root.Find(w.section)
			if part == nil {
				t.Errorf("crlf=%v: part %v missing", crlf, w.section)
				continue
			}
			if got := string(raw[part.HeaderStart:part.BodyStart]); got != conv(w.header) {
				t.Errorf("crlf=%v: part %v header = %q, want %q", crlf, w.section, got, conv(w.header))
			}
			if got := string(raw[part.BodyStart:part.End]); got != conv(w.body) {
				t.Errorf("crlf=%v: part %v body = %q, want %q", crlf, w.section, got, conv(w.body))
			}
		}
		inner := root.Find([]int{2}).Message
		if inner == nil || inner.Envelope.Subject != "inner" {
			t.Fatalf("crlf=%v: encapsulated message %+v", crlf, inner)
		}
		if got := string(raw[inner.Structure.HeaderStart:inner.Structure.BodyStart]); got != conv("Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n") {
			t.Errorf("crlf=%v: inner header = %q", crlf, got)
		}
		// Lines counts line breaks (as Dovecot does): "<p>html</p>" before the boundary has none.
		if l11, l12, l2 := p.Structure.Find([]int{1, 1}).Lines, p.Structure.Find([]int{1, 2}).Lines, p.Structure.Find([]int{2}).Lines; l11 != 2 || l12 != 0 || l2 != 11 {
			t.Errorf("crlf=%v: Lines = %d, %d, %d; want 2, 0, 11", crlf, l11, l12, l2)
		}
	}
}
