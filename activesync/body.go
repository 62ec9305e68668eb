package activesync

import (
	"context"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// Body types of [MS-ASAIRS] 2.2.2.22.1 (Type).
const (
	bodyPlain = 1
	bodyHTML  = 2
	bodyRTF   = 3
	bodyMIME  = 4
)

// bodyPreference is one AirSyncBase:BodyPreference (or BodyPartPreference) of a
// request's Options ([MS-ASAIRS] 2.2.2.7).
type bodyPreference struct {
	Type           int   `json:"t"`
	TruncationSize int64 `json:"ts,omitempty"` // 0: not truncated
	AllOrNone      bool  `json:"a,omitempty"`
	Preview        int   `json:"p,omitempty"` // characters of Preview wanted (14.0+), 0: none
	// truncateAll is MIMETruncation 0: no data at all (never stored).
	truncateAll bool
}

// limit is the most data to send, or -1 for all of it.
func (p bodyPreference) limit() int64 {
	switch {
	case p.truncateAll:
		return 0
	case p.TruncationSize > 0:
		return p.TruncationSize
	}
	return -1
}

// bodyOptions are what a request says about the bodies it wants: the Options of a Sync
// collection, of ItemOperations Fetch or of Search.
type bodyOptions struct {
	Prefs     []bodyPreference
	PartPrefs []bodyPreference
	// MIMESupport ([MS-ASCMD] 2.2.3.100.3): 0 never MIME, 1 MIME for S/MIME messages
	// only, 2 MIME for every message.
	MIMESupport int
	// MIMETruncation ([MS-ASCMD] 2.2.3.101): 0 truncate everything, 1..7 a size,
	// 8 (or absent, -1 here) no truncation.
	MIMETruncation int
}

// mimeTruncationSizes are the sizes of MIMETruncation 0..7 ([MS-ASCMD] 2.2.3.101).
var mimeTruncationSizes = [...]int64{0, 4096, 5120, 7168, 10240, 20480, 51200, 102400}

// maxPreview is the longest Preview a client may ask for ([MS-ASAIRS] 2.2.2.38: 0..255).
const maxPreview = 255

// parseBodyOptions reads the body-related children of an Options element (AirSync
// Options of Sync, ItemOperations Options, Search Options). Out-of-range values are
// clamped rather than refused: a phone with odd options still gets mail.
func parseBodyOptions(opts *wbxml.Node) bodyOptions {
	bo := bodyOptions{MIMETruncation: -1}
	if opts == nil {
		return bo
	}
	for _, c := range opts.Children {
		switch c.Tag {
		case "BodyPreference":
			if p, ok := parseBodyPreference(c); ok && len(bo.Prefs) < 8 {
				bo.Prefs = append(bo.Prefs, p)
			}
		case "BodyPartPreference":
			if p, ok := parseBodyPreference(c); ok && len(bo.PartPrefs) < 8 {
				bo.PartPrefs = append(bo.PartPrefs, p)
			}
		case "MIMESupport":
			if n, err := strconv.Atoi(strings.TrimSpace(c.Text)); err == nil && n >= 0 && n <= 2 {
				bo.MIMESupport = n
			}
		case "MIMETruncation":
			if n, err := strconv.Atoi(strings.TrimSpace(c.Text)); err == nil && n >= 0 && n <= 8 {
				bo.MIMETruncation = n
			}
		}
	}
	return bo
}

func parseBodyPreference(n *wbxml.Node) (bodyPreference, bool) {
	var p bodyPreference
	t, err := strconv.Atoi(strings.TrimSpace(n.ChildText("Type")))
	if err != nil || t < bodyPlain || t > bodyMIME {
		return p, false
	}
	p.Type = t
	if s := strings.TrimSpace(n.ChildText("TruncationSize")); s != "" {
		if v, err := strconv.ParseUint(s, 10, 32); err == nil {
			p.TruncationSize = int64(v)
		}
	}
	p.AllOrNone = strings.TrimSpace(n.ChildText("AllOrNone")) == "1"
	if s := strings.TrimSpace(n.ChildText("Preview")); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			p.Preview = min(v, maxPreview)
		}
	}
	return p, true
}

