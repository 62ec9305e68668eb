package wbxml

import (
	"bytes"
	"strings"
)

// Node is one element of an EAS WBXML document.
//
// An element holds at most one kind of content: child elements, a text string
// (STR_I) or opaque bytes (OPAQUE); EAS never mixes them. An element with none of
// them is empty and is encoded without the content bit. Opaque == nil means "no
// opaque data"; a non-nil empty slice is an OPAQUE of length 0.
type Node struct {
	Space    string // namespace (code page) name as [MS-ASWBXML] gives it, e.g. "AirSync"
	Tag      string // tag name, e.g. "SyncKey"
	Children []*Node
	Text     string
	Opaque   []byte
}

// NewElem returns an element of namespace space with the given children.
func NewElem(space, tag string, children ...*Node) *Node {
	return &Node{Space: space, Tag: tag, Children: children}
}

// NewText returns an element of namespace space holding the string text.
func NewText(space, tag, text string) *Node {
	return &Node{Space: space, Tag: tag, Text: text}
}

// NewOpaque returns an element of namespace space holding opaque data (for
// example AirSyncBase:Data of a MIME body, or ComposeMail:Mime).
func NewOpaque(space, tag string, data []byte) *Node {
	if data == nil {
		data = []byte{}
	}
	return &Node{Space: space, Tag: tag, Opaque: data}
}

// Add appends children to n and returns n, so that trees can be built inline.
func (n *Node) Add(children ...*Node) *Node {
	n.Children = append(n.Children, children...)
	return n
}

// Name returns "Space:Tag".
func (n *Node) Name() string {
	if n == nil {
		return ""
	}
	return n.Space + ":" + n.Tag
}

// Is reports whether n is the element name, given as "Tag" (any namespace) or
// "Space:Tag".
func (n *Node) Is(name string) bool {
	if n == nil {
		return false
	}
	if space, tag, ok := strings.Cut(name, ":"); ok {
		return n.Space == space && n.Tag == tag
	}
	return n.Tag == name
}

// Child returns the first child element called name ("Tag" or "Space:Tag"), or
// nil. It is safe on a nil Node, so lookups chain: n.Child("Collections").Child("Collection").
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Is(name) {
			return c
		}
	}
	return nil
}

// All returns every child element called name ("Tag" or "Space:Tag").
func (n *Node) All(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Is(name) {
			out = append(out, c)
		}
	}
	return out
}

// Path follows names from n down the tree, taking the first match at each step;
// nil if any step is missing.
func (n *Node) Path(names ...string) *Node {
	for _, name := range names {
		n = n.Child(name)
	}
	return n
}

// ChildText returns the text of the first child called name, or "" when there is
// no such child.
func (n *Node) ChildText(name string) string {
	if c := n.Child(name); c != nil {
		return c.Text
	}
	return ""
}

// Has reports whether n has a child called name.
func (n *Node) Has(name string) bool { return n.Child(name) != nil }

// Equal reports whether a and b are the same tree. A nil and an empty Children
// slice are the same; a nil and an empty Opaque are not (see Node).
func Equal(a, b *Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Space != b.Space || a.Tag != b.Tag || a.Text != b.Text ||
		(a.Opaque == nil) != (b.Opaque == nil) || !bytes.Equal(a.Opaque, b.Opaque) ||
		len(a.Children) != len(b.Children) {
		return false
	}
	for i := range a.Children {
		if !Equal(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}
