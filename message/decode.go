package message

import (
	"bytes"
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	// RFC 4648 5 URL-safe letters, written by some broken encoders.
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeBase64 appends the base64 decoding of src to dst, leniently: bytes
// outside the alphabet (line breaks, junk) are skipped as RFC 2045 6.8
// says, padding may be missing, and decoding resumes after padding (bodies
// concatenated from several encoded blocks).
func decodeBase64[T string | []byte](dst []byte, src T) []byte {
	var quad uint32
	n := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '=' {
			dst = flushQuad(dst, quad, n)
			quad, n = 0, 0
			continue
		}
		v := b64[c]
		if v == 0xff {
			continue
		}
		quad = quad<<6 | uint32(v)
		n++
		if n == 4 {
			dst = append(dst, byte(quad>>16), byte(quad>>8), byte(quad))
			quad, n = 0, 0
		}
	}
	return flushQuad(dst, quad, n)
}

func flushQuad(dst []byte, quad uint32, n int) []byte {
	switch n {
	case 2:
		quad <<= 12
		dst = append(dst, byte(quad>>16))
	case 3:
		quad <<= 6
		dst = append(dst, byte(quad>>16), byte(quad>>8))
	}
	return dst
}

var crlfBytes = []byte("\r\n")

// decodeQP appends the quoted-printable decoding of src (RFC 2045 6.7) to
// dst. It is lenient: an "=" not followed by two hex digits or a line break
// is kept literally, and white space at the end of a line is dropped.
func decodeQP(dst, src []byte) []byte {
	for len(src) > 0 {
		var line, eol []byte
		if nl := bytes.IndexByte(src, '\n'); nl < 0 {
			line, src = src, nil
		} else {
			line, eol, src = src[:nl], src[nl:nl+1], src[nl+1:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line, eol = line[:len(line)-1], crlfBytes
			}
		}
		// Rule (3): white space at the end of a line was added in transport.
		for len(line) > 0 && isWSP(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		soft := false
		for len(line) > 0 {
			i := bytes.IndexByte(line, '=')
			if i < 0 {
				dst = append(dst, line...)
				break
			}
			dst = append(dst, line[:i]...)
			line = line[i:]
			if len(line) == 1 { // rule (5): soft line break
				soft = true
				break
			}
			if len(line) >= 3 {
				if h, ok := unhex2(line[1], line[2]); ok {
					dst = append(dst, h)
					line = line[3:]
					continue
				}
			}
			dst = append(dst, '=')
			line = line[1:]
		}
		if !soft {
			dst = append(dst, eol...)
		}
	}
	return dst
}

// decodeTransfer undoes the Content-Transfer-Encoding of a body. Identity
// encodings return body itself.
func decodeTransfer(body []byte, encoding string) []byte {
	switch encoding {
	case "BASE64":
		return decodeBase64(make([]byte, 0, len(body)*3/4+3), body)
	case "QUOTED-PRINTABLE":
		return decodeQP(make([]byte, 0, len(body)), body)
	}
	return body
}

// normCharset returns the lower-case charset label without quotes or space.
func normCharset(cs string) string {
	cs = strings.Trim(cs, " \t\"'")
	for i := 0; i < len(cs); i++ {
		if c := cs[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(cs)
		}
	}
	return cs
}

// convertCharset converts b from the named charset to UTF-8. ok is false
// when the charset is not one go-message's charset package knows. Invalid
// input is replaced by U+FFFD.
func convertCharset(cs string, b []byte) (string, bool) {
	switch normCharset(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii", "x-unknown", "unknown-8bit", "":
		if isASCII(b) || utf8.Valid(b) {
			return string(b), true
		}
		if cs := normCharset(cs); cs == "utf-8" || cs == "utf8" {
			return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), true
		}
		// 8-bit text labelled ASCII or not at all is Latin-1 in practice.
		return latin1(b), true
	case "iso-8859-1", "latin1", "iso_8859-1", "l1", "windows-1252", "cp1252", "x-cp1252":
		// WHATWG Encoding maps ISO-8859-1 to its superset windows-1252.
		if isASCII(b) {
			return string(b), true
		}
		return latin1(b), true
	}
	r, err := charset.Reader(normCharset(cs), bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), true
	}
	if !utf8.Valid(out) {
		out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	return string(out), true
}

// knownCharset reports whether convertCharset understands cs.
func knownCharset(cs string) bool {
	switch normCharset(cs) {
	case "utf-8", "utf8", "us-ascii", "iso-8859-1", "windows-1252":
		return true
	}
	_, ok := convertCharset(cs, nil)
	return ok
}

