package message

import (
	"strings"
	"testing"
)

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"x<br>y&lt;z", "x\ny<z"},
		{"<h1>T</h1>body", "T\nbody"},
		{"he<b>llo</b>  world", "hello world"},
		{"<style>.a{}</style><script>alert(1)</script>ok", "ok"},
		{"<HTML><HEAD><TITLE>T</TITLE></HEAD><BODY>Hi&nbsp;there</BODY></HTML>", "Hi\u00a0there"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a\tb\nc"},
		{"a<!-- <p>hidden</p> -->b", "ab"},
		{"unterminated <b", "unterminated"},
		{"  lots \r\n of\t space  ", "lots of space"},
		{"<div>one</div><div>two</div>", "one\ntwo"},
	} {
		if got := HTMLToText(tc.in, 0); got != tc.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("<p>ä paragraph of text</p>", 1000)
	if got := HTMLToText(long, 101); len(got) > 101 || !strings.HasPrefix(got, "ä paragraph") || !utf8Valid(got) {
		t.Errorf("limited: %d bytes %q…", len(got), got[:20])
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// FuzzHTMLToText: any input renders without panic to valid UTF-8 for valid input,
// within the limit, and with no '<' of a complete tag left.
func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<style>x", "a<!--b", "<br/>&amp;&#x41;", "<td>1</td>"} {
		f.Add(s, 50)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = limit % 1000
		out := HTMLToText(s, limit)
		if limit > 0 && len(out) > limit {
			t.Fatalf("%d bytes over the limit %d", len(out), limit)
		}
		if utf8Valid(s) && !utf8Valid(out) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", out)
		}
	})
}
