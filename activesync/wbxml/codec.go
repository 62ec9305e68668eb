package wbxml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Global tokens, WBXML 1.3 §7.1.
const (
	tokSwitchPage = 0x00
	tokEnd        = 0x01
	tokEntity     = 0x02
	tokStrI       = 0x03
	tokLiteral    = 0x04
	tokPI         = 0x43
	tokStrT       = 0x83
	tokOpaque     = 0xC3

	bitAttrs   = 0x80 // WBXML 1.3 §5.8.2: the tag has attributes
	bitContent = 0x40 // WBXML 1.3 §5.8.2: the tag has content
)

// The header Encode writes ([MS-ASWBXML] 2.1.2; WBXML 1.3 §5.4–5.7), followed by
// an empty string table.
const (
	Version     = 0x03 // WBXML 1.3
	PublicID    = 0x01 // unknown public identifier
	CharsetUTF8 = 0x6A // IANA MIBenum of UTF-8
)

// ContentType is the media type of an EAS WBXML body ([MS-ASHTTP]).
const ContentType = "application/vnd.ms-sync.wbxml"

const (
	maxMBUint32   = 5 // bytes of a WBXML 1.3 §5.1 mb_u_int32
	defaultDepth  = 48
	defaultNodes  = 1 << 17
	defaultLength = 64 << 20
)

// Limits bound what DecodeLimits accepts, so that hostile input cannot make it
// recurse or allocate without limit: memory use is at most about 150 bytes per
// element plus the document's own size. A zero field takes its default.
type Limits struct {
	MaxDepth int // element nesting (default 48; EAS documents stay under 15)
	MaxNodes int // elements in one document (default 131072)
	MaxSize  int // length of the encoded document in bytes (default 64 MiB)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = defaultNodes
	}
	if l.MaxSize <= 0 {
		l.MaxSize = defaultLength
	}
	return l
}

// ErrLimit is wrapped by errors from Decode when a document exceeds its Limits.
var ErrLimit = errors.New("wbxml: limit exceeded")

// SyntaxError is a malformed or unsupported WBXML document.
type SyntaxError struct {
	Offset int // byte offset in the document
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("wbxml: at byte %d: %s", e.Offset, e.Msg) }

// Encode returns the WBXML 1.3 encoding of the tree rooted at n, with the EAS
// header 03 01 6A 00 ([MS-ASWBXML] 2.1.2). Every element must name a tag of an
// EAS code page and hold at most one kind of content (see Node); text must not
// contain NUL, which terminates an inline string (WBXML 1.3 §5.8.4.1).
func Encode(n *Node) ([]byte, error) {
	if n == nil {
		return nil, errors.New("wbxml: encode: nil root")
	}
	e := encoder{buf: make([]byte, 0, 256), page: 0}
	e.buf = append(e.buf, Version, PublicID, CharsetUTF8, 0x00)
	if err := e.node(n, 1); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf  []byte
	page byte
}

