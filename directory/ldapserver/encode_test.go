package ldapserver

import (
	"bytes"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// berEntry is the SearchResultEntry built as a go-asn1-ber packet tree: the reference
// appendEntry must match byte for byte.
func berEntry(id int64, e *entry, s *SearchRequest) []byte {
	sel := s.selection()
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.dn, ""))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	add := func(as []attr, all bool) {
		for _, a := range as {
			if !all && !sel.want[a.name] {
				continue
			}
			pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
			pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, ""))
			set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
			if !s.TypesOnly {
				for _, v := range a.vals {
					set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
				}
			}
			pa.AppendChild(set)
			list.AppendChild(pa)
		}
	}
	add(e.attrs, sel.allUser)
	add(e.oper, sel.allOper)
	op.AppendChild(list)
	return envelope(id, op).Bytes()
}

func TestAppendEntryMatchesBER(t *testing.T) {
	long := strings.Repeat("x", 300)
	huge := strings.Repeat("y", 70000) // a photo: three-byte lengths
	mk := func(finish bool) *entry {
		e := &entry{dn: "uid=bob,ou=people,dc=example,dc=org", attrs: []attr{
			{"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
			{"uid", []string{"bob"}},
			{"cn", []string{"Bob " + long}},
			{"mail", []string{"bob@example.org", "robert@example.org"}},
			{"jpegPhoto", []string{huge}},
			{"description", []string{""}},
		}, oper: []attr{{"entryDN", []string{"uid=bob,ou=people,dc=example,dc=org"}}, {"hasSubordinates", []string{"FALSE"}}}}
		if finish {
			e.finish()
		}
		return e
	}
	selections := [][]string{nil, {"*"}, {"+"}, {"1.1"}, {"cn", "MAIL", "entryDN"}, {"*", "+"}, {"nosuch"}}
	for _, finish := range []bool{true, false} {
		e := mk(finish)
		for _, attrs := range selections {
			for _, typesOnly := range []bool{false, true} {
				for _, id := range []int64{0, 1, 127, 128, 255, 256, 32767, 32768, 1<<23 + 5, 1<<31 - 1} {
					s := &SearchRequest{Attributes: attrs, TypesOnly: typesOnly}
					got := appendEntry([]byte("prefix"), id, e, s)
					if !bytes.HasPrefix(got, []byte("prefix")) {
						t.Fatal("appendEntry dropped what was in the buffer")
					}
					want := berEntry(id, e, s)
					if !bytes.Equal(got[len("prefix"):], want) {
						t.Fatalf("finish=%v attrs=%q typesOnly=%v id=%d: encoding differs from go-asn1-ber's\n got %x\nwant %x",
							finish, attrs, typesOnly, id, head(got[len("prefix"):]), head(want))
					}
				}
			}
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 80)] }

func TestAppendInteger(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 1<<31 - 1, -1 << 31, 1<<63 - 1, -1 << 63} {
		want := ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, v, "").Bytes()
		if got := appendInteger(nil, v); !bytes.Equal(got, want) {
			t.Errorf("%d: got %x, want %x", v, got, want)
		}
	}
}
