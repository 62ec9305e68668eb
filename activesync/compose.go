package activesync

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
)

// This file holds the parts of SendMail, SmartReply and SmartForward that need no store:
// reading the request, completing the header, and putting the original message into a
// reply or a forward.

// composeKind says which of the three commands a request is.
type composeKind int

const (
	composeSend composeKind = iota
	composeReply
	composeForward
)

// composeRequest is a SendMail, SmartReply or SmartForward request as parsed.
type composeRequest struct {
	ClientID    string
	SaveInSent  bool
	ReplaceMime bool
	Mime        []byte
	Source      composeSource
}

// composeSource names the message replied to or forwarded ([MS-ASCMD] 2.2.3.173 Source).
type composeSource struct {
	FolderID   string
	ItemID     string
	LongID     string
	InstanceID string
}

var errComposeSyntax = errors.New("activesync: malformed ComposeMail request")

// parseComposeRequest reads a request of command cmd. From 14.0 the body is WBXML in
// the ComposeMail namespace ([MS-ASCMD] 2.2.3.162 SendMail, 2.2.3.169 SmartForward,
// 2.2.3.170 SmartReply); before it (12.1) the body is the MIME message itself and the
// options are query parameters (SaveInSent, ItemId, CollectionId, LongId; [MS-ASHTTP]
// 2.2.1.1.1.2). Elements of other namespaces (rm:TemplateID) and AccountId are ignored.
func parseComposeRequest(cmd string, body *wbxml.Node, raw []byte, q query) (composeRequest, error) {
	if body == nil {
		if len(raw) == 0 {
			return composeRequest{}, errComposeSyntax
		}
		return composeRequest{
			SaveInSent: q.SaveInSent,
			Mime:       raw,
			Source:     composeSource{FolderID: q.CollectionID, ItemID: q.ItemID, LongID: q.LongID},
		}, nil
	}
	if !body.Is("ComposeMail:" + cmd) {
		return composeRequest{}, errComposeSyntax
	}
	var cr composeRequest
	var hasMime, hasSource bool
	for _, c := range body.Children {
		if c.Space != "ComposeMail" {
			continue
		}
		switch c.Tag {
		case "ClientId":
			// [MS-ASCMD] 2.2.3.28.1: at most 40 characters.
			if c.Text == "" || len(c.Text) > 40 {
				return composeRequest{}, errComposeSyntax
			}
			cr.ClientID = c.Text
		case "SaveInSentItems":
			cr.SaveInSent = true
		case "ReplaceMime":
			cr.ReplaceMime = true
		case "Mime":
			// [MS-ASCMD] 2.2.3.109: the message, sent as opaque data or as a string.
			hasMime = true
			if c.Opaque != nil {
				cr.Mime = c.Opaque
			} else {
				cr.Mime = []byte(c.Text)
			}
		case "Source":
			hasSource = true
			for _, s := range c.Children {
				switch s.Tag {
				case "FolderId":
					cr.Source.FolderID = s.Text
				case "ItemId":
					cr.Source.ItemID = s.Text
				case "LongId":
					cr.Source.LongID = s.Text
				case "InstanceId":
					cr.Source.InstanceID = s.Text
				}
			}
		}
	}
	if !hasMime || len(cr.Mime) == 0 {
		return composeRequest{}, errComposeSyntax
	}
	if cmd != "SendMail" {
		src := cr.Source
		// [MS-ASCMD] 2.2.3.173: LongId excludes FolderId and ItemId; one of them is needed.
		if !hasSource || (src.ItemID == "" && src.LongID == "") || (src.LongID != "" && (src.ItemID != "" || src.FolderID != "")) {
			return composeRequest{}, errComposeSyntax
		}
		if len(src.FolderID) > 64 || len(src.ItemID) > 64 || len(src.LongID) > 256 {
			return composeRequest{}, errComposeSyntax
		}
	}
	return cr, nil
}

// composeField is one field of a message header, with its continuation lines and line end.
type composeField struct {
	name string
	raw  []byte
}

