package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBodyPartsAreParsedBodies: over the corpus, the parts BodyParts picks, decoded with
// Part.DecodedText and joined, are Parsed.Text and Parsed.HTML — the same parts and the
// same decoding, so a front end reading bodies from the stored structure shows what
// delivery indexed.
func TestBodyPartsAreParsedBodies(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := Parse(raw)
		text, html := BodyParts(p.Structure)
		join := func(parts []*Part) string {
			var out []string
			for _, x := range parts {
				if s := x.DecodedText(raw); s != "" {
					out = append(out, strings.TrimRight(s, "\r\n"))
				}
			}
			return strings.Join(out, "\n")
		}
		norm := func(s string) string { return strings.ReplaceAll(strings.TrimRight(s, "\r\n"), "\r\n", "\n") }
		if got, want := norm(join(text)), norm(p.Text); got != want {
			t.Errorf("%s: text parts give %q, Parsed.Text is %q", f, got, want)
		}
		if got, want := norm(join(html)), norm(p.HTML); got != want {
			t.Errorf("%s: HTML parts give %q, Parsed.HTML is %q", f, got, want)
		}
	}
}
