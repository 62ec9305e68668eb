package message

import (
	"strings"
)

// decodeWords decodes the RFC 2047 encoded words in s. White space between
// two adjacent encoded words is dropped (RFC 2047 6.2), and adjacent words in
// the same charset are converted together, so that a character split across
// two words (as some encoders do) survives. A word in a charset that is not
// known, or that is malformed, is left as written.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	var (
		runCS    string // charset of the pending run of words
		runBytes []byte // their decoded octets
		runStart int    // where the run starts in s, to write it raw on failure
		runEnd   int
	)
	flush := func() {
		if runCS == "" {
			return
		}
		if str, ok := convertCharset(runCS, runBytes); ok {
			out.WriteString(str)
		} else {
			out.WriteString(s[runStart:runEnd])
		}
		runCS, runBytes = "", runBytes[:0]
	}
	i := 0
	lastWord := false
	for i < len(s) {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			break
		}
		start := i + j
		cs, enc, text, end, ok := scanWord(s, start)
		if star := strings.IndexByte(cs, '*'); ok && star >= 0 {
			cs = cs[:star] // RFC 2231 5: charset*language
		}
		if ok && !knownCharset(cs) {
			// Unknown charset: leave the whole word as written.
			flush()
			out.WriteString(s[i:end])
			i = end
			lastWord = false
			continue
		}
		if !ok {
			flush()
			out.WriteString(s[i : start+2])
			i = start + 2
			lastWord = false
			continue
		}
		between := s[i:start]
		if !lastWord || !isAllLWSP(between) {
			flush()
			out.WriteString(between)
		}
		if runCS != "" && !strings.EqualFold(runCS, cs) {
			flush()
		}
		if runCS == "" {
			runStart = start
		}
		if enc == 'b' || enc == 'B' {
			runBytes = decodeBase64(runBytes, text)
		} else {
			runBytes = decodeQ(runBytes, text)
		}
		runCS, runEnd = cs, end
		i = end
		lastWord = true
	}
	flush()
	out.WriteString(s[i:])
	return out.String()
}

// An encoded word is at most 75 characters (RFC 2047 2); longer ones are
// accepted up to these bounds, which keep scanning linear.
const (
	maxCharsetLen = 64
	maxWordText   = 1000
)

// scanWord reads the encoded word "=?charset?e?text?=" at s[start:].
func scanWord(s string, start int) (cs string, enc byte, text string, end int, ok bool) {
	p := start + 2
	q := strings.IndexByte(s[p:min(len(s), p+maxCharsetLen+1)], '?')
	if q <= 0 {
		return
	}
	cs = s[p : p+q]
	for i := 0; i < len(cs); i++ {
		if cs[i] <= ' ' || cs[i] >= 0x7f {
			return
		}
	}
	p += q + 1
	if p+2 > len(s) || s[p+1] != '?' {
		return
	}
	enc = s[p]
	switch enc {
	case 'b', 'B', 'q', 'Q':
	default:
		return
	}
	p += 2
	e := strings.Index(s[p:min(len(s), p+maxWordText+2)], "?=")
	if e < 0 {
		return
	}
	text = s[p : p+e]
	if strings.ContainsAny(text, " \t") && enc != 'q' && enc != 'Q' {
		return
	}
	return cs, enc, text, p + e + 2, true
}

func isAllLWSP(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// decodeQ appends the RFC 2047 4.2 "Q" decoding of s to b.
func decodeQ(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(s):
			if h, ok := unhex2(s[i+1], s[i+2]); ok {
				b = append(b, h)
				i += 2
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}
