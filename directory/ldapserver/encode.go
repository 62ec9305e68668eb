package ldapserver

import "github.com/go-ldap/ldap/v3"

// SearchResultEntry is by far the most frequent message the server writes, so it is
// encoded by hand rather than as a go-asn1-ber packet tree (which allocated a dozen
// objects per attribute and, under an address-book load, spent more time in allocation
// and GC than in the search). Each entry of the tree keeps its attributes encoded
// (finish), so answering is copying the selected ones. BER as RFC 4511 5.1 requires:
// definite lengths, the short form below 128, else the shortest long form — the bytes
// go-asn1-ber produces for the same message.

// appendLength appends a BER definite length (X.690 8.1.3).
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// lengthSize is the number of bytes appendLength writes for n.
func lengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	default:
		return 5
	}
}

// appendInteger appends an INTEGER in the fewest two's-complement octets (X.690 8.3.2).
func appendInteger(b []byte, v int64) []byte {
	n := 1
	for n < 8 && (v>>(8*n-1) != 0 && v>>(8*n-1) != -1) {
		n++
	}
	b = append(b, 0x02, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

const (
	berOctetString = 0x04
	berSequence    = 0x30
	berSet         = 0x31
)

// appendOctetString appends an OCTET STRING (universal, primitive).
func appendOctetString(b []byte, s string) []byte {
	b = append(b, berOctetString)
	b = appendLength(b, len(s))
	return append(b, s...)
}

// appendPartialAttribute appends PartialAttribute ::= SEQUENCE { type, vals SET OF
// value } (RFC 4511 4.1.7); typesOnly leaves the set empty (4.5.1.8).
func appendPartialAttribute(b []byte, a attr, typesOnly bool) []byte {
	setLen := 0
	if !typesOnly {
		for _, v := range a.vals {
			setLen += 1 + lengthSize(len(v)) + len(v)
		}
	}
	typeLen := 1 + lengthSize(len(a.name)) + len(a.name)
	seqLen := typeLen + 1 + lengthSize(setLen) + setLen
	b = append(b, berSequence)
	b = appendLength(b, seqLen)
	b = appendOctetString(b, a.name)
	b = append(b, berSet)
	b = appendLength(b, setLen)
	if !typesOnly {
		for _, v := range a.vals {
			b = appendOctetString(b, v)
		}
	}
	return b
}

// encodeAttrs encodes each attribute with its values, for finish.
func encodeAttrs(as []attr) [][]byte {
	out := make([][]byte, len(as))
	for i, a := range as {
		out[i] = appendPartialAttribute(nil, a, false)
	}
	return out
}

// appendEntry appends the LDAPMessage carrying e as a SearchResultEntry (RFC 4511
// 4.5.2) with the attributes s selects (4.5.1.8: none listed or "*": all user
// attributes; "+": all operational ones, RFC 3673; "1.1": none).
func appendEntry(b []byte, id int64, e *entry, s *SearchRequest) []byte {
	sel := s.selection()
	groups := [2]struct {
		attrs []attr
		enc   [][]byte // the attrs encoded with their values, if finish ran
		all   bool
	}{{e.attrs, e.encAttrs, sel.allUser}, {e.oper, e.encOper, sel.allOper}}
	cached := func(g int, i int) []byte {
		if s.TypesOnly || len(groups[g].enc) != len(groups[g].attrs) {
			return nil
		}
		return groups[g].enc[i]
	}

	// First the size of the attribute list, then the bytes.
	listLen := 0
	for g := range groups {
		for i, a := range groups[g].attrs {
			if !groups[g].all && !sel.want[a.name] {
				continue
			}
			if enc := cached(g, i); enc != nil {
				listLen += len(enc)
			} else {
				listLen += len(appendPartialAttribute(nil, a, s.TypesOnly))
			}
		}
	}
	var idBuf [10]byte
	idLen := len(appendInteger(idBuf[:0], id))
	dnLen := 1 + lengthSize(len(e.dn)) + len(e.dn)
	opLen := dnLen + 1 + lengthSize(listLen) + listLen
	msgLen := idLen + 1 + lengthSize(opLen) + opLen

	b = append(b, berSequence)
	b = appendLength(b, msgLen)
	b = appendInteger(b, id)
	b = append(b, 0x60|ldap.ApplicationSearchResultEntry) // [APPLICATION 4], constructed
	b = appendLength(b, opLen)
	b = appendOctetString(b, e.dn)
	b = append(b, berSequence)
	b = appendLength(b, listLen)
	for g := range groups {
		for i, a := range groups[g].attrs {
			if !groups[g].all && !sel.want[a.name] {
				continue
			}
			if enc := cached(g, i); enc != nil {
				b = append(b, enc...)
			} else {
				b = appendPartialAttribute(b, a, s.TypesOnly)
			}
		}
	}
	return b
}