// preference returns the preference for a body type, if the client named it.
func (bo bodyOptions) preference(t int) (bodyPreference, bool) {
	for _, p := range bo.Prefs {
		if p.Type == t {
			return p, true
		}
	}
	return bodyPreference{}, false
}

// bodyParts are the parts of a message that make its text and HTML bodies.
type bodyParts struct {
	text, html []*message.Part
}

// selectBodyParts chooses them from a stored structure as message.Parse chooses them
// for Parsed.Text and Parsed.HTML.
func selectBodyParts(root *message.Part) bodyParts {
	text, html := message.BodyParts(root)
	return bodyParts{text: text, html: html}
}

// isSMIME says whether a message is signed or encrypted with S/MIME (RFC 8551), for
// MIMESupport 1 and the message class.
func isSMIME(root *message.Part) (smime, signed bool) {
	if root == nil {
		return false, false
	}
	switch {
	case root.Type == "multipart" && root.Subtype == "signed":
		return true, true
	case root.Type == "application" && (root.Subtype == "pkcs7-mime" || root.Subtype == "x-pkcs7-mime"):
		return true, false
	}
	return false, false
}

// readPartText reads one text part's body from the blob by its offsets and decodes it,
// so that a message is never parsed again to serve its body.
func readPartText(f io.ReaderAt, p *message.Part) (string, error) {
	n := p.End - p.BodyStart
	if n < 0 || p.BodyStart < 0 {
		return "", nil
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, p.BodyStart); err != nil && err != io.EOF {
		return "", err
	}
	q := *p
	q.HeaderStart, q.BodyStart, q.End = 0, 0, n
	return q.DecodedText(buf), nil
}

func readPartsText(f io.ReaderAt, parts []*message.Part) (string, error) {
	var b strings.Builder
	for _, p := range parts {
		s, err := readPartText(f, p)
		if err != nil {
			return "", err
		}
		if s == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteString("\r\n")
		}
		b.WriteString(s)
	}
	return strings.TrimPrefix(b.String(), "\uFEFF"), nil
}

// chooseBodyType decides which body type to send ([MS-ASAIRS] 2.2.2.22.1, [MS-ASCMD]
// 2.2.3.100.3): MIME when MIMESupport asks for it (for every message, or for S/MIME
// ones); else the native type when the client takes it; else HTML or plain, whichever
// it named; MIME when that is all it named. A client that names nothing (12.1 without
// BodyPreference, a Fetch without Options) gets plain text.
func chooseBodyType(bo bodyOptions, nativeHTML, smime bool) bodyPreference {
	if bo.MIMESupport == 2 || (bo.MIMESupport == 1 && smime) {
		p, ok := bo.preference(bodyMIME)
		if !ok {
			p = bodyPreference{Type: bodyMIME}
			if bo.MIMETruncation >= 0 && bo.MIMETruncation < len(mimeTruncationSizes) {
				p.TruncationSize = mimeTruncationSizes[bo.MIMETruncation]
				p.truncateAll = bo.MIMETruncation == 0
			}
		}
		return p
	}
	if nativeHTML {
		if p, ok := bo.preference(bodyHTML); ok {
			return p
		}
	}
	if p, ok := bo.preference(bodyPlain); ok {
		return p
	}
	if p, ok := bo.preference(bodyHTML); ok {
		return p
	}
	if p, ok := bo.preference(bodyMIME); ok {
		return p
	}
	// RTF (3) is not produced; such a client gets plain text.
	return bodyPreference{Type: bodyPlain}
}

