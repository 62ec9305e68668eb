package message

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// field identifies the header fields Parse looks at. All other fields are
// skipped without allocating.
type field uint8

const (
	fNone field = iota
	fContentType
	fContentTransferEncoding
	fContentID
	fContentDescription
	fContentDisposition
	fContentLanguage
	fContentLocation
	fContentMD5
	fDate
	fSubject
	fFrom
	fSender
	fReplyTo
	fTo
	fCc
	fBcc
	fInReplyTo
	fMessageID
	fReferences
	fCount
)

// span is the value of one header field in raw: from just after the colon to
// the end of its last line, excluding the line terminator. It may contain
// folding line breaks (RFC 5322 2.2.3).
type span struct {
	start, end int
	ok         bool
}

// header holds the first occurrence of each interesting field of one entity.
// Repeated address fields (illegal, RFC 5322 3.6, but seen) are kept in more
// and merged.
type header struct {
	f    [fCount]span
	more []extraField
}

type extraField struct {
	id field
	s  span
}

// fieldID maps a header field name to its id, ASCII case-insensitively.
func fieldID(name []byte) field {
	switch len(name) {
	case 2:
		switch {
		case eqFold(name, "to"):
			return fTo
		case eqFold(name, "cc"):
			return fCc
		}
	case 3:
		if eqFold(name, "bcc") {
			return fBcc
		}
	case 4:
		switch {
		case eqFold(name, "from"):
			return fFrom
		case eqFold(name, "date"):
			return fDate
		}
	case 6:
		if eqFold(name, "sender") {
			return fSender
		}
	case 7:
		if eqFold(name, "subject") {
			return fSubject
		}
	case 8:
		if eqFold(name, "reply-to") {
			return fReplyTo
		}
	case 10:
		switch {
		case eqFold(name, "message-id"):
			return fMessageID
		case eqFold(name, "references"):
			return fReferences
		case eqFold(name, "content-id"):
			return fContentID
		}
	case 11:
		switch {
		case eqFold(name, "in-reply-to"):
			return fInReplyTo
		case eqFold(name, "content-md5"):
			return fContentMD5
		}
	case 12:
		if eqFold(name, "content-type") {
			return fContentType
		}
	case 16:
		switch {
		case eqFold(name, "content-language"):
			return fContentLanguage
		case eqFold(name, "content-location"):
			return fContentLocation
		}
	case 19:
		switch {
		case eqFold(name, "content-description"):
			return fContentDescription
		case eqFold(name, "content-disposition"):
			return fContentDisposition
		}
	case 25:
		if eqFold(name, "content-transfer-encoding") {
			return fContentTransferEncoding
		}
	}
	return fNone
}

// eqFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// lineAt returns, for the line starting at pos and bounded by end: the end of
// its content (excluding CRLF or LF) and the start of the next line.
func lineAt(raw []byte, pos, end int) (contentEnd, next int) {
	nl := bytes.IndexByte(raw[pos:end], '\n')
	if nl < 0 {
		return end, end
	}
	contentEnd = pos + nl
	next = contentEnd + 1
	if contentEnd > pos && raw[contentEnd-1] == '\r' {
		contentEnd--
	}
	return contentEnd, next
}

