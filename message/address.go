package message

import (
	"strings"
)

// Addr returns "mailbox@host", or just the mailbox when there is no host,
// or "" for a group marker. A local part that is not a dot-atom is quoted
// (RFC 5322 3.4.1).
func (a Address) Addr() string {
	if a.Group {
		return ""
	}
	local := a.Mailbox
	if !isDotAtom(local) && local != "" {
		local = quoteString(local)
	}
	if a.Host == "" {
		return local
	}
	return local + "@" + a.Host
}

// String formats the address for a header or for display: `"Name"
// <mailbox@host>`, or just the address without a name, in UTF-8 (RFC 6532).
// A group start marker is "Name:", a group end marker ";".
func (a Address) String() string {
	if a.Group {
		if a.Mailbox == "" {
			return ";"
		}
		return phrase(a.Mailbox) + ":"
	}
	addr := a.Addr()
	if a.Name == "" {
		return addr
	}
	return phrase(a.Name) + " <" + addr + ">"
}

// Mailboxes returns list without group markers.
func Mailboxes(list []Address) []Address {
	out := list[:0:0]
	for _, a := range list {
		if !a.Group {
			out = append(out, a)
		}
	}
	return out
}

func phrase(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && !isAtext(c) && c != ' ' {
			return quoteString(s)
		}
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		return quoteString(s)
	}
	return s
}

func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isAtext reports RFC 5322 3.2.3 atext for ASCII.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if c < 0x80 && !isAtext(c) {
			return false
		}
	}
	return true
}

// token kinds of the address lexer
const (
	tAtom    = 'a'
	tQuoted  = 'q'
	tComment = 'c'
	tLiteral = 'l' // domain literal [..]
)

type atok struct {
	kind byte // tAtom, tQuoted, tComment, tLiteral or one of , : ; < > @
	val  string
}

// lexAddress splits an address list into tokens (RFC 5322 3.2).
func lexAddress(s string) []atok {
	toks := make([]atok, 0, 8)
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			i++
		case ',', ':', ';', '<', '>', '@':
			toks = append(toks, atok{kind: c})
			i++
		case '"':
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++
			toks = append(toks, atok{kind: tQuoted, val: b.String()})
		case '(':
			depth := 0
			var b strings.Builder
			for i < len(s) {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if ch == '(' {
					depth++
					if depth == 1 {
						continue
					}
				} else if ch == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
				b.WriteByte(ch)
			}
			toks = append(toks, atok{kind: tComment, val: b.String()})
		case '[':
			e := strings.IndexByte(s[i:], ']')
			if e < 0 {
				e = len(s) - i - 1
			}
			toks = append(toks, atok{kind: tLiteral, val: s[i : i+e+1]})
			i += e + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n,:;<>@\"([", s[j]) < 0 {
				j++
			}
			if j == i { // a stray ')' or ']'
				j++
			}
			toks = append(toks, atok{kind: tAtom, val: s[i:j]})
			i = j
		}
	}
	return toks
}

// parseAddressList parses an RFC 5322 3.4 address-list tolerantly: unquoted
// commas in display names ("Doe, John <j@x>"), missing angle brackets,
// names in trailing comments, missing domains and unterminated groups are
// all read as a mail client would show them. Display names are RFC 2047
// decoded, also inside quoted strings.
func parseAddressList(s string) []Address {
	toks := lexAddress(s)
	var out []Address
	var phr []atok // tokens since the last address
	inGroup := false
	emitted := false // an angle address was just emitted for this entry
	flush := func() {
		if !emitted {
			if a, ok := addrSpec(phr); ok {
				out = append(out, a)
			}
		}
		phr, emitted = phr[:0], false
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case ':':
			if !inGroup && !emitted && !hasKind(phr, '@') {
				out = append(out, Address{Group: true, Mailbox: phraseText(phr)})
				if out[len(out)-1].Mailbox == "" {
					out[len(out)-1].Mailbox = "undisclosed-recipients"
				}
				inGroup = true
				phr = phr[:0]
			}
			// Otherwise a stray colon (e.g. a source route), ignored.
		case '<':
			j := i + 1
			for j < len(toks) && toks[j].kind != '>' {
				j++
			}
			inner := toks[i+1 : j]
			// RFC 5322 4.4 obs-route: drop "@a,@b:" before the addr-spec.
			for k := len(inner) - 1; k >= 0; k-- {
				if inner[k].kind == ':' {
					inner = inner[k+1:]
					break
				}
			}
			a, _ := addrSpec(inner)
			a.Name = phraseText(phr)
			if a.Name == "" && a.Mailbox == "" && a.Host == "" {
				// "<>" (the null return path): nothing to list.
			} else {
				out = append(out, a)
			}
			phr, emitted = phr[:0], true
			i = j
		case ',':
			if !emitted && len(phr) > 0 && !hasKind(phr, '@') && angleAhead(toks[i+1:]) {
				// "Doe, John <j@x>": the comma is part of an unquoted name.
				last := &phr[len(phr)-1]
				last.val += ","
				continue
			}
			flush()
		case ';':
			flush()
			if inGroup {
				out = append(out, Address{Group: true})
				inGroup = false
			}
		case tComment:
			if emitted {
				// A comment after an angle address with no name names it.
				if n := len(out) - 1; n >= 0 && out[n].Name == "" && !out[n].Group {
					out[n].Name = decodeWords(strings.TrimSpace(t.val))
				}
				continue
			}
			phr = append(phr, t)
		default:
			if emitted {
				continue // junk after an angle address
			}
			phr = append(phr, t)
		}
	}
	flush()
	if inGroup {
		out = append(out, Address{Group: true})
	}
	return out
}