func (e *encoder) node(n *Node, depth int) error {
	if n == nil {
		return errors.New("wbxml: encode: nil child")
	}
	if depth > defaultDepth {
		return fmt.Errorf("wbxml: encode: nesting deeper than %d at %s", defaultDepth, n.Name())
	}
	page, tok, ok := Token(n.Space, n.Tag)
	if !ok {
		if _, known := PageOf(n.Space); !known {
			return fmt.Errorf("wbxml: encode: unknown namespace %q (tag %q)", n.Space, n.Tag)
		}
		return fmt.Errorf("wbxml: encode: no tag %q in code page %s", n.Tag, n.Space)
	}
	kinds := 0
	if len(n.Children) > 0 {
		kinds++
	}
	if n.Text != "" {
		kinds++
	}
	if n.Opaque != nil {
		kinds++
	}
	if kinds > 1 {
		return fmt.Errorf("wbxml: encode: %s mixes children, text and opaque data", n.Name())
	}
	if strings.IndexByte(n.Text, 0) >= 0 {
		return fmt.Errorf("wbxml: encode: %s: text contains NUL", n.Name())
	}
	if page != e.page {
		e.buf = append(e.buf, tokSwitchPage, page) // WBXML 1.3 §5.8.4.7.2
		e.page = page
	}
	if kinds == 0 {
		e.buf = append(e.buf, tok)
		return nil
	}
	e.buf = append(e.buf, tok|bitContent)
	switch {
	case n.Text != "":
		e.buf = append(e.buf, tokStrI)
		e.buf = append(e.buf, n.Text...)
		e.buf = append(e.buf, 0)
	case n.Opaque != nil:
		if uint64(len(n.Opaque)) > 0xFFFFFFFF {
			return fmt.Errorf("wbxml: encode: %s: opaque data too long", n.Name())
		}
		e.buf = append(e.buf, tokOpaque)
		e.buf = appendMBUint32(e.buf, uint32(len(n.Opaque)))
		e.buf = append(e.buf, n.Opaque...)
	default:
		for _, c := range n.Children {
			if err := e.node(c, depth+1); err != nil {
				return err
			}
		}
	}
	e.buf = append(e.buf, tokEnd)
	return nil
}

// appendMBUint32 appends v as a WBXML 1.3 §5.1 multi-byte integer: 7 bits per
// byte, most significant first, the high bit set on all but the last byte.
func appendMBUint32(b []byte, v uint32) []byte {
	var tmp [maxMBUint32]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7F)
	for v >>= 7; v != 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7F) | 0x80
	}
	return append(b, tmp[i:]...)
}

// Decode parses an EAS WBXML document within the default Limits.
func Decode(b []byte) (*Node, error) { return DecodeLimits(b, Limits{}) }

// DecodeLimits parses an EAS WBXML document: a WBXML 1.3 header (versions 1.1 to
// 1.3 accepted; charset UTF-8 or unspecified), then one root element. Tags use the
// EAS code pages; content is child elements, inline strings (several are joined)
// or opaque data. A string table in the header is skipped, but a string-table
// reference (STR_T), entities, literal tags, processing instructions, extensions
// and attributes are refused: [MS-ASWBXML] 2.1.2 uses none of them. Text is not
// checked to be UTF-8. The opaque bytes are copied; the tree does not alias b.
func DecodeLimits(b []byte, lim Limits) (*Node, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxSize {
		return nil, fmt.Errorf("%w: document of %d bytes exceeds %d", ErrLimit, len(b), lim.MaxSize)
	}
	d := decoder{b: b, lim: lim}
	if err := d.header(); err != nil {
		return nil, err
	}
	if err := d.switches(); err != nil {
		return nil, err
	}
	if d.off >= len(b) {
		return nil, d.errf("no root element")
	}
	root, err := d.element(1)
	if err != nil {
		return nil, err
	}
	if err := d.switches(); err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, d.errf("trailing bytes after the root element")
	}
	return root, nil
}

type decoder struct {
	b     []byte
	off   int
	page  byte
	nodes int
	lim   Limits
}