// splitComposeHeader splits a message into its header fields and its body (after the empty
// line). Lines before the first field that cannot be a field get an empty name, so no
// byte is lost.
func splitComposeHeader(raw []byte) ([]composeField, []byte) {
	var fs []composeField
	i := 0
	for i < len(raw) {
		if raw[i] == '\n' {
			return fs, raw[i+1:]
		}
		if raw[i] == '\r' && i+1 < len(raw) && raw[i+1] == '\n' {
			return fs, raw[i+2:]
		}
		end := i
		for {
			j := bytes.IndexByte(raw[end:], '\n')
			if j < 0 {
				end = len(raw)
				break
			}
			end += j + 1
			// RFC 5322 2.2.3: a line starting with WSP continues the field.
			if end >= len(raw) || (raw[end] != ' ' && raw[end] != '\t') {
				break
			}
		}
		f := composeField{raw: raw[i:end]}
		if c := bytes.IndexByte(f.raw, ':'); c > 0 && f.raw[0] != ' ' && f.raw[0] != '\t' {
			if name := strings.TrimRight(string(f.raw[:c]), " \t"); !strings.ContainsAny(name, " \t\r\n") {
				f.name = name
			}
		}
		fs = append(fs, f)
		i = end
	}
	return fs, nil
}

func hasComposeField(fs []composeField, name string) bool {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

// isMIMEField says whether a field describes the entity's content rather than the message.
func isMIMEField(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "content-") || n == "mime-version"
}

// looksLikeMessage rejects what cannot be a message at all: no header field before the
// body ([MS-ASCMD] 2.2.2 Status 107 InvalidMIME).
func looksLikeMessage(raw []byte) bool {
	fs, _ := splitComposeHeader(raw)
	for _, f := range fs {
		if f.name != "" {
			return true
		}
	}
	return false
}

// completeHeader adds what a submitted message needs and lacks: From (the account's
// address), Date and Message-ID (RFC 6409 8.2, 8.3: added here rather than by the
// submission server so that the copy in Sent is the message that was sent), and for a
// reply In-Reply-To and References (RFC 5322 3.6.4) from the original.
func completeHeader(raw []byte, from mail.Address, host string, now time.Time, orig *message.Parsed) []byte {
	fs, _ := splitComposeHeader(raw)
	var add strings.Builder
	if !hasComposeField(fs, "From") {
		add.WriteString("From: " + from.String() + "\r\n")
	}
	if !hasComposeField(fs, "Date") {
		add.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	}
	if !hasComposeField(fs, "Message-ID") {
		var b [16]byte
		rand.Read(b[:])
		add.WriteString("Message-ID: <" + hex.EncodeToString(b[:]) + "@" + host + ">\r\n")
	}
	if orig != nil && orig.Envelope.MessageID != "" {
		id := strings.TrimSpace(orig.Envelope.MessageID)
		if !hasComposeField(fs, "In-Reply-To") {
			add.WriteString("In-Reply-To: " + id + "\r\n")
		}
		if !hasComposeField(fs, "References") {
			refs := append(append([]string{}, orig.References...), id)
			add.WriteString(foldComposeField("References", refs))
		}
	}
	if add.Len() == 0 {
		return raw
	}
	return append([]byte(add.String()), raw...)
}

// foldComposeField writes a field of space-separated words, folded before 78 octets where
// possible (RFC 5322 2.1.1).
func foldComposeField(name string, words []string) string {
	var b strings.Builder
	line := name + ":"
	for _, w := range words {
		if len(line)+1+len(w) > 78 && len(line) > len(name)+1 {
			b.WriteString(line + "\r\n")
			line = " " + w
			continue
		}
		line += " " + w
	}
	b.WriteString(line + "\r\n")
	return b.String()
}