// validFieldName reports whether b is a field name: printable US-ASCII except
// colon (RFC 5322 2.2).
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// scanHeader reads the header of the entity that starts at start and ends at
// end, and returns the offset of its body. The body starts after the first
// empty line (RFC 5322 2.1). A line that is neither a field nor a folded
// continuation ends the header early: the body then starts at that line. A
// header that runs to end has an empty body at end.
func (ps *parser) scanHeader(start, end int, top bool) (h header, bodyStart int) {
	raw := ps.raw
	var cur *span // field being continued; nil when skipping
	curExtra := -1
	seen := false // a field was seen
	pos := start
	for pos < end {
		contentEnd, next := lineAt(raw, pos, end)
		if contentEnd == pos {
			return h, next // the empty line belongs to the header
		}
		if isWSP(raw[pos]) && seen {
			// RFC 5322 2.2.3 folded continuation of the previous field.
			if curExtra >= 0 {
				h.more[curExtra].s.end = contentEnd
			} else if cur != nil {
				cur.end = contentEnd
			}
			pos = next
			continue
		}
		colon := bytes.IndexByte(raw[pos:contentEnd], ':')
		name := raw[pos:max(pos, pos+colon)]
		for len(name) > 0 && isWSP(name[len(name)-1]) {
			name = name[:len(name)-1] // RFC 5322 4.5 obs: WSP before colon
		}
		if colon < 0 || !validFieldName(name) {
			if top && pos == start && bytes.HasPrefix(raw[pos:contentEnd], []byte("From ")) {
				// An mbox "From " separator left in front of the message.
				ps.problem("mbox From_ line before header")
				pos = next
				continue
			}
			if pos != start {
				ps.problemf("header line without colon at offset %d: body starts there", pos)
			} else if top {
				ps.problem("message has no header")
			}
			return h, pos
		}
		seen = true
		cur, curExtra = nil, -1
		id := fieldID(name)
		if id != fNone {
			s := span{start: pos + colon + 1, end: contentEnd, ok: true}
			switch {
			case !h.f[id].ok:
				h.f[id] = s
				cur = &h.f[id]
			case id == fTo || id == fCc || id == fBcc || id == fReferences:
				h.more = append(h.more, extraField{id, s})
				curExtra = len(h.more) - 1
			}
		}
		pos = next
	}
	return h, end
}

// value returns the unfolded, trimmed, UTF-8 value of field id, and whether
// it was present. Repeated address fields are joined with commas.
func (ps *parser) value(h *header, id field) (string, bool) {
	s := h.f[id]
	if !s.ok {
		return "", false
	}
	v := ps.unfold(s)
	for _, m := range h.more {
		if m.id == id {
			sep := ", "
			if id == fReferences {
				sep = " "
			}
			v += sep + ps.unfold(m.s)
		}
	}
	return v, true
}

// unfold returns the field value of s with folding line breaks removed
// (RFC 5322 2.2.3), surrounding white space trimmed, and converted to UTF-8.
func (ps *parser) unfold(s span) string {
	b := ps.raw[s.start:s.end]
	for len(b) > 0 && (isWSP(b[0]) || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (isWSP(b[len(b)-1]) || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	if bytes.IndexByte(b, '\n') >= 0 || bytes.IndexByte(b, '\r') >= 0 {
		u := make([]byte, 0, len(b))
		for i, c := range b {
			switch {
			case c == '\n':
			case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			case c == '\r':
				u = append(u, ' ') // a bare CR is no line break; keep words apart
			default:
				u = append(u, c)
			}
		}
		b = u
	}
	return headerText(b, ps.hint)
}

// headerUTF8 converts a raw header value to a string; see headerText.
func headerUTF8(b []byte) string { return headerText(b, "") }

// headerText converts a raw header value to a string. Raw UTF-8 is accepted
// as is (RFC 6532 3.2). Raw ISO-2022-JP (escape sequences, as old Japanese
// mailers wrote headers) is decoded. Other 8-bit bytes are taken to be in
// the charset hint (the message's body charset) if there is one, else in
// Windows-1252, the usual superset of Latin-1 such headers are written in.
func headerText(b []byte, hint string) string {
	if isASCII(b) {
		if bytes.IndexByte(b, 0x1b) >= 0 {
			if s, ok := convertCharset("iso-2022-jp", b); ok && !strings.ContainsRune(s, utf8.RuneError) {
				return s
			}
		}
		return string(b)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	if hint != "" {
		if s, ok := convertCharset(hint, b); ok && !strings.ContainsRune(s, utf8.RuneError) {
			return s
		}
	}
	return latin1(b)
}

func latin1(b []byte) string {
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	return string(s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