// bodyText decodes the body of the text part p to UTF-8: transfer encoding,
// then charset. An unknown charset is read as UTF-8 with invalid bytes
// replaced.
func (ps *parser) bodyText(p *Part) string {
	body := ps.raw[p.BodyStart:p.End]
	switch p.Encoding {
	case "7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE":
	default:
		ps.problemf("unknown Content-Transfer-Encoding %q at offset %d: read as 8BIT", p.Encoding, p.HeaderStart)
	}
	s, ok := textOf(p, decodeTransfer(body, p.Encoding))
	if !ok {
		ps.problemf("unknown charset %q at offset %d: read as UTF-8", clip(p.Params["charset"]), p.HeaderStart)
	}
	return s
}

// textOf converts a text part's transfer-decoded body to UTF-8: by its charset
// parameter, or for HTML without one by the charset its meta tag declares (HTML 4.01
// 5.2.2); a byte order mark is dropped. ok is false for an unknown charset, read as
// UTF-8 with invalid bytes replaced.
func textOf(p *Part, b []byte) (s string, ok bool) {
	cs := p.Params["charset"]
	if cs == "" && p.Subtype == "html" && !isASCII(b) && !utf8.Valid(b) {
		cs = metaCharset(b)
	}
	s, ok = convertCharset(cs, b)
	if !ok {
		if utf8.Valid(b) {
			return string(b), false
		}
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), false
	}
	return strings.TrimPrefix(s, "\uFEFF"), true // byte order mark
}

// metaCharset finds the charset an HTML document declares in a meta tag
// near its start, or "".
func metaCharset(b []byte) string {
	head := b[:min(len(b), 2048)]
	for i := 0; ; {
		j := indexFoldBytes(head[i:], "charset=")
		if j < 0 {
			return ""
		}
		i += j + len("charset=")
		k := i
		for k < len(head) && (head[k] == '"' || head[k] == '\'') {
			k++
		}
		e := k
		for e < len(head) && (isAlnum(head[e]) || head[e] == '-' || head[e] == '_' || head[e] == ':' || head[e] == '.') {
			e++
		}
		if e > k {
			return string(head[k:e])
		}
	}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// indexFoldBytes finds the lower-case ASCII string sub in b, ignoring case.
func indexFoldBytes(b []byte, sub string) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if eqFold(b[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// DecodedBody returns the body of p with its Content-Transfer-Encoding
// undone (the content IMAP BINARY[section] returns, RFC 3516). raw is the
// message p was parsed from. The result may share memory with raw.
func (p *Part) DecodedBody(raw []byte) []byte {
	if p.End > int64(len(raw)) || p.BodyStart > p.End || p.BodyStart < 0 {
		return nil
	}
	return decodeTransfer(raw[p.BodyStart:p.End], p.Encoding)
}

// DecodedText returns the body of p decoded and converted to UTF-8 as Parse decodes
// the bodies (see textOf). It is meant for text/* parts.
func (p *Part) DecodedText(raw []byte) string {
	s, _ := textOf(p, p.DecodedBody(raw))
	return s
}

// textPreview collapses white space in s and cuts it to n runes.
func textPreview(s string, n int) string {
	var b strings.Builder
	b.Grow(min(len(s), n*2))
	runes := 0
	space := false
	for _, r := range s {
		if isSpaceRune(r) {
			space = runes > 0
			continue
		}
		if space {
			if runes+1 >= n {
				break
			}
			b.WriteByte(' ')
			runes++
			space = false
		}
		b.WriteRune(r)
		runes++
		if runes >= n {
			break
		}
	}
	return b.String()
}

// isSpaceRune reports white space, and control characters, which a preview
// shows as space too.
func isSpaceRune(r rune) bool {
	if r < 0x20 || 0x7f <= r && r < 0xa0 {
		return true
	}
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x2007, 0x202F, 0x200B, 0xFEFF:
		return true
	}
	return r > 0x2000 && r <= 0x200A || r == 0x2028 || r == 0x2029 || r == 0x3000
}

// htmlPreview returns the visible text at the start of an HTML document, white space
// collapsed, cut to n runes.
func htmlPreview(h string, n int) string {
	return textPreview(HTMLToText(h, n*8), n)
}

// tagName returns the lower-case name of a tag from its inside ("br /",
// "/div", "p class=x").
func tagName(s string) string {
	end := 0
	for end < len(s) {
		c := s[end]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || (c == '/' && end > 0) {
			break
		}
		end++
	}
	return strings.ToLower(s[:end])
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(sub) <= len(s) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func unescapeHTML(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return html.UnescapeString(s)
}