func hasKind(toks []atok, k byte) bool {
	for _, t := range toks {
		if t.kind == k {
			return true
		}
	}
	return false
}

// angleAhead reports whether an angle address follows before the next comma.
func angleAhead(toks []atok) bool {
	for _, t := range toks {
		switch t.kind {
		case '<':
			return true
		case ',', ';', '@', ':':
			return false
		}
	}
	return false
}

// phraseText joins the words of a display name with single spaces and
// decodes encoded words (RFC 5322 3.2.5, RFC 2047). Comments are used only
// when there are no words.
func phraseText(toks []atok) string {
	var b strings.Builder
	words := 0
	for _, t := range toks {
		if t.kind == tAtom || t.kind == tQuoted || t.kind == tLiteral || t.kind == '@' {
			if words > 0 && t.kind != '@' && !(b.Len() > 0 && strings.HasSuffix(b.String(), "@")) {
				b.WriteByte(' ')
			}
			if t.kind == '@' {
				b.WriteByte('@')
			} else {
				b.WriteString(t.val)
			}
			words++
		}
	}
	if words == 0 {
		for _, t := range toks {
			if t.kind == tComment {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(t.val)
			}
		}
	}
	return strings.TrimSpace(decodeWords(b.String()))
}

// addrSpec reads "local@domain" from toks, with a name from a comment or
// from words in front of the local part ("John jdoe@x").
func addrSpec(toks []atok) (Address, bool) {
	at := -1
	for k, t := range toks {
		if t.kind == '@' {
			at = k
		}
	}
	var a Address
	var comments []atok
	if at < 0 {
		// No domain: a bare local part (RFC 5322 obsolete, e.g. MAILER-DAEMON).
		var words []atok
		for _, t := range toks {
			if t.kind == tComment {
				comments = append(comments, t)
			} else if t.kind == tAtom || t.kind == tQuoted || t.kind == tLiteral {
				words = append(words, t)
			}
		}
		if len(words) == 0 {
			return a, false
		}
		a.Mailbox = words[len(words)-1].val
		if len(words) > 1 {
			a.Name = phraseText(words[:len(words)-1])
		}
	} else {
		// Local part: the adjacent atoms and quoted strings before "@".
		k := at - 1
		for k >= 0 && (toks[k].kind == tAtom || toks[k].kind == tQuoted) {
			// "John Doe jdoe@x": only the word touching "@" is the local part,
			// unless the words join with dots.
			if k < at-1 && !strings.HasSuffix(toks[k].val, ".") && !strings.HasPrefix(toks[k+1].val, ".") {
				break
			}
			k--
		}
		var local strings.Builder
		for _, t := range toks[k+1 : at] {
			local.WriteString(t.val)
		}
		a.Mailbox = local.String()
		var host strings.Builder
		for _, t := range toks[at+1:] {
			switch t.kind {
			case tAtom, tLiteral:
				host.WriteString(t.val)
			case tComment:
				comments = append(comments, t)
			}
		}
		a.Host = host.String()
		if k >= 0 {
			a.Name = phraseText(toks[:k+1])
		}
		for _, t := range toks[:at] {
			if t.kind == tComment {
				comments = append(comments, t)
			}
		}
	}
	if a.Name == "" && len(comments) > 0 {
		a.Name = phraseText(comments) // "jdoe@x (John Doe)"
	}
	if a.Mailbox == "" && a.Host == "" {
		return a, false
	}
	return a, true
}