// mergeOriginal builds the message a SmartReply or SmartForward without ReplaceMime
// sends: the client's new message with the original appended, as Exchange does. The
// new text is followed by an "Original Message" block (From, Sent, To, Cc, Subject) and
// the original text, quoted for a reply; both the plain and the HTML alternative get it,
// whichever of them the new message has. A forward also carries the original's
// attachments: [MS-ASCMD] 2.2.3.148 has the server leave out "the body or attachments of
// the original message" only when ReplaceMime is present, so without it both are
// included. The new message's own attachments are kept. The header fields of the new
// message are kept byte for byte, except its MIME fields, which describe the new body.
func mergeOriginal(kind composeKind, newRaw, origRaw []byte) []byte {
	fs, _ := splitComposeHeader(newRaw)
	np := message.Parse(newRaw)
	op := message.Parse(origRaw)
	hasText, hasHTML := composeBodyKinds(np.Structure)
	if !hasText && !hasHTML {
		hasText = true
	}

	origText := op.Text
	if strings.TrimSpace(origText) == "" && op.HTML != "" {
		origText = quotedHTMLAsText(op.HTML)
	}
	origHTML := htmlBodyInner(op.HTML)
	if strings.TrimSpace(op.HTML) == "" {
		origHTML = quotedTextAsHTML(op.Text)
	}

	var parts, inline [][]byte
	addParts := func(p *message.Parsed, raw []byte) {
		for _, a := range p.Attachments {
			sec, err := message.ParseSection(a.Part)
			if err != nil {
				continue
			}
			part := p.Structure.Find(sec)
			if part == nil {
				continue
			}
			b := composeCopyPart(raw, part)
			if a.Inline && a.ContentID != "" && hasHTML {
				inline = append(inline, b)
			} else {
				parts = append(parts, b)
			}
		}
	}
	addParts(np, newRaw)
	if kind == composeForward {
		addParts(op, origRaw)
	}

	var textBody, htmlBody []byte
	if hasText {
		text := np.Text
		text = strings.TrimRight(text, "\r\n") + "\r\n\r\n" + attributionText(op.Envelope) + "\r\n"
		if kind == composeReply {
			text += quoteOriginalText(origText)
		} else {
			text += toCRLF(origText)
		}
		textBody = composeTextPart("text/plain; charset=utf-8", text)
	}
	if hasHTML {
		block := "<hr>" + attributionHTML(op.Envelope)
		if kind == composeReply {
			block += `<blockquote style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">` + origHTML + "</blockquote>"
		} else {
			block += "<div>" + origHTML + "</div>"
		}
		htmlBody = composeTextPart("text/html; charset=utf-8", insertBeforeBodyEnd(np.HTML, block))
		if len(inline) > 0 {
			htmlBody = composeMultipart("related", append([][]byte{htmlBody}, inline...))
		}
	}
	var body []byte
	switch {
	case hasText && hasHTML:
		body = composeMultipart("alternative", [][]byte{textBody, htmlBody})
	case hasHTML:
		body = htmlBody
	default:
		body = textBody
	}
	if len(parts) > 0 {
		body = composeMultipart("mixed", append([][]byte{body}, parts...))
	}

	var out bytes.Buffer
	for _, f := range fs {
		if f.name == "" || isMIMEField(f.name) {
			continue
		}
		out.Write(f.raw)
		if !bytes.HasSuffix(f.raw, []byte("\n")) {
			out.WriteString("\r\n")
		}
	}
	out.WriteString("MIME-Version: 1.0\r\n")
	out.Write(body) // the entity's own Content-Type fields, its empty line and its body
	return out.Bytes()
}

// composeBodyKinds says whether a message has inline text/plain and text/html parts (its
// body, not its attachments).
func composeBodyKinds(p *message.Part) (text, html bool) {
	if p == nil {
		return false, false
	}
	if p.Type == "multipart" {
		for _, c := range p.Children {
			t, h := composeBodyKinds(c)
			text, html = text || t, html || h
		}
		return text, html
	}
	if p.Type != "text" || p.Disposition == "attachment" {
		return false, false
	}
	return p.Subtype == "plain", p.Subtype == "html"
}

// composeCopyPart returns an entity of raw as a body part: its Content-* fields (a top-level
// entity's header also holds the message's fields, which a part must not), the empty
// line and its body as stored.
func composeCopyPart(raw []byte, p *message.Part) []byte {
	if p.HeaderStart < 0 || p.HeaderStart > p.BodyStart || p.BodyStart > p.End || p.End > int64(len(raw)) {
		return nil
	}
	fs, _ := splitComposeHeader(raw[p.HeaderStart:p.BodyStart])
	var b bytes.Buffer
	for _, f := range fs {
		if f.name != "" && isMIMEField(f.name) && !strings.EqualFold(f.name, "MIME-Version") {
			b.Write(f.raw)
			if !bytes.HasSuffix(f.raw, []byte("\n")) {
				b.WriteString("\r\n")
			}
		}
	}
	b.WriteString("\r\n")
	b.Write(raw[p.BodyStart:p.End])
	return b.Bytes()
}