// bodyNode builds AirSyncBase:Body for an item ([MS-ASAIRS] 2.2.2.9): Type,
// EstimatedDataSize (of the whole body in that type), Truncated, Data (omitted when
// AllOrNone and it would be cut) and Preview (14.0+, when asked).
func (h *Handler) bodyNode(ctx context.Context, rq *request, it store.Item, parsed *message.Parsed, bo bodyOptions) (body *wbxml.Node, native int, err error) {
	bp := selectBodyParts(parsed.Structure)
	native = bodyPlain
	if len(bp.html) > 0 {
		native = bodyHTML
	}
	smime, _ := isSMIME(parsed.Structure)
	pref := chooseBodyType(bo, native == bodyHTML, smime)

	f, err := h.st.OpenBlob(ctx, rq.p, it.ID)
	if err != nil {
		return nil, native, err
	}
	defer f.Close()

	var data []byte
	var total int64
	truncated := false
	switch pref.Type {
	case bodyMIME:
		total = f.Size()
		want := total
		if lim := pref.limit(); lim >= 0 && total > lim {
			truncated, want = true, lim
		}
		if !(truncated && pref.AllOrNone) && want > 0 {
			data = make([]byte, want)
			n, err := f.ReadAt(data, 0)
			if err != nil && err != io.EOF {
				return nil, native, fmt.Errorf("activesync: reading message %d: %w", it.ID, err)
			}
			data = data[:n]
		}
	default:
		var text string
		switch {
		case pref.Type == bodyHTML && len(bp.html) > 0:
			text, err = readPartsText(f, bp.html)
		case pref.Type == bodyHTML:
			var plain string
			plain, err = readPartsText(f, bp.text)
			text = textToHTML(plain)
		case len(bp.text) > 0:
			text, err = readPartsText(f, bp.text)
		default:
			var htm string
			htm, err = readPartsText(f, bp.html)
			text = htmlToText(htm)
		}
		if err != nil {
			return nil, native, fmt.Errorf("activesync: reading message %d: %w", it.ID, err)
		}
		total = int64(len(text))
		if lim := pref.limit(); lim >= 0 && total > lim {
			truncated = true
			text = truncateUTF8(text, int(lim))
		}
		if !(truncated && pref.AllOrNone) {
			data = []byte(text)
		}
	}

	body = wbxml.NewElem("AirSyncBase", "Body",
		wbxml.NewText("AirSyncBase", "Type", strconv.Itoa(pref.Type)),
		wbxml.NewText("AirSyncBase", "EstimatedDataSize", strconv.FormatInt(total, 10)))
	if truncated {
		body.Add(wbxml.NewText("AirSyncBase", "Truncated", "1"))
	}
	if data != nil && !(truncated && pref.AllOrNone) {
		if pref.Type == bodyMIME {
			// The raw message may hold any octet: opaque, so that it arrives byte-exact.
			body.Add(wbxml.NewOpaque("AirSyncBase", "Data", data))
		} else {
			body.Add(wbxml.NewText("AirSyncBase", "Data", strings.ReplaceAll(string(data), "\x00", "")))
		}
	}
	if pref.Preview > 0 && rq.version >= v140 {
		prev := it.Preview
		if prev == "" {
			prev = parsed.Preview
		}
		if prev != "" {
			body.Add(wbxml.NewText("AirSyncBase", "Preview", truncateRunes(prev, pref.Preview)))
		}
	}
	return body, native, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// textToHTML renders a plain text body as HTML for a client that takes only HTML.
func textToHTML(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.WriteString("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>")
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteString("<br>\r\n")
		}
		b.WriteString(html.EscapeString(line))
	}
	b.WriteString("</body></html>")
	return b.String()
}

// htmlToText renders an HTML body as plain text for a client that takes only text,
// with the CRLF line breaks of a mail body.
func htmlToText(s string) string {
	return strings.ReplaceAll(message.HTMLToText(s, 0), "\n", "\r\n")
}
