package message

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Find returns the part that IMAP section numbers name (RFC 9051 6.4.5),
// with p the top-level entity of a message (Parsed.Structure), or nil when
// there is no such part. An empty section is p itself. In a message whose
// body is not multipart, part 1 is that body; the parts of an encapsulated
// message/rfc822 are numbered inside it, so "2.1" is the first part of the
// message attached as part 2.
func (p *Part) Find(section []int) *Part {
	if p == nil {
		return nil
	}
	if len(section) == 0 {
		return p
	}
	cur := messageStep(p, section[0])
	for _, n := range section[1:] {
		switch {
		case cur == nil:
			return nil
		case cur.Type == "multipart":
			cur = child(cur, n)
		case cur.Message != nil:
			cur = messageStep(cur.Message.Structure, n)
		default:
			return nil
		}
	}
	return cur
}

// messageStep selects part n of a message whose top-level entity is e.
func messageStep(e *Part, n int) *Part {
	if e == nil {
		return nil
	}
	if e.Type == "multipart" {
		return child(e, n)
	}
	if n == 1 {
		return e
	}
	return nil
}

func child(p *Part, n int) *Part {
	if n < 1 || n > len(p.Children) {
		return nil
	}
	return p.Children[n-1]
}

// Section specifiers of a BODY[section] fetch (RFC 9051 6.4.5).
const (
	SpecNone   = ""
	SpecHeader = "HEADER" // also for HEADER.FIELDS and HEADER.FIELDS.NOT
	SpecText   = "TEXT"
	SpecMIME   = "MIME"
)

// SectionRange returns the byte range [start, end) of raw that IMAP
// BODY[section.spec] returns (RFC 9051 6.4.5), with p the top-level entity of
// the message (Parsed.Structure). spec is "", "HEADER", "HEADER.FIELDS",
// "HEADER.FIELDS.NOT", "TEXT" or "MIME", in any case; for HEADER.FIELDS the
// range is the whole header, to be filtered with FilterHeader.
//
//	BODY[]          the whole message
//	BODY[HEADER]    the message header, with the empty line after it
//	BODY[TEXT]      the message body
//	BODY[1.2]       the body of part 1.2 (for a message/rfc822 part: the
//	                whole encapsulated message)
//	BODY[1.2.MIME]  the MIME header of part 1.2, with the empty line
//	BODY[2.HEADER]  BODY[2.TEXT]: header and body of the message
//	                encapsulated in message/rfc822 part 2
//
// ok is false for a part that does not exist, MIME without a part number,
// and HEADER or TEXT of a part that is not message/rfc822.
func (p *Part) SectionRange(section []int, spec string) (start, end int64, ok bool) {
	target := p.Find(section)
	if target == nil {
		return 0, 0, false
	}
	spec = strings.ToUpper(spec)
	if strings.HasPrefix(spec, "HEADER.FIELDS") {
		spec = SpecHeader
	}
	switch spec {
	case SpecNone:
		if len(section) == 0 {
			return target.HeaderStart, target.End, true
		}
		return target.BodyStart, target.End, true
	case SpecMIME:
		if len(section) == 0 {
			return 0, 0, false
		}
		return target.HeaderStart, target.BodyStart, true
	case SpecHeader, SpecText:
		m := target
		if len(section) > 0 {
			if target.Message == nil {
				return 0, 0, false
			}
			m = target.Message.Structure
		}
		if spec == SpecHeader {
			return m.HeaderStart, m.BodyStart, true
		}
		return m.BodyStart, m.End, true
	}
	return 0, 0, false
}

// ParseSection parses a dotted IMAP part number such as "1.2.3" into
// numbers. The empty string is the empty section.
func ParseSection(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, f := range parts {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || f[0] == '+' {
			return nil, errors.New("message: invalid part number " + strconv.Quote(s))
		}
		out[i] = n
	}
	return out, nil
}

// FilterHeader returns the fields of header (a HEADER or MIME range, with or
// without its empty line) whose names are in fields, or with not set those
// whose names are not, followed by an empty line: the result of
// HEADER.FIELDS and HEADER.FIELDS.NOT (RFC 9051 6.4.5). Names compare
// ASCII case-insensitively; fields keep their original bytes and folding.
func FilterHeader(header []byte, fields []string, not bool) []byte {
	out := make([]byte, 0, 256)
	keep := false
	blank := []byte("\r\n")
	for pos := 0; pos < len(header); {
		contentEnd, next := lineAt(header, pos, len(header))
		line := header[pos:next]
		if contentEnd == pos {
			blank = line
			break
		}
		if !isWSP(header[pos]) {
			keep = false
			if colon := bytes.IndexByte(header[pos:contentEnd], ':'); colon > 0 {
				name := bytes.TrimRight(header[pos:pos+colon], " \t")
				match := false
				for _, f := range fields {
					if len(f) == len(name) && eqFoldBoth(name, f) {
						match = true
						break
					}
				}
				keep = match != not
			}
		}
		if keep {
			out = append(out, line...)
			if next == len(header) && contentEnd == next {
				out = append(out, blank...) // last field without line break
			}
		}
		pos = next
	}
	return append(out, blank...)
}

// eqFoldBoth reports whether b and s are equal ignoring ASCII case.
func eqFoldBoth(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
