package wbxml

import (
	"bytes"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
)

// genTree is a random tree of EAS tags, for the round-trip properties.
type genTree struct{ *Node }

// textRunes are the characters generated texts are made of: ASCII, the XML
// specials, whitespace including CR, and multi-byte UTF-8.
var textRunes = []rune("abcXYZ019 :-_./@<>&\"'\t\n\r\u00e9\u00df\u20ac\u2713\U0001F600\u4e2d")

func randText(r *rand.Rand) string {
	var b strings.Builder
	for i, n := 0, 1+r.Intn(24); i < n; i++ {
		b.WriteRune(textRunes[r.Intn(len(textRunes))])
	}
	return b.String()
}

func randNode(r *rand.Rand, depth int) *Node {
	page := byte(r.Intn(NumPages))
	tags := Tags(page)
	n := &Node{Space: PageName(page), Tag: tags[r.Intn(len(tags))]}
	switch k := r.Intn(10); {
	case k < 4 && depth < 8:
		for i, c := 0, 1+r.Intn(4); i < c; i++ {
			n.Children = append(n.Children, randNode(r, depth+1))
		}
	case k < 7:
		n.Text = randText(r)
	case k < 9:
		n.Opaque = make([]byte, r.Intn(300))
		r.Read(n.Opaque)
	}
	return n
}

// Generate implements quick.Generator.
func (genTree) Generate(r *rand.Rand, size int) reflect.Value {
	return reflect.ValueOf(genTree{randNode(r, 0)})
}

// TestRoundTrip checks decode(encode(x)) == x, that encoding is canonical, and
// that the XML rendering reads back to the same tree, over generated trees.
func TestRoundTrip(t *testing.T) {
	prop := func(g genTree) bool {
		b, err := Encode(g.Node)
		if err != nil {
			t.Logf("Encode: %v", err)
			return false
		}
		got, err := Decode(b)
		if err != nil {
			t.Logf("Decode: %v\n% x", err, b)
			return false
		}
		if !Equal(got, g.Node) {
			t.Logf("decoded\n%s\nwant\n%s", got.XML(), g.XML())
			return false
		}
		again, err := Encode(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Logf("re-encoding differs")
			return false
		}
		back, err := ParseXML([]byte(g.XML()))
		if err != nil || !Equal(back, g.Node) {
			t.Logf("ParseXML(XML()): %v\n%s", err, g.XML())
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 3000}); err != nil {
		t.Fatal(err)
	}
}