func (d *decoder) errf(format string, args ...any) error {
	return &SyntaxError{Offset: d.off, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.b) {
		return 0, d.errf("unexpected end of document")
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) mbUint32() (uint32, error) {
	var v uint32
	for i := 0; i < maxMBUint32; i++ {
		c, err := d.byte()
		if err != nil {
			return 0, err
		}
		if i == maxMBUint32-1 && v > 0x1FFFFFF {
			return 0, d.errf("multi-byte integer overflows 32 bits")
		}
		v = v<<7 | uint32(c&0x7F)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, d.errf("multi-byte integer longer than %d bytes", maxMBUint32)
}

// header reads WBXML 1.3 §5.3: version, publicid, charset, strtbl.
func (d *decoder) header() error {
	v, err := d.byte()
	if err != nil {
		return err
	}
	if v < 0x01 || v > Version {
		return d.errf("unsupported WBXML version 0x%02x", v)
	}
	pid, err := d.mbUint32()
	if err != nil {
		return err
	}
	if pid == 0 {
		// §5.5: the public identifier is a string-table reference.
		return d.errf("public identifier in a string table is not supported")
	}
	cs, err := d.mbUint32()
	if err != nil {
		return err
	}
	if cs != CharsetUTF8 && cs != 0 {
		return d.errf("unsupported charset MIBenum %d (EAS uses UTF-8)", cs)
	}
	n, err := d.mbUint32()
	if err != nil {
		return err
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		return d.errf("string table of %d bytes runs past the end", n)
	}
	d.off += int(n) // skipped: nothing may refer to it (STR_T is refused)
	return nil
}

// switches consumes any SWITCH_PAGE tokens.
func (d *decoder) switches() error {
	for d.off < len(d.b) && d.b[d.off] == tokSwitchPage {
		d.off++
		p, err := d.byte()
		if err != nil {
			return err
		}
		if int(p) >= NumPages {
			return d.errf("unknown code page %d", p)
		}
		d.page = p
	}
	return nil
}

func (d *decoder) element(depth int) (*Node, error) {
	start := d.off
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	tok := c & 0x3F
	if tok < 0x05 { // a global token (WBXML 1.3 §7.1) where a tag must be
		d.off = start
		return nil, d.errf("expected a tag, found global token 0x%02x", c)
	}
	if c&bitAttrs != 0 {
		d.off = start
		return nil, d.errf("attributes are not supported (tag byte 0x%02x)", c)
	}
	name := TagName(d.page, tok)
	if name == "" {
		d.off = start
		return nil, d.errf("unknown token 0x%02x in code page %d (%s)", tok, d.page, PageName(d.page))
	}
	if depth > d.lim.MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, d.lim.MaxDepth)
	}
	d.nodes++
	if d.nodes > d.lim.MaxNodes {
		return nil, fmt.Errorf("%w: more than %d elements", ErrLimit, d.lim.MaxNodes)
	}
	n := &Node{Space: PageName(d.page), Tag: name}
	if c&bitContent == 0 {
		return n, nil
	}
	var text []byte
	hasText := false
	for {
		if err := d.switches(); err != nil {
			return nil, err
		}
		at := d.off
		c, err := d.byte()
		if err != nil {
			return nil, err
		}
		switch c {
		case tokEnd:
			if hasText {
				n.Text = string(text)
			}
			return n, nil
		case tokStrI:
			if n.Children != nil || n.Opaque != nil {
				return nil, d.errf("%s mixes text with other content", n.Name())
			}
			i := bytes.IndexByte(d.b[d.off:], 0)
			if i < 0 {
				return nil, d.errf("unterminated inline string")
			}
			text = append(text, d.b[d.off:d.off+i]...)
			hasText = true
			d.off += i + 1
		case tokOpaque:
			if n.Children != nil || hasText {
				return nil, d.errf("%s mixes opaque data with other content", n.Name())
			}
			l, err := d.mbUint32()
			if err != nil {
				return nil, err
			}
			if uint64(l) > uint64(len(d.b)-d.off) {
				return nil, d.errf("opaque data of %d bytes runs past the end", l)
			}
			if n.Opaque == nil {
				n.Opaque = make([]byte, 0, l)
			}
			n.Opaque = append(n.Opaque, d.b[d.off:d.off+int(l)]...)
			d.off += int(l)
		case tokEntity, tokLiteral, tokPI, tokStrT, 0x40, 0x41, 0x42, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2, 0xC4, 0x44, 0x84:
			d.off = at
			return nil, d.errf("global token 0x%02x is not used by EAS", c)
		default:
			if hasText || n.Opaque != nil {
				d.off = at
				return nil, d.errf("%s mixes child elements with text or opaque data", n.Name())
			}
			d.off = at
			child, err := d.element(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, child)
		}
	}
}