// composeTextPart is a UTF-8 text entity in quoted-printable (RFC 2045 6.7), so that long lines
// and any character survive every relay.
func composeTextPart(contentType, text string) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: " + contentType + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(text))
	w.Close()
	return b.Bytes()
}

// composeMultipart joins entities into a multipart entity (RFC 2046 5.1.1).
func composeMultipart(subtype string, parts [][]byte) []byte {
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "=_gatehouse_" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/" + subtype + "; boundary=\"" + boundary + "\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.Write(p)
		if !bytes.HasSuffix(p, []byte("\n")) {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// attributionAddresses formats addresses as Outlook's attribution block does.
func attributionAddresses(list []message.Address) string {
	var out []string
	for _, a := range message.Mailboxes(list) {
		out = append(out, a.String())
	}
	return strings.Join(out, "; ")
}

// attributionLines are the fields of the block that introduces the original message.
func attributionLines(env message.Envelope) [][2]string {
	lines := [][2]string{{"From", attributionAddresses(env.From)}}
	if !env.Date.IsZero() {
		lines = append(lines, [2]string{"Sent", env.Date.Format("Monday, January 2, 2006 15:04 -0700")})
	}
	lines = append(lines, [2]string{"To", attributionAddresses(env.To)})
	if len(env.Cc) > 0 {
		lines = append(lines, [2]string{"Cc", attributionAddresses(env.Cc)})
	}
	return append(lines, [2]string{"Subject", env.Subject})
}

func attributionText(env message.Envelope) string {
	var b strings.Builder
	b.WriteString("-----Original Message-----\r\n")
	for _, l := range attributionLines(env) {
		b.WriteString(l[0] + ": " + l[1] + "\r\n")
	}
	return b.String()
}

func attributionHTML(env message.Envelope) string {
	var b strings.Builder
	b.WriteString("<div>")
	for _, l := range attributionLines(env) {
		b.WriteString("<b>" + l[0] + ":</b> " + html.EscapeString(l[1]) + "<br>\r\n")
	}
	b.WriteString("</div><br>\r\n")
	return b.String()
}

// toCRLF normalises line ends to CRLF.
func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// quoteOriginalText prefixes every line with "> " (RFC 3676 4.5 quoting).
func quoteOriginalText(s string) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, ">") {
			b.WriteString(">" + line + "\r\n")
		} else {
			b.WriteString("> " + line + "\r\n")
		}
	}
	return b.String()
}

// indexFoldASCII is strings.Index without regard to ASCII case.
func indexFoldASCII(s, substr string) int { return strings.Index(strings.ToLower(s), substr) }

// htmlBodyInner is the content of an HTML document's body element (the whole text when it
// has none), to be nested inside another document.
func htmlBodyInner(doc string) string {
	if i := indexFoldASCII(doc, "<body"); i >= 0 {
		if j := strings.IndexByte(doc[i:], '>'); j >= 0 {
			doc = doc[i+j+1:]
		}
	}
	if i := strings.LastIndex(strings.ToLower(doc), "</body"); i >= 0 {
		doc = doc[:i]
	}
	return doc
}

// insertBeforeBodyEnd puts block at the end of an HTML document's body.
func insertBeforeBodyEnd(doc, block string) string {
	if i := strings.LastIndex(strings.ToLower(doc), "</body"); i >= 0 {
		return doc[:i] + block + doc[i:]
	}
	return doc + block
}

func quotedTextAsHTML(s string) string {
	return "<div>" + strings.ReplaceAll(html.EscapeString(strings.ReplaceAll(s, "\r\n", "\n")), "\n", "<br>\r\n") + "</div>"
}

// quotedHTMLAsText renders HTML as the plain text of a quotation.
func quotedHTMLAsText(doc string) string {
	return message.HTMLToText(doc, 0)
}
