package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Limits that bound the work and memory Parse spends on hostile input.
const (
	// MaxDepth is how deep multiparts and encapsulated messages nest before
	// a deeper one is treated as an opaque leaf.
	MaxDepth = 64
	// MaxParts is how many body parts one message may have; the rest of a
	// multipart beyond it is folded into its last part.
	MaxParts = 5000
	// PreviewRunes is the length of Parsed.Preview in runes.
	PreviewRunes = 255

	maxProblems = 32
)

// Parsed is everything delivery learns from a message, computed once. It is
// JSON-serializable; Text and HTML are not part of the JSON form because the
// store keeps them apart from the index.
type Parsed struct {
	Envelope Envelope `json:"envelope"`
	// Structure is the top-level entity: HeaderStart is 0 and End is
	// len(raw). It is the IMAP body structure of the message.
	Structure *Part `json:"structure"`
	// Text is the decoded text/plain body (several inline text parts are
	// joined with a newline), in UTF-8.
	Text string `json:"-"`
	// HTML is the decoded text/html body in UTF-8. Consecutive inline HTML
	// parts of one multipart/mixed (as Apple Mail writes around inline
	// images) are concatenated.
	HTML        string       `json:"-"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Preview is plain text, white space collapsed, at most PreviewRunes
	// runes: from Text, or from HTML with tags stripped when there is no
	// text part.
	Preview string `json:"preview,omitempty"`
	// ThreadKey is a stable conversation key: the first (root) message-id of
	// References, else of In-Reply-To, else the message's own Message-ID, all
	// in the form "<id>"; else "subject:" and a hash of the base subject
	// (RFC 5256 2.1 in spirit); else "message:" and a hash of the header.
	ThreadKey string `json:"threadKey,omitempty"`
	// References are the message-ids of References, "<id>" each, oldest first.
	References []string `json:"references,omitempty"`
	// CalendarPart is the IMAP part number of the first text/calendar part
	// (an iMIP invitation, RFC 6047), or empty.
	CalendarPart string `json:"calendarPart,omitempty"`
	// HasAttachments is true when an attachment other than an inline part
	// referenced by Content-ID (an image in the HTML) is present.
	HasAttachments bool `json:"hasAttachments,omitempty"`
	// Problems describes what was malformed and how it was read anyway.
	Problems []string `json:"problems,omitempty"`
}

// Envelope holds the RFC 5322 header fields of IMAP's ENVELOPE (RFC 9051
// 7.5.2). Strings are decoded to UTF-8. Sender and ReplyTo are as found in
// the header: IMAP's rule to default them to From is the IMAP front end's.
type Envelope struct {
	Date    time.Time `json:"date,omitzero"`
	Subject string    `json:"subject,omitempty"`
	From    []Address `json:"from,omitempty"`
	Sender  []Address `json:"sender,omitempty"`
	ReplyTo []Address `json:"replyTo,omitempty"`
	To      []Address `json:"to,omitempty"`
	Cc      []Address `json:"cc,omitempty"`
	Bcc     []Address `json:"bcc,omitempty"`
	// InReplyTo and MessageID are the unfolded field values, message-ids
	// with their angle brackets, as IMAP's ENVELOPE returns them.
	InReplyTo string `json:"inReplyTo,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// Address is one mailbox of an address list. A group (RFC 5322 3.4) is
// bracketed by two markers with Group set, as IMAP's ENVELOPE writes it
// (RFC 9051 7.5.2): the first has the group's display name in Mailbox, the
// second is otherwise empty. Mailboxes returns the list without markers.
type Address struct {
	Name    string `json:"name,omitempty"`
	Mailbox string `json:"mailbox,omitempty"`
	Host    string `json:"host,omitempty"`
	Group   bool   `json:"group,omitempty"`
}

// Part is one MIME entity with its location in the raw message. Offsets
// satisfy HeaderStart <= BodyStart <= End <= len(raw), and a child lies
// within its parent's body; see the package documentation.
type Part struct {
	// Type and Subtype are lower case. Without a (valid) Content-Type the
	// default is text/plain; charset=us-ascii (RFC 2045 5.2), or
	// message/rfc822 inside multipart/digest (RFC 2046 5.1.5).
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	// Params are the Content-Type parameters, keys lower case, values
	// decoded (RFC 2231 continuations and charsets; RFC 2047 words in name).
	Params      map[string]string `json:"params,omitempty"`
	ID          string            `json:"id,omitempty"`          // Content-ID, as written (with <>)
	Description string            `json:"description,omitempty"` // Content-Description, decoded
	// Encoding is the Content-Transfer-Encoding in upper case ("7BIT",
	// "QUOTED-PRINTABLE", "BASE64"); "7BIT" when absent (RFC 2045 6.1).
	Encoding          string            `json:"encoding"`
	Disposition       string            `json:"disposition,omitempty"` // lower case, RFC 2183
	DispositionParams map[string]string `json:"dispositionParams,omitempty"`
	Language          []string          `json:"language,omitempty"` // RFC 3282
	Location          string            `json:"location,omitempty"` // RFC 2557
	MD5               string            `json:"md5,omitempty"`      // RFC 1864

	// HeaderStart is where the entity's header starts, BodyStart where its
	// body starts (after the empty line) and End where the body ends,
	// exclusive. For a part of a multipart, End excludes the line break
	// before the next boundary delimiter (RFC 2046 5.1.1).
	HeaderStart int64 `json:"headerStart,omitempty"`
	BodyStart   int64 `json:"bodyStart,omitempty"`
	End         int64 `json:"end,omitempty"`
	// Size is End-BodyStart, the body in octets as stored.
	Size int64 `json:"size,omitempty"`
	// Lines is the number of lines of the body, for text/* and
	// message/rfc822 parts (RFC 9051 7.5.2 body-fld-lines).
	Lines int64 `json:"lines,omitempty"`

	// Children are the parts of a multipart; a multipart has at least one.
	Children []*Part `json:"children,omitempty"`
	// Message is set exactly for message/rfc822 and message/global parts.
	// One that cannot be read as a message (an encoded body, too deep) is
	// reported as application/octet-stream instead.
	Message *MessagePart `json:"message,omitempty"`
}

// MessagePart is an encapsulated message.
type MessagePart struct {
	Envelope Envelope `json:"envelope"`
	// Structure is the encapsulated message's top-level entity; its
	// HeaderStart is the BodyStart of the enclosing message/rfc822 part.
	Structure *Part `json:"structure"`
}

// Attachment is a part a mail client shows as an attachment.
type Attachment struct {
	// Part is the IMAP part number, e.g. "2" or "1.3" (RFC 9051 6.4.5).
	Part string `json:"part"`
	// Name is the file name (Content-Disposition filename, else Content-Type
	// name); for an attached message without one, its subject and ".eml".
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType"` // "type/subtype", lower case
	// Size is the decoded size: exact for identity encodings, computed from
	// the encoded length for base64, the encoded size for quoted-printable.
	Size int64 `json:"size"`
	// ContentID is the Content-ID without angle brackets, as "cid:" URLs
	// name it (RFC 2392).
	ContentID string `json:"contentId,omitempty"`
	// Inline is true for Content-Disposition inline, or for a part without
	// disposition that has a Content-ID.
	Inline bool `json:"inline,omitempty"`
}

// Parse parses a raw RFC 5322 message. It never fails: malformed MIME is
// indexed as well as it can be, and what was wrong is listed in Problems.
// raw is not retained; the store keeps it and the offsets in Structure point
// into it.
func Parse(raw []byte) (p *Parsed) {
	defer func() {
		if r := recover(); r != nil {
			sum := sha256.Sum256(raw)
			p = &Parsed{
				Structure: leafPart(0, len(raw)),
				ThreadKey: "message:" + hex.EncodeToString(sum[:12]),
				Problems:  []string{fmt.Sprintf("internal error: %v", r)},
			}
		}
	}()
	return parse(raw)
}

func leafPart(start, end int) *Part {
	return &Part{
		Type: "text", Subtype: "plain",
		Params:    map[string]string{"charset": "us-ascii"},
		Encoding:  "7BIT",
		BodyStart: int64(start), HeaderStart: int64(start), End: int64(end),
		Size: int64(end - start),
	}
}

// parse is Parse without the recover, so that tests and the fuzzer see panics.
func parse(raw []byte) *Parsed {
	ps := &parser{raw: raw}
	root, h := ps.entity(0, len(raw), 0, "text", "plain", true)
	p := &Parsed{Structure: root}
	p.Envelope = ps.envelopeOf(&h, root)
	if refs, ok := ps.value(&h, fReferences); ok {
		p.References = msgIDs(refs)
	}
	p.ThreadKey = ps.threadKey(p)

	c := collector{ps: ps}
	c.collect(root)
	p.Text = c.text.String()
	p.HTML = c.html.String()
	p.Attachments = c.atts
	p.CalendarPart = c.calendar
	for _, a := range c.atts {
		if !(a.Inline && a.ContentID != "") {
			p.HasAttachments = true
			break
		}
	}
	p.Preview = textPreview(p.Text, PreviewRunes)
	if p.Preview == "" && p.HTML != "" {
		p.Preview = htmlPreview(p.HTML, PreviewRunes)
	}
	p.Problems = ps.problems
	return p
}

// parser holds the state of one Parse call.
type parser struct {
	raw      []byte
	problems []string
	nparts   int
	// hint is the charset assumed for raw 8-bit header values that are
	// not UTF-8, while an envelope is read.
	hint string
	// declared remembers the media type of parts whose Type was replaced
	// because they could not be read as declared.
	declared map[*Part]string
}

// crlf reports whether the message's first line ends in CRLF.
func (ps *parser) crlf() bool {
	i := bytes.IndexByte(ps.raw, '\n')
	return i > 0 && ps.raw[i-1] == '\r'
}

func (ps *parser) problem(s string) {
	if len(ps.problems) < maxProblems {
		for _, p := range ps.problems {
			if p == s {
				return
			}
		}
		ps.problems = append(ps.problems, s)
	} else if len(ps.problems) == maxProblems {
		ps.problems = append(ps.problems, "more problems not listed")
	}
}

func (ps *parser) problemf(format string, args ...any) {
	if len(ps.problems) <= maxProblems {
		ps.problem(fmt.Sprintf(format, args...))
	}
}

// entity parses the MIME entity raw[start:end]: header, then body according
// to its type. defType/defSub is the type when Content-Type is absent.
func (ps *parser) entity(start, end, depth int, defType, defSub string, top bool) (*Part, header) {
	ps.nparts++
	h, bs := ps.scanHeader(start, end, top)
	p := &Part{
		HeaderStart: int64(start),
		BodyStart:   int64(bs),
		End:         int64(end),
		Size:        int64(end - bs),
	}
	if v, ok := ps.value(&h, fContentType); ok {
		t, sub, params, valid := parseContentType(v)
		if valid {
			p.Type, p.Subtype, p.Params = t, sub, params
		} else {
			ps.problemf("invalid Content-Type %q at offset %d: read as text/plain", clip(v), start)
		}
	}
	if p.Type == "" { // RFC 2045 5.2
		p.Type, p.Subtype = defType, defSub
		if defType == "text" && p.Params["charset"] == "" {
			if p.Params == nil {
				p.Params = make(map[string]string, 1)
			}
			p.Params["charset"] = "us-ascii"
		}
	}
	p.Encoding = "7BIT" // RFC 2045 6.1
	if v, ok := ps.value(&h, fContentTransferEncoding); ok {
		v = strings.TrimSpace(stripComments(v))
		if v != "" {
			p.Encoding = strings.ToUpper(v)
		}
	}
	if v, ok := ps.value(&h, fContentID); ok {
		p.ID = v
	}
	if v, ok := ps.value(&h, fContentDescription); ok {
		p.Description = decodeWords(v)
	}
	if v, ok := ps.value(&h, fContentDisposition); ok {
		d, params := parseParams(v)
		p.Disposition = strings.ToLower(d)
		p.DispositionParams = params
	}
	if v, ok := ps.value(&h, fContentLanguage); ok {
		for _, l := range strings.Split(stripComments(v), ",") {
			if l = strings.TrimSpace(l); l != "" {
				p.Language = append(p.Language, l)
			}
		}
	}
	if v, ok := ps.value(&h, fContentLocation); ok {
		p.Location = v
	}
	if v, ok := ps.value(&h, fContentMD5); ok {
		p.MD5 = v
	}

	switch p.Type {
	case "multipart":
		ps.multipart(p, depth)
	case "message":
		if p.Subtype == "rfc822" || p.Subtype == "global" {
			ps.encapsulated(p, depth)
		}
	}
	if p.Type == "text" || p.Message != nil {
		p.Lines = countLines(ps.raw[bs:end])
	}
	return p, h
}

// degrade makes p an opaque leaf of type t/sub, remembering what it said it
// was.
func (ps *parser) degrade(p *Part, t, sub string) {
	if ps.declared == nil {
		ps.declared = make(map[*Part]string)
	}
	if _, ok := ps.declared[p]; !ok {
		ps.declared[p] = p.Type + "/" + p.Subtype
	}
	p.Type, p.Subtype = t, sub
	p.Children, p.Message = nil, nil
}

// encapsulated parses the body of a message/rfc822 or message/global part
// as a message of its own (RFC 2046 5.2.1).
func (ps *parser) encapsulated(p *Part, depth int) {
	switch p.Encoding {
	case "7BIT", "8BIT", "BINARY":
	default:
		// RFC 2046 5.2.1 forbids encoding message/rfc822; message/global
		// may be encoded (RFC 6532 3.5) but then has no offsets to give.
		ps.problemf("message/%s part at offset %d has encoding %s: kept opaque", p.Subtype, p.HeaderStart, p.Encoding)
		ps.degrade(p, "application", "octet-stream")
		return
	}
	if depth+1 >= MaxDepth {
		ps.problemf("message nested deeper than %d at offset %d: kept opaque", MaxDepth, p.HeaderStart)
		ps.degrade(p, "application", "octet-stream")
		return
	}
	inner, h := ps.entity(int(p.BodyStart), int(p.End), depth+1, "text", "plain", false)
	p.Message = &MessagePart{Envelope: ps.envelopeOf(&h, inner), Structure: inner}
}

// multipart splits the body of p at its boundary delimiters (RFC 2046 5.1.1)
// and parses each part.
func (ps *parser) multipart(p *Part, depth int) {
	boundary := p.Params["boundary"]
	if boundary == "" {
		// RFC 2046 5.1.1 requires the parameter; RFC 2045 5.2 says to read
		// what cannot be understood as text/plain.
		ps.problemf("multipart/%s without boundary at offset %d: read as text/plain", p.Subtype, p.HeaderStart)
		ps.degrade(p, "text", "plain")
		return
	}
	if depth+1 >= MaxDepth {
		ps.problemf("multipart nested deeper than %d at offset %d: kept opaque", MaxDepth, p.HeaderStart)
		ps.degrade(p, "application", "octet-stream")
		return
	}
	switch p.Encoding {
	case "7BIT", "8BIT", "BINARY":
	default:
		ps.problemf("multipart at offset %d has encoding %s, ignored (RFC 2045 6.4)", p.HeaderStart, p.Encoding)
	}
	childType, childSub := "text", "plain"
	if p.Subtype == "digest" {
		childType, childSub = "message", "rfc822" // RFC 2046 5.1.5
	}

	raw := ps.raw
	bs, end := int(p.BodyStart), int(p.End)
	delim := []byte("--" + boundary)
	pos := bs
	partStart := -1
	closed := false
	full := false
	for pos < end {
		i := indexDelimiter(raw, pos, bs, end, delim)
		if i < 0 {
			break
		}
		after := i + len(delim)
		isClose := after+2 <= end && raw[after] == '-' && raw[after+1] == '-'
		contentEnd, next := lineAt(raw, after, end)
		if !isClose && !allWSP(raw[after:contentEnd]) {
			pos = after // a longer boundary that starts with ours
			continue
		}
		if partStart >= 0 {
			// The line break before the delimiter belongs to it.
			partEnd := i
			if partEnd > partStart && raw[partEnd-1] == '\n' {
				partEnd--
				if partEnd > partStart && raw[partEnd-1] == '\r' {
					partEnd--
				}
			}
			ps.child(p, partStart, partEnd, depth, childType, childSub)
		}
		// Text before the first delimiter is the preamble, ignored
		// (RFC 2046 5.1.1).
		if isClose {
			closed = true
			break
		}
		if ps.nparts >= MaxParts {
			full = true
			partStart = next
			break
		}
		partStart = next
		pos = next
	}
	if !closed && partStart >= 0 {
		if full {
			ps.problemf("more than %d parts: rest of multipart at offset %d kept as one part", MaxParts, p.HeaderStart)
		} else {
			ps.problemf("multipart at offset %d has no closing boundary", p.HeaderStart)
		}
		ps.child(p, partStart, end, depth, childType, childSub)
	}
	if len(p.Children) == 0 {
		ps.problemf("multipart/%s at offset %d has no boundary delimiter: read as text/plain", p.Subtype, p.HeaderStart)
		ps.degrade(p, "text", "plain")
	}
}

func (ps *parser) child(p *Part, start, end, depth int, t, sub string) {
	c, _ := ps.entity(start, end, depth+1, t, sub, false)
	p.Children = append(p.Children, c)
}

// indexDelimiter returns the offset of the next occurrence of delim at the
// start of a line in raw[pos:end], or -1. bs is the start of the body, which
// is the start of a line.
func indexDelimiter(raw []byte, pos, bs, end int, delim []byte) int {
	for pos < end {
		j := bytes.Index(raw[pos:end], delim)
		if j < 0 {
			return -1
		}
		k := pos + j
		if k == bs || raw[k-1] == '\n' {
			return k
		}
		pos = k + 1
	}
	return -1
}

func allWSP(b []byte) bool {
	for _, c := range b {
		if !isWSP(c) {
			return false
		}
	}
	return true
}

// countLines counts the lines of b: its line feeds, plus one for a last line
// without a line break.
// countLines counts line breaks, as Dovecot and go-imap do for body-fld-lines (RFC 9051
// 7.5.2): a multipart child's body ends before the CRLF that belongs to the next
// boundary, so its last line has no break of its own and is not counted.
func countLines(b []byte) int64 {
	return int64(bytes.Count(b, []byte{'\n'}))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
