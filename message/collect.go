package message

import (
	"bytes"
	"strconv"
	"strings"
)

// What a branch of the tree may contribute to Text and HTML.
const (
	wantText = 1 << iota
	wantHTML
)

// collector walks a parsed structure for the bodies and attachments, in
// IMAP part numbering (RFC 9051 6.4.5).
type collector struct {
	ps         *parser
	text, html strings.Builder
	atts       []Attachment
	calendar   string
}

func (c *collector) collect(root *Part) {
	walkLeaves(root, c.leaf)
}

func partNum(prefix string, i int) string {
	if prefix == "" {
		return strconv.Itoa(i)
	}
	return prefix + "." + strconv.Itoa(i)
}

// walkLeaves calls visit for every leaf of the tree in IMAP part numbering, with what
// the leaf may contribute to the bodies (mode) and whether it is one of the
// alternatives of a multipart/alternative.
func walkLeaves(root *Part, visit func(p *Part, num string, mode int, inAlt bool)) {
	if root.Type == "multipart" {
		walkMultipart(root, "", wantText|wantHTML, visit)
	} else {
		visit(root, "1", wantText|wantHTML, false)
	}
}

func walkPart(p *Part, num string, mode int, inAlt bool, visit func(*Part, string, int, bool)) {
	if p.Type == "multipart" {
		walkMultipart(p, num, mode, visit)
		return
	}
	visit(p, num, mode, inAlt)
}

func walkMultipart(p *Part, num string, mode int, visit func(*Part, string, int, bool)) {
	if p.Subtype != "alternative" {
		for i, ch := range p.Children {
			walkPart(ch, partNum(num, i+1), mode, false, visit)
		}
		return
	}
	// RFC 2046 5.1.4: alternatives of one content. Text comes from the
	// first that has a plain text body, HTML from the first with HTML.
	textIdx, htmlIdx := -1, -1
	for i, ch := range p.Children {
		plain, html := provides(ch)
		if plain && textIdx < 0 {
			textIdx = i
		}
		if html && htmlIdx < 0 {
			htmlIdx = i
		}
	}
	for i, ch := range p.Children {
		m := 0
		if i == textIdx {
			m |= mode & wantText
		}
		if i == htmlIdx {
			m |= mode & wantHTML
		}
		walkPart(ch, partNum(num, i+1), m, true, visit)
	}
}

// BodyParts returns the parts that make a message's text and HTML bodies, in order:
// exactly those Parse decodes into Parsed.Text and Parsed.HTML. A front end that has the
// stored structure uses it to read only those parts from the raw message.
func BodyParts(root *Part) (text, html []*Part) {
	if root == nil {
		return nil, nil
	}
	walkLeaves(root, func(p *Part, _ string, mode int, inAlt bool) {
		if isAttachment(p, inAlt) || p.Type != "text" {
			return
		}
		switch {
		case p.Subtype == "plain" && mode&wantText != 0:
			text = append(text, p)
		case p.Subtype == "html" && mode&wantHTML != 0:
			html = append(html, p)
		}
	})
	return text, html
}

// provides reports whether p is or contains an inline text/plain or
// text/html body.
func provides(p *Part) (plain, html bool) {
	if p.Type == "multipart" {
		for _, ch := range p.Children {
			pl, ht := provides(ch)
			plain, html = plain || pl, html || ht
		}
		return
	}
	if p.Type != "text" || p.Disposition == "attachment" || fileName(p) != "" {
		return false, false
	}
	return p.Subtype == "plain", p.Subtype == "html"
}

func (c *collector) leaf(p *Part, num string, mode int, inAlt bool) {
	if p.Type == "text" && p.Subtype == "calendar" && c.calendar == "" {
		c.calendar = num
	}
	if isAttachment(p, inAlt) {
		c.attachment(p, num)
		return
	}
	if p.Type != "text" {
		return
	}
	switch {
	case p.Subtype == "plain" && mode&wantText != 0:
		c.appendBody(&c.text, c.ps.bodyText(p))
	case p.Subtype == "html" && mode&wantHTML != 0:
		c.appendBody(&c.html, c.ps.bodyText(p))
	}
}

// appendBody adds one more body, on a new line; the line break is the one
// the message uses.
func (c *collector) appendBody(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
		if c.ps.crlf() {
			b.WriteByte('\r')
		}
		b.WriteByte('\n')
	}
	b.WriteString(s)
}

// isAttachment decides whether a leaf is shown as an attachment: an
// encapsulated message; Content-Disposition attachment (RFC 2183 2.2); a
// file name; any part that is not text; a text part other than plain, html
// or calendar, unless it is one rendering of a multipart/alternative.
func isAttachment(p *Part, inAlt bool) bool {
	switch {
	case p.Message != nil, p.Disposition == "attachment", fileName(p) != "":
		return true
	case p.Type == "text":
		switch p.Subtype {
		case "plain", "html", "calendar":
			return false
		}
		return !inAlt
	}
	return true
}

// fileName returns the file name of a part: the Content-Disposition
// filename (RFC 2183 2.3), else the Content-Type name parameter, without
// any directory a sender left in it.
func fileName(p *Part) string {
	name := p.DispositionParams["filename"]
	if strings.TrimSpace(name) == "" {
		name = p.Params["name"]
	}
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 && i < len(name)-1 {
		name = name[i+1:]
	}
	return name
}

func (c *collector) attachment(p *Part, num string) {
	ct := p.Type + "/" + p.Subtype
	if d, ok := c.ps.declared[p]; ok {
		ct = d
	}
	a := Attachment{
		Part:        num,
		Name:        fileName(p),
		ContentType: ct,
		Size:        c.decodedSize(p),
		ContentID:   strings.Trim(p.ID, "<> \t"),
		Inline:      p.Disposition == "inline" || (p.Disposition == "" && p.ID != ""),
	}
	if a.Name == "" && p.Message != nil {
		subj := strings.Map(func(r rune) rune {
			if r < ' ' || strings.ContainsRune(`/\:*?"<>|`, r) {
				return '_'
			}
			return r
		}, strings.TrimSpace(p.Message.Envelope.Subject))
		if subj == "" {
			subj = "message"
		}
		if len(subj) > 200 {
			subj = strings.ToValidUTF8(subj[:200], "")
		}
		a.Name = subj + ".eml"
	}
	c.atts = append(c.atts, a)
}

// decodedSize is the size of the decoded body: exact for identity
// encodings and base64 (computed from the count of base64 letters without
// decoding), the encoded size otherwise.
func (c *collector) decodedSize(p *Part) int64 {
	if p.Encoding != "BASE64" {
		return p.Size
	}
	body := c.ps.raw[p.BodyStart:p.End]
	n := len(body) - bytes.Count(body, []byte{'\n'}) - bytes.Count(body, []byte{'\r'})
	// Padding and trailing white space.
	for i := len(body) - 1; i >= 0 && n > 0; i-- {
		ch := body[i]
		if ch == '=' || ch == ' ' || ch == '\t' {
			n--
		} else if ch != '\r' && ch != '\n' {
			break
		}
	}
	return int64(n) * 6 / 8
}
