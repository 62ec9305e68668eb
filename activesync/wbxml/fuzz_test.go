package wbxml

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic, and whatever
// it decodes must re-encode, and decode again to the same tree. Seeds are in
// testdata/fuzz/FuzzDecode; the known documents of the tests are added too.
func FuzzDecode(f *testing.F) {
	for _, tc := range knownDocs {
		b, err := Encode(tc.tree)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeLimits(data, Limits{MaxSize: 1 << 20})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of unexpected type %T: %v", err, err)
			}
			return
		}
		b, err := Encode(n)
		if err != nil {
			t.Fatalf("Encode of a decoded tree: %v\n%s", err, n.XML())
		}
		n2, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(tree)): %v", err)
		}
		if !Equal(n, n2) {
			t.Fatalf("round trip changed the tree:\n%s\n%s", n.XML(), n2.XML())
		}
		b2, err := Encode(n2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable")
		}
		_ = n.String() // rendering must not panic either
	})
}
