package message

import (
	"sort"
	"strconv"
	"strings"
)

// parseContentType parses a Content-Type value (RFC 2045 5.1). valid is false
// when there is no type/subtype, and the caller applies the default.
func parseContentType(v string) (typ, sub string, params map[string]string, valid bool) {
	mt, params := parseParams(v)
	slash := strings.IndexByte(mt, '/')
	if slash <= 0 || slash == len(mt)-1 {
		return "", "", params, false
	}
	typ = strings.ToLower(strings.TrimSpace(mt[:slash]))
	sub = strings.ToLower(strings.TrimSpace(mt[slash+1:]))
	if !isToken(typ) || !isToken(sub) {
		return "", "", params, false
	}
	return typ, sub, params, true
}

// isToken reports whether s is an RFC 2045 5.1 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// stripComments removes RFC 5322 3.2.2 comments outside quoted strings.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	depth := 0
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(s):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case quoted:
			if c == '"' {
				quoted = false
			}
			b.WriteByte(c)
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		default:
			if c == '"' {
				quoted = true
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

type param2231 struct {
	index   int
	encoded bool
	value   string
}

// parseParams parses a header value of the form `value *(";" attribute "="
// value)`, as Content-Type and Content-Disposition are written. It is
// tolerant: unquoted values may contain spaces, a missing value or a stray
// semicolon is skipped, the first of duplicate parameters wins. RFC 2231
// continuations and charsets are assembled and decoded, and RFC 2047 encoded
// words in name and filename (against RFC 2047 5, but common) are decoded.
// Keys are lower case.
func parseParams(s string) (string, map[string]string) {
	s = stripComments(s)
	semi := strings.IndexByte(s, ';')
	if semi < 0 {
		return strings.TrimSpace(s), nil
	}
	value := strings.TrimSpace(s[:semi])
	var params map[string]string
	var ext map[string][]param2231
	i := semi
	for i < len(s) {
		for i < len(s) && (s[i] == ';' || isWSP(s[i]) || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		// attribute
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' {
			j++
		}
		if j >= len(s) || s[j] == ';' {
			i = j // attribute without value
			continue
		}
		attr := strings.ToLower(strings.TrimSpace(s[i:j]))
		i = j + 1
		for i < len(s) && isWSP(s[i]) {
			i++
		}
		var val string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++ // closing quote, if any
			val = b.String()
			// Skip anything up to the next parameter.
			for i < len(s) && s[i] != ';' {
				i++
			}
		} else {
			j := i
			for j < len(s) && s[j] != ';' {
				j++
			}
			val = strings.TrimSpace(s[i:j])
			i = j
		}
		if attr == "" {
			continue
		}
		if star := strings.IndexByte(attr, '*'); star > 0 {
			// RFC 2231 3 and 4: name*0, name*1*, name*.
			base, suffix := attr[:star], attr[star+1:]
			p := param2231{value: val}
			if suffix == "" {
				p.encoded = true
			} else {
				if strings.HasSuffix(suffix, "*") {
					p.encoded = true
					suffix = suffix[:len(suffix)-1]
				}
				n, err := strconv.Atoi(suffix)
				if err != nil || n < 0 || n > 999 {
					continue
				}
				p.index = n
			}
			if ext == nil {
				ext = make(map[string][]param2231)
			}
			if len(ext[base]) < 1000 {
				ext[base] = append(ext[base], p)
			}
			continue
		}
		if params == nil {
			params = make(map[string]string)
		}
		if _, dup := params[attr]; dup {
			continue
		}
		if (attr == "name" || attr == "filename") && strings.Contains(val, "=?") {
			val = decodeWords(val)
		}
		params[attr] = val
	}
	for base, pieces := range ext {
		if params == nil {
			params = make(map[string]string)
		}
		params[base] = assemble2231(pieces)
	}
	return value, params
}

// assemble2231 joins RFC 2231 continuation pieces in order, percent-decodes
// the encoded ones and converts from the charset named by the first.
func assemble2231(pieces []param2231) string {
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].index < pieces[j].index })
	charset := ""
	var b []byte
	for k, p := range pieces {
		v := p.value
		if p.encoded && k == 0 {
			// charset'language'value (RFC 2231 4)
			if a := strings.IndexByte(v, '\''); a >= 0 {
				if z := strings.IndexByte(v[a+1:], '\''); z >= 0 {
					charset = v[:a]
					v = v[a+1+z+1:]
				}
			}
		}
		if p.encoded {
			b = appendPercentDecoded(b, v)
		} else {
			b = append(b, v...)
		}
	}
	if charset == "" {
		return headerUTF8(b)
	}
	s, ok := convertCharset(charset, b)
	if !ok {
		return headerUTF8(b)
	}
	return s
}

func appendPercentDecoded(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex2(s[i+1], s[i+2]); ok {
				b = append(b, h)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}
