package message

import (
	"strings"
	"unicode/utf8"
)

// HTMLToText renders an HTML document as the plain text a reader sees, with "\n" line
// breaks: tags and comments dropped, the content of head, style, script and title
// skipped; block elements end a line (a paragraph with a blank line), <br> breaks one,
// a table cell ends with a tab; inline elements join their neighbours ("he<b>llo</b>"
// stays one word); runs of white space collapse as a browser collapses them; entities
// decoded. limit > 0 stops after about that many bytes of text (cut on a character
// boundary). It is the one HTML-to-text conversion: previews, the full-text index, and
// the plain bodies and quotations ActiveSync makes all use it.
func HTMLToText(h string, limit int) string {
	var t textWriter
	for i := 0; i < len(h) && (limit <= 0 || t.b.Len() < limit); {
		lt := strings.IndexByte(h[i:], '<')
		if lt < 0 {
			t.text(h[i:])
			break
		}
		t.text(h[i : i+lt])
		i += lt
		if strings.HasPrefix(h[i:], "<!--") {
			e := strings.Index(h[i+4:], "-->")
			if e < 0 {
				break
			}
			i += 4 + e + 3
			continue
		}
		gt := strings.IndexByte(h[i:], '>')
		if gt < 0 {
			break
		}
		name := tagName(h[i+1 : i+gt])
		i += gt + 1
		closing := strings.HasPrefix(name, "/")
		switch strings.TrimPrefix(name, "/") {
		case "head", "style", "script", "title":
			if closing {
				continue
			}
			e := indexFold(h[i:], "</"+name)
			if e < 0 {
				i = len(h)
				continue
			}
			i += e
			if gt := strings.IndexByte(h[i:], '>'); gt >= 0 {
				i += gt + 1
			} else {
				i = len(h)
			}
		case "br":
			t.write("\n")
		case "p", "blockquote", "pre", "table", "ul", "ol":
			if closing {
				t.endLine(2)
			} else {
				t.endLine(1)
			}
		case "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "hr", "dt", "dd",
			"section", "article", "header", "footer", "address":
			t.endLine(1)
		case "td", "th":
			if closing {
				t.write("\t")
			}
		}
	}
	out := t.b.String()
	if strings.Contains(out, "\t\n") || strings.Contains(out, " \n") {
		lines := strings.Split(out, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t")
		}
		out = strings.Join(lines, "\n")
	}
	for strings.Contains(out, "\n\n\n") {
		out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
	}
	out = strings.TrimSpace(out)
	if limit > 0 && len(out) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = out[:n]
	}
	return out
}

// textWriter accumulates rendered text, knowing how its last line ends.
type textWriter struct {
	b        strings.Builder
	newlines int  // how many "\n" the text ends with
	blank    bool // the text is empty or ends with white space
}

func (t *textWriter) write(s string) {
	if s == "" {
		return
	}
	t.b.WriteString(s)
	trailing := len(s) - len(strings.TrimRight(s, "\n"))
	if trailing == len(s) {
		t.newlines += trailing // only line breaks: they add to those before
	} else {
		t.newlines = trailing
	}
	last := s[len(s)-1]
	t.blank = last == ' ' || last == '\n' || last == '\t'
}

// endLine ends the current line so that n line breaks close it (2: a blank line
// follows); nothing at the very start.
func (t *textWriter) endLine(n int) {
	if t.b.Len() == 0 {
		return
	}
	for have := t.newlines; have < n; have++ {
		t.b.WriteByte('\n')
		t.newlines++
	}
	t.blank = true
}

// text adds a run of HTML text: white space collapsed to one space (none after a line
// break or other white space), then entities decoded, so that &nbsp; stays a no-break
// space.
func (t *textWriter) text(s string) {
	var c strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\f' {
			space = true
			continue
		}
		if space && (c.Len() > 0 || !t.blank) {
			c.WriteByte(' ')
		}
		space = false
		c.WriteRune(r)
	}
	if space && (c.Len() > 0 || !t.blank) {
		c.WriteByte(' ')
	}
	t.write(unescapeHTML(c.String()))
}
