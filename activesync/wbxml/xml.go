package wbxml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML renders the tree as indented XML with its namespaces declared on the root
// (the root's namespace as the default, the others with lower-case prefixes, as
// the examples of [MS-ASCMD] do). Opaque data is written in base64 and marked
// with the attribute opaque="base64". ParseXML reads this rendering back into the
// same tree, provided every text is valid UTF-8 made of XML characters.
func (n *Node) XML() string { return n.render(false) }

// String renders the tree like XML for debug logs and protocol transcripts: the
// content of every Password element is replaced by "***", opaque data longer
// than 48 bytes is shown only by its length and text longer than 1,024 bytes is
// cut.
func (n *Node) String() string { return n.render(true) }

const (
	logOpaqueMax = 48
	logTextMax   = 1024
)

func (n *Node) render(forLog bool) string {
	if n == nil {
		return "<nil>"
	}
	spaces := map[string]bool{}
	var collect func(*Node)
	collect = func(m *Node) {
		if m == nil {
			return
		}
		spaces[m.Space] = true
		for _, c := range m.Children {
			collect(c)
		}
	}
	collect(n)
	delete(spaces, n.Space)
	others := make([]string, 0, len(spaces))
	for s := range spaces {
		others = append(others, s)
	}
	sort.Strings(others)

	var b strings.Builder
	b.WriteString("<")
	b.WriteString(n.Tag)
	b.WriteString(` xmlns="`)
	escape(&b, n.Space, true)
	b.WriteString(`"`)
	for _, s := range others {
		b.WriteString(" xmlns:")
		b.WriteString(prefix(s))
		b.WriteString(`="`)
		escape(&b, s, true)
		b.WriteString(`"`)
	}
	r := renderer{b: &b, root: n.Space, forLog: forLog}
	r.content(n, 0)
	b.WriteString("\n")
	return b.String()
}

// prefix is the XML prefix of namespace space in our renderings.
func prefix(space string) string { return strings.ToLower(space) }

type renderer struct {
	b      *strings.Builder
	root   string
	forLog bool
}

func (r *renderer) name(n *Node) {
	if n.Space != r.root {
		r.b.WriteString(prefix(n.Space))
		r.b.WriteString(":")
	}
	r.b.WriteString(n.Tag)
}

func (r *renderer) elem(n *Node, depth int) {
	if n == nil {
		r.b.WriteString("<!-- nil -->")
		return
	}
	r.b.WriteString("<")
	r.name(n)
	r.content(n, depth)
}

// content writes the rest of n's start tag, its content and its end tag.
func (r *renderer) content(n *Node, depth int) {
	b := r.b
	switch {
	case len(n.Children) > 0:
		b.WriteString(">")
		for _, c := range n.Children {
			b.WriteString("\n")
			b.WriteString(strings.Repeat("  ", depth+1))
			r.elem(c, depth+1)
		}
		b.WriteString("\n")
		b.WriteString(strings.Repeat("  ", depth))
	case n.Opaque != nil:
		if r.forLog && n.Tag == "Password" {
			b.WriteString(">***")
		} else if r.forLog && len(n.Opaque) > logOpaqueMax {
			fmt.Fprintf(b, ` opaque="%d bytes"/>`, len(n.Opaque))
			return
		} else {
			b.WriteString(` opaque="base64">`)
			b.WriteString(base64.StdEncoding.EncodeToString(n.Opaque))
		}
	case n.Text != "":
		b.WriteString(">")
		t := n.Text
		switch {
		case r.forLog && n.Tag == "Password":
			t = "***"
		case r.forLog && len(t) > logTextMax:
			cut := logTextMax
			for cut > 0 && !utf8.RuneStart(t[cut]) {
				cut--
			}
			t = t[:cut] + "…[" + strconv.Itoa(len(n.Text)) + " bytes]"
		}
		escape(b, t, false)
	default:
		b.WriteString("/>")
		return
	}
	b.WriteString("</")
	r.name(n)
	b.WriteString(">")
}

// escape writes s as XML character data (or an attribute value). Characters XML
// cannot carry (invalid UTF-8, most control characters) become U+FFFD.
func escape(b *strings.Builder, s string, attr bool) {
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;") // an XML parser turns a raw CR into LF
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && (r == '\n' || r == '\t'):
			fmt.Fprintf(b, "&#x%X;", r)
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\t' && r != '\n',
			r == 0xFFFE || r == 0xFFFF:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
	}
}

// ParseXML reads an XML document into a tree: the rendering of (*Node).XML, or
// the output of libwbxml's wbxml2xml, whose namespace names end in a colon
// ("AirSync:"). Every element must be a tag of an EAS code page in its
// namespace. The only attribute allowed (besides namespace declarations) is
// opaque="base64", which marks base64 content to decode as opaque data.
// Whitespace between child elements is ignored; an element without children
// keeps its text exactly. It is meant for tests and tools, not for input from
// the network.
func ParseXML(data []byte) (*Node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*Node
	var texts []*strings.Builder
	var opaque []bool
	var root *Node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("wbxml: parse xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("wbxml: parse xml: more than one root element")
			}
			space := strings.TrimSuffix(t.Name.Space, ":")
			if _, _, ok := Token(space, t.Name.Local); !ok {
				return nil, fmt.Errorf("wbxml: parse xml: unknown element %s:%s", space, t.Name.Local)
			}
			isOpaque := false
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns":
				case a.Name.Space == "" && a.Name.Local == "opaque" && a.Value == "base64":
					isOpaque = true
				default:
					return nil, fmt.Errorf("wbxml: parse xml: unsupported attribute %s on %s", a.Name.Local, t.Name.Local)
				}
			}
			n := &Node{Space: space, Tag: t.Name.Local}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				if opaque[len(opaque)-1] {
					return nil, fmt.Errorf("wbxml: parse xml: element inside opaque %s", parent.Tag)
				}
				parent.Children = append(parent.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			texts = append(texts, &strings.Builder{})
			opaque = append(opaque, isOpaque)
		case xml.CharData:
			if len(stack) > 0 {
				texts[len(texts)-1].Write(t)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			text := texts[len(texts)-1].String()
			isOpaque := opaque[len(opaque)-1]
			stack, texts, opaque = stack[:len(stack)-1], texts[:len(texts)-1], opaque[:len(opaque)-1]
			switch {
			case len(n.Children) > 0:
				if strings.TrimSpace(text) != "" {
					return nil, fmt.Errorf("wbxml: parse xml: %s mixes text and elements", n.Tag)
				}
			case isOpaque:
				b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
				if err != nil {
					return nil, fmt.Errorf("wbxml: parse xml: %s: %w", n.Tag, err)
				}
				n.Opaque = b
			default:
				n.Text = text
			}
		}
	}
	if root == nil {
		return nil, errors.New("wbxml: parse xml: no root element")
	}
	return root, nil
}
