package ldapserver

import (
	"testing"
)

// FuzzDecodeRequest: no input makes the request decoder (or the filter evaluation and
// paged control parsing after it) panic, accept nesting beyond maxDepth, or take
// unbounded memory. Seeds: testdata/fuzz/FuzzDecodeRequest.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(searchMessage(1, tlv(0x87, []byte("objectClass"))))
	f.Add(searchMessage(2, deepFilter(40)))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err != nil {
			return
		}
		for _, c := range req.Controls {
			pagedControl(c.Value)
			if keys, err := sortKeys(c.Value); err == nil {
				sortEntries([]*entry{{dn: "a"}, {dn: "b", attrs: []attr{{"cn", []string{"x", "y"}}}}}, keys)
			}
		}
		if req.Search != nil {
			if d := depth(req.Search.Filter); d > maxDepth {
				t.Fatalf("filter depth %d accepted", d)
			}
			e := &entry{dn: bobDN, ndn: normDN(bobDN), person: -1, attrs: []attr{
				{"objectClass", []string{"top", "person"}}, {"cn", []string{"Bob Marley"}},
				{"telephoneNumber", []string{"+1 555-0100"}}, {"jpegPhoto", []string{"\xff\xd8"}},
			}}
			eval(req.Search.Filter, e)
			normDN(req.Search.Base)
		}
		if req.Bind != nil {
			loginName(req.Bind.Name)
		}
	})
}

func depth(f *Filter) int {
	d := 0
	for _, c := range f.Children {
		d = max(d, depth(c))
	}
	return d + 1
}
