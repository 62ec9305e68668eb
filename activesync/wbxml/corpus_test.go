package wbxml

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpus reads testdata/corpus: requests and responses covering every code page,
// in the XML rendering of (*Node).XML.
func corpus(t *testing.T) map[string]*Node {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	docs := map[string]*Node{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ParseXML(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		docs[filepath.Base(f)] = n
	}
	return docs
}

func TestCorpusRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for name, doc := range corpus(t) {
		b, err := Encode(doc)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := Decode(b)
		if err != nil || !Equal(got, doc) {
			t.Errorf("%s: round trip: %v", name, err)
		}
		if back, err := ParseXML([]byte(doc.XML())); err != nil || !Equal(back, doc) {
			t.Errorf("%s: XML round trip: %v", name, err)
		}
		var walk func(*Node)
		walk = func(n *Node) {
			seen[n.Space] = true
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(doc)
	}
	for p := byte(0); p < NumPages; p++ {
		if !seen[PageName(p)] {
			t.Errorf("no corpus document uses code page %d (%s)", p, PageName(p))
		}
	}
}

// prune drops the elements libwbxml lacks, naming them in skipped.
func prune(n *Node, skipped map[string]bool) *Node {
	if _, lacks := libwbxmlLacks[n.Name()]; lacks {
		skipped[n.Name()] = true
		return nil
	}
	c := *n
	c.Children = nil
	for _, ch := range n.Children {
		if p := prune(ch, skipped); p != nil {
			c.Children = append(c.Children, p)
		}
	}
	return &c
}

// rawOpaque reports the opaque elements of n that libwbxml cannot encode.
func rawOpaque(n *Node, found map[string]bool) {
	if n.Opaque != nil && !libwbxmlOpaque[n.Name()] {
		found[n.Name()] = true
	}
	for _, c := range n.Children {
		rawOpaque(c, found)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOracleCorpus checks every corpus document both ways against libwbxml,
// without the elements libwbxml lacks (skipped by name, and logged).
func TestOracleCorpus(t *testing.T) {
	needLibwbxml(t)
	for name, doc := range corpus(t) {
		t.Run(strings.TrimSuffix(name, ".xml"), func(t *testing.T) {
			skipped := map[string]bool{}
			doc := prune(doc, skipped)
			if len(skipped) > 0 {
				t.Logf("skipped, not in libwbxml: %v", keys(skipped))
			}
			if doc == nil {
				t.Skipf("libwbxml lacks the root element")
			}
			raw := map[string]bool{}
			rawOpaque(doc, raw)
			if len(raw) > 0 {
				// libwbxml cannot encode these as OPAQUE: check its decoding only.
				t.Logf("opaque data libwbxml can only decode: %v", keys(raw))
				checkLibDecodes(t, name, doc)
				return
			}
			checkBothWays(t, name, doc)
		})
	}
}

// checkLibDecodes checks that wbxml2xml decodes Encode's bytes to doc.
func checkLibDecodes(t *testing.T, what string, doc *Node) {
	t.Helper()
	ours, err := Encode(doc)
	if err != nil {
		t.Fatalf("%s: Encode: %v", what, err)
	}
	out, err := libDecode(t, ours)
	if err != nil {
		t.Fatalf("%s: wbxml2xml: %v", what, err)
	}
	lib, err := looseParse(out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	if want := libView(doc); !Equal(lib, want) {
		t.Errorf("%s: wbxml2xml decoded our bytes as\n%s\nwant\n%s", what, lib.XML(), want.XML())
	}
}
